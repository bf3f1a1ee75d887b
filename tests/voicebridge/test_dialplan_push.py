"""Trial, switch and rollback on the (fake) live Asterisk (issue 14, points 3 and 5):
the new revision is rendered into trial contexts, loaded, read back with ShowDialPlan
(every extension and priority as rendered) and removed; only then the live contexts are
replaced in one step and read back; on any failure the previous revision stays in force;
rollback puts the previous one back; an Asterisk found stale gets the last good
rendering again."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from dialplans.render import CitizenLine
from dialplans.templateset import PARAMETERS
from routing.errors import NotFound
from routing.ledger import FINAL
from routing.models import AttemptOutcome
from tests.conftest import FakeClock
from tests.voicebridge.conftest import AiohttpClient
from tests.voicebridge.rig import bridged
from voicebridge import dialplan_push
from voicebridge.ami.session import AmiError, AmiSession, AmiTarget
from voicebridge.ami.sim import Behaviour, FakeAsterisk
from voicebridge.app import make_app
from voicebridge.blocking import Blocking
from voicebridge.dialplan_admin import DialplanRevision, checker
from voicebridge.dialplan_push import Pusher, wait_connected
from voicebridge.runtime import Runtime

LINES = (CitizenLine(number="105", district="01"),)
CHECK = checker(LINES)


@dataclass
class Rig:
    runtime: Runtime
    fake: FakeAsterisk
    session: AmiSession
    pusher: Pusher

    async def show(self, context: str) -> list[dict[str, str]]:
        found = await self.session.send(
            "ShowDialPlan", [("Context", context)], as_list=None, check=False
        )
        return [dict(m.items()) for m in (found if isinstance(found, list) else [found])]

    def propose(self, template: str, old: str, new: str) -> DialplanRevision:
        store = self.runtime.dialplans
        base = store.latest(template)
        assert old in base.content
        revision, created = store.propose(
            template,
            base.content.replace(old, new),
            base=base.id,
            comment="prueba",
            author="admin:ana",
            check=CHECK,
        )
        assert created
        return revision


@pytest.fixture
async def rig(runtime: Runtime) -> AsyncIterator[Rig]:
    runtime.dialplans.seed()
    fake = FakeAsterisk(citizen_lines=LINES)
    await fake.start()
    session = AmiSession(
        AmiTarget(host="127.0.0.1", port=fake.port, username="voicebridge", secret="voicebridge")
    )
    session.start()
    blocking = Blocking(2)
    try:
        await wait_connected(session)
        pusher = Pusher(runtime.dialplans, session, blocking, runtime.redis, citizen_lines=LINES)
        yield Rig(runtime, fake, session, pusher)
    finally:
        await session.stop()
        await fake.stop()
        blocking.shutdown()


def read_data(listing: list[dict[str, str]]) -> list[str]:
    return [m["AppData"] for m in listing if m.get("Application") == "Read"]


async def test_trial_then_switch_then_rollback(rig: Rig) -> None:
    store = rig.runtime.dialplans
    before = store.pointers()[PARAMETERS]
    revision = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 15")

    trial = await rig.pusher.trial(revision.id, "admin:ana")
    assert trial.ok, trial.problems
    assert store.pointers()[PARAMETERS] == before  # a trial changes nothing in force
    gone = await rig.show(f"vb-t{revision.id}-ack")
    assert gone[0]["Message"] == f"Did not find context vb-t{revision.id}-ack"  # removed after
    assert (await rig.show("vb-ack"))[0]["Response"] == "Error"  # nothing live yet

    switched = await rig.pusher.switch(revision.id, "admin:ana")
    assert switched.ok, switched.problems
    assert store.pointers()[PARAMETERS] == revision.id
    assert read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,15"]
    assert read_data(await rig.show("vb-check")) == ["VB_KEY,silence/1&vb/check-intro,1,,1,15"]
    assert rig.fake.warnings == []
    actions = [(e.action, e.ok, e.actor) for e in store.audit_log()[:3]]
    assert actions == [
        ("switch", True, "admin:ana"),
        ("trial", True, "admin:ana"),
        ("trial", True, "admin:ana"),
    ]

    back = await rig.pusher.rollback("admin:luis")
    assert back.ok, back.problems
    assert store.pointers()[PARAMETERS] == before
    assert read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,10"]
    [move] = [e for e in store.audit_log() if e.action == "rollback"]
    assert (move.actor, move.previous_id, move.revision_id) == ("admin:luis", revision.id, before)
    assert store.last_undoable() is None  # nothing more to undo
    with pytest.raises(NotFound):
        await rig.pusher.rollback("admin:luis")


async def test_a_line_asterisk_skips_fails_the_trial_and_nothing_is_switched(rig: Rig) -> None:
    """The read-back catches what Asterisk did not load, whatever the validation saw:
    here a validation that lets a bad line through (as ours would for a case it does not
    know)."""
    store = rig.runtime.dialplans
    blind = Pusher(
        store,
        rig.session,
        rig.pusher.blocking,
        rig.runtime.redis,
        citizen_lines=LINES,
        lint=False,
    )
    base = store.latest("vb-room")
    bad = base.content.replace(" same => n,Answer()\n", " same => n(x,Answer()\n", 1)
    revision, _ = store.propose(
        "vb-room", bad, base=base.id, comment="roto", author="admin:eve", check=lambda _: []
    )
    outcome = await blind.switch(revision.id, "admin:eve")
    assert not outcome.ok
    assert any("Asterisk cargó" in p.es and "prioridades" in p.es for p in outcome.problems)
    assert any("a line skipped?" in p.en for p in outcome.problems)
    assert any("Label missing trailing ')'" in w.text for w in rig.fake.warnings)
    assert store.pointers()["vb-room"] == base.id
    assert (await rig.show("vb-room"))[0]["Response"] == "Error"  # never switched
    entry = store.audit_log()[0]
    assert (entry.action, entry.ok) == ("trial", False)
    assert "FALLÓ" in entry.detail


async def test_an_invalid_revision_is_never_pushed(rig: Rig) -> None:
    store = rig.runtime.dialplans
    base = store.latest("vb-room")
    bad = base.content.replace(" same => n,Answer()\n", " same => n,System(id)\n", 1)
    revision, _ = store.propose(
        "vb-room", bad, base=base.id, comment="x", author="admin:eve", check=lambda _: []
    )
    outcome = await rig.pusher.switch(revision.id, "admin:eve")
    assert not outcome.ok
    assert "System() no está permitida" in outcome.problems[0].es
    assert "System() is not allowed" in outcome.problems[0].en
    assert [r for r in rig.fake.received if r.action == "UpdateConfig"] == []


async def test_an_asterisk_found_stale_gets_the_last_good_rendering_again(rig: Rig) -> None:
    revision = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 12")
    assert (await rig.pusher.switch(revision.id, "admin:ana")).ok
    assert await rig.pusher.restore() is None  # Asterisk has it
    # someone restores an extensions.conf without it and Asterisk reloads it
    headers = [
        ("SrcFilename", "extensions.conf"),
        ("DstFilename", "extensions.conf"),
        ("Reload", "pbx_config"),
        ("Action-000000", "DelCat"),
        ("Cat-000000", "vb-ack"),
    ]
    await rig.session.send("UpdateConfig", headers)
    assert (await rig.show("vb-ack"))[0]["Response"] == "Error"
    restored = await rig.pusher.restore()
    assert restored is not None
    assert restored.ok, restored.problems
    assert read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,12"]
    entry = rig.runtime.dialplans.audit_log()[0]
    assert (entry.action, entry.ok, entry.actor) == ("restore", True, "voicebridge")


async def test_two_pushes_never_interleave(rig: Rig) -> None:
    first = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 11")
    second = rig.propose("vb-check", "NoOp(responder line check)", "NoOp(prueba de línea)")
    done = await asyncio.gather(
        rig.pusher.switch(first.id, "admin:ana"), rig.pusher.switch(second.id, "admin:luis")
    )
    assert all(o.ok for o in done), done
    pointers = rig.runtime.dialplans.pointers()
    assert (pointers[PARAMETERS], pointers["vb-check"]) == (first.id, second.id)
    assert read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,11"]


async def test_nothing_to_roll_back(rig: Rig) -> None:
    with pytest.raises(NotFound):
        await rig.pusher.rollback("admin:ana")


async def test_serve_pushes_the_last_good_rendering_to_an_asterisk_restarted_stale(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    runtime.dialplans.seed()
    fake = FakeAsterisk(citizen_lines=LINES)
    await fake.start()
    url = f"ami://voicebridge:voicebridge@127.0.0.1:{fake.port}"
    wired = replace(runtime, settings=replace(runtime.settings, ami_url=url))
    session = AmiSession(AmiTarget.parse(url))
    session.start()
    blocking = Blocking(2)
    try:
        await wait_connected(session)
        pusher = Pusher(runtime.dialplans, session, blocking, runtime.redis, citizen_lines=LINES)
        rig = Rig(runtime, fake, session, pusher)
        revision = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 13")
        assert (await pusher.switch(revision.id, "admin:ana")).ok
        # an older extensions.conf put back behind voicebridge's back, read at the restart
        headers = [
            ("SrcFilename", "extensions.conf"),
            ("DstFilename", "extensions.conf"),
            ("Action-000000", "DelCat"),
            ("Cat-000000", "vb-ack"),
        ]
        await session.send("UpdateConfig", headers)
        await aiohttp_client(make_app(wired.settings, runtime=wired))  # serve runs
        await fake.restart()
        await asyncio.sleep(0.5)
        await wait_connected(session, 15)

        async def restored() -> bool:
            return read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,13"]

        for _ in range(100):
            if await restored():
                break
            await asyncio.sleep(0.1)
        assert await restored()
        entry = runtime.dialplans.audit_log()[0]
        assert (entry.action, entry.ok) == ("restore", True)
    finally:
        await session.stop()
        await fake.stop()
        blocking.shutdown()


async def test_a_responder_hears_the_revision_in_force_and_the_rollback_restores_it(
    runtime: Runtime, clock: FakeClock
) -> None:
    """A responder who presses 1 fifteen seconds into the prompt: with the shipped 10 s
    read nobody takes it; once a revision with a 20 s read is switched in, the same
    press takes the incident; after a rollback, it does not again. Asterisk's time runs
    at a tenth (a second's margin is 0.1 s): the press and the Read's end are 5 s apart
    either way, so a busy machine delaying the Read's start does not move the press into
    it (at the rig's hundredth it did once, in CI)."""
    runtime.dialplans.seed()
    async with bridged(runtime, clock, speed=0.1) as rig:
        plan = runtime.dispatcher.explain(rig.create()).decision.plans
        agency, first = plan[0].agency, plan[0].targets[0].target
        rig.script(first.dial or "", Behaviour.PRESS, digit="1", after=15.0)
        target = AmiTarget.parse(f"ami://voicebridge:voicebridge@127.0.0.1:{rig.fake.port}")
        session = AmiSession(target, events=False)
        session.start()
        blocking = Blocking(2)
        try:
            await wait_connected(session)
            pusher = Pusher(runtime.dialplans, session, blocking, runtime.redis)

            async def first_try() -> AttemptOutcome:
                incident_id = await rig.dispatch()

                def done() -> AttemptOutcome | None:
                    found = [
                        a.outcome
                        for a in runtime.store.detail(incident_id).attempts
                        if a.agency == agency
                    ]
                    return found[0] if found and found[0] in FINAL else None

                await rig.until(done, "the first try's outcome", within=20)
                outcome = done()
                assert outcome is not None
                return outcome

            assert await first_try() is not AttemptOutcome.ACKNOWLEDGED
            base = runtime.dialplans.latest(PARAMETERS)
            revision, _ = runtime.dialplans.propose(
                PARAMETERS,
                base.content.replace("read_timeout: 10", "read_timeout: 20"),
                base=base.id,
                comment="más tiempo para marcar",
                author="admin:ana",
                check=checker(()),
            )
            assert (await pusher.switch(revision.id, "admin:ana")).ok
            assert await first_try() is AttemptOutcome.ACKNOWLEDGED
            assert (await pusher.rollback("admin:ana")).ok
            assert await first_try() is not AttemptOutcome.ACKNOWLEDGED
        finally:
            await session.stop()
            blocking.shutdown()


# --------------------------------------------------------------- faults (a review's)


async def test_a_restore_waits_for_a_switch_under_way_and_keeps_it(rig: Rig) -> None:
    store = rig.runtime.dialplans
    first = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 12")
    assert (await rig.pusher.switch(first.id, "admin:ana")).ok
    second = rig.propose(PARAMETERS, "read_timeout: 12", "read_timeout: 14")
    switching = asyncio.create_task(rig.pusher.switch(second.id, "admin:ana"))
    for _ in range(2000):  # until the switch holds the lock
        if rig.runtime.redis.exists(dialplan_push.LOCK_KEY):
            break
        await asyncio.sleep(0.005)
    restoring = asyncio.create_task(rig.pusher.restore())  # another replica logs in
    assert (await switching).ok
    assert await restoring is None  # it read the last push after the switch: nothing stale
    assert store.pointers()[PARAMETERS] == second.id
    assert read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,14"]


async def test_a_second_rollback_undoes_the_switch_before_never_the_first_rollback(
    rig: Rig,
) -> None:
    store = rig.runtime.dialplans
    shipped_check = store.pointers()["vb-check"]
    check = rig.propose("vb-check", "NoOp(responder line check)", "NoOp(prueba)")
    assert (await rig.pusher.switch(check.id, "admin:ana")).ok
    params = store.pointers()[PARAMETERS]
    longer = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 15")
    assert (await rig.pusher.switch(longer.id, "admin:ana")).ok
    assert (await rig.pusher.rollback("admin:luis")).ok  # the parameters back
    assert store.pointers()[PARAMETERS] == params
    assert (await rig.pusher.rollback("admin:luis")).ok  # then vb-check
    assert (store.pointers()[PARAMETERS], store.pointers()["vb-check"]) == (params, shipped_check)
    with pytest.raises(NotFound):
        await rig.pusher.rollback("admin:luis")


async def test_a_lost_answer_to_the_live_swap_pushes_back_what_was_in_force(rig: Rig) -> None:
    store = rig.runtime.dialplans
    before = store.pointers()[PARAMETERS]
    revision = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 16")
    real = rig.session.send
    lost = [False]

    async def send(action: str, headers: Any = (), **kw: Any) -> Any:
        answer = await real(action, headers, **kw)
        swap = ("Cat-000000", "vb-ack") in headers and ("Action-000001", "RenameCat") in headers
        if action == "UpdateConfig" and swap and not lost[0]:
            lost[0] = True
            raise TimeoutError  # Asterisk did it; its answer came too late (once)
        return answer

    rig.session.send = send  # type: ignore[method-assign]
    try:
        outcome = await rig.pusher.switch(revision.id, "admin:ana")
    finally:
        rig.session.send = real  # type: ignore[method-assign]
    assert not outcome.ok
    assert outcome.steps[-1].en == "the previous rendering was pushed back"
    assert store.pointers()[PARAMETERS] == before
    assert read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,10"]


async def test_a_push_keeps_its_lock_alive_and_two_never_overlap_under_a_slow_asterisk(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stands for 120 s: renewed every 0.4 s, 0.8 s to spare for a busy machine's threads
    monkeypatch.setattr(dialplan_push, "LOCK_SECONDS", 1.2)
    real = rig.session.send

    async def slow(action: str, headers: Any = (), **kw: Any) -> Any:
        await asyncio.sleep(0.08)  # a busy Asterisk: a push takes several lock lives
        return await real(action, headers, **kw)

    spans: dict[str, list[float]] = {}
    acquire, release = dialplan_push._Lock.acquire, dialplan_push._Lock.release

    async def acquired(self: Any) -> None:
        await acquire(self)
        spans[asyncio.current_task().get_name()] = [time.monotonic()]  # type: ignore[union-attr]

    async def released(self: Any) -> None:
        spans[asyncio.current_task().get_name()].append(time.monotonic())  # type: ignore[union-attr]
        await release(self)

    monkeypatch.setattr(dialplan_push._Lock, "acquire", acquired)
    monkeypatch.setattr(dialplan_push._Lock, "release", released)
    first = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 11")
    second = rig.propose("vb-check", "NoOp(responder line check)", "NoOp(prueba)")
    rig.session.send = slow  # type: ignore[method-assign]
    try:
        a = asyncio.create_task(rig.pusher.switch(first.id, "admin:ana"), name="ana")
        await asyncio.sleep(0.05)
        b = asyncio.create_task(rig.pusher.switch(second.id, "admin:luis"), name="luis")
        done = await asyncio.gather(a, b)
    finally:
        rig.session.send = real  # type: ignore[method-assign]
    assert all(o.ok for o in done), [o.problems for o in done]
    (a0, a1), (b0, b1) = spans["ana"], spans["luis"]
    assert a1 - a0 > 0.6  # longer than the lock's life: it was renewed
    assert a1 <= b0 or b1 <= a0
    assert read_data(await rig.show("vb-ack")) == ["VB_KEY,${VB_MESSAGE},1,,1,11"]


async def test_a_trial_that_fails_midway_leaves_nothing_behind(rig: Rig) -> None:
    revision = rig.propose(PARAMETERS, "read_timeout: 10", "read_timeout: 17")
    real = rig.session.send
    updates = [0]

    async def send(action: str, headers: Any = (), **kw: Any) -> Any:
        if action == "UpdateConfig":
            updates[0] += 1
            if updates[0] == 3:
                raise AmiError("UpdateConfig", "Update did not complete successfully")
        return await real(action, headers, **kw)

    rig.session.send = send  # type: ignore[method-assign]
    try:
        outcome = await rig.pusher.trial(revision.id, "admin:ana")
    finally:
        rig.session.send = real  # type: ignore[method-assign]
    assert not outcome.ok
    assert outcome.problems[0].en.startswith("Asterisk refused UpdateConfig")
    names = [f"vb-t{revision.id}-{n}" for n in ("ack", "room", "check", "citizen")]
    for name in names + [f"{n}-staging" for n in names]:
        assert (await rig.show(name))[0].get("Response") == "Error", name
    entry = rig.runtime.dialplans.audit_log()[0]
    assert (entry.action, entry.ok) == ("trial", False)
