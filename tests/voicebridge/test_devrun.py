"""``voicebridge run``, what ``make run`` starts, as a real process tree in an empty
directory: its own Redis, the fake Asterisk, the fake Twilio, the fake Bot API,
``serve`` and a worker; an incident dispatched through the API is answered and
acknowledged by keypress; a citizen's SMS and Telegram report through the fakes
(``voicebridge demo``) get their incident numbers; Ctrl-C stops everything it started."""

import http.cookiejar
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port


def until(condition: Callable[[], object], what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while not (got := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.1)
    return got


class Demo:
    """``voicebridge run`` in ``directory`` (what ``make run`` starts), on a free port
    unless ``port`` is given, with only the ``VOICEBRIDGE_*`` settings given here."""

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        *,
        routing: Path | None = None,
        **extra: str,
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
        env.update(VOICEBRIDGE_HTTP_PORT=str(self.port), **extra)
        if routing is not None:
            env["VOICEBRIDGE_ROUTING_FILE"] = str(routing)
        self.log = directory / "run.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "voicebridge", "run"],
                cwd=directory,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.key = ""

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """``voicebridge argv`` in the run's directory (it reads ``var/run.json``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
        return subprocess.run(
            [sys.executable, "-m", "voicebridge", *argv],
            cwd=self.directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def children(self) -> dict[str, int]:
        """The processes ``voicebridge run`` started, by what they run (the command of
        ``python -m voicebridge``, or the program)."""
        found = {}
        pids = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            except OSError:
                continue
            voicebridge = argv[1:3] == ["-m", "voicebridge"]
            program = Path(argv[0].split(" ")[0]).name  # redis-server retitles itself
            found[argv[3] if voicebridge else program] = int(pid)
        return found

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return json.load(response)

    def robbery_dispatched_and_acknowledged(self) -> list[str]:
        """Create a robbery in SJL, dispatch it, and wait until every agency acknowledged
        by keypress (the fake Asterisk's responders press 1): their states."""
        incident = self.call(
            "POST",
            "/api/v1/incidents",
            {"category": "robo", "district": "SJL", "description": "Robo de celular"},
        )
        self.call("POST", f"/api/v1/incidents/{incident['id']}/dispatch")

        def acknowledged() -> list[str]:
            calls = self.call("GET", f"/api/v1/incidents/{incident['id']}/calls")
            states = [a["state"] for a in calls["agencies"]]
            return states if states and set(states) == {"acknowledged"} else []

        states: list[str] = until(acknowledged, "every agency acknowledged by keypress")
        return states


def stop(d: Demo) -> None:
    """Ctrl-C, as a person would (a run killed outright leaves its worker to Linux's
    SIGTERM, with Redis going at the same moment); SIGKILL if it does not stop."""
    if d.proc.poll() is None:
        os.killpg(d.proc.pid, signal.SIGINT)
        try:
            d.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(d.proc.pid, signal.SIGKILL)
            d.proc.wait()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path)
    yield d
    stop(d)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def sign_in(url: str, username: str, password: str) -> str:
    """The console's page after signing in with the form, as a browser would."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with browser.open(f"{url}/console/login", timeout=10) as page:
        token = re.search(r'name="csrf" value="([^"]+)"', page.read().decode())
    assert token is not None
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf": token[1]})
    with browser.open(f"{url}/console/login", data=form.encode(), timeout=10) as home:
        return str(home.read().decode())


def test_make_run_answers_and_ctrl_c_stops_everything(demo: Demo) -> None:
    banner = until(lambda: "Ctrl-C stops everything" in demo.output(), "the banner")
    assert banner
    text = demo.output()
    assert re.search(r"asterisk +ami://voicebridge:\*\*\*@127\.0\.0\.1:\d+ \(the fake", text)
    assert re.search(r"sms +http://127\.0\.0\.1:\d+, number \+15005550006 \(the fake", text)
    assert re.search(r"telegram +http://127\.0\.0\.1:\d+, webhook \(the fake Bot API", text)
    assert "database     sqlite:///" in text
    demo.key = re.search(r"admin key +(\S+)", text).group(1)  # type: ignore[union-attr]
    until(lambda: "AMI: connected" in demo.output(), "serve logged in to the fake Asterisk")
    # the banner's console account signs in
    console = re.search(r"console +(\S+) +user (\S+), password (\S+)", text)
    assert console is not None
    assert console[1] == f"{demo.url}/console/"
    assert "Supervisión (desarrollo) · supervisor" in sign_in(demo.url, console[2], console[3])

    assert demo.robbery_dispatched_and_acknowledged() == ["acknowledged", "acknowledged"]
    # the banner's demo call: a fire reported through the IVR, the caller bridged
    assert "demo call 3" in text
    call = demo.cli("demo", "call", "3")
    assert call.returncode == 0, call.stderr
    lines = call.stdout.splitlines()
    assert lines[:2] == [
        "call 987654321 -> 018022000: keys 3",
        "IVR: report sent (choice 3, district 22, CHOSEN)",
    ]
    assert re.fullmatch(
        r"voicebridge: incident (LIM-\d{4}-\d{6}); the caller heard «[0-9 ]+» and is in "
        r"its conference, where the district operator is called",
        lines[2],
    ), lines
    # the banner's radio: Cercado de Lima's serenazgo is alerted on its chief's radio
    # first, which answers with Lima's "received" status (the fake radio's radios do)
    assert re.search(r"radio +tcp://127\.0\.0\.1:\d+ \(the radio simulator", text)
    incident = demo.call("POST", "/api/v1/incidents", {"category": "robo", "district": "150101"})
    demo.call("POST", f"/api/v1/incidents/{incident['id']}/dispatch")

    def by_radio() -> dict[str, Any] | None:
        calls = demo.call("GET", f"/api/v1/incidents/{incident['id']}/calls")
        found = {a["agency"]: a for a in calls["agencies"]}
        ack: dict[str, Any] | None = found["serenazgo"]["acknowledged"]
        return ack

    ack = until(by_radio, "serenazgo acknowledged by its radio", within=30)
    assert ack["method"] == "tetra_status"
    assert "demo radio status 2001 32770" in text
    moved = demo.cli("demo", "radio", "status", "2001", "32770")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout == "radio 2001 -> the centre's radio: status 32770\n"
    sent = demo.cli("demo", "radio", "sent")
    assert f"to 2001: INC {incident['id']} ROBO" in sent.stdout
    found = demo.children()
    assert sorted(found) == [
        "fake-asterisk",
        "fake-radio",
        "fake-telegram",
        "fake-twilio",
        "redis-server",
        "serve",
        "worker",
    ]
    children = list(found.values())
    os.killpg(demo.proc.pid, signal.SIGINT)  # Ctrl-C in its terminal
    assert demo.proc.wait(30) == 0
    assert [pid for pid in children if _alive(pid)] == []
    # serve closed its AMI session before the fakes stopped: a clean stop is quiet
    assert [line for line in demo.output().splitlines() if " ERROR " in line] == []


def test_a_second_run_in_the_same_directory_refuses_and_touches_nothing(
    demo: Demo, tmp_path: Path
) -> None:
    until(lambda: "Ctrl-C stops everything" in demo.output(), "the banner")
    until(lambda: "AMI: connected" in demo.output(), "serve up")
    run_file = tmp_path / "var" / "run.json"
    published = run_file.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
    env["VOICEBRIDGE_HTTP_PORT"] = str(free_port())
    second = subprocess.run(
        [sys.executable, "-m", "voicebridge", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode != 0
    assert second.stdout == ""
    assert second.stderr.splitlines() == [
        f"voicebridge: voicebridge run is already running here "
        f"(pid {demo.proc.pid}, http://127.0.0.1:{demo.port}); stop it first"
    ]
    assert run_file.read_text() == published  # the live run's, untouched
    assert len(list((tmp_path / "var" / "redis").glob("*.pid"))) == 0
    with urllib.request.urlopen(f"http://127.0.0.1:{demo.port}/healthz", timeout=5) as r:
        assert r.status == 200
    assert "died" not in demo.output()


def processes_in(directory: Path) -> list[int]:
    """The processes working in ``directory`` or below (what a run there started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd == str(directory) or cwd.startswith(f"{directory}/"):
                found.append(int(entry.name))
    return found


class _Healthy(http.server.BaseHTTPRequestHandler):
    """Another voicebridge's serve, as far as a /healthz can tell."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=["a socket", "another voicebridge answering /healthz"])
def port_taken(request: pytest.FixtureRequest) -> Iterator[int]:
    if request.param == "a socket":
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            yield holder.getsockname()[1]
        return
    server = http.server.HTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_taken_stops_make_run_in_one_line_before_anything_starts(
    tmp_path: Path, port_taken: int
) -> None:
    demo = Demo(tmp_path, port_taken)
    try:
        code = demo.proc.wait(60)
    finally:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
    assert code != 0
    lines = demo.output().splitlines()
    assert lines[-1] == (
        f"voicebridge: cannot listen on 127.0.0.1:{port_taken}: Address already in use "
        "(another voicebridge run, or another service?); stop it or set "
        "VOICEBRIDGE_HTTP_PORT to a free port"
    )
    assert [line for line in lines if " ERROR " in line] == []
    assert [line for line in lines if "restarting it" in line] == []
    until(lambda: processes_in(tmp_path) == [], "nothing of the run left")


def test_an_invalid_routing_file_stops_make_run_in_one_line(tmp_path: Path) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text("version: 1\n")
    demo = Demo(tmp_path, routing=routing)
    try:
        code = demo.proc.wait(60)
    finally:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
    assert code != 0
    last = demo.output().splitlines()[-1]
    assert last == (
        f"voicebridge: serve failed at start-up (exit code 2): {routing}:1: centre: "
        "falta este campo, que es obligatorio (and 3 more lines)"
    )
    assert "restarting it" not in demo.output()
    until(lambda: processes_in(tmp_path) == [], "nothing of the run left")


def banner_and_serve_up(demo: Demo) -> str:
    until(lambda: "Ctrl-C stops everything" in demo.output(), "the banner")
    until(lambda: "AMI: connected" in demo.output(), "serve up")
    return demo.output()


def fake_bot(demo: Demo) -> dict[str, Any]:
    """The fake Bot API's overview (its webhook, its chats)."""
    url = re.search(r"telegram +(http://127\.0\.0\.1:\d+)", demo.output())
    assert url, demo.output()
    with urllib.request.urlopen(f"{url.group(1)}/_fake", timeout=5) as response:  # noqa: S310
        overview: dict[str, Any] = json.load(response)
    return overview


def webhook_of(demo: Demo) -> str:
    """Where the fake Bot API posts updates ("" while it is not answering)."""
    try:
        return str(fake_bot(demo)["webhook"]["url"])
    except OSError:
        return ""


def test_make_run_lets_a_citizen_report_by_sms_and_telegram(demo: Demo) -> None:
    text = banner_and_serve_up(demo)
    assert ".venv/bin/voicebridge demo" not in text  # no .venv here: the command's name
    assert "        voicebridge demo sms 'robo en av abancay 123 cercado'" in text
    assert "        voicebridge demo telegram /start" in text
    # the webhook on the fake Bot API, registered once serve was up
    webhook = f"{demo.url}/webhooks/telegram"
    until(lambda: webhook_of(demo) == webhook, "the webhook registered")
    assert fake_bot(demo)["webhook"]["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]

    sms = demo.cli("demo", "sms", "robo en av abancay 123 cercado")
    assert sms.returncode == 0, sms.stderr
    sent, reply = sms.stdout.splitlines()
    assert sent == "SMS +51987654321 -> +15005550006: robo en av abancay 123 cercado"
    found = re.fullmatch(r"reply \(TwiML\): Reporte (LIM-\d{4}-\d{6}) recibido\. .*", reply)
    assert found, reply
    sms_incident = found.group(1)

    said = []
    for step in (
        ["/start"],
        ["--press", "Fuga de gas"],
        ["--location=-12.1211,-77.0297"],
        ["huele a gas en el pasillo del edificio"],
        ["--press", "Omitir"],
        ["--press", "Confirmar"],
    ):
        done = demo.cli("demo", "telegram", *step)
        assert done.returncode == 0, done.stderr
        said.append(done.stdout)
    assert "[Fuga de gas] [Buzón sin tapa]" in said[0]
    assert "keyboard: [Compartir ubicación]" in said[1]
    assert "Tipo: Fuga de gas" in said[4]
    receipt = re.search(r"^bot > Reporte (LIM-\d{4}-\d{6}) recibido\.", said[5], re.MULTILINE)
    assert receipt, said[5]
    assert receipt.group(1) != sms_incident

    demo.key = re.search(r"admin key +(\S+)", text).group(1)  # type: ignore[union-attr]
    incident = demo.call("GET", f"/api/v1/incidents/{receipt.group(1)}")
    assert (incident["source"], incident["category"]) == ("telegram", "fuga_gas")
    assert incident["location"]["lat"] == -12.1211
    assert demo.call("GET", f"/api/v1/incidents/{sms_incident}")["source"] == "sms"

    outbox = demo.cli("demo", "outbox")
    assert outbox.returncode == 0, outbox.stderr
    lines = outbox.stdout.splitlines()
    assert lines[0] == "SMS sent through the fake Twilio (1):"
    assert f"Reporte {sms_incident} recibido" in lines[1]
    assert lines[2:4] == ["Telegram chats of the fake Bot API (1):", "  chat 5001 (Rosa):"]
    assert f"    bot > Reporte {receipt.group(1)} recibido." in "\n".join(lines)
    assert " ERROR " not in demo.output()


def test_a_fake_bot_api_started_again_gets_the_webhook_again(demo: Demo) -> None:
    banner_and_serve_up(demo)
    webhook = f"{demo.url}/webhooks/telegram"
    until(lambda: webhook_of(demo) == webhook, "the webhook registered")
    first = demo.children()["fake-telegram"]
    os.kill(first, signal.SIGKILL)
    until(lambda: demo.children().get("fake-telegram", first) != first, "the fake started again")
    until(lambda: "fake-telegram (pid" in demo.output(), "its death logged")
    until(lambda: webhook_of(demo) == webhook, "the webhook registered again")
    done = demo.cli("demo", "telegram", "/start")
    assert done.returncode == 0, done.stderr
    assert "bot > ¿Qué está pasando?" in done.stdout


def test_make_run_leaves_configured_channels_alone(tmp_path: Path) -> None:
    """A Twilio account and a bot of one's own: no fake for them, and the demo says so."""
    d = Demo(
        tmp_path,
        VOICEBRIDGE_TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        VOICEBRIDGE_TWILIO_AUTH_TOKEN="2" * 32,
        VOICEBRIDGE_TWILIO_NUMBER="+51987000000",
        VOICEBRIDGE_TWILIO_API_URL=f"http://127.0.0.1:{free_port()}",
        VOICEBRIDGE_TELEGRAM_TOKEN="7000000009:a-bot-of-ones-own-for-the-test",
        VOICEBRIDGE_TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}",  # never the internet
        VOICEBRIDGE_TELEGRAM_MODE="polling",
    )
    try:
        text = banner_and_serve_up(d)
        assert sorted(d.children()) == [
            "fake-asterisk",
            "fake-radio",
            "redis-server",
            "serve",
            "worker",
        ]
        assert "sms          http://127.0.0.1:" in text
        assert "the fake Twilio" not in text
        assert re.search(r"telegram +http://127\.0\.0\.1:\d+, polling\n", text)
        # no SMS or Telegram to play; the fake Asterisk's citizen call remains
        assert "demo sms" not in text
        assert "demo telegram" not in text
        assert "demo outbox" not in text
        assert "demo call 3" in text
        done = d.cli("demo", "sms", "hola")
        assert done.returncode == 2
        assert done.stderr.startswith(
            "voicebridge: no fake Twilio to write SMS with: make run uses the Twilio at "
            "http://127.0.0.1:"
        )
        assert done.stderr.endswith(" (environment), no fake\n")
        done = d.cli("demo", "telegram", "/start")
        assert done.returncode == 2
        assert done.stderr.startswith(
            "voicebridge: no fake Bot API to write to the bot with: make run uses the Bot API at "
        )
    finally:
        stop(d)
