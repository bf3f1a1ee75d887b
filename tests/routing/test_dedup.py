"""One incident per event (issue 9, point 7): citizens' reports join an open incident of
the same category near in space and time; a later message fills in what an incident
lacked; an operator splits a report wrongly joined. On SQLite and on PostgreSQL."""

import math
import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from routing import categories
from routing import schema as t
from routing.categories import Category
from routing.db import Database
from routing.dedup import (
    EARTH_RADIUS_M,
    Filed,
    Nearby,
    bounding_box,
    filing_lock,
    haversine_m,
    lock_key,
)
from routing.errors import Conflict, InvalidValue, NotFound
from routing.events import (
    Created,
    EventKind,
    FilledIn,
    ReportJoined,
    ReportSplitOut,
    SplitFrom,
)
from routing.models import (
    AgencyKind,
    Location,
    NewIncident,
    NewReport,
    Priority,
    Reporter,
    Source,
    Status,
    Task,
)
from routing.reading import UNCLASSIFIED
from routing.store import IncidentStore
from tests.conftest import FakeClock
from voicebridge import migrate

ACTOR = "system:sms"
OPERATOR = "operator:test"
NEAR = Nearby()
# a point in San Juan de Lurigancho, and metres to degrees there
LAT, LON = -12.0, -77.0
M_LAT = 1 / (math.pi * EARTH_RADIUS_M / 180)
M_LON = M_LAT / math.cos(math.radians(LAT))
SJL, MIRAFLORES = "150132", "150122"


@pytest.fixture
def unclassified(monkeypatch: pytest.MonkeyPatch) -> str:
    """The category of reports nobody could classify (routing.categories has it once
    the normaliser is merged; here it is added for the test when it is not)."""
    if UNCLASSIFIED not in categories._BY_CODE:
        monkeypatch.setitem(
            categories._BY_CODE,
            UNCLASSIFIED,
            Category(
                code=UNCLASSIFIED,
                label="Sin clasificar",
                priority=Priority.MEDIUM,
                agency_kinds=(AgencyKind.MUNICIPAL,),
            ),
        )
    return UNCLASSIFIED


def east(metres: float, north: float = 0.0) -> tuple[float, float]:
    """The point ``metres`` east (and ``north``) of (LAT, LON)."""
    return LAT + north * M_LAT, LON + metres * M_LON


def citizen(
    category: str = "robo",
    district: str | None = SJL,
    at: tuple[float, float] | None = (LAT, LON),
    *,
    address: str | None = None,
    source: Source = Source.SMS,
    external_id: str | None = None,
    text: str = "me robaron el celular",
) -> NewIncident:
    lat, lon = at if at is not None else (None, None)
    return NewIncident(
        category=category,
        district=district,
        report=NewReport(
            source=source,
            text=text,
            reporter=Reporter(phone="+51987654321"),
            location=Location(lat=lat, lon=lon, address=address),
            external_id=external_id,
        ),
    )


def file(
    store: IncidentStore,
    new: NewIncident,
    *,
    key: str | None = None,
    nearby: Nearby | None = NEAR,
) -> Filed:
    return store.file(new, actor=ACTOR, nearby=nearby, address_key=key)


# ------------------------------------------------------------------ geometry


def test_haversine_and_the_bounding_box() -> None:
    assert haversine_m(LAT, LON, LAT, LON) == 0
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, abs=1)
    assert haversine_m(*east(120), LAT, LON) == pytest.approx(120, abs=0.01)
    assert haversine_m(*east(0, 200), LAT, LON) == pytest.approx(200, abs=0.01)
    south, north, west, east_ = bounding_box(LAT, LON, 200)
    for degrees in range(0, 360, 15):
        b = math.radians(degrees)
        lat, lon = east(199.9 * math.sin(b), 199.9 * math.cos(b))
        assert south <= lat <= north, degrees
        assert west <= lon <= east_, degrees
    assert bounding_box(90.0, 0.0, 200)[2:] == (-180.0, 180.0)  # at the pole: every longitude


def test_nearby_is_checked() -> None:
    assert (NEAR.radius_m, NEAR.window) == (200.0, timedelta(minutes=30))
    with pytest.raises(InvalidValue, match="el radio debe ser de más de 0 m"):
        Nearby(radius_m=0)
    with pytest.raises(InvalidValue, match="radio"):
        Nearby(radius_m=math.nan)
    with pytest.raises(InvalidValue, match="la ventana debe ser de más de 0 s"):
        Nearby(window=timedelta(0))


def test_each_category_has_its_own_lock() -> None:
    assert lock_key("robo") == lock_key("robo")
    assert lock_key("robo") != lock_key("incendio")
    assert -(2**63) <= lock_key("robo") < 2**63


# --------------------------------------------------------------------- joining


def test_a_report_near_an_open_incident_joins_it(store: IncidentStore, clock: FakeClock) -> None:
    first = file(store, citizen(text="me robaron el celular"))
    assert (first.joined, first.repeated, first.distance_m) == (False, False, None)
    assert first.cause == (
        "incidente nuevo: ninguno abierto de la misma categoría a menos de 200 m ni en la "
        "misma dirección en los últimos 30 min"
    )
    clock.advance(10 * 60)
    second = file(store, citizen(at=east(120), source=Source.TELEGRAM, text="robo aquí"))
    assert second.joined
    assert not second.repeated
    assert second.incident.id == first.incident.id
    assert second.distance_m == pytest.approx(120, abs=0.01)
    assert second.cause == "se sumó: misma categoría a 120 m, 10 min después"
    assert second.report.incident_id == first.incident.id
    assert (second.report.source, second.report.text) == (Source.TELEGRAM, "robo aquí")
    assert second.incident.version == 2
    assert second.incident.updated_at == clock.now()
    assert store.count() == 1
    detail = store.detail(first.incident.id)
    assert [r.text for r in detail.reports] == ["me robaron el celular", "robo aquí"]
    # the incident keeps its first report's place
    assert (detail.incident.location.lat, detail.incident.location.lon) == (LAT, LON)
    assert [e.kind for e in detail.events] == [EventKind.CREATED, EventKind.REPORT_JOINED]
    joined = detail.events[-1]
    assert (joined.actor, joined.cause) == (ACTOR, second.cause)
    assert joined.payload == ReportJoined(
        report=second.report.id, source="telegram", after_seconds=600, distance_m=120.0
    )
    assert joined.data == {
        "report": second.report.id,
        "source": "telegram",
        "after_seconds": 600,
        "distance_m": 120.0,
    }


def test_not_beyond_the_radius(store: IncidentStore) -> None:
    first = file(store, citizen())
    far = file(store, citizen(at=east(0, 205)))
    assert not far.joined
    assert far.incident.id != first.incident.id
    # the radius is the caller's
    wide = file(store, citizen(at=east(0, 300)), nearby=Nearby(radius_m=500))
    assert wide.joined
    assert wide.incident.id == far.incident.id  # 95 m from it, 300 m from the first
    assert store.count() == 2


def test_the_window_counts_from_the_incident_s_latest_report(
    store: IncidentStore, clock: FakeClock
) -> None:
    first = file(store, citizen())
    clock.advance(20 * 60)
    assert file(store, citizen(at=east(50))).joined
    clock.advance(25 * 60)  # 45 min after the first report, 25 after the latest
    late = file(store, citizen(at=east(-50)))
    assert late.joined
    assert late.cause == "se sumó: misma categoría a 50 m, 25 min después"
    clock.advance(30 * 60 + 1)
    again = file(store, citizen())
    assert not again.joined
    assert again.incident.id != first.incident.id
    clock.advance(5)
    assert file(store, citizen(), nearby=Nearby(window=timedelta(seconds=5))).joined


def test_reports_within_a_minute_say_seconds(store: IncidentStore, clock: FakeClock) -> None:
    file(store, citizen())
    clock.advance(42)
    assert file(store, citizen()).cause == "se sumó: misma categoría a 0 m, 42 s después"


def test_not_another_category(store: IncidentStore) -> None:
    robbery = file(store, citizen("robo"))
    fire = file(store, citizen("incendio"))
    assert not fire.joined
    assert fire.incident.id != robbery.incident.id
    assert file(store, citizen("incendio", at=east(10))).incident.id == fire.incident.id


@pytest.mark.parametrize("end", [Status.RESOLVED, Status.CANCELLED, Status.MERGED])
def test_not_an_incident_that_ended(store: IncidentStore, end: Status) -> None:
    first = file(store, citizen())
    if end is Status.MERGED:
        other = file(store, citizen(at=east(0, 1000)))
        store.merge(first.incident.id, other.incident.id, actor=OPERATOR, cause="mismo hecho")
    else:
        store.transition(first.incident.id, end, actor=OPERATOR, cause="atendido")
    later = file(store, citizen(at=east(10)))
    assert not later.joined
    assert later.incident.id != first.incident.id


def test_an_incident_under_way_is_still_open(store: IncidentStore) -> None:
    first = file(store, citizen())
    store.transition(first.incident.id, Status.DISPATCHED, actor=OPERATOR, cause="reglas")
    later = file(store, citizen(at=east(10)))
    assert later.joined
    assert later.incident.status is Status.DISPATCHED


def test_operators_reports_never_join_but_citizens_join_them(store: IncidentStore) -> None:
    """The API's intake (the operator is the one who deduplicates) is unchanged."""
    first, _ = store.create_incident(citizen(source=Source.API), actor=OPERATOR)
    second, created = store.create_incident(citizen(source=Source.API), actor=OPERATOR)
    assert created
    assert second.id != first.id
    # without ``nearby`` a citizen's report does not join either
    assert not file(store, citizen(), nearby=None).joined
    assert store.count() == 3
    joined = file(store, citizen(at=east(30)))
    assert joined.joined
    assert joined.incident.id == "LIM-2026-000003"  # the three are at 0 m: the most recent


def test_the_nearest_incident_wins(store: IncidentStore, clock: FakeClock) -> None:
    west = file(store, citizen())
    clock.advance(60)
    far_east = file(store, citizen(at=east(300)))
    assert far_east.incident.id != west.incident.id
    clock.advance(60)
    between = file(store, citizen(at=east(160)))
    assert between.incident.id == far_east.incident.id
    assert between.distance_m == pytest.approx(140, abs=0.01)
    clock.advance(60)
    nearer_west = file(store, citizen(at=east(140)))
    assert nearer_west.incident.id == west.incident.id
    assert nearer_west.distance_m == pytest.approx(140, abs=0.01)


# ------------------------------------------------------------- by the address


def test_reports_without_a_point_match_on_district_and_address(
    store: IncidentStore, clock: FakeClock
) -> None:
    key = "av abancay 123"
    first = file(store, citizen(at=None, address="Av. Abancay 123"), key=key)
    clock.advance(5 * 60)
    same = file(store, citizen(at=None, address="avenida abancay 123"), key=key)
    assert same.joined
    assert same.incident.id == first.incident.id
    assert same.distance_m is None
    assert same.cause == "se sumó: misma categoría y misma dirección en el distrito, 5 min después"
    assert store.events(first.incident.id)[-1].payload == ReportJoined(
        report=same.report.id, source="sms", after_seconds=300, address=key
    )
    for other in (
        file(store, citizen(district=MIRAFLORES, at=None), key=key),  # another district
        file(store, citizen(at=None), key="av abancay 125"),  # another address
        file(store, citizen(district=None, at=None), key=key),  # no district
        file(store, citizen(at=None)),  # no address
        file(store, citizen("incendio", at=None), key=key),  # another category
    ):
        assert not other.joined
    assert store.count() == 6


def test_a_caller_who_says_only_category_and_district_joins_district_wide(
    store: IncidentStore, clock: FakeClock
) -> None:
    """The phone IVR knows the category and the district, nothing more: with
    ``district_wide`` a second caller for the same fire joins the first one's incident,
    and so does a caller for a fire someone reported by SMS with an address; a report
    that has a point or an address still matches only by them."""
    wide = Nearby(district_wide=True)
    phone = Source.PHONE
    sms = file(
        store, citizen("incendio", at=None, address="Jr. Huallaga 450"), key="jr huallaga 450"
    )
    clock.advance(2 * 60)
    first = file(store, citizen("incendio", at=None, source=phone), nearby=wide)
    assert first.joined
    assert first.incident.id == sms.incident.id
    assert first.cause == (
        "se sumó: misma categoría en el mismo distrito (llamada sin dirección), 2 min después"
    )
    second = file(store, citizen("incendio", at=None, source=phone), nearby=wide)
    assert second.incident.id == sms.incident.id
    for other in (
        file(store, citizen("incendio", at=None, source=phone)),  # not district-wide
        file(store, citizen("incendio", MIRAFLORES, at=None, source=phone), nearby=wide),
        file(store, citizen("fuga_gas", at=None, source=phone), nearby=wide),
        file(store, citizen("incendio", None, at=None, source=phone), nearby=wide),  # no district
        file(
            store,
            citizen("incendio", at=None, address="Av. Brasil 5"),
            key="av brasil 5",
            nearby=wide,
        ),
    ):
        assert not other.joined
    clock.advance(31 * 60)  # past the window
    assert not file(store, citizen("incendio", at=None, source=phone), nearby=wide).joined


def test_a_point_and_an_address_match_when_either_lacks_a_point(
    store: IncidentStore, clock: FakeClock
) -> None:
    key = "jr huallaga 450"
    typed = file(store, citizen(at=None), key=key)
    shared = file(store, citizen(at=east(5000)), key=key)  # a point far away, same address
    assert shared.joined
    assert shared.incident.id == typed.incident.id
    # the incident has no point, the report has: its point fills nothing in by joining
    assert store.get(typed.incident.id).location.lat is None
    # an incident with a point and a report with none: the address decides
    pointed = file(store, citizen("incendio", at=east(0, 3000)), key=key)
    assert file(store, citizen("incendio", at=None), key=key).incident.id == pointed.incident.id
    # both with points: the points decide, the same address does not join them
    far = file(store, citizen("incendio", at=east(0, 9000)), key=key)
    assert not far.joined


def test_by_address_the_incident_reported_most_recently_wins(
    store: IncidentStore, clock: FakeClock
) -> None:
    key = "av brasil cuadra 5"
    older = file(store, citizen(at=None), key=key, nearby=None)
    clock.advance(60)
    newer = file(store, citizen(at=None), key=key, nearby=None)
    clock.advance(60)
    assert file(store, citizen(at=None), key=key).incident.id == newer.incident.id
    clock.advance(60)
    store.add_report(older.incident.id, NewReport(source=Source.API, text="y"), actor=OPERATOR)
    clock.advance(60)
    assert file(store, citizen(at=None), key=key).incident.id == older.incident.id


# -------------------------------------------------------- repeats, unclassified


def test_a_repeated_report_answers_where_it_went(store: IncidentStore, clock: FakeClock) -> None:
    first = file(store, citizen(external_id="SM1"))
    joined = file(store, citizen(at=east(20), external_id="SM2"))
    assert joined.joined
    seen = len(store.events(first.incident.id))
    clock.advance(60)
    again = file(store, citizen(at=east(0, 5000), external_id="SM2"))
    assert again.repeated
    assert not again.joined
    assert again.incident.id == first.incident.id
    assert again.report == joined.report
    assert again.cause == f"reporte repetido: ya estaba registrado en {first.incident.id}"
    assert file(store, citizen(external_id="SM1"), nearby=None).repeated
    assert len(store.events(first.incident.id)) == seen
    assert store.count() == 1
    # the same id through another channel is another report
    assert file(store, citizen(external_id="SM2", source=Source.TELEGRAM)).joined


def test_an_unclassified_report_never_joins(store: IncidentStore, unclassified: str) -> None:
    first = file(store, citizen(unclassified))
    second = file(store, citizen(unclassified), key="av abancay 123")
    assert not first.joined
    assert not second.joined
    assert first.incident.id != second.incident.id
    assert second.cause == "incidente nuevo: sin clasificar, queda para que un operador lo revise"
    assert not file(store, citizen("robo")).joined


def test_a_new_incident_is_made_as_the_api_makes_it(store: IncidentStore, clock: FakeClock) -> None:
    store.create_incident(citizen(source=Source.API, at=east(0, 9000)), actor=OPERATOR)

    def follow_up(incident: object) -> list[Task]:
        return [Task(key="news-1", name="tell_citizen", args={"n": 1})]

    filed = store.file(
        citizen(external_id="SM9"), actor=ACTOR, nearby=NEAR, address_key="x", follow_up=follow_up
    )
    assert filed.incident.id == "LIM-2026-000002"
    assert filed.incident.status is Status.RECEIVED
    assert filed.incident.priority is Priority.HIGH
    assert (filed.incident.source, filed.incident.created_by) == (Source.SMS, ACTOR)
    assert filed.incident.summary == "me robaron el celular"
    assert filed.report.external_id == "SM9"
    [created] = store.events(filed.incident.id)
    assert (created.kind, created.cause, created.actor) == (
        EventKind.CREATED,
        "reporte recibido por SMS",
        ACTOR,
    )
    assert created.payload == Created(category="robo", priority="high", district=SJL, source="sms")
    with store.db.read() as conn:
        keys = conn.execute(select(t.tasks.c.key)).scalars().all()
        stored = conn.execute(select(t.incidents.c.address_key, t.incidents.c.last_report_at))
        assert list(keys) == ["news-1"]
        assert ("x", clock.now()) in [tuple(r) for r in stored]


def test_filing_is_refused_for_an_unknown_category_or_district(store: IncidentStore) -> None:
    with pytest.raises(InvalidValue, match="category"):
        file(store, citizen("granizo"))
    with pytest.raises(InvalidValue, match="district"):
        file(store, citizen(district="070101"))
    assert store.count() == 0


def test_filing_belongs_to_the_caller_s_transaction(store: IncidentStore, db: Database) -> None:
    """The integrator files reports in the transaction that stores the raw message: its
    failure stores none of them; and several reports of several categories in one."""

    def inbox_fails() -> None:
        with db.write() as conn:
            store.file_report(conn, citizen(), actor=ACTOR, nearby=NEAR)
            raise RuntimeError("the inbox failed")

    with pytest.raises(RuntimeError, match="the inbox failed"):
        inbox_fails()
    assert store.count() == 0
    with db.write() as conn:
        filing_lock(conn, ["robo", "incendio", "robo"])
        a = store.file_report(conn, citizen("robo"), actor=ACTOR, nearby=NEAR)
        b = store.file_report(conn, citizen("incendio"), actor=ACTOR, nearby=NEAR)
        c = store.file_report(conn, citizen("robo", at=east(10)), actor=ACTOR, nearby=NEAR)
    assert (a.joined, b.joined, c.joined) == (False, False, True)
    assert c.incident.id == a.incident.id
    assert store.count() == 2


# ------------------------------------------------------------------ concurrency


def test_reports_of_one_event_filed_at_once_make_one_incident(store: IncidentStore) -> None:
    """On PostgreSQL the category's advisory lock keeps two writers from both missing
    each other; SQLite serialises writers."""
    n = 8
    barrier = threading.Barrier(n)
    results: list[Filed] = []
    errors: list[BaseException] = []

    def report(k: int) -> None:
        barrier.wait()
        try:
            results.append(file(store, citizen(at=east(10 * k), external_id=f"SM-{k}")))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(k,)) for k in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r.incident.id for r in results}) == 1
    assert sorted(r.joined for r in results) == [False] + [True] * (n - 1)
    assert store.count() == 1
    [incident_id] = {r.incident.id for r in results}
    detail = store.detail(incident_id)
    assert len(detail.reports) == n
    assert [e.seq for e in detail.events] == list(range(1, n + 1))


def test_repeats_filed_at_once_store_one_report(store: IncidentStore, unclassified: str) -> None:
    """An unclassified report takes no lock: the second writer's insert collides and
    :meth:`file` finds the first one's report."""
    n = 4
    barrier = threading.Barrier(n)
    results: list[Filed] = []

    def report() -> None:
        barrier.wait()
        results.append(file(store, citizen(unclassified, external_id="SM-same")))

    threads = [threading.Thread(target=report) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == n
    assert len({r.incident.id for r in results}) == 1
    assert sorted(r.repeated for r in results) == [False] + [True] * (n - 1)
    assert store.count() == 1


# ---------------------------------------------------------------------- fill in


def test_a_later_message_fills_in_an_unclassified_incident(
    store: IncidentStore, clock: FakeClock, unclassified: str
) -> None:
    first = file(store, citizen(unclassified, district=None, at=None, text="ayuda"))
    clock.advance(60)
    filled = store.fill_in_missing(
        first.incident.id,
        category="fuga_gas",
        district=SJL,
        address="Jr. Huallaga 450",
        address_key="jr huallaga 450",
        actor=ACTOR,
        cause="el ciudadano respondió por SMS",
    )
    assert (filled.category, filled.priority, filled.district) == (
        "fuga_gas",
        Priority.CRITICAL,
        SJL,
    )
    assert filled.location.address == "Jr. Huallaga 450"
    assert filled.version == 2
    last = store.events(first.incident.id)[-1]
    assert (last.kind, last.actor, last.cause) == (
        EventKind.FILLED_IN,
        ACTOR,
        "el ciudadano respondió por SMS",
    )
    assert last.payload == FilledIn(
        category="fuga_gas",
        priority="critical",
        district=SJL,
        address="Jr. Huallaga 450",
    )
    # it is a gas leak at that address now: the next report there joins it
    clock.advance(60)
    joined = file(store, citizen("fuga_gas", at=None), key="jr huallaga 450")
    assert joined.joined
    assert joined.incident.id == first.incident.id


def test_the_priority_filled_in_is_the_most_urgent(store: IncidentStore, unclassified: str) -> None:
    first = file(store, citizen(unclassified))
    filled = store.fill_in_missing(
        first.incident.id,
        category="arbol_caido",
        priority=Priority.CRITICAL,
        actor=ACTOR,
        cause="x y",
    )
    assert (filled.category, filled.priority) == ("arbol_caido", Priority.CRITICAL)


def test_only_what_is_missing_is_filled_in(store: IncidentStore) -> None:
    first = file(store, citizen(at=None, district=None))
    filled = store.fill_in_missing(
        first.incident.id,
        category="incendio",  # it is classified already: not changed
        district=MIRAFLORES,
        lat=-12.12,
        lon=-77.03,
        actor=ACTOR,
        cause="ubicación compartida",
    )
    assert (filled.category, filled.district) == ("robo", MIRAFLORES)
    assert (filled.location.lat, filled.location.lon) == (-12.12, -77.03)
    assert store.events(first.incident.id)[-1].payload == FilledIn(
        district=MIRAFLORES, lat=-12.12, lon=-77.03
    )
    again = store.fill_in_missing(
        first.incident.id,
        category="incendio",
        district=SJL,
        lat=-12.0,
        lon=-77.0,
        actor=ACTOR,
        cause="otra vez",
    )
    assert again == filled  # nothing missing: nothing written
    assert len(store.events(first.incident.id)) == 2
    with pytest.raises(InvalidValue, match="district"):
        store.fill_in_missing(
            file(store, citizen(district=None)).incident.id,
            district="070101",
            actor=ACTOR,
            cause="x y",
        )
    with pytest.raises(InvalidValue, match="lat va de -90 a 90"):
        store.fill_in_missing(
            file(store, citizen(at=None)).incident.id, lat=-120.0, lon=0.0, actor=ACTOR, cause="x y"
        )


def test_nothing_is_filled_in_once_operators_acted(store: IncidentStore, unclassified: str) -> None:
    first = file(store, citizen(unclassified, district=None))
    store.transition(first.incident.id, Status.CANCELLED, actor=OPERATOR, cause="broma")
    after = store.fill_in_missing(
        first.incident.id, category="robo", district=SJL, actor=ACTOR, cause="x y"
    )
    assert (after.category, after.district, after.status) == (unclassified, None, Status.CANCELLED)
    assert len(store.events(first.incident.id)) == 2
    with pytest.raises(NotFound):
        store.fill_in_missing("LIM-2026-000404", district=SJL, actor=ACTOR, cause="x y")


# ------------------------------------------------------------------------ split


def test_a_report_wrongly_joined_is_split_into_its_own_incident(
    store: IncidentStore, clock: FakeClock
) -> None:
    first = file(store, citizen(text="robo en el paradero"))
    clock.advance(20 * 60)
    wrong = file(
        store,
        citizen(at=east(150), source=Source.TELEGRAM, text="robaron una casa", address="Jr. X 1"),
        key="jr x 1",
    )
    assert wrong.joined
    clock.advance(5 * 60)
    split = store.split_report(
        first.incident.id, wrong.report.id, actor=OPERATOR, cause="es otro robo, en una casa"
    )
    assert split.id == "LIM-2026-000002"
    assert (split.category, split.priority, split.district) == ("robo", Priority.HIGH, SJL)
    assert (split.source, split.summary, split.created_by) == (
        Source.TELEGRAM,
        "robaron una casa",
        OPERATOR,
    )
    assert split.location == Location(lat=east(150)[0], lon=east(150)[1], address="Jr. X 1")
    assert split.reporter == Reporter(phone="+51987654321")
    assert split.status is Status.RECEIVED
    assert split.version == 2
    source = store.detail(first.incident.id)
    assert [r.text for r in source.reports] == ["robo en el paradero"]
    assert source.events[-1].payload == ReportSplitOut(
        report=wrong.report.id, source="telegram", into=split.id
    )
    assert (source.events[-1].actor, source.events[-1].cause) == (
        OPERATOR,
        "es otro robo, en una casa",
    )
    moved = store.detail(split.id)
    assert [(r.id, r.text) for r in moved.reports] == [(wrong.report.id, "robaron una casa")]
    assert [e.kind for e in moved.events] == [EventKind.CREATED, EventKind.SPLIT_FROM]
    assert (
        moved.events[0].cause == f"reporte recibido por Telegram, separado de {first.incident.id}"
    )
    assert moved.events[1].payload == SplitFrom(
        incident=first.incident.id, report=wrong.report.id, source="telegram"
    )
    # each keeps the time of its own latest report: 35 min after the first report a
    # report at its place joins the split incident (150 m, 15 min), not the first one
    clock.advance(10 * 60)
    later = file(store, citizen())
    assert later.incident.id == split.id
    assert later.cause == "se sumó: misma categoría a 150 m, 15 min después"


def test_a_split_may_change_the_category_and_district(store: IncidentStore) -> None:
    first = file(store, citizen())
    wrong = file(store, citizen(at=east(10)))
    split = store.split_report(
        first.incident.id,
        wrong.report.id,
        actor=OPERATOR,
        cause="no es robo",
        category="incendio",
        district=MIRAFLORES,
    )
    assert (split.category, split.priority, split.district) == (
        "incendio",
        Priority.CRITICAL,
        MIRAFLORES,
    )


def test_splits_that_are_refused_change_nothing(store: IncidentStore) -> None:
    first = file(store, citizen())
    alone = file(store, citizen(at=east(0, 1000)))
    with pytest.raises(Conflict, match=f"es el único reporte de {alone.incident.id}"):
        store.split_report(alone.incident.id, alone.report.id, actor=OPERATOR, cause="x y")
    joined = file(store, citizen(at=east(10)))
    with pytest.raises(Conflict, match=f"es el primer reporte de {first.incident.id}, del que"):
        store.split_report(first.incident.id, first.report.id, actor=OPERATOR, cause="x y")
    with pytest.raises(NotFound, match=f"{alone.incident.id} no tiene un reporte con ese número"):
        store.split_report(alone.incident.id, joined.report.id, actor=OPERATOR, cause="x y")
    with pytest.raises(NotFound, match="no tiene un reporte"):
        store.split_report(first.incident.id, 999_999, actor=OPERATOR, cause="x y")
    with pytest.raises(NotFound, match="no existe el incidente"):
        store.split_report("LIM-2026-000404", joined.report.id, actor=OPERATOR, cause="x y")
    with pytest.raises(InvalidValue, match="category"):
        store.split_report(
            first.incident.id, joined.report.id, actor=OPERATOR, cause="x y", category="granizo"
        )
    store.transition(first.incident.id, Status.RESOLVED, actor=OPERATOR, cause="atendido")
    with pytest.raises(Conflict, match="está resuelto: no se separan reportes"):
        store.split_report(first.incident.id, joined.report.id, actor=OPERATOR, cause="x y")
    assert store.count() == 2
    assert len(store.detail(first.incident.id).reports) == 2


# -------------------------------------------------------------------- migration

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_migration_gives_stored_incidents_the_time_of_their_latest_report(
    dialect: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "empty_postgres"))

    def stored(at: datetime) -> object:  # as the schema stores it: naive UTC text on SQLite
        return at.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else at

    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0005")
        conn.commit()
        conn.execute(
            text(
                "INSERT INTO incidents (id, public_id, category, priority, source, summary, "
                "status, created_at, updated_at, created_by, version) VALUES "
                "(1, 'LIM-2026-000001', 'robo', 'high', 'sms', 'x', 'received', "
                ":t0, :t0, 'a', 1), (2, 'LIM-2026-000002', 'robo', 'high', 'sms', 'y', "
                "'received', :t0, :t0, 'a', 1)"
            ),
            {"t0": stored(T0)},
        )
        conn.execute(
            text(
                "INSERT INTO reports (incident_id, source, received_at, text, payload) VALUES "
                "(1, 'sms', :t0, 'x', '{}'), (1, 'sms', :t1, 'x', '{}')"
            ),
            {"t0": stored(T0), "t1": stored(T0 + timedelta(minutes=7))},
        )
        conn.commit()
    engine.dispose()
    migrate.upgrade(url)
    db = Database.from_url(url)
    with db.read() as conn:
        latest = dict(
            conn.execute(select(t.incidents.c.public_id, t.incidents.c.last_report_at)).all()
        )
    db.dispose()
    assert latest == {
        "LIM-2026-000001": T0 + timedelta(minutes=7),
        "LIM-2026-000002": T0,  # no report: when it was created
    }
