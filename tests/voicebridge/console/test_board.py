"""The console's live board (issue 11, point 2): open incidents, most urgent and newest
first, with each agency's state and the time elapsed; filters in the URL; kept live by
Server-Sent Events fed by one reader of the incident log per process, resumed from the
last event id after a reconnect, with a heartbeat, a resync, and a polling fallback."""

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from routing.board import BoardFilter
from routing.models import Priority, Status
from tests.voicebridge.conftest import AiohttpClient
from tests.voicebridge.console.conftest import (
    board_config,
    open_stream,
    signed_in,
)
from voicebridge.apikeys import Role
from voicebridge.console import board as console_board
from voicebridge.console import feed as console_feed
from voicebridge.runtime import Runtime

SJL, MIRAFLORES = "150132", "150122"


async def create(
    client: TestClient,  # type: ignore[type-arg]
    key: str,
    district: str,
    category: str = "robo",
    priority: str | None = None,
    location: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"category": category, "district": district,
                            "description": f"{category} en {district}"}  # fmt: skip
    if priority is not None:
        body["priority"] = priority
    if location is not None:
        body["location"] = location
    response = await client.post(
        "/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


@pytest.fixture
def key(runtime: Runtime) -> str:
    return runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]


async def test_the_board_lists_open_incidents_most_urgent_then_newest(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str
) -> None:
    jefe = await signed_in(aiohttp_client, runtime, "jefe")
    low = await create(jefe.client, key, SJL, "buzon_sin_tapa", "low")
    critical = await create(jefe.client, key, MIRAFLORES, "incendio", "critical")
    newer_low = await create(jefe.client, key, SJL, "buzon_sin_tapa", "low")
    closed = await create(jefe.client, key, SJL, "robo")
    await runtime_resolve(runtime, closed["id"])
    html = await jefe.page()
    config = board_config(html)
    order = [r["id"] for r in config["rows"]]
    assert order == [critical["id"], newer_low["id"], low["id"]]
    first = config["rows"][0]
    assert (first["priority_label"], first["category_label"], first["district_name"]) == (
        "crítica", "Incendio", "Miraflores"
    )  # fmt: skip
    assert first["status_label"] == "recibido"
    assert first["source_label"] == "la API"
    assert config["thresholds"] == [5, 15, 30, 60]
    assert config["position"] > 0
    # the rows are on the page itself, as text, before any script runs
    assert f'id="row-{critical["id"]}"' in html
    assert closed["id"] not in html
    assert "3 incidentes abiertos." in html


async def runtime_resolve(runtime: Runtime, incident_id: str) -> None:
    await asyncio.to_thread(
        runtime.store.transition, incident_id, Status.RESOLVED, actor="operator:t",
        cause="atendido en el lugar",
    )  # fmt: skip


async def test_each_agency_shows_its_state(runtime: Runtime) -> None:
    from routing.board import AgencyState, BoardRow
    from routing.models import AssignmentState, Source
    from voicebridge.console.board import row_json

    names = runtime.rules.names()
    now = runtime.clock.now()
    row = BoardRow(
        id="LIM-2026-000001", category="incendio", priority=Priority.CRITICAL,
        district=SJL, address="Av. Próceres 123", reference=None, lat=None, lon=None,
        source=Source.PHONE, status=Status.RINGING, summary="", created_at=now,
        updated_at=now, version=4, merged_into=None,
        agencies=(
            AgencyState(agency="cgbvp", state=AssignmentState.ACKNOWLEDGED),
            AgencyState(agency="pnp", state=AssignmentState.PENDING),
            AgencyState(agency="samu", state=AssignmentState.UNANSWERED),
        ),
    )  # fmt: skip
    shown = [(a["short"], a["label"], a["mark"]) for a in row_json(row, names)["agencies"]]
    assert shown == [("CGBVP", "confirmó", "✓"), ("PNP", "llamando", "…"),
                     ("SAMU", "sin respuesta", "✕")]  # fmt: skip
    assert row_json(row, names)["place"] == "Av. Próceres 123"


async def test_the_filters_are_the_urls_and_an_operator_sees_their_district_only(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str
) -> None:
    jefe = await signed_in(aiohttp_client, runtime, "jefe")
    sjl_fire = await create(jefe.client, key, SJL, "incendio")
    sjl_theft = await create(jefe.client, key, SJL, "robo")
    mira = await create(jefe.client, key, MIRAFLORES, "incendio")
    filtered = board_config(await jefe.page("/console/?category=incendio"))
    assert {r["id"] for r in filtered["rows"]} == {sjl_fire["id"], mira["id"]}
    assert filtered["query"] == "category=incendio"
    by_district = board_config(await jefe.page("/console/?district=Miraflores"))
    assert [r["id"] for r in by_district["rows"]] == [mira["id"]]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    # asking for Miraflores gets the operator their own district, nothing of Miraflores
    html = await ana.page("/console/?district=150122")
    assert {r["id"] for r in board_config(html)["rows"]} == {sjl_fire["id"], sjl_theft["id"]}
    assert mira["id"] not in html
    bad = await ana.client.get("/console/?priority=urgentisima&status=resolved")
    assert bad.status == 422
    text = await bad.text()
    assert "«priority»: «urgentisima»: use uno de: critical, high, medium, low" in text
    assert "«status»: «resolved»" in text
    stream = await ana.client.get("/console/events?priority=urgentisima")
    assert stream.status == 422
    problem = await stream.json()
    assert [f["field"] for f in problem["error"]["fields"]] == ["priority"]


async def test_a_new_incident_reaches_a_watching_board_and_not_another_districts(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str
) -> None:
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    rosa = await signed_in(aiohttp_client, runtime, "rosa.diaz")
    ana_stream = await open_stream(ana, f"after={board_config(await ana.page())['position']}")
    rosa_stream = await open_stream(rosa, f"after={board_config(await rosa.page())['position']}")
    secret = await create(ana.client, key, MIRAFLORES, "robo")
    mine = await create(ana.client, key, SJL, "incendio")
    row = await ana_stream.rows_with(mine["id"])
    assert (row["status"], row["district_name"], row["open"]) == (
        "received",
        "San Juan de Lurigancho",
        True,
    )
    assert all(r["id"] != secret["id"] for m in ana_stream.seen if m.event == "rows"
               for r in m.data["rows"])  # fmt: skip
    theirs = await rosa_stream.rows_with(secret["id"])
    assert theirs["district_name"] == "Miraflores"
    assert all(r["id"] != mine["id"] for m in rosa_stream.seen if m.event == "rows"
               for r in m.data["rows"])  # fmt: skip
    # and a change leaves the board when the incident closes
    await runtime_resolve(runtime, mine["id"])
    await ana_stream.gone(mine["id"])
    ana_stream.close()
    rosa_stream.close()


async def test_a_filtered_out_change_tells_the_board_to_drop_the_row(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str
) -> None:
    jefe = await signed_in(aiohttp_client, runtime, "jefe")
    incident = await create(jefe.client, key, SJL, "robo")
    config = board_config(await jefe.page("/console/?status=received"))
    assert [r["id"] for r in config["rows"]] == [incident["id"]]
    stream = await open_stream(jefe, f"status=received&after={config['position']}")
    await asyncio.to_thread(runtime.store.transition, incident["id"], Status.CANCELLED,
                            actor="operator:t", cause="llamada falsa")  # fmt: skip
    await stream.gone(incident["id"])
    assert stream.seen[-1].data == {"rows": [], "gone": [incident["id"]]}
    stream.close()


async def test_a_reconnect_resumes_from_the_last_event_id(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str
) -> None:
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    stream = await open_stream(ana, f"after={board_config(await ana.page())['position']}")
    first = await create(ana.client, key, SJL, "robo")
    await stream.rows_with(first["id"])
    last_id = stream.last_id
    assert last_id is not None
    stream.close()  # the browser loses the connection ...
    missed = await create(ana.client, key, SJL, "incendio")  # ... while this happens
    await asyncio.to_thread(runtime.store.transition, first["id"], Status.CANCELLED,
                            actor="operator:t", cause="duplicado")  # fmt: skip
    feed = ana.client.app[console_board.FEED]
    for _ in range(100):  # the feed has read both (the browser takes a while too)
        if feed.position > int(last_id) + 1:
            break
        await asyncio.sleep(0.05)
    again = await open_stream(ana, "after=0", last_id=last_id)  # Last-Event-ID wins
    message = await again.until("rows")
    assert [r["id"] for r in message.data["rows"]] == [missed["id"]]
    assert message.data["gone"] == [first["id"]]
    assert int(message.id or 0) >= int(last_id)
    again.close()


async def test_a_position_the_feed_no_longer_remembers_gets_a_resync(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_feed, "RING_SIZE", 2)
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    feed = ana.client.app[console_board.FEED]
    await feed.started.wait()
    stream = await open_stream(ana, "after=0")
    for _ in range(3):
        await stream.rows_with((await create(ana.client, key, SJL, "robo"))["id"])
    stream.close()
    assert feed.floor > 0  # the first events are forgotten
    again = await open_stream(ana, "after=0")
    message = await again.next()
    assert message.event == "resync"
    again.close()
    # the polling fallback answers the same position with the whole first page
    answer = await (await ana.client.get("/console/board.json?after=0")).json()
    assert answer["full"] is True
    assert len(answer["rows"]) == 3


async def test_the_stream_beats_and_ends_with_the_session(
    runtime: Runtime, aiohttp_client: AiohttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_board, "BEAT_SECONDS", 0.2)
    monkeypatch.setattr(console_board, "SESSION_CHECK_SECONDS", 0.3)
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    stream = await open_stream(ana, "after=0")
    beat = await stream.next()
    assert beat.event == "beat"
    assert await asyncio.to_thread(runtime.accounts.revoke_all, "ana.perez") == 1
    ended = await stream.until("ended")
    assert "Su sesión terminó" in ended.data["message"]
    with pytest.raises(EOFError):
        await stream.next()


async def test_a_quiet_board_hears_beats_while_other_districts_are_busy(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_board, "BEAT_SECONDS", 0.5)
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    stream = await open_stream(ana)
    feed = ana.client.app[console_board.FEED]
    assert stream.last_id == str(feed.position)  # "hello" says where a reconnect resumes
    busy = asyncio.create_task(_busy(ana.client, key))  # Miraflores, every 0.1 s
    try:
        beat = await stream.until("beat", within=2.0)
        assert beat.data["position"] >= 0
    finally:
        busy.cancel()
    stream.close()


async def _busy(client: Any, key: str) -> None:
    while True:
        await create(client, key, MIRAFLORES, "robo")
        await asyncio.sleep(0.1)


async def test_the_incident_to_follow_must_be_an_incidents_number(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    for path in ("/console/events?incident=", "/console/events?incident=%00%ff",
                 "/console/board.json?incident=nada"):  # fmt: skip
        answer = await ana.client.get(path)
        assert answer.status == 422, path
        assert [f["field"] for f in (await answer.json())["error"]["fields"]] == ["incident"]


async def test_a_board_left_open_does_not_keep_the_session_alive(
    runtime: Runtime, aiohttp_client: AiohttpClient, clock: Any
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    incident = await create(ana.client, key, SJL, "robo")
    live = f"/console/incidents/{incident['id']}/live"
    for _ in range(5):  # 75 minutes of a board and an incident's page asking by themselves
        clock.advance(15 * 60)
        assert (await ana.client.get("/console/board.json")).status == 200
        assert (await ana.client.get(live)).status == 200
    clock.advance(1)
    assert (await ana.client.get("/console/board.json", allow_redirects=False)).status == 303
    assert (await ana.client.get(live, allow_redirects=False)).status == 303


async def test_the_polling_fallback_answers_the_changes_past_a_position(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str
) -> None:
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    position = board_config(await ana.page())["position"]
    feed = ana.client.app[console_board.FEED]
    await feed.started.wait()
    incident = await create(ana.client, key, SJL, "robo")
    secret = await create(ana.client, key, MIRAFLORES, "robo")
    for _ in range(100):
        if incident["id"] in (feed.missed(position) or set()):
            break
        await asyncio.sleep(0.05)
    answer = await (await ana.client.get(f"/console/board.json?after={position}")).json()
    assert answer["full"] is False
    assert [r["id"] for r in answer["rows"]] == [incident["id"]]
    assert secret["id"] not in str(answer)
    assert answer["position"] >= position


async def test_many_viewers_cost_one_read_of_the_log_per_change(
    runtime: Runtime, aiohttp_client: AiohttpClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"changes": 0, "rows": 0}
    board = runtime.board
    for name in calls:
        real = getattr(board, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(board, name, counted)
    jefe = await signed_in(aiohttp_client, runtime, "jefe")
    position = board_config(await jefe.page())["position"]
    streams = [await open_stream(jefe, f"after={position}") for _ in range(20)]
    feed = jefe.client.app[console_board.FEED]
    reads_before, rows_before = feed.reads, calls["rows"]
    incident = await create(jefe.client, key, SJL, "robo")
    for stream in streams:
        assert (await stream.rows_with(incident["id"]))["id"] == incident["id"]
    assert calls["rows"] - rows_before == 1  # the rows of the change, read once for 20
    # every read of the log is the feed's own (one may be under way)
    assert feed.reads <= calls["changes"] <= feed.reads + 1
    assert feed.reads - reads_before < 40  # polls of an idle log, not one per viewer
    for stream in streams:
        stream.close()


def test_a_viewer_never_gets_what_it_may_not_see() -> None:
    from datetime import UTC, datetime

    from routing.board import BoardRow
    from routing.models import Source
    from voicebridge.console.feed import Batch, Viewer

    now = datetime(2026, 12, 5, tzinfo=UTC)

    def row(incident: str, district: str) -> BoardRow:
        return BoardRow(
            id=incident, category="robo", priority=Priority.MEDIUM, district=district,
            address=None, reference=None, lat=None, lon=None, source=Source.API,
            status=Status.RECEIVED, summary="", created_at=now, updated_at=now, version=1,
            merged_into=None,
        )  # fmt: skip

    moved = row("A", MIRAFLORES)  # was in SJL, now in Miraflores
    other = row("B", MIRAFLORES)
    batch = Batch(position=9, rows=(moved, other), moved_from={"A": SJL},
                  encoded={"A": {"id": "A"}, "B": {"id": "B"}})  # fmt: skip
    sjl = Viewer(scope=frozenset({SJL}), board=BoardFilter(districts=(SJL,)))
    assert sjl.split(batch) == ([], ["A"])  # it leaves the board; B is never named
    mira = Viewer(scope=frozenset({MIRAFLORES}), board=BoardFilter(districts=(MIRAFLORES,)))
    assert mira.split(batch) == ([{"id": "A"}, {"id": "B"}], [])


async def test_a_slow_viewer_is_dropped_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from voicebridge.console.feed import Batch, LogFeed, Viewer

    monkeypatch.setattr(console_feed, "QUEUE_SIZE", 2)
    feed = LogFeed(board=None, blocking=None, encode=None)  # type: ignore[arg-type]
    slow = Viewer(scope=None, board=BoardFilter())
    fast = Viewer(scope=None, board=BoardFilter())
    feed.watch(slow)
    feed.watch(fast)
    for position in range(3):
        feed.publish(Batch(position=position, rows=(), moved_from={}, encoded={}))
        fast.queue.get_nowait()
    assert slow.overflowed
    assert feed.viewers == {fast}
