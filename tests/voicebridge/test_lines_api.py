"""The responder lines through the API and the CLI (issue 10, point 4): ``GET
/api/v1/lines`` lists the directory's phone lines with their last result, one line its
history, a supervisor asks for checks; bad input is a 422 naming the field. The shipped
Lima configuration is in force."""

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from routing.linechecks import CheckResult
from tests.voicebridge.conftest import Api
from voicebridge.cli import main
from voicebridge.runtime import Runtime

URL = "/api/v1/lines"
R = CheckResult


def first_line(runtime: Runtime, agency: str = "pnp") -> str:
    return runtime.linechecks.lines(agency=agency)[0].id


def check(runtime: Runtime, line_id: str, result: CheckResult, cause: str) -> str:
    checks = runtime.linechecks
    (requested,) = checks.request(checks.lines(line=line_id), actor="test")
    checks.claim("test")
    checks.finished(requested.check.ref, result, cause)
    return requested.check.ref


async def get(api: Api, url: str, who: str = "operator") -> tuple[int, Any]:
    response = await api.client.get(url, headers=api.auth(who))
    return response.status, await response.json()


async def test_every_phone_line_with_its_last_result(api: Api) -> None:
    runtime = api.runtime
    line_id = first_line(runtime)
    await asyncio.to_thread(check, runtime, line_id, R.CONFIRMED, "confirmó con la tecla 1")
    status, body = await get(api, URL)
    assert status == 200
    items = {x["line"]: x for x in body["items"]}
    assert len(items) == len(runtime.linechecks.lines())
    assert body["failing"] == 0
    found = items[line_id]
    assert found["agency"] == "pnp"
    assert found["number"].isdigit()
    assert found["last"]["result"] == "confirmed"
    assert found["last"]["result_label"] == "confirmada"
    assert found["failing"] is False
    never = next(x for x in items.values() if x["line"] != line_id)
    assert never["last"] is None


async def test_a_line_failing_twice_is_listed_as_failing(api: Api) -> None:
    runtime = api.runtime
    line_id = first_line(runtime)
    for result, cause in ((R.NO_ANSWER, "no contestó"), (R.BUSY, "ocupado")):
        runtime.clock.advance(600)  # type: ignore[attr-defined]
        await asyncio.to_thread(check, runtime, line_id, result, cause)
    status, body = await get(api, f"{URL}?failing=true")
    assert status == 200
    assert [x["line"] for x in body["items"]] == [line_id]
    assert body["items"][0]["failures_in_a_row"] == 2
    assert body["items"][0]["last"]["raised"] is True
    status, one = await get(api, f"{URL}/{line_id}")
    assert status == 200
    assert [c["result"] for c in one["checks"]] == ["busy", "no_answer"]  # newest first
    assert one["failing"] is True


async def test_an_agencys_lines(api: Api) -> None:
    status, body = await get(api, f"{URL}?agency=cgbvp")
    assert status == 200
    assert body["items"]
    assert {x["agency"] for x in body["items"]} == {"cgbvp"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("agency=nadie", "agency"),
        ("failing=quizas", "failing"),
        ("agency=pnp&agency=sat", "agency"),
    ],
)
async def test_bad_filters_are_422_naming_the_field(api: Api, query: str, field: str) -> None:
    status, body = await get(api, f"{URL}?{query}")
    assert status == 422
    assert [f["field"] for f in body["error"]["fields"]] == [field]


async def test_an_unknown_line_is_404(api: Api) -> None:
    status, body = await get(api, f"{URL}/pnp-nadie/1")
    assert status == 404
    assert "pnp-nadie/1" in body["error"]["message"]


async def test_a_supervisor_asks_for_checks(api: Api) -> None:
    runtime = api.runtime
    line_id = first_line(runtime)
    response = await api.client.post(
        f"{URL}/checks", json={"line": line_id}, headers=api.auth("supervisor")
    )
    assert response.status == 202
    (item,) = (await response.json())["items"]
    assert item["line"] == line_id
    assert item["new"] is True
    assert item["check"]["state"] == "pending"
    assert item["check"]["actor"].startswith("supervisor:")
    # an operator may look, not call
    response = await api.client.post(f"{URL}/checks", json={"line": line_id}, headers=api.auth())
    assert response.status == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"line": "pnp\r\nmiraflores/1"}, "line"),
        ({"agency": "PNP;DROP"}, "agency"),
        ({"line": "pnp-nadie/1"}, "line"),
        ({"agency": "pnp", "extra": 1}, "extra"),
    ],
)
async def test_bad_check_requests_are_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = await api.client.post(f"{URL}/checks", json=body, headers=api.auth("supervisor"))
    assert response.status == 422, await response.text()
    fields = [f["field"] for f in (await response.json())["error"]["fields"]]
    assert fields == [field]


def test_the_cli_lists_the_lines_and_their_failures(
    runtime: Runtime,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no var/run.json of a `make run` of the checkout's
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", root.handlers[:])  # main() sets up logging
    env = {"VOICEBRIDGE_DATABASE_URL": runtime.settings.database_url,
           "VOICEBRIDGE_REDIS_URL": runtime.settings.redis_url}  # fmt: skip
    if runtime.settings.routing_file is not None:
        env["VOICEBRIDGE_ROUTING_FILE"] = str(runtime.settings.routing_file)
    line_id = first_line(runtime)
    check(runtime, line_id, R.NO_ANSWER, "no contestó")
    runtime.clock.advance(600)  # type: ignore[attr-defined]
    check(runtime, line_id, R.FAILED, "número inexistente")
    assert main(["lines", "list", "--failing"], env) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"{line_id}\t")
    assert "FALLA (2 seguidas)" in out[0]
    assert "número inexistente" in out[0]
    assert main(["lines", "history", line_id], env) == 0
    history = capsys.readouterr().out.splitlines()
    assert [h.split("\t")[2] for h in history] == ["falló (número inexistente)", "no contestó"]
    assert main(["lines", "check", "--agency", "nadie"], env) == 2


async def test_the_route_of_an_incident_marks_a_failing_line(api: Api) -> None:
    created = await api.create(district="SJL")  # a robbery in SJL: the police of Zárate
    status, route = await get(api, f"/api/v1/incidents/{created['id']}/route")
    assert status == 200
    assert not [r for r in route["agencies"][0]["reasons"] if "pruebas de línea" in r]
    first = route["agencies"][0]["targets"][0]
    for result, cause in ((R.NO_ANSWER, "no contestó"), (R.BUSY, "ocupado")):
        api.runtime.clock.advance(600)  # type: ignore[attr-defined]
        await asyncio.to_thread(check, api.runtime, first["id"], result, cause)
    status, route = await get(api, f"/api/v1/incidents/{created['id']}/route")
    reasons = route["agencies"][0]["reasons"]
    assert [r for r in reasons if "pruebas de línea" in r] == [
        f"Atención: «{first['label']}» de «{first['station_name']}» falló sus dos últimas "
        "pruebas de línea (no contestó; ocupado); se llama igual, y si no responde sigue "
        "el próximo destino."
    ]
    assert route["agencies"][0]["targets"][0]["id"] == first["id"]  # called all the same
