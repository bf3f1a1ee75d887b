"""Revisions of the routing configuration: who loaded which content, when, and what
changed since the revision before. The newest revision is the one in force; every
dispatch names the revision it was decided with."""

import difflib
import hashlib

from sqlalchemy import Row, insert, select, text

from routing import schema as t
from routing.db import Database
from routing.errors import NotFound
from routing.models import Revision
from routing.ports import Clock, SystemClock

LOCK_ID = 0x726F7574  # "rout": serialises revisions on PostgreSQL


def digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class RevisionStore:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()

    def record(self, content: str, *, source: str, actor: str) -> tuple[Revision, bool]:
        """Store ``content`` as the revision in force; ``(revision, True)``. Content equal
        to the revision in force is not stored again: ``(that revision, False)``."""
        wanted = digest(content)
        with self.db.write() as conn:
            if self.db.dialect == "postgresql":  # replicas starting together record once
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
            latest = conn.execute(
                select(t.routing_revisions).order_by(t.routing_revisions.c.id.desc()).limit(1)
            ).first()
            if latest is not None and latest.digest == wanted:
                return _revision(latest), False
            previous = latest.content if latest is not None else ""
            diff = "".join(
                difflib.unified_diff(
                    previous.splitlines(keepends=True),
                    content.splitlines(keepends=True),
                    fromfile=f"revision {latest.id}" if latest is not None else "(none)",
                    tofile="new",
                )
            )
            row = conn.execute(
                insert(t.routing_revisions)
                .values(
                    created_at=self.clock.now(),
                    actor=actor,
                    source=source,
                    digest=wanted,
                    content=content,
                    diff=diff,
                )
                .returning(*t.routing_revisions.c)
            ).one()
        return _revision(row), True

    def current(self) -> Revision | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.routing_revisions).order_by(t.routing_revisions.c.id.desc()).limit(1)
            ).first()
        return None if row is None else _revision(row)

    def current_id(self) -> int | None:
        with self.db.read() as conn:
            value = conn.execute(
                select(t.routing_revisions.c.id).order_by(t.routing_revisions.c.id.desc()).limit(1)
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def get(self, revision_id: int) -> Revision:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.routing_revisions).where(t.routing_revisions.c.id == revision_id)
            ).first()
        if row is None:
            raise NotFound(f"no existe la revisión {revision_id} de las reglas")
        return _revision(row)

    def history(self, limit: int = 50) -> list[Revision]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.routing_revisions).order_by(t.routing_revisions.c.id.desc()).limit(limit)
            ).all()
        return [_revision(r) for r in rows]


def _revision(row: Row[object]) -> Revision:
    m = row._mapping
    return Revision(
        id=int(m["id"]),
        created_at=m["created_at"],
        actor=m["actor"],
        source=m["source"],
        digest=m["digest"],
        content=m["content"],
        diff=m["diff"],
    )
