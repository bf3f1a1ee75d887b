"""Running the stored tasks in a test, as the relay and a worker would: each due task's
job function, with the runtime bound, then its row deleted."""

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from routing import schema as t
from voicebridge.jobs import bound
from voicebridge.queueing import JOBS
from voicebridge.runtime import Runtime


def job(name: str) -> Callable[..., Any]:
    module, _, func = JOBS[name].func.rpartition(".")
    found: Callable[..., Any] = getattr(importlib.import_module(module), func)
    return found


def due(rt: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    c = t.tasks.c
    with rt.db.read() as conn:
        rows = conn.execute(
            select(c.key, c.name, c.args)
            .where(
                c.failed_at.is_(None),
                c.name.in_(["send_message", "citizen_news"]),
                (c.not_before.is_(None)) | (c.not_before <= rt.clock.now()),
            )
            .order_by(c.id)
        ).all()
    return [(r.key, r.name, dict(r.args)) for r in rows]


def run_due_tasks(rt: Runtime, rounds: int = 10) -> int:
    """Run the due message and news tasks until none is left; how many ran."""
    ran = 0
    for _ in range(rounds):
        tasks = due(rt)
        if not tasks:
            break
        for key, name, args in tasks:
            with bound(rt):
                job(name)(**args)
            rt.tasks.complete(key)
            ran += 1
    return ran
