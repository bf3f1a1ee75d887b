"""The channels' commands against the fakes on loopback: ``voicebridge telegram
set-webhook | delete-webhook | webhook-info`` on the fake Bot API, ``voicebridge
fake-twilio`` and ``fake-telegram`` as processes, ``voicebridge demo sms | telegram |
outbox`` through the fakes (voicebridge's side played by a small app that checks the
signature and answers TwiML; the whole of it is in test_devrun.py and test_readme.py),
and their refusals, each one line."""

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from channels.telegram.sim import FakeTelegram
from channels.twilio.signature import SIGNATURE_HEADER, verify
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER, FakeTwilio
from channels.twilio.twiml import CONTENT_TYPE, twiml_reply
from tests.conftest import free_port
from tests.voicebridge.test_devrun import until
from voicebridge import cli_channels, webhooks
from voicebridge.cli import main
from voicebridge.cli_channels import DEMO_TELEGRAM_TOKEN, WEBHOOK_UPDATES

T = TypeVar("T")
PUBLIC = "https://vb.example.pe"
SECRET = "s3cr3t-of-this-test"
OTHER_TOKEN = "7000000002:another-bot-token-of-the-tests"


class Loop:
    """An event loop in a thread of its own, for the fakes (the commands run theirs)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() sets up logging on the root logger, bound to the stream pytest captures,
    and quiets httpx."""
    root, httpx = logging.getLogger(), logging.getLogger("httpx")
    handlers, level, httpx_level = root.handlers[:], root.level, httpx.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    httpx.setLevel(httpx_level)


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ``var/run.json`` of a run to read: the commands use the environment given."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def bot(loop: Loop) -> Iterator[FakeTelegram]:
    fake = FakeTelegram(DEMO_TELEGRAM_TOKEN)
    loop.run(fake.start())
    yield fake
    loop.run(fake.stop())


def command(
    capsys: pytest.CaptureFixture[str], *argv: str, **settings: str
) -> tuple[int, list[str], list[str]]:
    """``voicebridge argv`` with only these ``VOICEBRIDGE_*`` settings: its exit code,
    standard output and standard error lines."""
    env = {f"VOICEBRIDGE_{k.upper()}": v for k, v in settings.items()}
    code = main(list(argv), env)
    out, err = capsys.readouterr()
    return code, out.splitlines(), [line for line in err.splitlines() if " INFO " not in line]


def bot_settings(fake: FakeTelegram, **more: str) -> dict[str, str]:
    return {
        "telegram_token": fake.token,
        "telegram_secret": SECRET,
        "telegram_api_url": fake.url,
        "public_url": PUBLIC,
        **more,
    }


# ------------------------------------------------------------ telegram webhook


def test_the_paths_are_the_webhooks(bot: FakeTelegram) -> None:
    assert cli_channels.TELEGRAM_PATH == webhooks.TELEGRAM_PATH
    assert cli_channels.SMS_PATH == webhooks.SMS_PATH


def test_set_webhook_registers_the_public_url_with_the_secret(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = command(capsys, "telegram", "set-webhook", **bot_settings(bot))
    assert (code, err) == (0, [])
    url = f"{PUBLIC}/webhooks/telegram"
    assert out == [
        f"{bot.url} posts the bot's updates (message, edited_message, callback_query, "
        f"my_chat_member) to {url}, with the secret VOICEBRIDGE_TELEGRAM_SECRET"
    ]
    hook = bot.webhook
    assert (hook.url, hook.secret_token) == (url, SECRET)
    assert hook.allowed_updates == WEBHOOK_UPDATES

    code, out, err = command(capsys, "telegram", "webhook-info", **bot_settings(bot))
    assert (code, err) == (0, [])
    assert out == [
        f"bot          @voicebridge_bot on {bot.url}",
        f"webhook      {url} (voicebridge's)",
        "updates      message, edited_message, callback_query, my_chat_member",
        "pending      0",
        "last error   none",
    ]
    # another public URL: the webhook is not voicebridge's any more
    code, out, _ = command(
        capsys, "telegram", "webhook-info", **bot_settings(bot, public_url="https://b.example")
    )
    assert out[1] == f"webhook      {url} (not https://b.example/webhooks/telegram)"


def test_delete_webhook_leaves_updates_for_get_updates(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command(capsys, "telegram", "set-webhook", **bot_settings(bot))[0] == 0
    code, out, err = command(
        capsys, "telegram", "delete-webhook", "--drop-pending-updates", **bot_settings(bot)
    )
    assert (code, err) == (0, [])
    assert out == [
        f"{bot.url} posts the bot's updates nowhere: they wait for getUpdates; "
        "the updates waiting were dropped"
    ]
    assert bot.webhook.url == ""
    code, out, _ = command(capsys, "telegram", "webhook-info", **bot_settings(bot))
    assert out[1] == "webhook      nowhere: updates wait for getUpdates"


@pytest.mark.parametrize(
    ("missing", "says"),
    [
        ("telegram_token", "VOICEBRIDGE_TELEGRAM_TOKEN is not set: the bot's token from "),
        ("telegram_secret", "VOICEBRIDGE_TELEGRAM_SECRET is not set: Telegram sends it with "),
    ],
)
def test_set_webhook_refuses_without_the_token_or_the_secret(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str], missing: str, says: str
) -> None:
    settings = bot_settings(bot)
    del settings[missing]
    code, out, err = command(capsys, "telegram", "set-webhook", **settings)
    assert (code, out) == (2, [])
    assert len(err) == 1
    assert err[0].startswith(f"voicebridge: {says}")
    assert bot.requests == []
    assert bot.webhook.url == ""


def test_set_webhook_refuses_in_polling_mode(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = command(
        capsys, "telegram", "set-webhook", **bot_settings(bot, telegram_mode="polling")
    )
    assert (code, out) == (2, [])
    assert err == [
        "voicebridge: VOICEBRIDGE_TELEGRAM_MODE is polling: serve asks for updates with "
        "getUpdates and deletes any webhook; set it to webhook first"
    ]
    assert bot.requests == []


def test_a_token_the_bot_api_refuses_is_one_line_without_the_token(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = bot_settings(bot, telegram_token=OTHER_TOKEN)
    code, out, err = command(capsys, "telegram", "webhook-info", **settings)
    assert (code, out) == (1, [])
    assert err == [
        f"voicebridge: {bot.url} refused the bot's token (VOICEBRIDGE_TELEGRAM_TOKEN): "
        "The token `***` was rejected by the server."
    ]
    code, _, err = command(capsys, "telegram", "set-webhook", **settings)
    assert code == 1
    assert OTHER_TOKEN.split(":")[1] not in "".join(err)
    assert bot.webhook.url == ""


def test_a_bot_api_that_does_not_answer_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = {
        "telegram_token": DEMO_TELEGRAM_TOKEN,
        "telegram_secret": SECRET,
        "telegram_api_url": url,
    }
    code, out, err = command(capsys, "telegram", "delete-webhook", **settings)
    assert (code, out) == (1, [])
    assert len(err) == 1
    assert err[0].startswith(f"voicebridge: cannot reach the Bot API at {url}: ")


def test_a_webhook_the_bot_api_refuses_is_one_line_with_its_reason(
    loop: Loop, capsys: pytest.CaptureFixture[str]
) -> None:
    """Telegram wants https (the fake does not check): its refusal, as PTB reads it."""
    me = {"id": 7000000001, "is_bot": True, "first_name": "Voicebridge", "username": "vb_bot"}

    async def bot_api(request: web.Request) -> web.Response:
        if request.match_info["method"] == "getMe":
            return web.json_response({"ok": True, "result": me})
        return web.json_response(
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: bad webhook: An HTTPS URL must be provided for "
                "webhook",
            },
            status=400,
        )

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", bot_api)
    runner = web.AppRunner(app)
    loop.run(runner.setup())
    port = free_port()
    loop.run(web.TCPSite(runner, "127.0.0.1", port).start())
    url = f"http://127.0.0.1:{port}"
    try:
        settings = {
            "telegram_token": DEMO_TELEGRAM_TOKEN,
            "telegram_secret": SECRET,
            "telegram_api_url": url,
            "public_url": "http://vb.example.pe",
        }
        code, out, err = command(capsys, "telegram", "set-webhook", **settings)
    finally:
        loop.run(runner.cleanup())
    assert (code, out) == (1, [])
    assert err == [
        f"voicebridge: {url} refused: Bad webhook: an https url must be provided for webhook"
    ]


# ------------------------------------------------------------------- the fakes


class Process:
    """A ``voicebridge`` command as a process of its own (what ``make run`` starts)."""

    def __init__(self, *argv: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicebridge", *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def listening(self, port: int) -> None:
        def accepts() -> bool:
            assert self.proc.poll() is None, self.proc.communicate()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
            return True

        until(accepts, f"the fake listening on {port}")

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as ``make run`` stops it: its exit code and standard error."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


def get(url: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def test_fake_twilio_serves_until_sigterm() -> None:
    port = free_port()
    webhook = "http://127.0.0.1:9/webhooks/twilio/sms"
    fake = Process("fake-twilio", "--port", str(port), "--webhook-url", webhook)
    try:
        fake.listening(port)
        assert get(f"http://127.0.0.1:{port}/_fake/outbox") == {"messages": []}
    finally:
        code, err = fake.stop()
    assert code == 0
    assert (
        f"fake Twilio: REST API on http://127.0.0.1:{port} (account {DEMO_ACCOUNT_SID}, "
        f"number {DEMO_NUMBER}); citizens' SMS go to {webhook}; no real SMS is sent"
    ) in err.splitlines()


def test_fake_telegram_serves_until_sigterm_and_never_repeats_an_update_id() -> None:
    """Started again (by ``make run`` after it died, or by the next ``make run`` on the
    same database), the fake must not hand out the ids of updates voicebridge stored."""
    port = free_port()
    ids = []
    for _ in range(2):
        fake = Process("fake-telegram", "--port", str(port))
        try:
            fake.listening(port)
            me = get(f"http://127.0.0.1:{port}/bot{DEMO_TELEGRAM_TOKEN}/getMe")
            assert me["result"]["username"] == "voicebridge_bot"
            said = get(f"http://127.0.0.1:{port}/_fake/chats/5001/says", {"text": "/start"})
            assert said["outcome"] == "queued"  # no webhook: waiting for getUpdates
            ids.append(said["update_id"])
        finally:
            code, err = fake.stop()
        assert code == 0
        assert (
            f"fake Telegram: Bot API on http://127.0.0.1:{port} (bot @voicebridge_bot); "
            "nothing reaches Telegram"
        ) in err.splitlines()
    assert ids[0] < ids[1]


def test_a_fake_on_a_port_taken_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for name in ("fake-twilio", "fake-telegram"):
            fake = Process(name, "--port", str(port))
            _, err = fake.proc.communicate(timeout=30)
            assert fake.proc.returncode == 2
            lines = [line for line in err.splitlines() if " INFO " not in line]
            assert lines == [
                f"voicebridge: cannot listen on 127.0.0.1:{port}: Address already in use"
            ]


# ------------------------------------------------------------------------ demo


class Voicebridge:
    """voicebridge's SMS webhook as far as the fake Twilio can tell: the signature
    checked over the public URL, a TwiML answer (or ``status``)."""

    def __init__(self) -> None:
        self.status = 200
        self.bodies: list[str] = []

    async def sms(self, request: web.Request) -> web.Response:
        form = {k: [v] for k, v in (await request.post()).items() if isinstance(v, str)}
        if self.status != 200:
            return web.Response(status=self.status)
        signed = verify(
            public_url=PUBLIC,
            path=request.raw_path,
            params=form,
            signature=request.headers.get(SIGNATURE_HEADER),
            tokens=(DEMO_AUTH_TOKEN,),
        )
        assert signed
        self.bodies.append(form["Body"][0])
        reply = f"Reporte LIM-2026-000123 recibido: {form['Body'][0]}"
        return web.Response(text=twiml_reply([reply]), content_type=CONTENT_TYPE)


@pytest.fixture
def twilio(loop: Loop) -> Iterator[tuple[FakeTwilio, Voicebridge]]:
    app = web.Application()
    stub = Voicebridge()
    app.router.add_post("/webhooks/twilio/sms", stub.sms)
    runner = web.AppRunner(app)
    loop.run(runner.setup())
    port = free_port()
    loop.run(web.TCPSite(runner, "127.0.0.1", port).start())
    fake = FakeTwilio(webhook_url=f"http://127.0.0.1:{port}/webhooks/twilio/sms", public_url=PUBLIC)
    loop.run(fake.start())
    yield fake, stub
    loop.run(fake.stop())
    loop.run(runner.cleanup())


def twilio_settings(fake: FakeTwilio) -> dict[str, str]:
    return {
        "twilio_account_sid": DEMO_ACCOUNT_SID,
        "twilio_auth_token": DEMO_AUTH_TOKEN,
        "twilio_number": DEMO_NUMBER,
        "twilio_api_url": fake.url,
        "public_url": PUBLIC,
    }


def test_demo_sms_prints_the_twiml_reply_and_outbox_what_was_sent(
    twilio: tuple[FakeTwilio, Voicebridge], bot: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, stub = twilio
    settings = twilio_settings(fake)
    code, out, err = command(capsys, "demo", "sms", "robo en av abancay 123 cercado", **settings)
    assert (code, err) == (0, [])
    assert out == [
        f"SMS +51987654321 -> {DEMO_NUMBER}: robo en av abancay 123 cercado",
        "reply (TwiML): Reporte LIM-2026-000123 recibido: robo en av abancay 123 cercado",
    ]
    code, out, err = command(
        capsys,
        "demo",
        "sms",
        "--from",
        "987 000 111",
        "fuga",
        "de",
        "gas",
        **settings,  # unquoted
    )
    assert out[0] == f"SMS +51987000111 -> {DEMO_NUMBER}: fuga de gas"
    assert stub.bodies == ["robo en av abancay 123 cercado", "fuga de gas"]

    # the bot wrote to a chat, with buttons
    get(f"{bot.url}/_fake/chats/5001", {"started": True})
    get(
        f"{bot.url}/bot{bot.token}/sendMessage",
        {
            "chat_id": 5001,
            "text": "¿Qué está pasando?\nElija una opción.",
            "reply_markup": {
                "inline_keyboard": [[{"text": "Robo", "callback_data": "cat:1:robo"}]]
            },
        },
    )
    code, out, err = command(capsys, "demo", "outbox", **{**settings, **bot_settings(bot)})
    assert (code, err) == (0, [])
    assert out[0] == "SMS sent through the fake Twilio (2):"
    assert out[1].startswith(f"  {DEMO_NUMBER} -> +51987654321 [")
    assert out[1].endswith("]: Reporte LIM-2026-000123 recibido: robo en av abancay 123 cercado")
    assert out[3:] == [
        "Telegram chats of the fake Bot API (1):",
        "  chat 5001 (Rosa):",
        "    bot > ¿Qué está pasando?",
        "          Elija una opción.",
        "          [Robo]",
    ]
    code, out, _ = command(capsys, "demo", "outbox", "--to", "+51987000111", **settings)
    assert out[0] == "SMS sent through the fake Twilio (1):"
    assert len(out) == 2
    code, out, _ = command(capsys, "demo", "outbox", "--to", "5002", **bot_settings(bot))
    assert out == ["Telegram chats of the fake Bot API (0):"]


def test_demo_sms_says_when_voicebridge_refused_it(
    twilio: tuple[FakeTwilio, Voicebridge], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, stub = twilio
    stub.status = 403
    code, _, err = command(capsys, "demo", "sms", "hola", **twilio_settings(fake))
    assert code == 1
    assert err == [
        "voicebridge: voicebridge did not take the SMS (HTTP 403); see make run's output"
    ]


def test_demo_commands_refuse_without_the_fakes_of_make_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = command(capsys, "demo", "sms", "hola")
    assert (code, out) == (2, [])
    assert err == [
        "voicebridge: no fake Twilio to write SMS with (VOICEBRIDGE_TWILIO_API_URL is "
        "https://api.twilio.com): run this beside make run, in its directory; make run starts "
        "the fake Twilio unless VOICEBRIDGE_TWILIO_ACCOUNT_SID is set"
    ]
    code, out, err = command(capsys, "demo", "telegram", "/start")
    assert (code, out) == (2, [])
    assert err == [
        "voicebridge: no fake Bot API to write to the bot with (VOICEBRIDGE_TELEGRAM_API_URL "
        "is https://api.telegram.org): run this beside make run, in its directory; make run "
        "starts the fake Bot API unless VOICEBRIDGE_TELEGRAM_TOKEN is set"
    ]
    code, out, err = command(capsys, "demo", "outbox")
    assert (code, out) == (2, [])
    assert err[0].startswith("voicebridge: no fake Bot API to write to the bot with")
    code, out, err = command(capsys, "demo", "call", "3")
    assert (code, out) == (2, [])
    assert err == [
        "voicebridge: no fake Asterisk to call (VOICEBRIDGE_AMI_URL is not set): run this "
        "beside make run, in its directory; make run starts the fake Asterisk unless "
        "VOICEBRIDGE_AMI_URL is set"
    ]
    code, out, err = command(capsys, "demo", "call", "3", ami_url="ami://vb:s3cret@pbx.cic.pe:5038")
    assert (code, out) == (2, [])
    assert err[0].startswith(
        "voicebridge: no fake Asterisk to call (VOICEBRIDGE_AMI_URL is ami://vb@pbx.cic.pe:5038)"
    )
    assert "s3cret" not in "".join(err)


def test_demo_against_fakes_that_are_gone_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    settings = {
        "twilio_account_sid": DEMO_ACCOUNT_SID,
        "twilio_auth_token": DEMO_AUTH_TOKEN,
        "twilio_number": DEMO_NUMBER,
        "twilio_api_url": gone,
        "telegram_token": DEMO_TELEGRAM_TOKEN,
        "telegram_api_url": gone,
    }
    code, _, err = command(capsys, "demo", "sms", "hola", **settings)
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith(f"voicebridge: the fake Twilio at {gone} does not answer (")
    assert err[0].endswith("): is make run running?")
    code, out, err = command(capsys, "demo", "telegram", "/start", **settings)
    assert (code, out) == (1, [])
    assert err == [f"voicebridge: the fake Bot API at {gone} does not answer: is make run running?"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([], "say what the citizen does: a text, --press, --location or --photo"),
        (["--press", "Robo", "hola"], "a button is pressed without words: leave out the text"),
        (["--location=-12.05,-77.04", "hola"], "a location is sent without words: leave out"),
        (["--location", "12"], "argument --location: expected LAT,LON in degrees"),
        (["--location=-91,0"], "argument --location: expected LAT,LON in degrees"),
        (["--press", "Robo", "--photo"], "argument --photo: not allowed with argument --press"),
        (["--chat", "-5", "hola"], "argument --chat: expected a private chat's id"),
    ],
)
def test_demo_telegram_arguments_are_checked(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        command(capsys, "demo", "telegram", *argv, **bot_settings(bot))
    assert exited.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"voicebridge demo telegram: {says}")
    assert bot.requests == []


def test_demo_telegram_says_what_the_fake_refused(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = command(capsys, "demo", "telegram", "--press", "Robo", **bot_settings(bot))
    assert (code, out) == (1, ["chat 5001 > [Robo]"])
    assert err == [
        f"voicebridge: the fake Bot API at {bot.url} refused: no inline button 'Robo' in "
        "chat 5001; buttons: none"
    ]


def test_demo_telegram_says_when_voicebridge_did_not_get_the_update(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    """No webhook set: the update waits at the fake, and the command says so."""
    settings = bot_settings(bot, database_url=sqlite_url)
    code, out, err = command(capsys, "demo", "telegram", "--wait", "0", "/start", **settings)
    assert (code, out) == (1, ["chat 5001 > /start"])
    assert err == [
        "voicebridge: voicebridge did not get the update within 0 s (the fake Bot API holds "
        "it: no webhook is set); see voicebridge telegram webhook-info and make run's output"
    ]
    assert len(bot.pending) == 1


def test_demo_telegram_says_when_the_webhook_failed(
    bot: FakeTelegram, capsys: pytest.CaptureFixture[str], loop: Loop
) -> None:
    """A webhook that answers 404 (serve without the bot): the fake's error."""
    app = web.Application()
    runner = web.AppRunner(app)
    loop.run(runner.setup())
    port = free_port()
    loop.run(web.TCPSite(runner, "127.0.0.1", port).start())
    try:
        public = f"http://127.0.0.1:{port}"
        settings = bot_settings(bot, public_url=public)
        assert command(capsys, "telegram", "set-webhook", **settings)[0] == 0
        code, out, err = command(capsys, "demo", "telegram", "hola", **settings)
    finally:
        loop.run(runner.cleanup())
    assert (code, out) == (1, ["chat 5001 > hola"])
    assert err == [
        "voicebridge: the fake Bot API could not post the update to voicebridge's webhook "
        "(Wrong response from the webhook: 404 Not Found); see make run's output"
    ]
