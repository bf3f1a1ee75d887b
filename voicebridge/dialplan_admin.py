"""The dialplan administration's records: the templates' immutable revisions, the
pointer to the revision of each template in force, and the audit of every step.

- A save is a new revision (author, time, comment, and the diff from the revision the
  author started from); a save equal to the latest revision stores nothing.
- A save must name the revision it was based on: if another admin saved the same
  template meanwhile, it is refused with the diff of what changed (no lost update).
- A save is validated first (:mod:`dialplans.validate`), with the other templates in
  force: a set that does not pass is never stored, and the refusal is audited.
- The pointer moves only by a switch or a rollback, once Asterisk has loaded the set
  (:mod:`voicebridge.dialplan_push`), in the transaction that records what was pushed;
  the first start points at the shipped templates.
"""

import difflib
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, text, update

from dialplans.problems import Problem
from dialplans.render import CitizenLine
from dialplans.templateset import EDITABLE, shipped
from dialplans.validate import LIVE, validate
from routing.db import Database
from routing.errors import NotFound
from routing.ports import Clock, SystemClock
from voicebridge import schema as vs

MAX_REVISION: Final = 2**31 - 1
"""The largest revision number (the column is a 32-bit integer on PostgreSQL): a number
past it is refused before the database sees it."""
LOCK_ID: Final = 0x64706C6E  # "dpln": serialises saves and pointer moves on PostgreSQL
SHIPPED_BY: Final = "voicebridge"
SHIPPED_COMMENT: Final = "plantilla de fábrica"

Check = Callable[[dict[str, str]], list[Problem]]
"""Validates a whole set (template name -> source): its problems, none if it passes."""


@dataclass(frozen=True, slots=True)
class DialplanRevision:
    id: int
    template: str
    content: str
    digest: str
    comment: str
    author: str
    created_at: datetime
    base_id: int | None
    diff: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    revision_id: int | None
    previous_id: int | None
    undoes_id: int | None
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Pushed:
    """A rendering pushed live to Asterisk."""

    at: datetime
    actor: str
    revisions: dict[str, int]
    contexts: dict[str, str]


class Conflict(Exception):
    """The template was saved by someone else since the revision the save was based on."""

    def __init__(self, template: str, base: int, latest: DialplanRevision, diff: str) -> None:
        super().__init__(
            f"{template} changed since revision {base}: revision {latest.id} by "
            f"{latest.author} is the latest"
        )
        self.template = template
        self.base = base
        self.latest = latest
        self.diff = diff


class Refused(Exception):
    """The set with the proposed revision does not pass validation."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def unified(old: str, new: str, old_name: str, new_name: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=old_name,
            tofile=new_name,
        )
    )


class DialplanStore:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()

    # ------------------------------------------------------------- reading

    def get(self, revision_id: int) -> DialplanRevision:
        with self.db.read() as conn:
            return self.get_in(conn, revision_id)

    def revisions(self, template: str | None = None, limit: int = 100) -> list[DialplanRevision]:
        """Newest first."""
        c = vs.dialplan_revisions.c
        query = select(vs.dialplan_revisions).order_by(c.id.desc()).limit(limit)
        if template is not None:
            query = query.where(c.template == template)
        with self.db.read() as conn:
            return [_revision(r) for r in conn.execute(query).all()]

    def latest(self, template: str) -> DialplanRevision:
        with self.db.read() as conn:
            found = self._latest(conn, template)
        if found is None:
            raise NotFound(f"no hay revisiones de la plantilla {template}")
        return found

    def latest_of_each(self) -> dict[str, DialplanRevision]:
        """Template -> its latest revision, in one query."""
        c = vs.dialplan_revisions.c
        newest = select(func.max(c.id)).group_by(c.template).scalar_subquery()
        with self.db.read() as conn:
            rows = conn.execute(select(vs.dialplan_revisions).where(c.id.in_(newest))).all()
        return {row.template: _revision(row) for row in rows}

    def pointers(self) -> dict[str, int]:
        """Template -> the id of its revision in force."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(vs.dialplan_pointers.c.template, vs.dialplan_pointers.c.revision_id)
            ).all()
        return {row.template: int(row.revision_id) for row in rows}

    def in_force(self) -> dict[str, DialplanRevision]:
        """Template -> its revision in force."""
        p, r = vs.dialplan_pointers.c, vs.dialplan_revisions
        with self.db.read() as conn:
            rows = conn.execute(select(r).join(vs.dialplan_pointers, p.revision_id == r.c.id)).all()
        return {row.template: _revision(row) for row in rows}

    def sources(self, overrides: Mapping[str, int] | None = None) -> dict[str, str]:
        """The set in force (template -> source), with the templates of ``overrides``
        (template -> revision id) taken from those revisions instead."""
        found = {name: rev.content for name, rev in self.in_force().items()}
        for template, revision_id in (overrides or {}).items():
            found[template] = self.get(revision_id).content
        return found

    def diff(self, a: int, b: int) -> str:
        """The unified diff from revision ``a`` to revision ``b``."""
        old, new = self.get(a), self.get(b)
        return unified(
            old.content,
            new.content,
            f"{old.template} revisión {old.id}",
            f"{new.template} revisión {new.id}",
        )

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        c = vs.dialplan_audit.c
        with self.db.read() as conn:
            rows = conn.execute(select(vs.dialplan_audit).order_by(c.id.desc()).limit(limit))
            return [_entry(r) for r in rows]

    # ------------------------------------------------------------- writing

    def seed(self) -> list[int]:
        """Point every template that has no revision in force at a revision of its
        shipped text (the first start); the revisions created."""
        created: list[int] = []
        have = self.pointers()
        missing = [name for name in EDITABLE if name not in have]
        if not missing:
            return created
        texts = shipped()
        now = self.clock.now()
        with self.db.write() as conn:
            self._lock(conn)
            taken = {
                row.template for row in conn.execute(select(vs.dialplan_pointers.c.template)).all()
            }
            for name in missing:
                if name in taken:
                    continue  # another replica seeded it meanwhile
                revision = self._insert(
                    conn, name, texts[name], SHIPPED_COMMENT, SHIPPED_BY, None, now
                )
                conn.execute(
                    insert(vs.dialplan_pointers).values(
                        template=name,
                        revision_id=revision.id,
                        updated_at=now,
                        updated_by=SHIPPED_BY,
                    )
                )
                created.append(revision.id)
            if created:
                self._audit(
                    conn, SHIPPED_BY, "seed", None, True, f"plantillas de fábrica {created}"
                )
        return created

    def propose(
        self,
        template: str,
        content: str,
        *,
        base: int,
        comment: str,
        author: str,
        check: Check,
    ) -> tuple[DialplanRevision, bool]:
        """Save ``content`` as a new revision of ``template``, edited from revision
        ``base``: ``(revision, True)``; content equal to the latest revision stores
        nothing: ``(latest, False)``. Raises :class:`Conflict` when ``base`` is not the
        latest revision of the template, :class:`Refused` with the problems when the set
        in force with this content does not pass ``check``. Nothing is pointed at it."""
        if template not in EDITABLE:
            raise NotFound(f"no existe la plantilla {template}")
        latest = self.latest(template)
        self._check_base(template, base, latest, author)
        if digest(content) == latest.digest:
            return latest, False
        candidate = self.sources() | {template: content}
        problems = check(candidate)
        if problems:
            with self.db.write() as conn:
                detail = f"{template}: " + "; ".join(p.es for p in problems[:5])
                self._audit(conn, author, "refused", None, False, detail)
            raise Refused(problems)
        try:
            with self.db.write() as conn:
                self._lock(conn)
                now_latest = self._latest(conn, template) or latest  # never deleted
                self._check_base(template, base, now_latest, None)
                revision = self._insert(
                    conn,
                    template,
                    content,
                    comment,
                    author,
                    self.get_in(conn, base),
                    self.clock.now(),
                )
                self._audit(conn, author, "propose", revision.id, True, f"{template}: {comment}")
        except Conflict as exc:  # saved by someone else while this one was validated
            self.audit_conflict(template, base, exc.latest.id, author)
            raise
        return revision, True

    def switched(
        self,
        revision_id: int,
        contexts: Mapping[str, str],
        *,
        actor: str,
        action: str,
        detail: str,
        undoes: int | None = None,
    ) -> int:
        """Revision ``revision_id`` is live as ``contexts``: in one transaction it is put
        in force for its template (the pointer), ``contexts`` become the last rendering
        pushed, and the move is audited as ``action`` with the revision it replaced
        (returned) and, for a rollback, the move it ``undoes``."""
        revision = self.get(revision_id)
        now = self.clock.now()
        with self.db.write() as conn:
            self._lock(conn)
            p = vs.dialplan_pointers.c
            pointers = {
                row.template: int(row.revision_id)
                for row in conn.execute(select(p.template, p.revision_id)).all()
            }
            previous = pointers[revision.template]
            conn.execute(
                update(vs.dialplan_pointers)
                .where(p.template == revision.template)
                .values(revision_id=revision_id, updated_at=now, updated_by=actor)
            )
            conn.execute(
                insert(vs.dialplan_pushes).values(
                    at=now,
                    actor=actor,
                    revisions=json.dumps(pointers | {revision.template: revision_id}),
                    contexts=json.dumps(dict(contexts)),
                )
            )
            self._audit(
                conn, actor, action, revision_id, True, detail, previous=previous, undoes=undoes
            )
        return previous

    def last_undoable(self) -> AuditEntry | None:
        """The latest switch no rollback has undone yet (what a rollback undoes)."""
        c = vs.dialplan_audit.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(vs.dialplan_audit)
                .where(c.action.in_(("switch", "rollback")), c.ok.is_(True))
                .order_by(c.id.desc())
            ).all()
        moves = [_entry(r) for r in rows]
        undone = {m.undoes_id for m in moves if m.action == "rollback"}
        return next((m for m in moves if m.action == "switch" and m.id not in undone), None)

    def last_push(self) -> Pushed | None:
        c = vs.dialplan_pushes.c
        with self.db.read() as conn:
            row = conn.execute(select(vs.dialplan_pushes).order_by(c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return Pushed(
            at=row.at,
            actor=row.actor,
            revisions={str(k): int(v) for k, v in json.loads(row.revisions).items()},
            contexts={str(k): str(v) for k, v in json.loads(row.contexts).items()},
        )

    def audit(
        self,
        actor: str,
        action: str,
        revision_id: int | None,
        ok: bool,
        detail: str,
        *,
        previous: int | None = None,
    ) -> None:
        with self.db.write() as conn:
            self._audit(conn, actor, action, revision_id, ok, detail, previous=previous)

    # ------------------------------------------------------------- helpers

    def get_in(self, conn: Connection, revision_id: int) -> DialplanRevision:
        row = conn.execute(
            select(vs.dialplan_revisions).where(vs.dialplan_revisions.c.id == revision_id)
        ).first()
        if row is None:
            raise NotFound(f"no existe la revisión {revision_id} de los planes de marcación")
        return _revision(row)

    def _check_base(
        self, template: str, base: int, latest: DialplanRevision, author: str | None
    ) -> None:
        """Refuse a save based on ``base`` when ``latest`` is another revision (audited
        when ``author`` is given: outside the save's own transaction)."""
        if base == latest.id:
            return
        based = self.get(base)
        if based.template != template:
            raise NotFound(f"la revisión {base} no es de la plantilla {template}")
        diff = unified(
            based.content,
            latest.content,
            f"{template} revisión {base}",
            f"{template} revisión {latest.id}",
        )
        if author is not None:
            self.audit_conflict(template, base, latest.id, author)
        raise Conflict(template, base, latest, diff)

    def audit_conflict(self, template: str, base: int, latest: int, author: str) -> None:
        detail = f"{template}: basada en la revisión {base}; la última es la {latest}"
        self.audit(author, "conflict", None, False, detail)

    def _lock(self, conn: Connection) -> None:
        if self.db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})

    @staticmethod
    def _latest(conn: Connection, template: str) -> DialplanRevision | None:
        c = vs.dialplan_revisions.c
        row = conn.execute(
            select(vs.dialplan_revisions)
            .where(c.template == template)
            .order_by(c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _revision(row)

    @staticmethod
    def _insert(
        conn: Connection,
        template: str,
        content: str,
        comment: str,
        author: str,
        base: DialplanRevision | None,
        now: datetime,
    ) -> DialplanRevision:
        diff = unified(
            base.content if base is not None else "",
            content,
            f"{template} revisión {base.id}" if base is not None else "(nada)",
            f"{template} nueva",
        )
        row = conn.execute(
            insert(vs.dialplan_revisions)
            .values(
                template=template,
                content=content,
                digest=digest(content),
                comment=comment,
                author=author,
                created_at=now,
                base_id=None if base is None else base.id,
                diff=diff,
            )
            .returning(*vs.dialplan_revisions.c)
        ).one()
        return _revision(row)

    def _audit(
        self,
        conn: Connection,
        actor: str,
        action: str,
        revision_id: int | None,
        ok: bool,
        detail: str,
        *,
        previous: int | None = None,
        undoes: int | None = None,
    ) -> None:
        conn.execute(
            insert(vs.dialplan_audit).values(
                at=self.clock.now(),
                actor=actor,
                action=action,
                revision_id=revision_id,
                previous_id=previous,
                undoes_id=undoes,
                ok=ok,
                detail=detail[:4000],
            )
        )


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        id=int(r.id),
        at=r.at,
        actor=r.actor,
        action=r.action,
        revision_id=r.revision_id,
        previous_id=r.previous_id,
        undoes_id=r.undoes_id,
        ok=bool(r.ok),
        detail=r.detail,
    )


def _revision(row: Any) -> DialplanRevision:
    m = row._mapping
    return DialplanRevision(
        id=int(m["id"]),
        template=m["template"],
        content=m["content"],
        digest=m["digest"],
        comment=m["comment"],
        author=m["author"],
        created_at=m["created_at"],
        base_id=None if m["base_id"] is None else int(m["base_id"]),
        diff=m["diff"],
    )


def checker(citizen_lines: tuple[CitizenLine, ...], *, room_prefix: str = "LIM") -> Check:
    """The whole validation (:func:`dialplans.validate.validate`) for the routing file's
    citizens' numbers and the incidents' prefix, as a :data:`Check`."""
    names = replace(LIVE, room_prefix=room_prefix)

    def check(sources: dict[str, str]) -> list[Problem]:
        return validate(sources, citizen_lines, names=names).problems

    return check
