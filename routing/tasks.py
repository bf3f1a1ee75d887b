"""The task outbox: follow-up work stored with the change that calls for it.

A task row lives from the transaction that records it until its job finishes: the
application's relay hands unsent rows to the job queue and marks them enqueued; the job
deletes its row when done; a sweep re-sends rows whose job vanished (a Redis that
restarted without its data). Jobs are idempotent, so a task run twice does no harm.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from routing import schema as t
from routing.db import Database
from routing.models import Task
from routing.ports import Clock, SystemClock


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredTask:
    key: str
    name: str
    args: dict[str, Any]
    not_before: datetime | None
    created_at: datetime
    enqueued_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskCounts:
    unsent: int
    in_queue: int
    failed: int


class TaskStore:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()

    def add(self, tasks: Sequence[Task]) -> int:
        """Record tasks on their own (the store records most with the change itself).
        A task whose key is stored already is not stored again; the number added."""
        now = self.clock.now()
        dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        added = 0
        with self.db.write() as conn:
            for task in tasks:
                stmt = dialect_insert(t.tasks).values(
                    key=task.key,
                    name=task.name,
                    args=task.args,
                    not_before=task.not_before,
                    created_at=now,
                )
                added += conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"])).rowcount
        return added

    def claim(self, limit: int = 200) -> list[StoredTask]:
        """Take up to ``limit`` unsent tasks to send them: each task is claimed by one
        caller only, even with several relays (several ``serve`` replicas) at once."""
        c = t.tasks.c
        unsent = (c.enqueued_at.is_(None), c.failed_at.is_(None))
        oldest = (
            select(c.id)
            .where(*unsent)
            .order_by(c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.db.write() as conn:
            rows = conn.execute(
                update(t.tasks)
                .where(c.id.in_(oldest.scalar_subquery()), *unsent)
                .values(enqueued_at=self.clock.now())
                .returning(*t.tasks.c)
            ).all()
        return [_stored(r) for r in rows]

    def release(self, keys: Sequence[str]) -> None:
        """Give claimed tasks back (sending them failed): the next claim takes them."""
        self.resend(keys)

    def complete(self, key: str) -> bool:
        with self.db.write() as conn:
            return conn.execute(delete(t.tasks).where(t.tasks.c.key == key)).rowcount > 0

    def fail(self, key: str, error: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(t.tasks)
                .where(t.tasks.c.key == key)
                .values(failed_at=self.clock.now(), error=error[:4000])
            )

    def overdue(self, cutoff: datetime, limit: int = 200) -> list[StoredTask]:
        """Enqueued tasks whose job should have finished before ``cutoff`` but whose row
        is still here; the relay checks whether their job still exists."""
        c = t.tasks.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.tasks)
                .where(
                    c.enqueued_at < cutoff,
                    c.failed_at.is_(None),
                    or_(c.not_before.is_(None), c.not_before < cutoff),
                )
                .order_by(c.id)
                .limit(limit)
            ).all()
        return [_stored(r) for r in rows]

    def in_queue_keys(self) -> list[str]:
        """The keys of every task handed to the queue and not settled, oldest first: the
        jobs the queue should hold (the relay compares them with Redis after it lost its
        data)."""
        c = t.tasks.c
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(c.key)
                    .where(c.enqueued_at.is_not(None), c.failed_at.is_(None))
                    .order_by(c.id)
                ).scalars()
            )

    def resend(self, keys: Sequence[str]) -> None:
        if keys:
            with self.db.write() as conn:
                conn.execute(
                    update(t.tasks).where(t.tasks.c.key.in_(keys)).values(enqueued_at=None)
                )

    def counts(self) -> TaskCounts:
        c = t.tasks.c
        with self.db.read() as conn:
            row = conn.execute(
                select(
                    func.count().filter(and_(c.enqueued_at.is_(None), c.failed_at.is_(None))),
                    func.count().filter(and_(c.enqueued_at.is_not(None), c.failed_at.is_(None))),
                    func.count().filter(c.failed_at.is_not(None)),
                )
            ).one()
        return TaskCounts(unsent=int(row[0]), in_queue=int(row[1]), failed=int(row[2]))


def _stored(r: Any) -> StoredTask:
    return StoredTask(
        key=r.key,
        name=r.name,
        args=dict(r.args),
        not_before=r.not_before,
        created_at=r.created_at,
        enqueued_at=r.enqueued_at,
    )
