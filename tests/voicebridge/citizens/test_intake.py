"""The channel intake: stored in a group commit, processed in order per chat, a repeat
answered as the first time, a failure rolled back and retried, leftovers recovered."""

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import Connection, select

from routing import schema
from routing.db import Database
from routing.inbox import MAX_FAILURES, Inbound, Inbox, Stored
from tests.conftest import FakeClock
from voicebridge.blocking import Blocking
from voicebridge.citizens.intake import STALE_SECONDS, ChannelIntake, Processed


@dataclass
class Recorder:
    """A processor that records what it was given, and fails on demand."""

    seen: list[tuple[str, bool]] = field(default_factory=list)
    fail_on: set[str] = field(default_factory=set)

    def prepare(self, message: Stored, now: datetime) -> object:
        return None

    def process(
        self,
        conn: Connection,
        message: Stored,
        now: datetime,
        *,
        answering: bool,
        prepared: object,
    ) -> Processed:
        body = message.raw["Body"]
        self.seen.append((body, answering))
        if body in self.fail_on:
            raise ValueError(f"no se pudo con {body}")
        return Processed(replies=(f"recibido: {body}",), incident="LIM-2026-000001")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url, pool_size=4)
    yield database
    database.dispose()


@pytest.fixture
def blocking() -> Iterator[Blocking]:
    pool = Blocking(4)
    yield pool
    pool.shutdown()


def msg(sid: str, body: str, chat: str = "+51987654321") -> Inbound:
    return Inbound(channel="sms", external_id=sid, chat=chat, raw={"Body": body})


def intake(db: Database, clock: FakeClock, blocking: Blocking, rec: Recorder) -> ChannelIntake:
    return ChannelIntake(Inbox(db, clock=clock), db, clock, blocking, {"sms": rec})


async def test_a_burst_is_stored_and_processed_in_order_each_answered(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    rec = Recorder()
    channel = intake(db, clock, blocking, rec)
    outcomes = await asyncio.gather(
        *(channel.submit(msg(f"SM{n}", f"m{n}", chat=f"+5198765430{n % 3}"), wait=True)
          for n in range(30))
    )  # fmt: skip
    assert [o.processed.replies for o in outcomes if o.processed] == [
        (f"recibido: m{n}",) for n in range(30)
    ]
    assert all(o.answered for o in outcomes)
    assert [body for body, _ in rec.seen] == [f"m{n}" for n in range(30)]


async def test_a_repeat_is_answered_as_the_first_time_and_not_processed_again(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    rec = Recorder()
    channel = intake(db, clock, blocking, rec)
    first = await channel.submit(msg("SM1", "robo"), wait=True)
    again = await channel.submit(msg("SM1", "robo"), wait=True)
    assert again.stored.repeated
    assert again.processed == first.processed
    assert again.answered
    assert rec.seen == [("robo", True)]


async def test_without_waiting_the_message_is_stored_and_processed_after(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    rec = Recorder()
    channel = intake(db, clock, blocking, rec)
    outcome = await channel.submit(msg("SM1", "robo"), wait=False)
    assert outcome.processed is None
    for _ in range(100):
        if rec.seen:
            break
        await asyncio.sleep(0.01)
    assert rec.seen == [("robo", False)]  # nobody waits: replies go as messages


async def test_a_failing_message_is_rolled_back_alone_and_set_aside_after_retries(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    rec = Recorder(fail_on={"roto"})
    channel = intake(db, clock, blocking, rec)
    bad, good, other = await asyncio.gather(
        channel.submit(msg("SM1", "roto"), wait=True),
        channel.submit(msg("SM2", "después", chat="+51987654321"), wait=True),
        channel.submit(msg("SM3", "otro chat", chat="+51999888777"), wait=True),
    )
    assert bad.processed is None
    assert good.processed is None  # its chat's earlier message is not processed yet
    assert other.processed is not None
    assert other.processed.replies == ("recibido: otro chat",)
    inbox = Inbox(db, clock=clock)
    for _ in range(MAX_FAILURES):
        clock.advance(STALE_SECONDS + 1)
        channel.recover()
    assert inbox.due() == []  # the failing one set aside, and the one after it processed
    assert ("después", False) in rec.seen
    stored = inbox.get(bad.stored.id)
    assert stored is not None
    assert stored.failures == MAX_FAILURES
    assert "no se pudo con roto" in (stored_error(db, bad.stored.id) or "")


def stored_error(db: Database, row_id: int) -> str | None:
    with db.read() as conn:
        return conn.execute(
            select(schema.inbound_messages.c.error).where(schema.inbound_messages.c.id == row_id)
        ).scalar()


async def test_what_a_dead_process_stored_is_processed_by_recovery(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    inbox = Inbox(db, clock=clock)
    inbox.store([msg("SM1", "robo"), msg("SM2", "otra cosa")])  # stored, then the process died
    clock.advance(1)  # the next one starts
    rec = Recorder()
    channel = intake(db, clock, blocking, rec)
    assert channel.recover() == 0  # fresh: maybe another live process's
    assert channel.recover(everything=True) == 2
    assert rec.seen == [("robo", False), ("otra cosa", False)]
    assert inbox.due() == []


async def test_a_webhook_past_its_deadline_answers_without_replies_which_go_as_messages(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    """Twilio gives up on a webhook after 15 s: one whose message is not processed in
    time answers without its replies, and its processing then sends them as messages
    (never both, never neither)."""
    release = threading.Event()

    class Slow(Recorder):
        def prepare(self, message: Stored, now: datetime) -> object:
            release.wait(5)
            return None

    rec = Slow()
    channel = ChannelIntake(
        Inbox(db, clock=clock), db, clock, blocking, {"sms": rec}, answer_within=0.2
    )
    late = await channel.submit(msg("SM1", "robo"), wait=True)
    assert late.processed is None
    assert not late.answered
    release.set()
    for _ in range(200):
        if rec.seen:
            break
        await asyncio.sleep(0.01)
    assert rec.seen == [("robo", False)]  # processed for messages, not for the answer
    stored = Inbox(db, clock=clock).get(late.stored.id)
    for _ in range(200):
        stored = Inbox(db, clock=clock).get(late.stored.id)
        if stored is not None and stored.processed_at is not None:
            break
        await asyncio.sleep(0.01)
    assert stored is not None
    assert not stored.answered
    on_time = await channel.submit(msg("SM2", "otro"), wait=True)
    assert on_time.answered


async def test_the_recovery_never_answers_for_a_webhook_that_still_waits(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    """A message another thread's recovery takes while its webhook still waits: its
    replies go as messages, since the webhook will not get them."""
    [stored] = Inbox(db, clock=clock).store([msg("SM1", "robo")])
    clock.advance(1)
    rec = Recorder()
    channel = intake(db, clock, blocking, rec)
    channel._waiters.wait(stored.id)
    assert channel.recover(everything=True) == 1
    assert rec.seen == [("robo", False)]


async def test_a_failed_batch_prepares_each_message_once(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    """What a processor prepared outside the transaction (a responder's answer taken
    through the ledger) is not taken again when the batch is retried message by
    message."""
    prepared: list[str] = []

    class Counting(Recorder):
        def prepare(self, message: Stored, now: datetime) -> object:
            prepared.append(message.raw["Body"])
            return None

    Inbox(db, clock=clock).store([msg("SM1", "roto"), msg("SM2", "bien", chat="+51999888777")])
    clock.advance(1)
    rec = Counting(fail_on={"roto"})
    channel = intake(db, clock, blocking, rec)
    channel.recover(everything=True)
    assert prepared.count("bien") == 1
    assert ("bien", False) in rec.seen


async def test_the_start_up_recovery_leaves_what_this_intake_took_since(
    db: Database, clock: FakeClock, blocking: Blocking
) -> None:
    """At start-up everything a dead process left is taken, not what this serve stored
    itself meanwhile (on its way to its own processing, or to the workers)."""
    Inbox(db, clock=clock).store([msg("SM1", "robo")])  # left by a process that died
    clock.advance(1)
    rec = Recorder()
    channel = intake(db, clock, blocking, rec)
    Inbox(db, clock=clock).store([msg("SM2", "otra cosa", chat="+51999888777")])  # since
    assert channel.recover(everything=True) == 1
    assert rec.seen == [("robo", False)]
