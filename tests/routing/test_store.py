"""The incident store, run on SQLite and on PostgreSQL (see the database_url fixture)."""

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError

from routing.db import Database
from routing.errors import Conflict, IllegalTransition, InvalidValue, NotFound
from routing.events import (
    Created,
    DispatchOverdue,
    EventKind,
    MergedFrom,
    NewEvent,
    ReportAdded,
    StatusChanged,
    event,
)
from routing.models import (
    Incident,
    IncidentQuery,
    Location,
    NewIncident,
    NewReport,
    Priority,
    Reporter,
    Source,
    Status,
    Task,
)
from routing.store import IncidentStore, Intake
from routing.tasks import TaskStore
from tests.conftest import FakeClock

ACTOR = "operator:test"


def new(category: str = "robo", district: str | None = "150132", **report: object) -> NewIncident:
    return NewIncident(
        category=category,
        district=district,
        report=NewReport(
            source=report.pop("source", Source.API),  # type: ignore[arg-type]
            text=str(report.pop("text", "Robo de celular")),
            reporter=Reporter(name="Rosa Peña", phone="+51987654321"),
            location=Location(
                lat=-12.0, lon=-77.0, address="Av. Próceres de la Independencia 1234"
            ),
            external_id=report.pop("external_id", None),  # type: ignore[arg-type]
        ),
    )


def test_create_stores_the_incident_its_report_and_its_first_event(store: IncidentStore) -> None:
    incident, created = store.create_incident(new(), actor=ACTOR)
    assert created
    assert incident.id == "LIM-2026-000001"
    assert incident.status is Status.RECEIVED
    assert incident.priority is Priority.HIGH  # the category's default
    detail = store.detail(incident.id)
    assert detail.incident == incident
    assert [r.text for r in detail.reports] == ["Robo de celular"]
    assert detail.reports[0].reporter.name == "Rosa Peña"
    assert detail.reports[0].location.address == "Av. Próceres de la Independencia 1234"
    [first] = detail.events
    assert (first.seq, first.kind, first.actor) == (1, EventKind.CREATED, ACTOR)
    assert first.cause == "reporte recibido por la API"
    assert first.at == incident.created_at
    # no district source: the optional fields are not stored, and read back as None
    assert first.data == {
        "category": "robo",
        "priority": "high",
        "district": "150132",
        "source": "api",
    }
    assert first.payload == Created(
        category="robo",
        priority="high",
        district="150132",
        source="api",
        district_source=None,
        district_note=None,
    )


def test_how_the_district_was_found_is_in_the_first_event(store: IncidentStore) -> None:
    located = NewIncident(
        category="robo",
        district="150122",
        report=NewReport(source=Source.API, text="robo"),
        district_source="point",
        district_note="El punto cae en Miraflores.",
    )
    incident, _ = store.create_incident(located, actor=ACTOR)
    [first] = store.events(incident.id)
    assert first.data == {
        "category": "robo",
        "priority": "high",
        "district": "150122",
        "source": "api",
        "district_source": "point",
        "district_note": "El punto cae en Miraflores.",
    }
    assert isinstance(first.payload, Created)
    assert (first.payload.district_source, first.payload.district_note) == (
        "point",
        "El punto cae en Miraflores.",
    )


def test_ids_count_per_lima_year(store: IncidentStore, clock: FakeClock) -> None:
    assert store.create_incident(new(), actor=ACTOR)[0].id == "LIM-2026-000001"
    assert store.create_incident(new(), actor=ACTOR)[0].id == "LIM-2026-000002"
    # 23:30 on 31 December in Lima is already 2027 in UTC: still a 2026 incident
    clock.current = datetime(2027, 1, 1, 4, 30, tzinfo=UTC)
    assert store.create_incident(new(), actor=ACTOR)[0].id == "LIM-2026-000003"
    clock.current = datetime(2027, 1, 1, 5, 30, tzinfo=UTC)
    assert store.create_incident(new(), actor=ACTOR)[0].id == "LIM-2027-000001"


def test_priority_may_be_set_and_district_may_be_unknown(store: IncidentStore) -> None:
    incident, _ = store.create_incident(
        NewIncident(
            category="otro",
            district=None,
            priority=Priority.LOW,
            report=NewReport(source=Source.SMS, text="algo raro"),
        ),
        actor=ACTOR,
    )
    assert incident.priority is Priority.LOW
    assert incident.district is None
    assert store.get(incident.id).summary == "algo raro"


def test_unknown_category_or_district_is_refused_and_nothing_stored(store: IncidentStore) -> None:
    with pytest.raises(InvalidValue, match="category"):
        store.create_incident(new(category="granizo"), actor=ACTOR)
    with pytest.raises(InvalidValue, match="district"):
        store.create_incident(new(district="070101"), actor=ACTOR)
    assert store.count() == 0


def test_a_repeated_report_returns_the_first_incident(store: IncidentStore) -> None:
    first, created = store.create_incident(new(external_id="SM123"), actor=ACTOR)
    again, created_again = store.create_incident(new(external_id="SM123"), actor=ACTOR)
    assert created
    assert not created_again
    assert again == first
    assert store.count() == 1
    # the same external id from another channel is another report
    other, created_other = store.create_incident(
        new(external_id="SM123", source=Source.TELEGRAM), actor=ACTOR
    )
    assert created_other
    assert other.id != first.id


def test_concurrent_repeats_store_one_incident(store: IncidentStore) -> None:
    results: list[str] = []
    barrier = threading.Barrier(6)

    def report() -> None:
        barrier.wait()
        incident, _ = store.create_incident(new(external_id="dup-1"), actor=ACTOR)
        results.append(incident.id)

    threads = [threading.Thread(target=report) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert store.count() == 1


def test_concurrent_creates_get_distinct_consecutive_ids(store: IncidentStore) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        for _ in range(n):
            incident, _ = store.create_incident(new(), actor=ACTOR)
            with lock:
                ids.append(incident.id)

    threads = [threading.Thread(target=create, args=(10,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == [f"LIM-2026-{n:06d}" for n in range(1, 51)]


def test_a_status_change_writes_its_event_in_the_same_transaction(
    store: IncidentStore, clock: FakeClock
) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)
    clock.advance(12)
    moved, changed = store.transition(
        incident.id, Status.DISPATCHED, actor="system:router", cause="rules matched"
    )
    assert changed
    assert moved.status is Status.DISPATCHED
    assert moved.updated_at == clock.now()
    assert moved.version == 2
    last = store.events(incident.id)[-1]
    assert (last.seq, last.kind, last.actor, last.cause) == (
        2,
        EventKind.STATUS_CHANGED,
        "system:router",
        "rules matched",
    )
    # the rule, revision and agencies of a dispatch: see the dispatch in test_calls
    assert last.data == {"from": "received", "to": "dispatched"}
    assert last.payload == StatusChanged(from_="received", to="dispatched")
    assert last.at == clock.now()


def test_an_illegal_transition_is_refused_and_changes_nothing(store: IncidentStore) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)
    with pytest.raises(IllegalTransition, match="no puede pasar de «recibido» a «en conferencia»"):
        store.transition(incident.id, Status.BRIDGED, actor=ACTOR, cause="test")
    store.transition(incident.id, Status.RESOLVED, actor=ACTOR, cause="atendido por serenazgo")
    with pytest.raises(IllegalTransition, match="resuelto, un estado final"):
        store.transition(incident.id, Status.CANCELLED, actor=ACTOR, cause="test")
    assert [e.kind for e in store.events(incident.id)] == ["created", "status_changed"]
    assert store.get(incident.id).status is Status.RESOLVED


def test_asking_for_the_current_status_is_a_no_op(store: IncidentStore) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)
    store.transition(incident.id, Status.CANCELLED, actor=ACTOR, cause="llamada falsa")
    again, changed = store.transition(
        incident.id, Status.CANCELLED, actor=ACTOR, cause="doble clic"
    )
    assert not changed
    assert again.status is Status.CANCELLED
    assert len(store.events(incident.id)) == 2


def test_expected_status_guards_against_a_stale_view(store: IncidentStore) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)
    store.transition(incident.id, Status.DISPATCHED, actor=ACTOR, cause="x")
    with pytest.raises(Conflict, match="está despachado, no recibido"):
        store.transition(
            incident.id, Status.CANCELLED, actor=ACTOR, cause="x", expected=Status.RECEIVED
        )


def test_a_failing_follow_up_rolls_the_change_back(store: IncidentStore) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)

    def follow_up(_: object) -> list[Task]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.transition(
            incident.id, Status.DISPATCHED, actor=ACTOR, cause="x", follow_up=follow_up
        )
    assert store.get(incident.id).status is Status.RECEIVED
    assert len(store.events(incident.id)) == 1


def test_concurrent_transitions_from_one_status_let_one_win(store: IncidentStore) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(to: Status) -> None:
        barrier.wait()
        try:
            store.transition(incident.id, to, actor=ACTOR, cause="race", expected=Status.RECEIVED)
            outcomes.append(f"won:{to.value}")
        except Conflict:
            outcomes.append("lost")

    threads = [
        threading.Thread(target=move, args=(s,)) for s in (Status.RESOLVED, Status.CANCELLED)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["lost", "won"]
    assert len(store.events(incident.id)) == 2


def test_unknown_incident(store: IncidentStore) -> None:
    with pytest.raises(NotFound, match="no existe el incidente LIM-2026-000404"):
        store.get("LIM-2026-000404")
    with pytest.raises(NotFound):
        store.transition("LIM-2026-000404", Status.RESOLVED, actor=ACTOR, cause="x")


def test_the_event_log_is_append_only_in_the_database(store: IncidentStore, db: Database) -> None:
    store.create_incident(new(), actor=ACTOR)
    for statement in (
        "UPDATE incident_events SET cause = 'rewritten'",
        "DELETE FROM incident_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
            conn.execute(text(statement))
    assert store.events("LIM-2026-000001")[0].cause == "reporte recibido por la API"


def test_merge_marks_the_duplicate_and_logs_on_both(store: IncidentStore) -> None:
    first, _ = store.create_incident(new(), actor=ACTOR)
    second, _ = store.create_incident(new(source=Source.SMS, text="me robaron"), actor=ACTOR)
    merged = store.merge(second.id, first.id, actor="supervisor:s1", cause="mismo hecho")
    assert merged.status is Status.MERGED
    assert merged.merged_into == first.id
    moved = store.events(second.id)[-1]
    assert moved.data == {"from": "received", "to": "merged", "into": first.id}
    assert moved.payload == StatusChanged(from_="received", to="merged", into=first.id)
    last = store.events(first.id)[-1]
    assert (last.kind, last.data, last.actor) == (
        "merged_from",
        {"incident": second.id},
        "supervisor:s1",
    )
    assert last.payload == MergedFrom(incident=second.id)


def test_merge_refuses_itself_and_closed_targets(store: IncidentStore) -> None:
    first, _ = store.create_incident(new(), actor=ACTOR)
    second, _ = store.create_incident(new(), actor=ACTOR)
    with pytest.raises(Conflict, match="consigo mismo"):
        store.merge(first.id, first.id, actor=ACTOR, cause="x")
    store.transition(first.id, Status.RESOLVED, actor=ACTOR, cause="x")
    with pytest.raises(Conflict, match="fusione con un incidente abierto"):
        store.merge(second.id, first.id, actor=ACTOR, cause="x")
    assert store.get(second.id).status is Status.RECEIVED


def test_more_reports_of_the_same_event(store: IncidentStore) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)
    report, created = store.add_report(
        incident.id,
        NewReport(source=Source.TELEGRAM, text="también lo vi", external_id="tg-9"),
        actor="system:telegram",
    )
    assert created
    assert report.incident_id == incident.id
    _, again = store.add_report(
        incident.id,
        NewReport(source=Source.TELEGRAM, text="también lo vi", external_id="tg-9"),
        actor="system:telegram",
    )
    assert not again
    detail = store.detail(incident.id)
    assert [r.source for r in detail.reports] == [Source.API, Source.TELEGRAM]
    assert [e.kind for e in detail.events] == ["created", "report_added"]
    assert detail.events[-1].payload == ReportAdded(report=report.id, source="telegram")
    assert [e.cause for e in detail.events] == [
        "reporte recibido por la API",
        "otro reporte del mismo hecho, por Telegram",
    ]


def overdue(seconds: int = 60) -> NewEvent:
    return event(DispatchOverdue(deadline_seconds=seconds), actor="system:worker", cause="late")


def test_keyed_events_are_written_once(store: IncidentStore, clock: FakeClock) -> None:
    incident, _ = store.create_incident(new(), actor=ACTOR)
    written = store.append_event(incident.id, overdue(), key="overdue")
    assert written is not None
    assert (written.seq, written.kind, written.actor, written.cause, written.at) == (
        2,
        EventKind.DISPATCH_OVERDUE,
        "system:worker",
        "late",
        clock.now(),
    )
    assert written.data == {"deadline_seconds": 60}
    assert store.append_event(incident.id, overdue(), key="overdue") is None
    events = store.events(incident.id)
    assert [e.kind for e in events] == ["created", "dispatch_overdue"]
    assert events[-1] == written
    assert events[-1].payload == DispatchOverdue(deadline_seconds=60)


def test_listing_filters_and_pages_newest_first(store: IncidentStore, clock: FakeClock) -> None:
    made = []
    for n in range(7):
        district = "150132" if n % 2 else "150122"
        category = "incendio" if n < 3 else "robo"
        made.append(
            store.create_incident(new(category=category, district=district), actor=ACTOR)[0]
        )
        clock.advance(60)
    store.transition(made[0].id, Status.RESOLVED, actor=ACTOR, cause="x")

    everything = store.search(IncidentQuery(limit=100)).items
    assert [i.id for i in everything] == [i.id for i in reversed(made)]

    def ids(**kw: object) -> list[str]:
        return [i.id for i in store.search(IncidentQuery(limit=100, **kw)).items]  # type: ignore[arg-type]

    assert ids(districts=("150132",)) == [made[5].id, made[3].id, made[1].id]
    assert ids(categories=("incendio",)) == [made[2].id, made[1].id, made[0].id]
    assert ids(statuses=(Status.RESOLVED,)) == [made[0].id]
    start = made[0].created_at
    assert ids(since=start + timedelta(minutes=2), until=start + timedelta(minutes=4)) == [
        made[3].id,
        made[2].id,
    ]

    seen: list[str] = []
    after = None
    while True:
        page = store.search(IncidentQuery(limit=3, after=after))
        seen += [i.id for i in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [i.id for i in reversed(made)]


def test_listing_pages_through_incidents_created_in_the_same_instant(store: IncidentStore) -> None:
    for _ in range(5):
        store.create_incident(new(), actor=ACTOR)
    first = store.search(IncidentQuery(limit=2))
    second = store.search(IncidentQuery(limit=10, after=first.next_after))
    assert len(first.items) + len(second.items) == 5
    assert not {i.id for i in first.items} & {i.id for i in second.items}


def test_follow_up_tasks_are_stored_with_the_incident(
    store: IncidentStore, db: Database, clock: FakeClock
) -> None:
    def follow_up(incident: object) -> list[Task]:
        return [
            Task(
                key="k-1",
                name="some_job",
                args={"n": 1},
                not_before=clock.now() + timedelta(seconds=60),
            )
        ]

    store.create_incident(new(), actor=ACTOR, follow_up=follow_up)
    tasks = TaskStore(db, clock=clock)
    assert tasks.counts().unsent == 1
    [task] = tasks.claim()
    assert (task.key, task.name, task.args) == ("k-1", "some_job", {"n": 1})
    assert task.not_before == clock.now() + timedelta(seconds=60)
    assert task.enqueued_at == clock.now()
    assert tasks.claim() == []
    assert tasks.counts().in_queue == 1
    assert tasks.overdue(clock.now() + timedelta(minutes=1)) == []  # not yet due
    assert [t.key for t in tasks.overdue(clock.now() + timedelta(minutes=2))] == ["k-1"]
    tasks.resend(["k-1"])
    assert tasks.counts().unsent == 1
    tasks.fail("k-1", "boom")
    assert tasks.counts().failed == 1
    assert tasks.claim() == []
    assert tasks.complete("k-1")
    assert not tasks.complete("k-1")


def test_a_batch_of_intakes_in_one_transaction(store: IncidentStore) -> None:
    intakes = [
        Intake(new=new(external_id="a", text="uno"), actor=ACTOR),
        Intake(new=new(category="granizo"), actor=ACTOR),
        Intake(new=new(category="incendio", external_id="b", text="dos"), actor="operator:b"),
        Intake(new=new(external_id="a", text="uno otra vez"), actor=ACTOR),  # a repeat
        Intake(new=new(category="aniego", text="tres"), actor=ACTOR),
    ]
    inserts: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INCIDENTS "):
            inserts.append(statement)

    sa_event.listen(store.db.engine, "before_cursor_execute", count)
    try:
        results = store.create_incidents(intakes)
    finally:
        sa_event.remove(store.db.engine, "before_cursor_execute", count)
    assert len(inserts) == 1  # the batch's new incidents in one statement
    assert isinstance(results[1], InvalidValue)
    created = [r for r in results if isinstance(r, tuple)]
    assert [(i.id, c) for i, c in created] == [
        ("LIM-2026-000001", True),
        ("LIM-2026-000002", True),
        ("LIM-2026-000001", False),
        ("LIM-2026-000003", True),
    ]
    assert store.count() == 3
    # each row of the batch went to its own incident
    for incident_id, category, said, actor in (
        ("LIM-2026-000001", "robo", "uno", ACTOR),
        ("LIM-2026-000002", "incendio", "dos", "operator:b"),
        ("LIM-2026-000003", "aniego", "tres", ACTOR),
    ):
        detail = store.detail(incident_id)
        assert detail.incident.category == category
        assert [r.text for r in detail.reports] == [said]
        [event] = detail.events
        assert (event.kind, event.actor, event.data["category"]) == ("created", actor, category)
    again = store.create_incidents([Intake(new=new(external_id="b"), actor=ACTOR)])
    assert again == [(store.get("LIM-2026-000002"), False)]


class Interrupted(IncidentStore):
    """A store whose first look for stored reports is followed, before it writes, by
    another process storing one of them (a real write, through another store)."""

    def __init__(self, db: Database, other: IncidentStore, clock: FakeClock) -> None:
        super().__init__(db, clock=clock)
        self.other = other
        self.looks = 0

    def _incidents_of_reports(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Incident]:
        found = super()._incidents_of_reports(keys)
        self.looks += 1
        if self.looks == 1:
            self.other.create_incident(new(external_id="taken"), actor="operator:other")
        return found


def test_a_batch_that_collides_is_written_one_by_one(db: Database, clock: FakeClock) -> None:
    store = Interrupted(db, IncidentStore(db, clock=clock), clock)
    results = store.create_incidents(
        [Intake(new=new(), actor=ACTOR), Intake(new=new(external_id="taken"), actor=ACTOR)]
    )
    assert store.looks > 1
    assert results[0] == (store.get("LIM-2026-000002"), True)
    assert results[1] == (store.get("LIM-2026-000001"), False)
    assert store.get("LIM-2026-000001").created_by == "operator:other"
    assert store.count() == 2


def test_incidents_still_received_after_a_cutoff(store: IncidentStore, clock: FakeClock) -> None:
    old, _ = store.create_incident(new(), actor=ACTOR)
    moved, _ = store.create_incident(new(), actor=ACTOR)
    store.transition(moved.id, Status.DISPATCHED, actor=ACTOR, cause="x")
    clock.advance(100)
    store.create_incident(new(), actor=ACTOR)
    cutoff = clock.now() - timedelta(seconds=50)
    assert store.received_before(cutoff, without_key="k", limit=10) == [old.id]
    store.append_event(old.id, overdue(), key="k")
    assert store.received_before(cutoff, without_key="k", limit=10) == []


def test_the_end_of_an_incident_is_told_in_its_transaction(db: Database, clock: FakeClock) -> None:
    ended: list[tuple[int, datetime, str]] = []

    def on_final(conn: Connection, row_id: int, now: datetime, why: str) -> None:
        ended.append((row_id, now, why))
        if why == "incidente resuelto":
            raise RuntimeError("the ledger failed")

    store = IncidentStore(db, clock=clock, on_final=on_final)
    first, _ = store.create_incident(new(), actor=ACTOR)
    second, _ = store.create_incident(new(), actor=ACTOR)
    third, _ = store.create_incident(new(), actor=ACTOR)
    store.transition(first.id, Status.DISPATCHED, actor=ACTOR, cause="x")  # not final
    assert ended == []
    store.transition(first.id, Status.CANCELLED, actor=ACTOR, cause="llamada falsa")
    store.merge(second.id, third.id, actor=ACTOR, cause="mismo hecho")
    assert ended == [
        (1, clock.now(), "incidente cancelado"),
        (2, clock.now(), f"fusionado con {third.id}"),
    ]
    # its failure is the change's: nothing is stored
    with pytest.raises(RuntimeError, match="the ledger failed"):
        store.transition(third.id, Status.RESOLVED, actor=ACTOR, cause="x")
    assert store.get(third.id).status is Status.RECEIVED
    assert [e.kind for e in store.events(third.id)] == ["created", "merged_from"]
