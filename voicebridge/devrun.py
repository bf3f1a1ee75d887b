"""``voicebridge run`` (what ``make run`` starts): the whole service on one machine with
embedded defaults. A local Redis under ``./var/redis`` unless ``VOICEBRIDGE_REDIS_URL``
names one, the fake Asterisk (``voicebridge fake-asterisk``) unless
``VOICEBRIDGE_AMI_URL`` names an Asterisk, the fake Twilio (``voicebridge fake-twilio``)
unless ``VOICEBRIDGE_TWILIO_ACCOUNT_SID`` is set, the fake Bot API (``voicebridge
fake-telegram``) unless ``VOICEBRIDGE_TELEGRAM_TOKEN`` is set, the schema upgraded, a
development admin key, then ``serve`` and a ``worker``; once serve is up, the bot's
webhook is registered on the fake Bot API (:class:`FakeBotWebhook`), so that citizens
played with ``voicebridge demo`` reach serve.

Every process it starts is supervised (:class:`Supervisor`): one that fails at its first
start stops the run in one line (:class:`StartFailed`); one that was up and dies is
logged in one line and started again with backoff, the others go on (the API stays up);
a dead worker's RQ scheduler locks are released (:func:`_release_scheduler`). Redis
comes back on its port with its data directory (its append-only file), the fakes on
their ports, so the others reconnect to them. Ctrl-C (or SIGTERM, or SIGHUP) stops
everything it started, serve and the worker first, then the fakes, Redis last; a second
Ctrl-C kills what is still stopping.
Killed itself, even with SIGKILL, its processes get SIGTERM from Linux
(:func:`die_with_parent`). One runs per directory (:func:`hold_run_lock`).

Why a loop of our own rather than a process manager: honcho (a Procfile runner) stops
everything when one process exits, as this module did; supervisor and circus restart
processes, but as daemons of their own with a configuration file (and circus with
ZeroMQ), while here the ports are chosen at start-up, handed to the later processes,
and must be kept by every restart. Popen, poll and a timer do that in a few hundred lines.
"""

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FrameType
from typing import IO, Any

from redis import Redis
from redis.exceptions import RedisError

from voicebridge import migrate
from voicebridge.apikeys import Role
from voicebridge.cli_channels import DEMO_TELEGRAM_TOKEN, SMS_PATH, set_webhook
from voicebridge.errors import SettingsError, VoicebridgeError
from voicebridge.queueing import make_redis, release_scheduler_locks, worker_registered
from voicebridge.runtime import build_runtime
from voicebridge.settings import (
    RUN_FILE,
    Settings,
    load_settings,
    publish,
    published,
    withdraw,
)
from voicebridge.worker import describe_exit

log = logging.getLogger(__name__)

VAR = Path("var")
KEY_FILE = VAR / "dev-admin.key"
CONSOLE_FILE = VAR / "dev-console.password"  # the development supervisor's password
CONSOLE_USER = "supervisor"
LOCK_FILE = VAR / "run.lock"  # held (flock) by the live ``voicebridge run``, its pid inside

BACKOFF = (0.5, 30.0)  # seconds before a dead process is started again, doubling
STABLE_SECONDS = 10.0  # a process up this long starts its backoff over
FIRST_START_SECONDS = 5.0  # a process without a readiness check is up after this long
POLL_SECONDS = 0.1
STAGE_FAKES, STAGE_REDIS = 1, 2  # stopped after serve and the worker (stage 0), in turn
WEBHOOK_RETRY_SECONDS = 1.0  # a webhook the fake Bot API refused is registered again then
STOP_SECONDS = 10.0  # a process that has not stopped by then is killed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _refuse_a_taken_port(settings: Settings) -> None:
    """Stop before anything starts when serve's address is taken: by another
    ``voicebridge run`` elsewhere, say, whose ``/healthz`` would answer for ours."""
    host, port = settings.http_host, settings.http_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp listens
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise VoicebridgeError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (another voicebridge "
                "run, or another service?); stop it or set VOICEBRIDGE_HTTP_PORT to a free port"
            ) from None


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
    proc = subprocess.Popen(  # noqa: S603
        redis_command(directory, port), start_new_session=True, preexec_fn=die_with_parent()
    )
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


def fake_radio_command(port: int, control_port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "voicebridge", "fake-radio", "--port", str(port)),
        *("--control-port", str(control_port)),
    ]


def fake_twilio_command(port: int, webhook_url: str, public_url: str) -> list[str]:
    return [
        *(sys.executable, "-m", "voicebridge", "fake-twilio", "--port", str(port)),
        *("--webhook-url", webhook_url, "--public-url", public_url),
    ]


def fake_telegram_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "voicebridge", "fake-telegram", "--port", str(port)),
        *("--token", DEMO_TELEGRAM_TOKEN),
    ]


def start_fake(
    name: str, command: list[str], port: int, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """``command``, a fake listening on 127.0.0.1:``port``, once it listens."""
    proc = subprocess.Popen(  # noqa: S603
        command, env=dict(env), start_new_session=True, preexec_fn=die_with_parent()
    )
    try:
        if not wait_listening(proc, port):
            raise VoicebridgeError(f"the {name} did not start")
    except BaseException:  # Ctrl-C too: nothing is left running
        proc.kill()
        proc.wait()
        raise
    return proc


def start_fake_asterisk(env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``voicebridge fake-asterisk`` on a free port; its AMI URL once it listens."""
    port = _free_port()
    proc = start_fake("fake Asterisk", fake_asterisk_command(port), port, env)
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


DEV_NAME = "Supervisión (desarrollo)"


def dev_console_account(settings: Settings) -> str | None:
    """The development console account ``supervisor``, its password in
    ``var/dev-console.password`` (made 0600); created when missing, given that password
    again when it is the one a ``make run`` made. Another account of that name is left
    alone (None: no account to show)."""
    runtime = build_runtime(settings, migrate_schema=False)
    try:
        accounts = runtime.accounts
        found = accounts.get(CONSOLE_USER)
        if found is not None and (found.name != DEV_NAME or found.role is not Role.SUPERVISOR):
            log.warning("an account %r exists that make run did not make: left alone", CONSOLE_USER)
            return None
        password = CONSOLE_FILE.read_text().strip() if CONSOLE_FILE.exists() else ""
        if len(password) < 12:
            password = secrets.token_urlsafe(12)
            CONSOLE_FILE.parent.mkdir(parents=True, exist_ok=True)
            CONSOLE_FILE.unlink(missing_ok=True)
            fd = os.open(CONSOLE_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(password + "\n")
        CONSOLE_FILE.chmod(0o600)
        if found is None:
            accounts.create(CONSOLE_USER, name=DEV_NAME, role=Role.SUPERVISOR, district=None,
                            password=password)  # fmt: skip
        else:
            accounts.set_password(CONSOLE_USER, password)
            accounts.set_active(CONSOLE_USER, True)
        return password
    finally:
        runtime.close()


def hold_run_lock() -> int:
    """Take :data:`LOCK_FILE` for this process's life (the kernel's flock, released
    when the process ends, however it ends), writing this pid in it; its descriptor.
    Raise :class:`VoicebridgeError` naming the live run when another holds it."""
    VAR.mkdir(exist_ok=True)
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise VoicebridgeError(
            f"voicebridge run is already running here (pid {holder}, {_url_of_live_run()}); "
            "stop it first"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _url_of_live_run() -> str:
    try:
        service = published(RUN_FILE)
    except SettingsError:
        service = None
    if service is None or "public_url" not in service.values:
        return "starting"
    return service.values["public_url"][0]


def run(environ: Mapping[str, str]) -> int:
    lock = hold_run_lock()  # before anything is touched
    env = dict(environ)  # what every child is started (and restarted) with
    supervisor = Supervisor()
    for signum in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C until the supervisor runs
        signal.signal(signum, _interrupt)
    try:
        _refuse_a_taken_port(load_settings(env))
        if "VOICEBRIDGE_REDIS_URL" not in environ:
            port = _free_port()
            proc, env["VOICEBRIDGE_REDIS_URL"] = start_redis(VAR / "redis", port)
            spawn = _spawner(redis_command(VAR / "redis", port))
            supervisor.adopt("redis", proc, spawn, stage=STAGE_REDIS)
        settings = load_settings(env)
        fakes = _start_fakes(supervisor, env, settings)
        settings = load_settings(env)
        publish_settings(env, environ)
        migrate.upgrade(settings.database_url)
        key = dev_admin_key(settings)
        console_password = dev_console_account(settings)
        serve, worker = ([sys.executable, "-m", "voicebridge", c] for c in ("serve", "worker"))
        supervisor.start("serve", _spawner(serve, env, capture=True), ready=_answers(settings))
        redis = make_redis(settings.redis_url, timeout=0.5)
        supervisor.start(
            "worker",
            _spawner(worker, env, capture=True),
            ready=lambda proc: worker_registered(redis, proc.pid),
            on_death=lambda pid: _release_scheduler(redis, pid),
        )
        if "fake-telegram" in fakes and settings.telegram_mode == "webhook":
            serving, bot = supervisor.child("serve"), supervisor.child("fake-telegram")
            supervisor.watch(FakeBotWebhook(settings, serving, bot).check)
        _banner(settings, key, fakes, console_password)
        return supervisor.run()
    except KeyboardInterrupt:
        return 130
    finally:
        withdraw(RUN_FILE)
        supervisor.stop()
        os.close(lock)  # the next run may start


def _start_fakes(supervisor: "Supervisor", env: dict[str, str], settings: Settings) -> set[str]:
    """The fakes of what the settings leave out, started, supervised and written into
    ``env``: the fake Asterisk without an AMI URL, the fake radio without a radio's PEI,
    the fake Twilio without a Twilio account, the fake Bot API without a bot. Their
    names."""
    started = set()
    if settings.ami_url is None:
        proc, env["VOICEBRIDGE_AMI_URL"] = start_fake_asterisk(env)
        port = int(env["VOICEBRIDGE_AMI_URL"].rsplit(":", 1)[1])
        spawn = _spawner(fake_asterisk_command(port), env, capture=True)
        supervisor.adopt("fake-asterisk", proc, spawn, stage=STAGE_FAKES)
        started.add("fake-asterisk")
    if settings.tetra_pei is None:
        port, control = _free_port(), _free_port()
        command = fake_radio_command(port, control)
        proc = start_fake("fake radio", command, port, env)
        supervisor.adopt("fake-radio", proc, _spawner(command, env, capture=True),
                         stage=STAGE_FAKES)  # fmt: skip
        env["VOICEBRIDGE_TETRA_PEI"] = f"tcp://127.0.0.1:{port}"
        started.add("fake-radio")
    if settings.twilio_account_sid is None:
        from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER

        port = _free_port()
        serve = f"http://{_loopback_host(settings.http_host)}:{settings.http_port}"
        command = fake_twilio_command(port, serve + SMS_PATH, settings.public_url)
        proc = start_fake("fake Twilio", command, port, env)
        supervisor.adopt(
            "fake-twilio", proc, _spawner(command, env, capture=True), stage=STAGE_FAKES
        )
        env["VOICEBRIDGE_TWILIO_ACCOUNT_SID"] = DEMO_ACCOUNT_SID
        env["VOICEBRIDGE_TWILIO_AUTH_TOKEN"] = DEMO_AUTH_TOKEN
        env["VOICEBRIDGE_TWILIO_NUMBER"] = DEMO_NUMBER
        env["VOICEBRIDGE_TWILIO_API_URL"] = f"http://127.0.0.1:{port}"
        env.pop("VOICEBRIDGE_TWILIO_AUTH_TOKEN_SECONDARY", None)
        started.add("fake-twilio")
    if settings.telegram_token is None:
        port = _free_port()
        command = fake_telegram_command(port)
        proc = start_fake("fake Bot API", command, port, env)
        spawn = _spawner(command, env, capture=True)
        supervisor.adopt("fake-telegram", proc, spawn, stage=STAGE_FAKES)
        env["VOICEBRIDGE_TELEGRAM_TOKEN"] = DEMO_TELEGRAM_TOKEN
        env["VOICEBRIDGE_TELEGRAM_SECRET"] = secrets.token_urlsafe(32)  # this run's
        env["VOICEBRIDGE_TELEGRAM_API_URL"] = f"http://127.0.0.1:{port}"
        started.add("fake-telegram")
    return started


class FakeBotWebhook:
    """Keeps the fake Bot API posting updates to serve: the webhook is registered once
    serve is up (``voicebridge telegram set-webhook``'s logic), and again whenever the
    fake was started again (it forgets it); a refusal is logged and tried again."""

    def __init__(self, settings: Settings, serve: "Child", fake: "Child") -> None:
        self.settings = settings
        self.serve = serve
        self.fake = fake
        self.registered: int | None = None  # the pid of the fake that has it
        self.next_try = 0.0
        self.failing = False

    def check(self, now: float) -> None:
        fake = self.fake
        running = fake.restart_at is None and fake.proc.poll() is None
        if not self.serve.up or not running or self.registered == fake.proc.pid:
            return
        if now < self.next_try:
            return
        try:
            url = asyncio.run(set_webhook(self.settings))
        except VoicebridgeError as exc:
            if not self.failing:
                log.warning("the fake Bot API refused the webhook (%s); trying again", exc)
                self.failing = True
            self.next_try = now + WEBHOOK_RETRY_SECONDS
            return
        self.registered, self.failing = fake.proc.pid, False
        log.info("the fake Bot API posts the bot's updates to %s", url)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _release_scheduler(redis: Redis, pid: int) -> None:
    """The worker ``pid`` died, its scheduler killed with it: release that scheduler's
    locks, which would hold for 61 s, so the next worker's scheduler takes them at once."""
    deadline = time.monotonic() + 2
    with contextlib.suppress(ProcessLookupError, PermissionError):
        while time.monotonic() < deadline:  # its scheduler gone: no command of its in flight
            os.killpg(pid, 0)
            time.sleep(0.05)
    try:
        released = release_scheduler_locks(redis, pid)
    except RedisError as exc:
        log.warning("could not release the dead worker's RQ scheduler locks: %s", exc)
        return
    if released:
        log.info("released the dead worker's RQ scheduler locks (%s)", ", ".join(released))


def _loopback_host(host: str) -> str:
    """Where this machine reaches serve listening on ``host``, as a URL's host: the
    loopback address for the "any" addresses, an IPv6 address in brackets."""
    if host == "0.0.0.0":  # noqa: S104 (what serve listens on, not what we bind)
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _answers(settings: Settings) -> Callable[[subprocess.Popen[bytes]], bool]:
    """Whether serve answers ``/healthz`` (it is up)."""
    url = f"http://{_loopback_host(settings.http_host)}:{settings.http_port}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy

    def answers(proc: subprocess.Popen[bytes]) -> bool:
        try:
            with opener.open(url, timeout=0.5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    return answers


def _spawner(
    command: list[str], env: Mapping[str, str] | None = None, *, capture: bool = False
) -> Callable[[], subprocess.Popen[bytes]]:
    """Starts ``command`` in a process group of its own (Ctrl-C in the terminal reaches
    ``voicebridge run`` alone, which stops each child in turn), to get SIGTERM when
    ``voicebridge run`` is gone (:func:`die_with_parent`)."""

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603
            command,
            env=env,
            stderr=subprocess.PIPE if capture else None,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )

    return spawn


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send the child SIGTERM when the process that
    started it ends, even killed with SIGKILL (``prctl(PR_SET_PDEATHSIG)``, kept across
    ``exec``: redis-server gets it too); if that process ended before the child could
    ask, the child stops at once. None (nothing to do) elsewhere than Linux.

    The PyPI wrappers of prctl (python-prctl, pyprctl) are unmaintained since 2020 and
    2021; this is one call through ctypes. The signal follows the thread that started
    the child, here always the main thread, which lives as long as ``voicebridge run``."""
    if not sys.platform.startswith("linux"):
        return None
    ulong = ctypes.c_ulong
    prototype = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ulong, ulong, ulong, ulong)
    prctl = prototype(("prctl", ctypes.CDLL(None)))
    parent = os.getpid()
    sigterm = int(signal.SIGTERM)

    def preexec() -> None:  # in the child, between fork and exec
        signal.signal(sigterm, signal.SIG_DFL)  # not this process's handler, until exec
        prctl(PR_SET_PDEATHSIG, sigterm, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sigterm)

    return preexec


def publish_settings(env: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """The settings serve and the worker get, in ``var/run.json`` while this runs, for
    the commands run beside it (``voicebridge settings``, ``apikey``...)."""
    publish(RUN_FILE, env, set_by_run={k for k, v in env.items() if environ.get(k) != v})


def _banner(settings: Settings, key: str, fakes: set[str], console_password: str | None) -> None:
    url = settings.public_url
    shown = settings.redacted()
    asterisk = " (the fake Asterisk: every line answers, responders press 1)"
    radio = " (the radio simulator: each radio answers its alert with 'received')"
    sms = telegram = "not configured"
    if settings.sms_configured:
        sms = f"{settings.twilio_api_url}, number {settings.twilio_number}"
        sms += " (the fake Twilio: no SMS is sent)" if "fake-twilio" in fakes else ""
    if settings.telegram_configured:
        telegram = f"{settings.telegram_api_url or 'https://api.telegram.org'}"
        telegram += f", {settings.telegram_mode}"
        telegram += (
            " (the fake Bot API: nothing reaches Telegram)" if "fake-telegram" in fakes else ""
        )
    print(
        f"""
voicebridge is starting
  API          {url}/api/v1/incidents
  health       {url}/healthz   {url}/readyz   metrics {url}/metrics
  database     {shown["database_url"]}
  redis        {shown["redis_url"]}
  asterisk     {shown["ami_url"]}{asterisk if "fake-asterisk" in fakes else ""}
  radio        {shown["tetra_pei"] or "not configured"}{radio if "fake-radio" in fakes else ""}
  sms          {sms}
  telegram     {telegram}
  admin key    {key}   (development only; kept in {KEY_FILE})
{_console(url, console_password)}
  try:  curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
          -d '{{"category": "robo", "district": "SJL", "description": "Robo de celular"}}' \\
          {url}/api/v1/incidents
{_demo(fakes)}
Ctrl-C stops everything.
""",
        flush=True,
    )


def _console(url: str, password: str | None) -> str:
    if password is None:
        return f"  console      {url}/console/   (an account {CONSOLE_USER!r} exists already)\n"
    return (
        f"  console      {url}/console/   user {CONSOLE_USER}, password {password}\n"
        f"               (development only; kept in {CONSOLE_FILE})\n"
    )


def _demo(fakes: set[str]) -> str:
    """How to play citizens through the fakes (``voicebridge demo``), for the banner."""
    here = Path(".venv/bin/voicebridge")
    command = f"{here} demo" if here.exists() else "voicebridge demo"
    lines = []
    if "fake-twilio" in fakes:
        lines += [
            "a citizen's SMS, and voicebridge's reply:",
            f"{command} sms 'robo en av abancay 123 cercado'",
        ]
    if "fake-telegram" in fakes:
        tg = f"{command} telegram"
        lines += [
            "a citizen's report on Telegram, step by step:",
            f"{tg} /start",
            f"{tg} --press 'Fuga de gas'",
            f"{tg} --location=-12.1211,-77.0297",
            f"{tg} 'huele a gas en el pasillo'",
            f"{tg} --press Omitir",
            f"{tg} --press Confirmar",
        ]
    if "fake-asterisk" in fakes:
        lines += [
            "a citizen's phone call to the Miraflores central, 3 for a fire (the IVR):",
            f"{command} call 3",
            "on the number for every district: 2 (accident), 22 (Miraflores), 1 (yes):",
            f"{command} call --to 018990000 2 22 1",
            "a responder line checked with the Spanish test call (1 confirms):",
            f"{command.removesuffix(' demo')} lines check --line pnp-ancon/1",
        ]
    if "fake-radio" in fakes:
        lines += [
            "a dispatch in Cercado de Lima (150101) alerts serenazgo's radio 2001 first; it "
            "answers 'recibido' (32769) by itself, then on the way and on scene:",
            f"{command} radio status 2001 32770",
            f"{command} radio status 2001 32771",
            "what the centre's radio sent (the alerts):",
            f"{command} radio sent",
        ]
    if "fake-twilio" in fakes or "fake-telegram" in fakes:
        lines += ["what the fakes were sent:", f"{command} outbox"]
    lines += [
        "a year of incidents for the console's Tiempos de respuesta page (a minute):",
        f"{command} year --incidents 50000",
    ]
    shown = [f"  {line}" if line.endswith(":") else f"        {line}" for line in lines]
    return "\n" + "\n".join(shown) + "\n" if shown else ""


class StartFailed(VoicebridgeError):
    """A process of ``voicebridge run`` ended at its first start, before it was up."""


class Child:
    """One process of ``voicebridge run``. At its first start, until it is up (``ready``
    says so, or it stayed up ``first_start`` seconds), its exit stops the run
    (:class:`StartFailed`, with its error on standard error): a port taken or a bad
    setting is not cured by starting it again (killed by a signal, it is restarted).
    Once it was up, its death is one log line (what died, how, and when it starts
    again), whatever it left in its process group is killed (a worker's RQ scheduler),
    ``on_death`` is called with its pid, and after the delay it is started again the
    same way. The delay doubles from ``backoff[0]`` to ``backoff[1]`` while it keeps
    dying, and starts over once it stayed up ``stable`` seconds. Its standard error, when
    piped (:func:`_spawner`), is passed on line by line to this process's, and its last
    error kept."""

    def __init__(
        self,
        name: str,
        proc: subprocess.Popen[bytes],
        spawn: Callable[[], subprocess.Popen[bytes]],
        *,
        stage: int,
        backoff: tuple[float, float],
        stable: float,
        ready: Callable[[subprocess.Popen[bytes]], bool] | None = None,
        first_start: float = FIRST_START_SECONDS,
        up: bool = False,
        on_death: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self.spawn = spawn
        self.stage = stage  # stopped after those of a lower stage
        self.backoff = backoff
        self.stable = stable
        self.ready = ready
        self.first_start = first_start
        self.up = up  # it was up once: from now on it is restarted when it dies
        self.on_death = on_death
        self.delay = backoff[0]
        self.restart_at: float | None = None  # dead, to be started again then
        self.said = ""  # the last error it wrote on standard error (see _pass_on)
        self._started(proc, time.monotonic())

    def _started(self, proc: subprocess.Popen[bytes], now: float) -> None:
        self.proc = proc
        self.since = now
        self.relay: threading.Thread | None = None
        if proc.stderr is not None:
            self.relay = threading.Thread(
                target=self._pass_on, args=(proc.stderr,), name=f"{self.name} stderr", daemon=True
            )
            self.relay.start()

    def _pass_on(self, stream: IO[bytes]) -> None:
        """Write what the process writes on its standard error to ours, keeping its last
        failure: the CLI's ``voicebridge: …`` line, counting the lines that follow it (a
        routing file's problems), else its last line."""
        cli, following, last = "", 0, ""
        with stream:
            for line in stream:
                with contextlib.suppress(OSError):  # the terminal is gone: drop it
                    os.write(sys.stderr.fileno(), line)
                text = line.decode(errors="replace").strip()
                if text.startswith("voicebridge: "):
                    cli, following = text.removeprefix("voicebridge: "), 0
                elif text:
                    following, last = following + 1, text
                more = f" (and {following} more lines)" if following else ""
                self.said = f"{cli}{more}" if cli else last

    def check(self, now: float) -> None:
        if self.restart_at is None:
            code = self.proc.poll()
            if code is None:
                if not self.up:
                    self.up = (
                        now - self.since >= self.first_start
                        if self.ready is None
                        else self.ready(self.proc)
                    )
                if now - self.since >= self.stable:
                    self.delay = self.backoff[0]
                return
            _kill_group(self.proc)
            if not self.up and code >= 0:  # it gave up; killed by a signal, it is restarted
                if self.relay is not None:
                    self.relay.join(2)  # its last words
                why = self.said or "nothing on stderr"
                raise StartFailed(f"{self.name} failed at start-up ({describe_exit(code)}): {why}")
            log.warning(
                "%s (pid %d) died (%s); restarting it in %g s",
                self.name,
                self.proc.pid,
                describe_exit(code),
                self.delay,
            )
            if self.on_death is not None:
                self.on_death(self.proc.pid)
            self._later(now)
        elif now >= self.restart_at:
            self.restart_at = None
            try:
                self._started(self.spawn(), now)
            except OSError as exc:
                log.error(
                    "%s could not be started (%s); trying again in %g s",
                    self.name,
                    exc,
                    self.delay,
                )
                self._later(now)

    def _later(self, now: float) -> None:
        self.restart_at = now + self.delay
        self.delay = min(self.delay * 2, self.backoff[1])


class Supervisor:
    """The processes of ``voicebridge run``, each a :class:`Child`: one that dies is
    started again (:data:`BACKOFF`), the others go on; one that fails at its first start
    stops the run."""

    def __init__(
        self, *, backoff: tuple[float, float] = BACKOFF, stable: float = STABLE_SECONDS
    ) -> None:
        self.backoff = backoff
        self.stable = stable
        self.children: list[Child] = []
        self.hooks: list[Callable[[float], None]] = []  # called at every check
        self.signals = 0  # SIGINT, SIGTERM and SIGHUP received: one stops, two kill

    def adopt(
        self,
        name: str,
        proc: subprocess.Popen[bytes],
        spawn: Callable[[], subprocess.Popen[bytes]],
        *,
        stage: int = 0,
        up: bool = True,
        ready: Callable[[subprocess.Popen[bytes]], bool] | None = None,
        on_death: Callable[[int], None] | None = None,
    ) -> None:
        """Supervise ``proc``, started already (and up, unless ``up`` is False);
        ``spawn`` starts it again. Those of a lower ``stage`` are stopped first."""
        self.children.append(
            Child(
                name,
                proc,
                spawn,
                stage=stage,
                backoff=self.backoff,
                stable=self.stable,
                ready=ready,
                up=up,
                on_death=on_death,
            )
        )

    def start(
        self,
        name: str,
        spawn: Callable[[], subprocess.Popen[bytes]],
        *,
        stage: int = 0,
        ready: Callable[[subprocess.Popen[bytes]], bool] | None = None,
        on_death: Callable[[int], None] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a process with ``spawn`` and supervise it; it is up once ``ready`` says so
        (without ``ready``: once it stayed up :data:`FIRST_START_SECONDS`)."""
        proc = spawn()
        self.adopt(name, proc, spawn, stage=stage, up=False, ready=ready, on_death=on_death)
        return proc

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def watch(self, hook: Callable[[float], None]) -> None:
        """Call ``hook`` with the monotonic time at every check, after the processes'."""
        self.hooks.append(hook)

    def run(self) -> int:
        """Supervise until SIGINT, SIGTERM or SIGHUP (0), or until a process fails at
        its first start (:class:`StartFailed`)."""
        self._handle_signals()
        while not self.signals:
            self.check()
            time.sleep(POLL_SECONDS)
        log.info("stopping…")
        return 0

    def check(self) -> None:
        """Note the processes that died, start again those whose time has come."""
        now = time.monotonic()
        for child in self.children:
            child.check(now)
        for hook in self.hooks:
            hook(now)

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after :data:`STOP_SECONDS` or at a
        second Ctrl-C), stage by stage: serve and the worker, then the fakes (serve has
        closed its AMI session), then Redis."""
        previous = self._handle_signals()
        try:
            for stage in sorted({c.stage for c in self.children}):
                procs = [c.proc for c in self.children if c.stage == stage]
                _stop(procs, lambda: self.signals > 1)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _handle_signals(self) -> dict[int, Any]:
        """Count SIGINT, SIGTERM and SIGHUP from now on; the handlers they had."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.signals += 1

        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal closed
        return {sig: signal.signal(sig, on_signal) for sig in signals}


def _stop(procs: Iterable[subprocess.Popen[bytes]], force: Callable[[], bool]) -> None:
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for proc in procs:
        while proc.poll() is None and time.monotonic() < deadline and not force():
            time.sleep(0.05)
        _kill_group(proc)  # the process if it is still there, and what it left behind
        proc.wait()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to ``proc``'s process group (its own: it was started in a new session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
