"""The ``voicebridge`` command, and the real processes end to end."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from routing.models import NewIncident, NewReport, Source
from tests.conftest import free_port
from tests.routing.configs import SMALL
from voicebridge import migrate
from voicebridge.cli import main
from voicebridge.runtime import build_runtime
from voicebridge.settings import load_settings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() sets up logging on the root logger, bound to the stream pytest captures."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def env_for(tmp_path: Path, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "VOICEBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/vb.sqlite3",
        "VOICEBRIDGE_REDIS_URL": redis_url,
        **extra,
    }


def test_a_bad_setting_stops_start_up_with_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"], environ={"VOICEBRIDGE_HTTP_PORT": "http"}) == 2
    err = capsys.readouterr().err
    assert "configuration error: VOICEBRIDGE_HTTP_PORT: expected a TCP port" in err


def test_settings_are_printed_with_passwords_masked(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"VOICEBRIDGE_DATABASE_URL": "postgresql://vb:s3cret@db:5432/vb"}
    assert main(["settings"], environ=env) == 0
    out = capsys.readouterr().out
    assert "VOICEBRIDGE_DATABASE_URL=postgresql+psycopg://vb:***@db:5432/vb" in out
    assert "s3cret" not in out


def test_settings_ignore_the_test_suites_variables(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"VOICEBRIDGE_TEST_AMI_TRACES": "/srv/traces", "VOICEBRIDGE_HTTP_PORT": "9000"}
    assert main(["settings"], environ=env) == 0
    out = capsys.readouterr().out
    assert "VOICEBRIDGE_HTTP_PORT=9000" in out
    assert "TRACES" not in out
    assert main(["settings"], environ={"VOICEBRIDGE_AMI_TRACES": "/srv/traces"}) == 2
    err = capsys.readouterr().err
    assert "configuration error: VOICEBRIDGE_AMI_TRACES: unknown setting" in err


def test_api_keys_are_created_listed_and_revoked(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_for(tmp_path, redis_url)
    assert (
        main(
            [
                "apikey",
                "create",
                "--role",
                "operator",
                "--district",
                "150132",
                "--label",
                "central SJL",
            ],
            environ=env,
        )
        == 0
    )
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("vb_")
    key_id = token.split("_")[1]
    assert f"key {key_id}, role operator, district 150132" in captured.err
    assert main(["apikey", "list"], environ=env) == 0
    listed = capsys.readouterr().out
    assert f"{key_id}\toperator\t150132\tactive\tcentral SJL" in listed
    assert token.split("_", 2)[2] not in listed
    assert main(["apikey", "revoke", key_id], environ=env) == 0
    assert main(["apikey", "revoke", key_id], environ=env) == 1
    assert (
        main(["apikey", "create", "--role", "operator", "--district", "070101"], environ=env) == 2
    )
    assert "070101" in capsys.readouterr().err


def test_db_upgrade_reports_the_revision(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_for(tmp_path, redis_url)
    assert main(["db", "current"], environ=env) == 0
    assert capsys.readouterr().out.strip() == "(empty database)"
    assert main(["db", "upgrade"], environ=env) == 0
    assert capsys.readouterr().out.strip() == migrate.head()


def _request(url: str, token: str, body: dict[str, object] | None = None) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 (loopback http)
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
        data: dict[str, object] = json.loads(response.read())
        return data


def _wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback)
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def test_serve_and_worker_run_a_job_end_to_end(
    tmp_path: Path, redis_url: str, redis: object, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    env = env_for(
        tmp_path, redis_url, VOICEBRIDGE_HTTP_PORT=str(port), VOICEBRIDGE_DISPATCH_DEADLINE="1"
    )
    assert main(["apikey", "create", "--role", "operator"], environ=env) == 0
    token = capsys.readouterr().out.strip()
    full_env = {**os.environ, **env}
    serve = subprocess.Popen([sys.executable, "-m", "voicebridge", "serve"], env=full_env)
    worker = subprocess.Popen([sys.executable, "-m", "voicebridge", "worker"], env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/healthz", serve)
        created = _request(
            f"{base}/api/v1/incidents", token, {"category": "incendio", "district": "Rímac"}
        )
        url = f"{base}/api/v1/incidents/{created['id']}"
        deadline = time.monotonic() + 30
        kinds: list[object] = []
        while time.monotonic() < deadline:
            timeline = _request(url, token)["timeline"]
            kinds = [e["kind"] for e in timeline]  # type: ignore[attr-defined]
            if "dispatch_overdue" in kinds:
                break
            time.sleep(0.2)
        assert kinds == ["created", "dispatch_overdue"]
    finally:
        for proc in (serve, worker):
            proc.send_signal(signal.SIGTERM)
        assert serve.wait(15) == 0
        assert worker.wait(30) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_waiting_for_redis_stops_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    env = {**os.environ, **env_for(tmp_path, f"redis://127.0.0.1:{free_port()}/0")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "voicebridge", "worker"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert worker.stderr is not None
    for line in worker.stderr:  # wait until it has found Redis missing
        if "Redis is unreachable" in line:
            break
    worker.send_signal(sig)
    assert worker.wait(10) == 0
    worker.stderr.close()


def test_routing_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routing", "check"], environ={}) == 0
    assert "routing/data/lima.yaml: valid (13 agencies," in capsys.readouterr().out
    bad = tmp_path / "rules.yaml"
    bad.write_text(SMALL.replace("policy: fast", "policy: rapid"), encoding="utf-8")
    assert main(["routing", "check", str(bad)], environ={}) == 1
    assert capsys.readouterr().err == f"{bad}:22: agencies[0].policy: no policy named 'rapid'\n"
    missing = tmp_path / "nonexistent.yaml"
    assert main(["routing", "check", str(missing)], environ={}) == 1
    err = capsys.readouterr().err
    assert err == f"voicebridge: cannot read {missing}: No such file or directory\n"
    assert "Traceback" not in err


def test_a_bad_routing_file_stops_serve(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(SMALL.replace('"014451111"', '"01-445"'), encoding="utf-8")
    env = env_for(tmp_path, redis_url, VOICEBRIDGE_ROUTING_FILE=str(bad), VOICEBRIDGE_HTTP_PORT="0")
    assert main(["serve"], environ=env) == 2
    assert (
        f"{bad}:28: agencies[0].stations[0].targets[0]: phone: expected 3 to 15 digits"
        in capsys.readouterr().err
    )


def test_routing_reload_revisions_show_and_explain(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL, encoding="utf-8")
    env = env_for(tmp_path, redis_url, VOICEBRIDGE_ROUTING_FILE=str(rules))
    assert main(["routing", "reload"], environ=env) == 0
    assert capsys.readouterr().out == "revision 1 in force\n"
    assert main(["routing", "reload"], environ=env) == 0
    assert capsys.readouterr().out == "revision 1 in force (unchanged)\n"
    rules.write_text(SMALL.replace("ring_seconds: 20", "ring_seconds: 25"), encoding="utf-8")
    assert main(["routing", "reload"], environ=env) == 0
    assert main(["routing", "revisions"], environ=env) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "revision 2 in force"
    assert [line.split("\t")[0] for line in listed[1:]] == ["2", "1"]
    assert main(["routing", "show", "2"], environ=env) == 0
    assert "+  fast: {ring_seconds: 25" in capsys.readouterr().out

    runtime = build_runtime(load_settings(env))
    incident, _ = runtime.store.create_incident(
        NewIncident(
            category="robo", district="150122", report=NewReport(source=Source.API, text="robo")
        ),
        actor="operator:x",
    )
    runtime.close()
    assert main(["route", "explain", incident.id], environ=env) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"{incident.id} (robo, distrito 150122): no despachado; con las "
        "reglas en vigor (revisión 2)"
    )
    assert "Se aplica «robo en Miraflores»: es la regla más específica que coincide." in out
    assert "destino 1: Guardia (phone 014451111) — Comisaría PNP Miraflores" in out
    assert main(["route", "explain", "LIM-2026-000999"], environ=env) == 2


def test_districts_locate(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_for(tmp_path, redis_url)
    assert main(["districts", "locate", "-12.1211", "-77.0297"], environ=env) == 0
    assert capsys.readouterr().out == "150122 Miraflores\n"
    assert main(["districts", "locate", "-12.0219", "-77.1143"], environ=env) == 1
    assert capsys.readouterr().out == "Callao, Callao (070101): fuera de Lima Metropolitana\n"
    assert main(["districts", "locate", "-11.10", "-77.61"], environ=env) == 1
    assert capsys.readouterr().out == "fuera de Lima Metropolitana y del Callao\n"
    assert main(["districts", "locate", "-120", "-77"], environ=env) == 2


def test_an_official_boundary_file_may_replace_the_shipped_outlines(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    square = [
        [-77.05, -12.15],
        [-77.00, -12.15],
        [-77.00, -12.10],
        [-77.05, -12.10],
        [-77.05, -12.15],
    ]
    official = tmp_path / "distritos.geojson"
    official.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"UBIGEO": "150141"},
                        "geometry": {"type": "Polygon", "coordinates": [square]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    env = env_for(tmp_path, redis_url, VOICEBRIDGE_DISTRICTS_FILE=str(official))
    assert main(["districts", "locate", "-12.1211", "-77.0297"], environ=env) == 0
    assert capsys.readouterr().out == "150141 Surquillo\n"  # what the given file says
    env["VOICEBRIDGE_DISTRICTS_FILE"] = str(tmp_path / "missing.geojson")
    assert main(["districts", "locate", "-12.1211", "-77.0297"], environ=env) == 2
    assert "VOICEBRIDGE_DISTRICTS_FILE: expected a readable file" in capsys.readouterr().err


def test_sighup_reloads_the_routing_file(
    tmp_path: Path, redis_url: str, redis: object, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL, encoding="utf-8")
    port = free_port()
    env = env_for(
        tmp_path, redis_url, VOICEBRIDGE_ROUTING_FILE=str(rules), VOICEBRIDGE_HTTP_PORT=str(port)
    )
    assert main(["apikey", "create", "--role", "admin"], environ=env) == 0
    token = capsys.readouterr().out.strip()
    serve = subprocess.Popen(
        [sys.executable, "-m", "voicebridge", "serve"], env={**os.environ, **env}
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/healthz", serve)
        url = f"{base}/api/v1/routing/revisions"
        assert len(_request(url, token)["items"]) == 1  # type: ignore[arg-type]
        rules.write_text(SMALL.replace("ring_seconds: 20", "ring_seconds: 25"), encoding="utf-8")
        serve.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while len(_request(url, token)["items"]) < 2:  # type: ignore[arg-type]
            assert time.monotonic() < deadline, "SIGHUP did not reload the rules"
            time.sleep(0.1)
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(15) == 0
