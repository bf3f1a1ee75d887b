"""``voicebridge run`` (what ``make run`` starts): the whole service on one machine with
embedded defaults. A local Redis under ``./var/redis`` unless ``VOICEBRIDGE_REDIS_URL``
names one, the fake Asterisk (``voicebridge fake-asterisk``) unless
``VOICEBRIDGE_AMI_URL`` names an Asterisk, the schema upgraded, a development admin key,
then ``serve`` and a ``worker``. Ctrl-C stops everything it started, Redis last."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from redis import Redis
from redis.exceptions import RedisError

from voicebridge import migrate
from voicebridge.apikeys import Role
from voicebridge.errors import VoicebridgeError
from voicebridge.runtime import build_runtime
from voicebridge.settings import Settings, load_settings

VAR = Path("var")
KEY_FILE = VAR / "dev-admin.key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_command(directory: Path, port: int) -> list[str]:
    """A redis-server configured as voicebridge needs it (AOF, noeviction), keeping its
    data in ``directory``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise VoicebridgeError(
            "redis-server is not installed: install it (Debian: apt-get install redis-server) "
            "or set VOICEBRIDGE_REDIS_URL to a Redis you run"
        )
    return [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(directory.resolve()),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--maxmemory-policy",
        "noeviction",
        "--logfile",
        "redis.log",
    ]


def start_redis(directory: Path, port: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server (see :func:`redis_command`) on ``port`` (0: a free one), once it
    answers; and its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    proc = subprocess.Popen(redis_command(directory, port), start_new_session=True)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                break
            except RedisError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise VoicebridgeError(
                        f"the local Redis did not start; see {directory / 'redis.log'}"
                    ) from None
                time.sleep(0.05)
    except BaseException:  # Ctrl-C too: nothing is left running
        proc.kill()
        proc.wait()
        raise
    finally:
        client.close()
    return proc, url


def fake_asterisk_command(port: int) -> list[str]:
    return [sys.executable, "-m", "voicebridge", "fake-asterisk", "--port", str(port)]


def start_fake_asterisk(env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``voicebridge fake-asterisk`` on a free port; its AMI URL once it listens."""
    port = _free_port()
    proc = subprocess.Popen(fake_asterisk_command(port), env=dict(env), start_new_session=True)  # noqa: S603
    try:
        if not wait_listening(proc, port):
            raise VoicebridgeError("the fake Asterisk did not start")
    except BaseException:  # Ctrl-C too: nothing is left running
        proc.kill()
        proc.wait()
        raise
    return proc, f"ami://voicebridge:voicebridge@127.0.0.1:{port}"


def wait_listening(proc: subprocess.Popen[bytes], port: int, seconds: float = 10) -> bool:
    """Until ``proc`` accepts connections on 127.0.0.1:``port``; False if it exited or
    ``seconds`` passed first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def dev_admin_key(settings: Settings) -> str:
    """The development admin key in ``var/dev-admin.key``, created when missing."""
    runtime = build_runtime(settings, migrate_schema=False)
    try:
        if KEY_FILE.exists():
            token = KEY_FILE.read_text().strip()
            if runtime.apikeys.verify(token) is not None:
                return token
        token, _ = runtime.apikeys.create(Role.ADMIN, label="make run (development)")
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.write_text(token + "\n")
        KEY_FILE.chmod(0o600)
        return token
    finally:
        runtime.close()


def run(environ: Mapping[str, str]) -> int:
    VAR.mkdir(exist_ok=True)
    env = dict(environ)
    redis_proc = None
    if "VOICEBRIDGE_REDIS_URL" not in environ:
        redis_proc, env["VOICEBRIDGE_REDIS_URL"] = start_redis(VAR / "redis")
    children: list[subprocess.Popen[bytes]] = []
    try:
        settings = load_settings(env)
        fake = ""
        if settings.ami_url is None:
            proc, env["VOICEBRIDGE_AMI_URL"] = start_fake_asterisk(env)
            children.append(proc)
            settings = load_settings(env)
            fake = " (the fake Asterisk: every line answers, responders press 1)"
        migrate.upgrade(settings.database_url)
        key = dev_admin_key(settings)
        for command in ("serve", "worker"):
            children.append(
                subprocess.Popen(  # noqa: S603 (our own command)
                    [sys.executable, "-m", "voicebridge", command], env=env, start_new_session=True
                )
            )
        _banner(settings, key, fake)
        return _wait(children)
    finally:
        _stop(children)
        if redis_proc is not None:
            _stop([redis_proc])


def _banner(settings: Settings, key: str, fake: str) -> None:
    url = settings.public_url
    print(
        f"""
voicebridge is starting
  API          {url}/api/v1/incidents
  health       {url}/healthz   {url}/readyz   metrics {url}/metrics
  database     {settings.redacted()["database_url"]}
  redis        {settings.redacted()["redis_url"]}
  asterisk     {settings.redacted()["ami_url"]}{fake}
  admin key    {key}   (development only; kept in {KEY_FILE})

  try:  curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
          -d '{{"category": "robo", "district": "SJL", "description": "Robo de celular"}}' \\
          {url}/api/v1/incidents

Ctrl-C stops everything.
""",
        flush=True,
    )


def _wait(children: list[subprocess.Popen[bytes]]) -> int:
    stop = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop:
        for child in children:
            if child.poll() is not None:
                name = " ".join(str(a) for a in child.args[3:])  # type: ignore[index]
                print(f"voicebridge {name} exited with {child.returncode}; stopping", flush=True)
                return child.returncode or 1
        time.sleep(0.2)
    print("stopping…", flush=True)
    return 0


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
