"""A test rig: the fake Asterisk on loopback, and voicebridge's AMI session and bridge
talking to it over a real socket, recording into the real database of a runtime.

Asterisk's time runs ``SPEED`` times faster (a 30 s ring lasts 0.3 s); the database's
clock is the test's :class:`FakeClock`. Escalation jobs run with :meth:`Rig.run_due`:
the due ``escalate`` tasks are run by the job function itself, as a worker would (the
RQ path has its own tests)."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from routing import schema as t
from routing.directory import phone_target
from routing.models import Contact, ContactRole, NewIncident, NewReport, Source
from tests.conftest import FakeClock
from voicebridge.ami.bridge import Bridge
from voicebridge.ami.linechecks import LineChecker
from voicebridge.ami.session import AmiSession, AmiTarget, Timing
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk, Received
from voicebridge.blocking import Blocking
from voicebridge.jobs import bound, escalate
from voicebridge.runtime import Runtime

SPEED = 0.01
TIMING = Timing(
    action_timeout=2.0,
    ping_interval=0.3,
    ping_timeout=0.3,
    connect_timeout=1.0,
    backoff_min=0.01,
    backoff_max=0.2,
)


def headers(received: Received) -> dict[str, Any]:
    """An action's headers; repeated keys (Variable) as lists."""
    out: dict[str, Any] = {}
    for key, value in received.headers:
        if key in out:
            out[key] = [*(out[key] if isinstance(out[key], list) else [out[key]]), value]
        else:
            out[key] = value
    return out


@dataclass
class Bridged:
    """voicebridge's session and bridge logged in to an Asterisk, real or fake."""

    runtime: Runtime
    clock: FakeClock
    session: AmiSession
    bridge: Bridge

    # ------------------------------------------------------------ incidents

    def create(self, category: str = "robo", district: str = "150132") -> str:
        incident, _ = self.runtime.store.create_incident(
            NewIncident(
                category=category,
                district=district,
                report=NewReport(source=Source.API, text="reporte de prueba"),
            ),
            actor="operator:test",
        )
        return incident.id

    async def dispatch(self, category: str = "robo", district: str = "150132") -> str:
        incident_id = self.create(category, district)
        await asyncio.to_thread(
            self.runtime.dispatcher.dispatch, incident_id, actor="operator:test"
        )
        return incident_id

    def legs(self, incident_id: str) -> list[Contact]:
        return self.runtime.calls.legs(incident_id)

    def leg(
        self,
        incident_id: str,
        agency: str | None = None,
        role: ContactRole | None = None,
        n: int = 0,
    ) -> Contact:
        found = [
            leg
            for leg in self.legs(incident_id)
            if (agency is None or leg.agency == agency) and (role is None or leg.role is role)
        ]
        return found[n]

    def leg_by_ref(self, incident_id: str, ref: str) -> Contact:
        return next(c for c in self.legs(incident_id) if c.ref == ref)

    async def add_line(self, incident_id: str, number: str, label: str) -> Contact:
        """The operator calls a phone number into the room (a guest leg)."""
        config, _ = self.runtime.rules.current()
        return await asyncio.to_thread(
            self.runtime.dispatcher.add_leg,
            incident_id,
            phone_target(config, number, label),
            actor="operator:test",
        )

    async def drop_line(self, incident_id: str, channel_id: str) -> None:
        """The operator hangs up one leg."""
        await asyncio.to_thread(
            self.runtime.dispatcher.drop_leg, incident_id, channel_id, actor="operator:test"
        )

    def agencies(self, incident_id: str) -> list[str]:
        return [a.agency for a in self.runtime.calls.dispatches.assignments(incident_id)]

    async def until(self, condition: Callable[[], object], what: str, within: float = 5.0) -> None:
        """Wait until ``condition()`` is true (polled), or fail naming ``what``."""
        deadline = time.monotonic() + within
        while True:
            if await asyncio.to_thread(condition):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {what}")
            await asyncio.sleep(0.01)

    async def settled(self) -> None:
        """Every event Asterisk sent so far is recorded."""
        await asyncio.sleep(0.02)
        await self.bridge.idle()

    # ------------------------------------------------------------ jobs

    def due_escalations(self) -> list[tuple[str, dict[str, Any]]]:
        return due_escalations(self.runtime)

    async def run_due(self) -> int:
        """Run the escalation jobs that are due, as a worker would; how many ran."""
        return await run_due_escalations(self.runtime)


@dataclass
class Rig(Bridged):
    """:class:`Bridged` to the fake Asterisk, which the test scripts and inspects."""

    fake: FakeAsterisk

    def script(self, dial: str, behaviour: Behaviour, **kwargs: Any) -> None:
        self.fake.script(dial, Endpoint(behaviour=behaviour, **kwargs))

    def originated(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        found = [headers(r) for r in self.fake.actions("Originate")]
        return [h for h in found if channel_id is None or h.get("ChannelId") == channel_id]


@asynccontextmanager
async def connected(
    runtime: Runtime,
    clock: FakeClock,
    target: AmiTarget,
    *,
    owner: str = "test-serve",
    timing: Timing = TIMING,
    wait: bool = True,
) -> AsyncIterator[Bridged]:
    """The session and bridge of one ``serve`` replica, logged in to ``target`` (when
    ``wait``: before the block begins)."""
    session = AmiSession(target, timing=timing)
    blocking = Blocking(4)
    bridge = Bridge(
        session, runtime.calls.contacts, blocking, runtime.wakeup, runtime.clock, owner=owner
    )
    session.start()
    bridge.start()
    try:
        if wait:
            await asyncio.wait_for(session.connected.wait(), 5)
        yield Bridged(runtime=runtime, clock=clock, session=session, bridge=bridge)
    finally:
        await asyncio.wait_for(bridge.stop(), 5)
        await asyncio.wait_for(session.stop(), 5)
        blocking.shutdown()


@asynccontextmanager
async def bridged(
    runtime: Runtime,
    clock: FakeClock,
    fake: FakeAsterisk | None = None,
    *,
    owner: str = "test-serve",
    secret: str = "voicebridge",  # noqa: S107 - the fake's account
    speed: float = SPEED,
) -> AsyncIterator[Rig]:
    """:func:`connected` to ``fake`` (a new fake Asterisk if none is given)."""
    own = fake is None
    if fake is None:
        # a line the test does not script answers and its responder presses 1, 4 s into
        # the prompt: 40 ms of real time after the prompt's steps reach its Read (a key
        # before is dropped), 60 ms before the Read's end
        fake = FakeAsterisk(speed=speed, default=Endpoint(behaviour=Behaviour.PRESS, after=4.0))
        await fake.start()
    target = AmiTarget(host="127.0.0.1", port=fake.port, username="voicebridge", secret=secret)
    try:
        async with connected(
            runtime, clock, target, owner=owner, wait=secret == "voicebridge"
        ) as b:
            yield Rig(runtime=runtime, clock=clock, session=b.session, bridge=b.bridge, fake=fake)
    finally:
        if own:
            errors = list(fake.errors)
            await asyncio.wait_for(fake.stop(), 5)
            assert errors == [], errors


@asynccontextmanager
async def line_checker(on: Bridged) -> AsyncIterator[LineChecker]:
    """The line checks' adapter of the same ``serve`` replica, on its AMI session."""
    blocking = Blocking(2)
    runtime = on.runtime
    checker = LineChecker(
        on.session,
        runtime.linechecks,
        blocking,
        runtime.wakeup,
        runtime.clock,
        owner="test-serve",
        paused=on.bridge.going_away,
    )
    checker.start()
    try:
        yield checker
    finally:
        await checker.stop()
        blocking.shutdown()


def due_escalations(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    """The escalation steps due now, by the runtime's clock."""
    c = t.tasks.c
    with runtime.db.read() as conn:
        rows = conn.execute(
            select(c.key, c.args)
            .where(
                c.name == "escalate",
                c.enqueued_at.is_(None),
                c.failed_at.is_(None),
                (c.not_before.is_(None)) | (c.not_before <= runtime.clock.now()),
            )
            .order_by(c.id)
        ).all()
    return [(r.key, dict(r.args)) for r in rows]


async def run_due_escalations(runtime: Runtime) -> int:
    """Run the escalation jobs that are due, as a worker would; how many ran."""

    def work() -> int:
        ran = 0
        while due := due_escalations(runtime):
            for key, args in due:
                with bound(runtime):
                    escalate(**args)
                runtime.tasks.complete(key)
                ran += 1
        return ran

    ran = await asyncio.to_thread(work)
    runtime.wakeup.local()
    return ran
