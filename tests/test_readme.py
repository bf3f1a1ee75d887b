"""The README's walkthrough runs as written: its ```` ```sh walkthrough ```` blocks,
pasted in order into one bash, against ``voicebridge run`` (what ``make run`` starts) in
an empty directory; the incident they report is dispatched and both agencies
acknowledge it through the fake Asterisk; the citizens' SMS and Telegram report through
the fake Twilio and the fake Bot API get their incident numbers. So the examples cannot
go stale."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```sh walkthrough\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DEFAULT_URL = "http://127.0.0.1:8080"


def walkthrough() -> list[str]:
    return FENCE.findall(README.read_text(encoding="utf-8"))


def test_the_walkthrough_is_there_and_needs_nothing_the_project_does_not_install() -> None:
    blocks = walkthrough()
    assert len(blocks) >= 5, "the README's ```sh walkthrough blocks are gone"
    text = "\n".join(blocks)
    assert f"VB={DEFAULT_URL}" in blocks[0]  # the one place the test changes
    assert "8080" not in text.replace(f"VB={DEFAULT_URL}", "")
    assert not re.search(r"\bjq\b", text), "jq is not installed by the project: python3"


class Service:
    """``voicebridge run`` in ``directory`` on a free port, as ``make run`` starts it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # the README runs `.venv/bin/voicebridge` from the checkout's directory
        (directory / ".venv").symlink_to(sys.prefix)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
        self.log = directory / "run.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "voicebridge", "run"],
                cwd=directory,
                env={**self.env, "VOICEBRIDGE_HTTP_PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        """Until the API answers and ``make run``'s key and settings are written."""
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"voicebridge run exited:\n{self.output()}"
            written = (self.directory / "var" / "run.json").exists()
            if written and "Ctrl-C stops everything" in self.output():
                try:
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):  # noqa: S310
                        return
                except OSError:
                    pass
            assert time.monotonic() < deadline, f"voicebridge run did not start:\n{self.output()}"
            time.sleep(0.1)

    def get(self, path: str) -> Any:
        key = (self.directory / "var" / "dev-admin.key").read_text().strip()
        request = urllib.request.Request(  # noqa: S310 (loopback)
            f"{self.url}{path}", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return json.load(response)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    s = Service(tmp_path)
    yield s
    s.stop()


def test_the_walkthrough_runs_as_written(service: Service) -> None:
    blocks = walkthrough()
    script = ["set -euo pipefail"]
    for n, block in enumerate(blocks, 1):
        script.append(block.replace(f"VB={DEFAULT_URL}", f"VB={service.url}"))
        script.append(f'echo "--- walkthrough block {n} done"')
    script.append('echo "--- incident $ID"')
    service.wait_ready()
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=service.directory,
        env=service.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    for n in range(1, len(blocks) + 1):
        assert f"--- walkthrough block {n} done" in done.stdout, f"block {n} failed\n{report}"
    assert done.returncode == 0, report
    incident_id = re.search(r"^--- incident (\S+)$", done.stdout, re.MULTILINE)
    assert incident_id, report

    # the end state: dispatched, and both agencies acknowledged through the fake Asterisk
    path = f"/api/v1/incidents/{incident_id.group(1)}/calls"
    deadline = time.monotonic() + 60
    while True:
        calls = service.get(path)
        states = sorted((a["agency"], a["state"]) for a in calls["agencies"])
        if states and {state for _, state in states} == {"acknowledged"}:
            break
        assert time.monotonic() < deadline, f"not acknowledged: {states}\n{service.output()}"
        time.sleep(0.2)
    assert states == [("pnp", "acknowledged"), ("serenazgo", "acknowledged")]
    assert calls["incident"]["status"] in ("acknowledged", "bridged")
    # the key the walkthrough made with the CLI is one the service accepts: the CLI
    # found the service's database through var/run.json
    [central] = [n for n, block in enumerate(blocks, 1) if "SJL_KEY=" in block]
    listed = json.loads(output_of(done.stdout, central))
    assert [i["id"] for i in listed["items"]] == [incident_id.group(1)]

    # a citizen's SMS answered with its incident, a Telegram report confirmed with its own
    [sms] = [n for n, block in enumerate(blocks, 1) if "demo sms" in block]
    reply = re.search(
        r"^reply \(TwiML\): Reporte (\S+) recibido\.", output_of(done.stdout, sms), re.M
    )
    assert reply, report
    [telegram] = [n for n, block in enumerate(blocks, 1) if "demo telegram" in block]
    receipt = re.search(
        r"^bot > Reporte (\S+) recibido\.", output_of(done.stdout, telegram), re.MULTILINE
    )
    assert receipt, report
    found = {i: service.get(f"/api/v1/incidents/{i}") for i in (reply[1], receipt[1])}
    assert (found[reply[1]]["source"], found[reply[1]]["category"]) == ("sms", "robo")
    assert (found[receipt[1]]["source"], found[receipt[1]]["category"]) == (
        "telegram",
        "fuga_gas",
    )
    [outbox] = [n for n, block in enumerate(blocks, 1) if "demo outbox" in block]
    sent = output_of(done.stdout, outbox)
    assert f"Reporte {reply[1]} recibido." in sent
    assert f"bot > Reporte {receipt[1]} recibido." in sent


def output_of(stdout: str, n: int) -> str:
    """What walkthrough block ``n`` printed."""
    before = stdout.split(f"--- walkthrough block {n - 1} done\n")[1] if n > 1 else stdout
    return before.split(f"--- walkthrough block {n} done")[0]


def test_the_replay_tests_say_how_to_find_the_recorded_traces() -> None:
    from tests.voicebridge.ami.sim import test_replay

    marks = test_replay.pytestmark
    [mark] = [m for m in (marks if isinstance(marks, list) else [marks]) if m.name == "skipif"]
    assert "VOICEBRIDGE_TEST_AMI_TRACES=/path/to/asterisk/traces" in mark.kwargs["reason"]
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("### The fake Asterisk and the real-Asterisk suite") :]
    assert "VOICEBRIDGE_TEST_AMI_TRACES=/path/to/asterisk/traces" in section
