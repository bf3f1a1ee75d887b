"""Group commit for intake: creations that arrive while the database is busy with the
previous ones are written together, in one transaction, by one thread.

Under load this turns a transaction and two thread hand-offs per report into one per
batch; with a single request in flight it writes that request at once, so a quiet
centre pays no added delay. Every caller still gets its own answer (its incident, or
the error that refused it), only after the transaction that holds its report commits.
"""

import asyncio
import logging
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from routing.db import Database
from routing.errors import RoutingError
from routing.store import Created, IncidentStore, Intake
from voicebridge.blocking import Blocking
from voicebridge.metrics import Metrics
from voicebridge.schema import idempotency_keys

log = logging.getLogger(__name__)

MAX_BATCH = 256

Result = Created | RoutingError


class IntakeWriter:
    def __init__(self, store: IncidentStore, blocking: Blocking, metrics: Metrics) -> None:
        self._store = store
        self._blocking = blocking
        self._metrics = metrics
        self._pending: list[tuple[Intake, asyncio.Future[Result]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def create(self, intake: Intake) -> Created:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((intake, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain(), name="voicebridge-intake")
        result = await future
        if isinstance(result, RoutingError):
            raise result
        return result

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            self._metrics.intake_batch.observe(len(batch))
            try:
                results = await self._blocking(
                    self._store.create_incidents, [intake for intake, _ in batch]
                )
            except Exception as exc:  # the database failed: every caller hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Let the batch in flight finish."""
        if self._drainer is not None:
            await asyncio.shield(self._drainer)


def same_request(db: Database, key: str, request_hash: str, now: datetime) -> bool:
    """Whether the idempotency ``key`` names this request: it is new (and is remembered
    with ``request_hash`` from now on), or it was first given with the same hash. False
    when it was first given with another body."""
    k = idempotency_keys.c
    try:
        with db.write() as conn:
            stored = conn.execute(select(k.request_hash).where(k.key == key)).scalar()
            if stored is None:
                conn.execute(
                    insert(idempotency_keys).values(
                        key=key, request_hash=request_hash, created_at=now
                    )
                )
                return True
    except IntegrityError:  # another replica remembered it a moment ago
        with db.read() as conn:
            stored = conn.execute(select(k.request_hash).where(k.key == key)).scalar_one()
    return bool(stored == request_hash)
