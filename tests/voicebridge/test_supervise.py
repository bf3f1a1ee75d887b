"""``voicebridge run`` supervises what it starts: a process that dies is logged in one
line and started again with backoff, the others go on; Ctrl-C stops everything, Redis
last. First the supervisor on small scripts, then ``voicebridge run`` itself as a real
process tree whose worker, fakes (Asterisk, Twilio, Bot API) and Redis are killed with
``kill -9`` in turn.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq.scheduler import RQScheduler

from tests.voicebridge.test_devrun import Demo, until
from voicebridge import devrun
from voicebridge.devrun import StartFailed, Supervisor
from voicebridge.queueing import QUEUES, scheduler_name

# a child that records the SIGTERM it gets, then exits
RECORDS_SIGTERM = """
import signal, sys, time
def stop(signum, frame):
    with open(sys.argv[1], "a") as out:
        out.write(sys.argv[2] + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[1] + "." + sys.argv[2], "w").close()  # ready
time.sleep(60)
"""
IGNORES_SIGTERM = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").close()  # ready
time.sleep(60)
"""


def spawner(*args: str) -> Callable[[], "subprocess.Popen[bytes]"]:
    def spawn() -> "subprocess.Popen[bytes]":
        return subprocess.Popen([sys.executable, "-c", *args], start_new_session=True)

    return spawn


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def started_up(
    supervisor: Supervisor, name: str, spawn: Callable[[], "subprocess.Popen[bytes]"], **kw: Any
) -> "subprocess.Popen[bytes]":
    """A process supervised as one that was up already (its death is restarted)."""
    proc = spawn()
    supervisor.adopt(name, proc, spawn, **kw)
    return proc


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    s = Supervisor(backoff=(0.05, 0.2), stable=60)
    yield s
    s.signals = 2  # kill whatever a failed test left
    s.stop()


def deaths(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "voicebridge.devrun" and r.getMessage().startswith(f"{name} (pid ")
    ]


def test_a_process_killed_is_started_again_and_logged_once(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "voicebridge.devrun")
    first = started_up(supervisor, "sleeper", spawner("import time; time.sleep(60)"))
    os.kill(first.pid, signal.SIGKILL)

    def restarted() -> bool:
        supervisor.check()
        return supervisor.children[0].proc.pid != first.pid

    until(restarted, "a new sleeper", within=10)
    supervisor.check()
    assert deaths(caplog, "sleeper") == [
        f"sleeper (pid {first.pid}) died (killed by SIGKILL); restarting it in 0.05 s"
    ]
    assert supervisor.children[0].proc.poll() is None


def test_a_process_that_keeps_dying_is_started_again_with_growing_delays(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "voicebridge.devrun")
    started_up(supervisor, "crasher", spawner("raise SystemExit(3)"))

    def died_four_times() -> bool:
        supervisor.check()
        return len(deaths(caplog, "crasher")) >= 4

    until(died_four_times, "four deaths", within=20)
    lines = deaths(caplog, "crasher")[:4]
    assert [line.split(") died ")[1] for line in lines] == [
        "(exit code 3); restarting it in 0.05 s",
        "(exit code 3); restarting it in 0.1 s",
        "(exit code 3); restarting it in 0.2 s",
        "(exit code 3); restarting it in 0.2 s",  # the ceiling
    ]
    assert len({line.split(")")[0] for line in lines}) == 4  # one line per process


def test_a_process_dying_at_its_first_start_stops_the_run_with_its_last_line(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    def spawn() -> "subprocess.Popen[bytes]":
        script = "import sys; print('starting', file=sys.stderr); sys.exit('no port for me')"
        return subprocess.Popen(
            [sys.executable, "-c", script], stderr=subprocess.PIPE, start_new_session=True
        )

    supervisor.start("doomed", spawn, ready=lambda proc: False)

    def checked() -> str:
        try:
            supervisor.check()
        except StartFailed as exc:
            return str(exc)
        return ""

    assert until(checked, "the start-up failure", within=10) == (
        "doomed failed at start-up (exit code 1): no port for me"
    )
    assert deaths(caplog, "doomed") == []  # not restarted


def test_stop_ends_serve_and_the_worker_then_the_fake_asterisk_then_redis(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    record = tmp_path / "stopped"
    procs = [
        started_up(
            supervisor,
            name,
            spawner(RECORDS_SIGTERM, str(record), name),
            stage={"redis": 2, "fake-asterisk": 1}.get(name, 0),
        )
        for name in ("redis", "fake-asterisk", "serve", "worker")
    ]
    until(lambda: len(list(tmp_path.glob("stopped.*"))) == 4, "every child ready")
    supervisor.signals = 1  # Ctrl-C
    supervisor.stop()
    lines = record.read_text().split()
    assert sorted(lines[:2]) == ["serve", "worker"]
    assert lines[2:] == ["fake-asterisk", "redis"]  # serve left Asterisk before it stopped
    assert [p.pid for p in procs if alive(p.pid)] == []


def test_a_second_ctrl_c_kills_what_does_not_stop(supervisor: Supervisor, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    stubborn = started_up(supervisor, "stubborn", spawner(IGNORES_SIGTERM, str(ready)))
    until(ready.exists, "the child ready")
    supervisor.signals = 2
    supervisor.stop()
    assert stubborn.returncode == -signal.SIGKILL


# ---------------------------------------------------------------- voicebridge run


def children(parent: int) -> dict[str, int]:
    """The processes ``voicebridge run`` started, by name."""
    found = {}
    out = subprocess.run(
        ["pgrep", "-P", str(parent)], capture_output=True, text=True, check=False
    ).stdout
    for pid in map(int, out.split()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        words = [w.decode() for w in cmdline if w]
        if words and "redis-server" in words[0]:  # Redis rewrites its command line
            found["redis"] = pid
        elif "voicebridge" in words:
            found[words[words.index("voicebridge") + 1]] = pid
    return found


def group_members(pgids: set[int]) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,pgid="], capture_output=True, text=True, check=True)
    return [
        int(p) for p, g in (line.split() for line in out.stdout.splitlines()) if int(g) in pgids
    ]


def scheduler_locks(demo: Demo) -> set[object]:
    """Who holds RQ's scheduler locks in the Redis of ``voicebridge run``."""
    url = re.search(r"redis +(redis://\S+)", demo.output()).group(1)  # type: ignore[union-attr]
    redis = Redis.from_url(url)
    try:
        return {redis.get(RQScheduler.get_locking_key(name)) for name in QUEUES}
    finally:
        redis.close()


class Probe:
    """Asks ``/healthz`` every 0.2 s from a thread, counting the answers and failures."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/healthz"
        self.answers = 0
        self.failures: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(0.2):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310
                    assert response.status == 200
                self.answers += 1
            except Exception as exc:
                self.failures.append(repr(exc))

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


class Supervised(Demo):
    def __init__(self, directory: Path, port: int | None = None) -> None:
        super().__init__(directory, port)
        self.groups: set[int] = set()  # the process groups of its children, dead or alive


RESTARTED = ("worker", "fake-asterisk", "fake-radio", "fake-twilio", "fake-telegram", "redis")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Supervised]:
    d = Supervised(tmp_path)
    yield d
    if d.proc.poll() is None:
        d.groups |= set(children(d.proc.pid).values())
        os.killpg(d.proc.pid, signal.SIGKILL)
        d.proc.wait()
    for pid in group_members(d.groups):  # what a failed test left
        os.kill(pid, signal.SIGKILL)


def test_make_run_restarts_the_worker_the_fakes_and_redis(demo: Supervised) -> None:
    until(lambda: "Ctrl-C stops everything" in demo.output(), "the banner")
    demo.key = re.search(r"admin key +(\S+)", demo.output()).group(1)  # type: ignore[union-attr]
    until(lambda: "AMI: connected" in demo.output(), "serve logged in to the fake Asterisk")
    started = children(demo.proc.pid)
    assert sorted(started) == [
        "fake-asterisk",
        "fake-radio",
        "fake-telegram",
        "fake-twilio",
        "redis",
        "serve",
        "worker",
    ]
    probe = Probe(demo.port)
    demo.groups |= set(started.values())
    try:
        pids = dict(started)
        for name in RESTARTED:
            dead = pids[name]
            os.kill(dead, signal.SIGKILL)
            until(
                lambda name=name, dead=dead: children(demo.proc.pid).get(name, dead) != dead,  # type: ignore[misc]
                f"a new {name}",
            )
            pids = children(demo.proc.pid)
            demo.groups |= set(pids.values())
            if name == "worker":  # the dead one's scheduler lock released, not left 61 s
                owner = scheduler_name(pids["worker"]).encode()
                until(
                    lambda owner=owner: scheduler_locks(demo) == {owner},  # type: ignore[misc]
                    "the new worker's scheduler holding the lock",
                    within=20,
                )
        until(lambda: "AMI: Asterisk is back" in demo.output(), "serve back on the fake Asterisk")
        until(lambda: probe.answers > 10, "the API answering")
    finally:
        probe.stop()
    assert probe.failures == []
    assert pids["serve"] == started["serve"]  # never restarted

    assert demo.robbery_dispatched_and_acknowledged() == ["acknowledged", "acknowledged"]
    released = [line for line in demo.output().splitlines() if "scheduler locks" in line]
    assert [re.sub(r".*voicebridge\.devrun: ", "", line) for line in released] == [
        "released the dead worker's RQ scheduler locks (voicebridge-calls, voicebridge-default)"
    ]
    died = [line for line in demo.output().splitlines() if ") died (" in line]
    assert [re.sub(r".*voicebridge\.devrun: ", "", line) for line in died] == [
        f"{name} (pid {started[name]}) died (killed by SIGKILL); restarting it in 0.5 s"
        for name in RESTARTED
    ]

    os.killpg(demo.proc.pid, signal.SIGINT)  # Ctrl-C in its terminal
    assert demo.proc.wait(30) == 0
    assert group_members(demo.groups) == []  # nothing left: RQ's schedulers neither


def started(demo: Supervised) -> dict[str, int]:
    until(lambda: "Ctrl-C stops everything" in demo.output(), "the banner")
    until(lambda: "AMI: connected" in demo.output(), "serve logged in to the fake Asterisk")
    pids = children(demo.proc.pid)
    assert sorted(pids) == [
        "fake-asterisk",
        "fake-radio",
        "fake-telegram",
        "fake-twilio",
        "redis",
        "serve",
        "worker",
    ]
    demo.groups |= set(pids.values())
    return pids


def test_closing_the_terminal_sighup_stops_everything_as_ctrl_c_does(demo: Supervised) -> None:
    started(demo)
    os.kill(demo.proc.pid, signal.SIGHUP)
    assert demo.proc.wait(30) == 0
    assert group_members(demo.groups) == []
    assert "stopping…" in demo.output()


def test_kill_9_of_make_run_leaves_no_process_and_frees_the_port(
    demo: Supervised, tmp_path: Path
) -> None:
    started(demo)
    os.kill(demo.proc.pid, signal.SIGKILL)
    demo.proc.wait()
    until(lambda: group_members(demo.groups) == [], "every child of the dead run gone")

    again = Supervised(tmp_path, demo.port)  # the same directory and port
    try:
        again.groups |= set(started(again).values())
        with urllib.request.urlopen(f"http://127.0.0.1:{again.port}/healthz", timeout=5) as r:
            assert r.status == 200
        os.killpg(again.proc.pid, signal.SIGINT)
        assert again.proc.wait(30) == 0
    finally:
        if again.proc.poll() is None:
            again.groups |= set(children(again.proc.pid).values())
            os.killpg(again.proc.pid, signal.SIGKILL)
            again.proc.wait()
        for pid in group_members(again.groups):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1"),  # noqa: S104
        ("::", "[::1]"),
        ("::1", "[::1]"),
        ("fd00::5", "[fd00::5]"),
        ("localhost", "localhost"),
    ],
)
def test_serve_is_asked_whether_it_is_up_where_it_listens(host: str, shown: str) -> None:
    """An IPv6 address goes in brackets in the /healthz URL (else serve would never
    count as up, and a later death would stop the run instead of restarting serve)."""
    assert devrun._loopback_host(host) == shown
