"""The contract every adapter passes: the same scenarios for each medium on its real
adapter against its fake peer (calls and talkgroups through the AMI adapter and the
fake Asterisk, a talkgroup's radios answering through the radio simulator; SDS through
the radio adapter; SMS and Telegram through the alert adapter, the fake Twilio and the
fake Bot API). Whatever the medium, a contact is placed once, its outcome lands in the
agency's escalation in the domain's words, an acknowledgement stops the agency's
escalation, a late one changes nothing, a cancellation withdraws what is in flight, and
an adapter that was down places what waited, once."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    ContactState,
    Medium,
    NewIncident,
    NewReport,
    Source,
    Status,
)
from tests.conftest import FakeClock
from tests.contract.harness import ACK_METHOD, Harness, Response, harness

Out = AttemptOutcome
REACHED = {Out.PROMPTING, Out.ANSWERED, Out.DELIVERED, Out.PATCHED}
NOT_REACHED = {Out.NO_ANSWER, Out.BUSY, Out.CONGESTION, Out.FAILED}


@pytest.fixture(params=list(Medium), ids=[m.value for m in Medium])
async def adapter(
    request: pytest.FixtureRequest,
    sqlite_url: str,
    redis_url: str,
    redis: object,
    clock: FakeClock,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    async with harness(request.param, sqlite_url, redis_url, clock, tmp_path) as h:
        yield h


async def dispatch(h: Harness) -> str:
    def go() -> str:
        incident, _ = h.runtime.store.create_incident(
            NewIncident(
                category="robo",
                district="150122",
                report=NewReport(source=Source.API, text="contrato"),
            ),
            actor="operator:test",
        )
        h.runtime.dispatcher.dispatch(incident.id, actor="operator:test")
        return incident.id

    return await asyncio.to_thread(go)


def tries(h: Harness, incident_id: str) -> list[AttemptOutcome]:
    return [a.outcome for a in h.runtime.store.detail(incident_id).attempts if a.agency == "epr"]


def responders(h: Harness, incident_id: str) -> list[str]:
    return [c.ref for c in h.runtime.calls.legs(incident_id) if c.agency == "epr"]


async def until(
    h: Harness, condition: Callable[[], object], what: str, within: float = 5.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        await h.settled()
        if await asyncio.to_thread(condition):
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")


async def test_deliver(adapter: Harness) -> None:
    adapter.respond(0, Response.RECEIVE)
    incident_id = await dispatch(adapter)
    await until(
        adapter,
        lambda: tries(adapter, incident_id)[:1] and tries(adapter, incident_id)[0] in REACHED,
        "reached",
    )
    [ref] = responders(adapter, incident_id)
    assert adapter.placed(ref) == 1
    assert adapter.runtime.store.get(incident_id).status is Status.RINGING


async def test_no_answer(adapter: Harness) -> None:
    adapter.respond(0, Response.NO_ANSWER)
    incident_id = await dispatch(adapter)
    await until(
        adapter,
        lambda: tries(adapter, incident_id)[:1] and tries(adapter, incident_id)[0] in NOT_REACHED,
        "not reached",
        within=10,
    )
    assert len(tries(adapter, incident_id)) == 1  # the next target waits its interval
    [state] = [a.state for a in adapter.runtime.calls.dispatches.assignments(incident_id)]
    assert state is AssignmentState.PENDING


async def test_decline_moves_to_the_next_target_at_once(adapter: Harness) -> None:
    adapter.respond(0, Response.DECLINE)
    adapter.respond(1, Response.RECEIVE)
    incident_id = await dispatch(adapter)
    await until(adapter, lambda: len(tries(adapter, incident_id)) == 2, "the second target")
    assert tries(adapter, incident_id)[0] is Out.DECLINED
    first, second = responders(adapter, incident_id)
    await until(adapter, lambda: adapter.placed(second) == 1, "the second target placed")
    assert adapter.placed(first) == 1


async def test_acknowledge(adapter: Harness) -> None:
    adapter.respond(0, Response.ACKNOWLEDGE)
    incident_id = await dispatch(adapter)
    await until(adapter, lambda: adapter.runtime.store.detail(incident_id).acks, "acknowledged")
    detail = adapter.runtime.store.detail(incident_id)
    [ack] = detail.acks
    assert ack.method is ACK_METHOD[adapter.medium]
    assert tries(adapter, incident_id) == [Out.ACKNOWLEDGED]
    assert detail.incident.status in (Status.ACKNOWLEDGED, Status.BRIDGED)
    [state] = [a.state for a in adapter.runtime.calls.dispatches.assignments(incident_id)]
    assert state is AssignmentState.ACKNOWLEDGED


async def test_an_acknowledgement_after_the_agency_acknowledged_changes_nothing(
    adapter: Harness,
) -> None:
    adapter.respond(0, Response.RECEIVE)
    incident_id = await dispatch(adapter)
    await until(adapter, lambda: responders(adapter, incident_id), "the first contact")
    [ref] = responders(adapter, incident_id)
    await asyncio.to_thread(
        adapter.runtime.dispatcher.acknowledge,
        incident_id,
        "epr",
        actor="supervisor:test",
        cause="confirmó por radio",
    )
    await asyncio.to_thread(
        adapter.runtime.calls.contacts.acknowledged, ref, ACK_METHOD[adapter.medium], "tarde"
    )
    detail = adapter.runtime.store.detail(incident_id)
    [ack] = detail.acks
    assert ack.method is AckMethod.MANUAL
    assert [e.kind.value for e in detail.events].count("acknowledged") == 1


async def test_cancelled_meanwhile(adapter: Harness) -> None:
    adapter.respond(0, Response.RECEIVE)
    incident_id = await dispatch(adapter)
    await until(
        adapter,
        lambda: (
            tries(adapter, incident_id)[:1]
            and tries(adapter, incident_id)[0] in REACHED | {Out.RINGING}
        ),
        "placed",
    )
    [ref] = responders(adapter, incident_id)
    await asyncio.to_thread(
        adapter.runtime.store.transition,
        incident_id,
        Status.CANCELLED,
        actor="operator:test",
        cause="llamada falsa",
    )
    adapter.runtime.wakeup.local()
    await until(
        adapter,
        lambda: not any(c.state.live for c in adapter.runtime.calls.legs(incident_id)),
        "nothing live",
    )
    contact = next(c for c in adapter.runtime.calls.legs(incident_id) if c.ref == ref)
    if contact.withdraw:  # it was still live when the incident ended: the adapter ended it,
        # unless the message's own report ("delivered") came in first; that is the truth
        assert adapter.withdrawn(ref) or contact.state is ContactState.DELIVERED
    [state] = [a.state for a in adapter.runtime.calls.dispatches.assignments(incident_id)]
    assert state is AssignmentState.CANCELLED
    assert len(tries(adapter, incident_id)) == 1


async def test_an_adapter_down_places_what_waited_once_back(adapter: Harness) -> None:
    adapter.respond(0, Response.ACKNOWLEDGE)
    await adapter.down()
    incident_id = await dispatch(adapter)
    await adapter.up()
    await until(
        adapter, lambda: adapter.runtime.store.detail(incident_id).acks, "acknowledged", within=10
    )
    [ref] = responders(adapter, incident_id)
    assert adapter.placed(ref) == 1
    assert tries(adapter, incident_id) == [Out.ACKNOWLEDGED]
