"""The ``voicebridge`` command, and the real processes end to end."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from routing.models import NewIncident, NewReport, Source
from tests.conftest import free_port
from tests.routing.configs import SMALL
from tests.voicebridge.test_devrun import Demo
from voicebridge import migrate
from voicebridge.apikeys import ApiKeys
from voicebridge.cli import main, setup_logging
from voicebridge.runtime import build_runtime
from voicebridge.settings import RUN_FILE, SPECS, load_settings, publish


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() sets up logging on the root logger, bound to the stream pytest captures."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run in an empty directory (no var/run.json of a `make run` of the
    checkout's)."""
    monkeypatch.chdir(tmp_path)


def env_for(tmp_path: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """The settings of a database created with `voicebridge db upgrade`."""
    env = {
        "VOICEBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/vb.sqlite3",
        "VOICEBRIDGE_REDIS_URL": redis_url,
        **extra,
    }
    migrate.upgrade(env["VOICEBRIDGE_DATABASE_URL"])
    return env


def cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``voicebridge ARGS`` as a process of its own, with only ``env``'s VOICEBRIDGE_*."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "voicebridge", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_failure(done: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The one line on stderr of a command that failed as expected."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == exit_code, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


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
    assert (
        f"key {key_id}, role operator, district 150132, created in "
        f"sqlite:///{tmp_path}/vb.sqlite3 (VOICEBRIDGE_DATABASE_URL): store it now" in captured.err
    )
    assert main(["apikey", "list"], environ=env) == 0
    listed = capsys.readouterr().out
    assert f"{key_id}\toperator\t150132\tactive\tcentral SJL" in listed
    assert token.split("_", 2)[2] not in listed
    assert main(["apikey", "revoke", key_id], environ=env) == 0
    told = capsys.readouterr().out
    assert f"key {key_id} revoked in sqlite:///{tmp_path}/vb.sqlite3" in told
    assert f"replicas told through {redis_url} (VOICEBRIDGE_REDIS_URL)" in told
    assert main(["apikey", "revoke", key_id], environ=env) == 1
    assert (
        main(["apikey", "create", "--role", "operator", "--district", "070101"], environ=env) == 2
    )
    assert "070101" in capsys.readouterr().err


def test_db_upgrade_creates_the_database_and_reports_the_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "var" / "voicebridge.sqlite3"
    assert main(["db", "upgrade"], environ={}) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == migrate.head()
    assert (
        f"database sqlite:///{path} (the default, under the working directory): schema "
        f"{migrate.head()} (the newest)" in captured.err
    )
    assert main(["db", "current"], environ={}) == 0
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
    assert capsys.readouterr().err == (
        f"{bad}:22: agencies[0].policy: no hay ninguna política 'rapid'\n"
    )
    missing = tmp_path / "nonexistent.yaml"
    assert main(["routing", "check", str(missing)], environ={}) == 1
    err = capsys.readouterr().err
    assert err == f"{missing}: (archivo): no existe el archivo\n"
    assert "Traceback" not in err


HOSTILE_RULES = {
    "recursive.yaml": (b"a: &a [*a]\n", ":1: (archivo): no se admiten alias YAML"),
    "deep.yaml": (b"[" * 10_000, ":1: (archivo): el documento tiene más de 32 niveles"),
    "latin1.yaml": (b"version: 1\n\xf1\n", ":2: (archivo): el archivo no está en UTF-8"),
    "list.yaml": (b"- 1\n", ":1: (documento): el archivo debe ser un mapeo YAML"),
}


def test_a_hostile_routing_file_is_one_line_per_problem(tmp_path: Path) -> None:
    for name, (content, expected) in HOSTILE_RULES.items():
        path = tmp_path / name
        path.write_bytes(content)
        line = one_line_failure(cli("routing", "check", str(path), env={}), 1)
        assert line.startswith(f"{path}{expected}"), line


def test_a_hostile_routing_file_stops_serve_in_one_line(tmp_path: Path, redis_url: str) -> None:
    path = tmp_path / "recursive.yaml"
    path.write_bytes(b"a: &a [*a]\n")
    env = env_for(tmp_path, redis_url, VOICEBRIDGE_ROUTING_FILE=str(path))
    served = cli("serve", env={**env, "VOICEBRIDGE_HTTP_PORT": "0"})
    assert (served.returncode, "Traceback" in served.stderr) == (2, False), served.stderr
    assert served.stderr.splitlines()[-1] == (
        f"voicebridge: {path}:1: (archivo): no se admiten alias YAML (*nombre): escriba el "
        "valor completo"
    )


def test_a_bad_routing_file_stops_serve(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(SMALL.replace('"014451111"', '"01-445"'), encoding="utf-8")
    env = env_for(tmp_path, redis_url, VOICEBRIDGE_ROUTING_FILE=str(bad), VOICEBRIDGE_HTTP_PORT="0")
    assert main(["serve"], environ=env) == 2
    assert (
        f"{bad}:28: agencies[0].stations[0].targets[0]: «phone»: se esperaba de 3 a 15 dígitos"
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


# --- expected failures: one line, no traceback, a non-zero exit ---------------------


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    line = one_line_failure(cli("routing", "check", "/nonexistent.yaml", env={}), 1)
    assert line == "/nonexistent.yaml: (archivo): no existe el archivo"
    (tmp_path / "afile").write_text("", encoding="utf-8")
    out = tmp_path / "afile" / "extensions-voicebridge.conf"
    line = one_line_failure(cli("dialplan", "render", "--out", str(out), env={}), 1)
    assert line == f"voicebridge: cannot write {out}: {tmp_path / 'afile'} is not a directory"
    line = one_line_failure(cli("dialplan", "render", "--out", str(tmp_path), env={}), 1)
    assert line == f"voicebridge: cannot write {tmp_path}: Is a directory"
    line = one_line_failure(cli("settings", env={"VOICEBRIDGE_CONFIG": str(tmp_path)}), 2)
    assert line.startswith(f"voicebridge: configuration error: VOICEBRIDGE_CONFIG ({tmp_path})")


def test_out_never_creates_a_directory_unless_told(tmp_path: Path) -> None:
    out = tmp_path / "nonexistent" / "dir" / "extensions-voicebridge.conf"
    line = one_line_failure(cli("dialplan", "render", "--out", str(out), env={}), 1)
    assert line == (
        f"voicebridge: cannot write {out}: there is no directory {out.parent} (create it, or "
        "add --parents)"
    )
    assert not (tmp_path / "nonexistent").exists()
    sounds = tmp_path / "nonexistent" / "sounds"
    line = one_line_failure(cli("prompts", "build", "--out", str(sounds), env={}), 1)
    assert line.endswith(f"there is no directory {sounds.parent} (create it, or add --parents)")
    assert not (tmp_path / "nonexistent").exists()
    done = cli("dialplan", "render", "--out", str(out), "--parents", env={})
    assert done.returncode == 0, done.stderr
    rendered = out.read_text(encoding="utf-8")
    assert "[vb-ack]" in rendered
    assert "[vb-check]" in rendered
    # the README's own: the file in an existing folder
    shown = tmp_path / "extensions-voicebridge.conf"
    assert cli("dialplan", "render", "--out", str(shown), env={}).returncode == 0
    assert shown.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


@pytest.mark.skipif(not Path("/proc/version").exists(), reason="no /proc")
def test_a_file_that_refuses_writes_is_one_line() -> None:
    line = one_line_failure(cli("dialplan", "render", "--out", "/proc/version", env={}), 1)
    assert line.startswith("voicebridge: cannot write /proc/version: "), line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("command", [["dialplan", "render"], ["settings"], ["routing", "check"]])
def test_a_standard_output_that_refuses_writes_is_one_line(command: list[str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "voicebridge", *command],
            env=clean,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "voicebridge: cannot write the standard output: No space left on device"
    ]


def test_a_revision_that_cannot_be_is_one_line(tmp_path: Path, redis_url: str) -> None:
    env = env_for(tmp_path, redis_url)
    for number in ("99999999999999999999999", "9223372036854775808", "0", "7"):
        line = one_line_failure(cli("routing", "show", number, env=env), 1)
        assert line == (
            f"voicebridge: no revision {number} of the rules (they are listed by: "
            "voicebridge routing revisions)"
        )
    line = one_line_failure(cli("routing", "show", "٣", env=env), 2)
    assert "expected a revision number (digits), got '٣'" in line


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, redis_url: str) -> None:
    hello = tmp_path / "hello.sqlite3"
    hello.write_text("hello\n", encoding="utf-8")
    damaged = tmp_path / "damaged.sqlite3"
    env = env_for(tmp_path, redis_url)
    damaged.write_bytes((tmp_path / "vb.sqlite3").read_bytes()[:100] + bytes(range(256)) * 64)
    for path, reason in ((hello, "file is not a database"), (damaged, "malformed")):
        for command in (["apikey", "list"], ["routing", "revisions"], ["db", "upgrade"]):
            env = {"VOICEBRIDGE_DATABASE_URL": f"sqlite:///{path}"}
            line = one_line_failure(cli(*command, env=env), 1)
            assert line.startswith(f"voicebridge: cannot use the database sqlite:///{path}: ")
            assert reason in line, line


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {"VOICEBRIDGE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    for command in (["apikey", "list"], ["db", "upgrade"], ["routing", "revisions"]):
        line = one_line_failure(cli(*command, env=env), 1)
        assert line.startswith(
            "voicebridge: cannot use the database postgresql+psycopg://nobody@127.0.0.1:1/x: "
            'connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused"
        ), line


def test_an_unreachable_redis_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    env = env_for(tmp_path, url)
    assert main(["apikey", "create", "--role", "admin"], environ=env) == 0
    key_id = capsys.readouterr().out.split("_")[1]
    line = one_line_failure(cli("apikey", "revoke", key_id, env=env), 1)
    assert line.startswith(f"voicebridge: key {key_id} is revoked in the database, but Redis")

    def refused(self: ApiKeys) -> None:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(ApiKeys, "list", refused)  # any command that meets it
    assert main(["apikey", "list"], environ=env) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"voicebridge: Redis at {url} does not answer: Error 111 connecting to "
        "127.0.0.1:1. Connection refused."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["apikey", "create", "--role", "boss"],
            "voicebridge apikey create: argument --role: invalid choice: 'boss' (choose from "
            "'operator', 'supervisor', 'admin') (see: voicebridge apikey create --help)",
        ),
        (  # admin and supervisor keys see every district (issue 8, findings 14)
            ["apikey", "create", "--role", "admin", "--district", "150132"],
            "voicebridge apikey create: argument --district: only an operator key belongs "
            "to a district (admin and supervisor keys see every district) "
            "(see: voicebridge apikey create --help)",
        ),
        (
            ["apikey", "create", "--role", "supervisor", "--district", "150132"],
            "voicebridge apikey create: argument --district: only an operator key belongs "
            "to a district (admin and supervisor keys see every district) "
            "(see: voicebridge apikey create --help)",
        ),
        (
            ["districts", "locate", "-12.1", "west"],
            "voicebridge districts locate: argument lon: invalid float value: 'west' "
            "(see: voicebridge districts locate --help)",
        ),
        (
            ["fake-asterisk", "--port", "99999"],
            "voicebridge fake-asterisk: argument --port: expected a TCP port, 0 to 65535, "
            "got '99999' (see: voicebridge fake-asterisk --help)",
        ),
        *(
            (
                ["fake-asterisk", "--press-after", value],
                "voicebridge fake-asterisk: argument --press-after: expected seconds, 0 to "
                f"3600, got '{value}' (see: voicebridge fake-asterisk --help)",
            )
            for value in ("-5", "nan", "1e400", "soon")
        ),
        (
            [],
            "voicebridge: the following arguments are required: command (see: voicebridge --help)",
        ),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], message: str) -> None:
    assert one_line_failure(cli(*args, env={}), 2) == message


def test_a_bad_setting_is_one_line(tmp_path: Path) -> None:
    line = one_line_failure(cli("apikey", "list", env={"VOICEBRIDGE_HTTP_PORT": "eighty"}), 2)
    assert line == (
        "voicebridge: configuration error: VOICEBRIDGE_HTTP_PORT: expected a TCP port: an "
        "integer from 0 to 65535, got 'eighty'"
    )
    config = tmp_path / "vb.toml"
    config.write_text("auto_migrate = 'maybe'\n", encoding="utf-8")
    line = one_line_failure(cli("settings", env={"VOICEBRIDGE_CONFIG": str(config)}), 2)
    assert line == (
        f"voicebridge: configuration error: VOICEBRIDGE_CONFIG ({config}) key auto_migrate: "
        "expected true or false, got 'maybe'"
    )


def test_a_port_in_use_is_one_line(tmp_path: Path, redis_url: str) -> None:
    env = env_for(tmp_path, redis_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_failure(cli("fake-asterisk", "--port", str(port), env=env), 2)
        assert line.startswith(f"voicebridge: cannot listen on 127.0.0.1:{port}: ")
        assert line.endswith("address already in use")
        served = cli("serve", env={**env, "VOICEBRIDGE_HTTP_PORT": str(port)})
        assert (served.returncode, "Traceback" in served.stderr) == (2, False), served.stderr
        line = served.stderr.splitlines()[-1]  # after serve's log lines
        assert line.startswith(f"voicebridge: cannot listen on 127.0.0.1:{port}: ")


# --- no database is created by mistake ------------------------------------------------


NO_DATABASE = (
    "voicebridge: there is no database at sqlite:///{path} ({origin}); create it with: "
    "voicebridge db upgrade (or point VOICEBRIDGE_DATABASE_URL at the service's database)"
)


@pytest.mark.parametrize(
    "command",
    [
        ["apikey", "create", "--role", "admin"],
        ["apikey", "list"],
        ["apikey", "revoke", "0123456789"],
        ["routing", "reload"],
        ["routing", "revisions"],
        ["routing", "show", "1"],
        ["route", "explain", "LIM-2026-000001"],
        ["db", "current"],
        ["serve"],
        ["worker", "--burst"],
    ],
)
def test_no_command_creates_a_database_that_is_not_there(
    tmp_path: Path, redis_url: str, command: list[str]
) -> None:
    """Run from another directory, a command refuses, naming the database it looked for
    and how to create it, and creates nothing."""
    env = {"VOICEBRIDGE_REDIS_URL": redis_url, "VOICEBRIDGE_HTTP_PORT": "0"}
    line = one_line_failure(cli(*command, env=env, cwd=tmp_path), 2)
    path = tmp_path / "var" / "voicebridge.sqlite3"
    assert line == NO_DATABASE.format(path=path, origin="the default, under the working directory")
    assert not (tmp_path / "var").exists()


def test_a_database_without_the_newest_schema_is_refused(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/vb.sqlite3"
    env = {"VOICEBRIDGE_DATABASE_URL": url, "VOICEBRIDGE_REDIS_URL": redis_url}
    engine = create_engine(url)
    with engine.connect() as conn:  # an empty SQLite file
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert main(["apikey", "list"], environ=env) == 2
    assert capsys.readouterr().err == (
        f"voicebridge: the database {url} (VOICEBRIDGE_DATABASE_URL) has no voicebridge "
        "schema; create it with: voicebridge db upgrade\n"
    )
    older = migrate.head()
    migrate.upgrade(url, "0003")
    capsys.readouterr()  # its log line
    assert main(["routing", "revisions"], environ=env) == 2
    assert capsys.readouterr().err == (
        f"voicebridge: the database {url} (VOICEBRIDGE_DATABASE_URL) has schema revision "
        f"0003, this voicebridge needs {older}; upgrade it with: voicebridge db upgrade\n"
    )
    assert main(["db", "current"], environ=env) == 0  # it says where the schema is
    assert capsys.readouterr().out == "0003\n"
    # serve and the worker upgrade an existing database when auto_migrate is on
    assert main(["worker", "--burst"], environ=env) == 0
    assert migrate.current(url) == migrate.head()


@pytest.mark.postgres
def test_a_postgresql_database_without_the_schema_is_refused(
    empty_postgres: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"VOICEBRIDGE_DATABASE_URL": empty_postgres, "VOICEBRIDGE_REDIS_URL": redis_url}
    assert main(["apikey", "create", "--role", "admin"], environ=env) == 2
    shown = make_url(empty_postgres).render_as_string(hide_password=True)
    assert capsys.readouterr().err == (
        f"voicebridge: the database {shown} (VOICEBRIDGE_DATABASE_URL) has no voicebridge "
        "schema; create it with: voicebridge db upgrade\n"
    )
    assert migrate.current(empty_postgres) is None
    assert main(["db", "upgrade"], environ=env) == 0
    assert main(["apikey", "create", "--role", "admin"], environ=env) == 0
    assert f"created in {shown} (VOICEBRIDGE_DATABASE_URL)" in capsys.readouterr().err


# --- voicebridge settings ----------------------------------------------------------------


def settings_lines(out: str) -> dict[str, tuple[str, str]]:
    """``{variable: (value, source)}`` of ``voicebridge settings``'s output."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        assignment, _, source = line.partition("  # ")
        variable, _, value = assignment.rstrip().partition("=")
        rows[variable] = (value, source)
    return rows


def test_settings_show_each_value_and_where_it_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "vb.toml"
    config.write_text('http_port = 9100\nauto_migrate = false\nincident_prefix = "CAL"\n')
    env = {
        "VOICEBRIDGE_CONFIG": str(config),
        "VOICEBRIDGE_INCIDENT_PREFIX": "LIMA",
        "VOICEBRIDGE_AMI_URL": "ami://voicebridge:s3cret@pbx:5038",
    }
    assert main(["settings"], environ=env) == 0
    out = capsys.readouterr().out
    rows = settings_lines(out)
    assert list(rows) == ["VOICEBRIDGE_CONFIG", *(s.variable for s in SPECS)]
    assert rows["VOICEBRIDGE_CONFIG"] == (str(config), "environment")
    assert rows["VOICEBRIDGE_HTTP_PORT"] == ("9100", f"file {config}")
    assert rows["VOICEBRIDGE_AUTO_MIGRATE"] == ("false", f"file {config}")
    assert rows["VOICEBRIDGE_INCIDENT_PREFIX"] == ("LIMA", "environment")  # over the file
    assert rows["VOICEBRIDGE_AMI_URL"] == ("ami://voicebridge:***@pbx:5038", "environment")
    assert "s3cret" not in out
    assert rows["VOICEBRIDGE_DATABASE_URL"] == (
        f"sqlite:///{tmp_path}/var/voicebridge.sqlite3",
        "default",
    )
    shipped = Path(__file__).parents[2] / "routing" / "data"
    assert rows["VOICEBRIDGE_ROUTING_FILE"] == (str(shipped / "lima.yaml"), "default")
    assert rows["VOICEBRIDGE_DISTRICTS_FILE"] == (str(shipped / "districts.json"), "default")
    assert rows["VOICEBRIDGE_PUBLIC_URL"] == (
        "http://127.0.0.1:9100",
        "default: http://<host>:<port>",
    )
    assert main(["settings"], environ={}) == 0
    rows = settings_lines(capsys.readouterr().out)
    assert rows["VOICEBRIDGE_CONFIG"] == ("(none)", "default")
    assert rows["VOICEBRIDGE_AUTO_MIGRATE"] == ("true", "default")
    assert rows["VOICEBRIDGE_AMI_URL"] == ("(none)", "default")


def test_the_settings_of_a_run_that_is_gone_are_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(RUN_FILE, {"VOICEBRIDGE_HTTP_PORT": "9999"}, set_by_run=())
    data = json.loads(RUN_FILE.read_text(encoding="utf-8"))
    assert RUN_FILE.stat().st_mode & 0o777 == 0o600  # it holds secrets
    data["pid"] = _a_finished_pid()
    RUN_FILE.write_text(json.dumps(data), encoding="utf-8")
    assert main(["settings"], environ={}) == 0
    assert settings_lines(capsys.readouterr().out)["VOICEBRIDGE_HTTP_PORT"] == ("8080", "default")


def _a_finished_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


class MakeRun(Demo):
    """:class:`Demo`, waited for until it published its settings, stopped by Ctrl-C."""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):  # noqa: S310
                    if (self.directory / RUN_FILE).exists():
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "voicebridge run did not answer"
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C in its terminal
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    run = MakeRun(tmp_path)
    yield run
    run.stop()


def test_under_make_run_the_commands_use_the_services_settings(make_run: MakeRun) -> None:
    """In another terminal in the same directory: `voicebridge settings` shows what the
    service uses (its own Redis, the fake Asterisk), and a key `apikey create` makes is
    accepted by the service."""
    make_run.wait_ready()
    pid = make_run.proc.pid
    done = cli("settings", env={}, cwd=make_run.directory)
    assert done.returncode == 0, done.stderr
    rows = settings_lines(done.stdout)
    redis_value, redis_source = rows["VOICEBRIDGE_REDIS_URL"]
    assert redis_value != "redis://127.0.0.1:6379/0"
    assert redis_source == f"make run, pid {pid}: set by voicebridge run"
    ami_value, ami_source = rows["VOICEBRIDGE_AMI_URL"]
    assert ami_value.startswith("ami://voicebridge:***@127.0.0.1:")
    assert ami_source == f"make run, pid {pid}: set by voicebridge run"
    assert rows["VOICEBRIDGE_HTTP_PORT"] == (
        str(make_run.port),
        f"make run, pid {pid}: environment",
    )
    database = f"sqlite:///{make_run.directory}/var/voicebridge.sqlite3"
    assert rows["VOICEBRIDGE_DATABASE_URL"] == (database, f"make run, pid {pid}: default")

    done = cli("apikey", "create", "--role", "operator", env={}, cwd=make_run.directory)
    assert done.returncode == 0, done.stderr
    assert f"created in {database} (make run, pid {pid}: default)" in done.stderr
    token = done.stdout.strip()
    answer = _request(
        f"{make_run.url}/api/v1/incidents",
        token,
        {"category": "robo", "district": "SJL", "description": "Robo de celular"},
    )
    assert str(answer["id"]).startswith("LIM-")

    assert make_run.stop() == 0
    assert not (make_run.directory / RUN_FILE).exists()  # withdrawn on exit
    done = cli("settings", env={}, cwd=make_run.directory)
    assert settings_lines(done.stdout)["VOICEBRIDGE_REDIS_URL"] == (
        "redis://127.0.0.1:6379/0",
        "default",
    )


def test_no_process_logs_the_bot_token_with_each_request() -> None:
    """httpx, python-telegram-bot's transport, logs every request's URL at INFO, and a
    Bot API URL carries the token: kept below WARNING in every voicebridge process."""
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    try:
        for level in ("DEBUG", "INFO"):
            setup_logging(level)
            for name in ("httpx", "httpcore"):
                assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    finally:
        root.setLevel(before[0])
        root.handlers[:] = before[1]
