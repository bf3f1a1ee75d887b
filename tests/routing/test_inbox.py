"""The inbox of raw inbound messages, the citizens' chats and the outbox of messages, on
SQLite and on PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from routing import schema
from routing.chats import Chats
from routing.db import Database
from routing.events import EventKind, MessageSent, MessageStatus
from routing.inbox import MAX_FAILURES, Inbound, Inbox
from routing.models import NewIncident, NewReport, Source
from routing.outbox import MessageState, Outbox, Outgoing, Purpose
from routing.store import IncidentStore
from routing.tasks import TaskStore
from tests.conftest import FakeClock


@pytest.fixture
def inbox(db: Database, clock: FakeClock) -> Inbox:
    return Inbox(db, clock=clock)


def sms(sid: str, chat: str = "+51987654321", body: str = "robo") -> Inbound:
    return Inbound(channel="sms", external_id=sid, chat=chat, raw={"Body": [body]})


def test_a_message_is_stored_once_and_a_repeat_finds_its_row(inbox: Inbox) -> None:
    [first] = inbox.store([sms("SM1")])
    assert not first.repeated
    assert first.processed_at is None
    [again, other] = inbox.store([sms("SM1", body="otra cosa"), sms("SM2")])
    assert again.repeated
    assert again.id == first.id
    assert again.raw == {"Body": ["robo"]}
    assert not other.repeated
    [a, b] = inbox.store([sms("SM3"), sms("SM3")])  # twice in one batch
    assert not a.repeated
    assert b.repeated
    assert a.id == b.id
    assert [m.external_id for m in inbox.due()] == ["SM1", "SM2", "SM3"]


def test_a_batch_is_inserted_in_one_statement_and_each_gets_its_own_id(
    inbox: Inbox, db: Database
) -> None:
    inserts: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INBOUND_MESSAGES"):
            inserts.append(statement)

    batch = [sms(f"SM{n}", chat=f"+5198765{n:04d}") for n in range(40)]
    batch.append(Inbound(channel="telegram", external_id="SM7", chat="1", raw={}))
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        stored = inbox.store(batch)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    with db.read() as conn:
        rows = conn.execute(select(schema.inbound_messages)).all()
    by_id = {r.id: (r.channel, r.external_id, r.chat) for r in rows}
    assert len(by_id) == len(batch)
    for message, s in zip(batch, stored, strict=True):
        assert by_id[s.id] == (message.channel, message.external_id, message.chat)


def test_the_same_id_on_two_channels_is_two_messages(inbox: Inbox) -> None:
    one = inbox.store([Inbound(channel="telegram", external_id="7", chat="1", raw={})])[0]
    two = inbox.store([Inbound(channel="sms", external_id="7", chat="1", raw={})])[0]
    assert one.id != two.id
    assert not two.repeated


def test_messages_of_a_chat_are_taken_in_order(inbox: Inbox, db: Database) -> None:
    first, second, elsewhere = inbox.store(
        [sms("SM1"), sms("SM2"), sms("SM3", chat="+51999888777")]
    )
    with db.write() as conn:
        assert inbox.take(conn, second.id) is None  # the first of its chat waits
        assert inbox.take(conn, elsewhere.id) is not None  # another chat does not wait
        taken = inbox.take(conn, first.id)
        assert taken is not None
        inbox.processed(
            conn,
            first.id,
            replies=["Reporte recibido"],
            answered=True,
            incident=None,
            now=taken.received_at,
        )
    with db.write() as conn:
        assert inbox.take(conn, first.id) is None  # processed already
        assert inbox.take(conn, second.id) is not None
    stored = inbox.get(first.id)
    assert stored is not None
    assert stored.replies == ("Reporte recibido",)
    assert stored.answered


def test_a_message_that_keeps_failing_is_set_aside_and_does_not_block_its_chat(
    inbox: Inbox, db: Database
) -> None:
    bad, good = inbox.store([sms("SM1"), sms("SM2")])
    for n in range(1, MAX_FAILURES + 1):
        assert inbox.failed(bad.id, "ValueError: roto") == n
    assert [m.id for m in inbox.due()] == [good.id]
    assert inbox.counts() == (1, 1)
    with db.write() as conn:
        assert inbox.take(conn, good.id) is not None


def test_stored_before_leaves_the_fresh_ones_to_their_process(
    inbox: Inbox, clock: FakeClock
) -> None:
    [old] = inbox.store([sms("SM1")])
    clock.advance(10)
    inbox.store([sms("SM2")])
    assert [m.id for m in inbox.due(stored_before=clock.now() - timedelta(seconds=5))] == [old.id]


@pytest.mark.postgres
def test_replicas_storing_the_same_message_at_once_store_it_once(
    postgres_url: str, clock: FakeClock
) -> None:
    db = Database.from_url(postgres_url, pool_size=8)
    try:
        inbox = Inbox(db, clock=clock)
        results: list[bool] = []
        barrier = threading.Barrier(4)

        def store() -> None:
            barrier.wait()
            results.append(inbox.store([sms("SMrace")])[0].repeated)

        threads = [threading.Thread(target=store) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(results) == [False, True, True, True]
    finally:
        db.dispose()


def test_a_chat_keeps_its_state_and_who_may_be_written(db: Database, clock: FakeClock) -> None:
    chats = Chats(db)
    now = clock.now()
    with db.write() as conn:
        chat = chats.lock(conn, "sms", "+51987654321", now)
        assert chat.state == {}
        assert chat.writable
        chats.save(conn, "sms", "+51987654321", {"step": "lugar"}, now)
        chats.opt_out(conn, "sms", "+51987654321", now)
    got = chats.get("sms", "+51987654321")
    assert got is not None
    assert got.state == {"step": "lugar"}
    assert not got.writable
    with db.write() as conn:
        chats.opt_in(conn, "sms", "+51987654321", now)
    chats.unreachable("telegram", "42", "bloqueó al bot", now)
    assert chats.get("sms", "+51987654321").writable  # type: ignore[union-attr]
    blocked = chats.get("telegram", "42")
    assert blocked is not None
    assert not blocked.writable
    assert blocked.unreachable_cause == "bloqueó al bot"


def test_outbox_records_once_per_key_and_logs_each_step(db: Database, clock: FakeClock) -> None:
    store = IncidentStore(db, clock=clock)
    incident, _ = store.create_incident(
        NewIncident(category="robo", district="150132", report=NewReport(source=Source.SMS)),
        actor="citizen:sms",
    )
    outbox = Outbox(db, store, clock=clock)
    with db.read() as conn:
        row_id = conn.execute(
            select(schema.incidents.c.id).where(schema.incidents.c.public_id == incident.id)
        ).scalar_one()
    news = Outgoing(
        key=f"news-{incident.id}-derived-sms-+51987654321",
        channel="sms",
        chat="+51987654321",
        purpose=Purpose.NEWS,
        body="LIM derivado a PNP",
        incident_row=row_id,
    )
    [message_id] = outbox.record([news])
    assert outbox.record([news]) == []  # the same news once
    tasks = TaskStore(db, clock=clock)
    assert [t.key for t in tasks.claim()] == [f"msg-{message_id}--send--1"]
    sent = outbox.sent(message_id, "SM" + "0" * 32)
    assert sent is not None
    assert sent.state is MessageState.SENT
    assert sent.tries == 1
    assert outbox.sent(message_id, "SM" + "0" * 32) is None  # a job run twice
    clock.advance(5)
    retried = outbox.settle(
        message_id,
        MessageState.UNDELIVERED,
        error_code=30003,
        cause="teléfono apagado",
        retry_in=timedelta(seconds=60),
    )
    assert retried is not None
    assert retried.state is MessageState.QUEUED
    [again] = tasks.claim()
    assert again.key == f"msg-{message_id}--send--2"
    assert again.not_before == clock.now() + timedelta(seconds=60)
    outbox.sent(message_id, "SM" + "1" * 32)
    done = outbox.settle(message_id, MessageState.DELIVERED)
    assert done is not None
    assert done.state is MessageState.DELIVERED
    assert done.tries == 2
    assert outbox.settle(message_id, MessageState.FAILED) is None  # final already
    events = store.events(incident.id)
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.MESSAGE_SENT) == 2
    statuses = [e.payload for e in events if isinstance(e.payload, MessageStatus)]
    assert [(s.state, s.error_code) for s in statuses] == [
        ("undelivered", 30003),
        ("delivered", None),
    ]
    assert isinstance(events[1].payload, MessageSent)
    assert "se reintenta en 60 s" in [e.cause for e in events][2]
