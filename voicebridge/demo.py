"""``voicebridge demo sms | telegram | call | outbox``: a citizen played through the fakes
of a running ``make run``, and what the fakes received (``call``: :mod:`voicebridge.
demo_call`).

The fakes' URLs are the settings ``make run`` published (``VOICEBRIDGE_TWILIO_API_URL``,
``VOICEBRIDGE_TELEGRAM_API_URL`` in ``var/run.json``); the commands use their control
APIs (:mod:`channels.twilio.simcontrol`, :mod:`channels.telegram.sim.control`), never
voicebridge's API. An SMS is answered in the webhook's answer (TwiML): ``demo sms``
prints it. A Telegram update is answered later, by messages the worker sends: ``demo
telegram`` waits until voicebridge processed the update and sent what it had for the
chat (it reads the service's database for that), then prints what the fake received.
"""

import argparse
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from voicebridge import demo_call, demo_radio, demo_year, migrate
from voicebridge.cli_channels import Failed, bot_server
from voicebridge.errors import SettingsError, VoicebridgeError
from voicebridge.settings import RUN_FILE, Settings, published

CITIZEN = "+51987654321"
CHAT = 5001
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.1
SET_BY_RUN = "set by voicebridge run"  # the source of what it set, in var/run.json
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = sub.add_parser(
        "demo", help="development: play a citizen through the fakes of make run"
    ).add_subparsers(dest="demo_command", required=True)
    sms = demo.add_parser("sms", help="a citizen's SMS to voicebridge; prints the reply")
    sms.add_argument(
        "--from",
        dest="sender",
        type=_phone,
        default=CITIZEN,
        help=f"the citizen's number (default: {CITIZEN})",
    )
    sms.add_argument(
        "words",
        nargs="+",
        metavar="TEXT",
        help="what the citizen writes, e.g. robo en av abancay 123 cercado",
    )
    telegram = demo.add_parser(
        "telegram",
        help="a citizen writes to the bot, presses a button, shares a place or a photo; "
        "prints what the bot answered",
    )
    telegram.add_argument(
        "--chat", type=_chat, default=CHAT, help=f"the citizen's chat (default: {CHAT})"
    )
    what = telegram.add_mutually_exclusive_group()
    what.add_argument(
        "--location",
        type=_point,
        metavar="LAT,LON",
        help="share a location (write it --location=-12.1211,-77.0297)",
    )
    what.add_argument(
        "--press", metavar="BUTTON", help="press the bot's inline button (its label or data)"
    )
    what.add_argument(
        "--photo", action="store_true", help="send a photo (the text, if any, is its caption)"
    )
    telegram.add_argument(
        "--wait",
        type=_seconds,
        default=WAIT_SECONDS,
        help=f"seconds to wait for the bot's answer (default: {WAIT_SECONDS:g})",
    )
    telegram.add_argument(
        "words",
        nargs="*",
        metavar="TEXT",
        help="what the citizen writes, e.g. /start or /estado LIM-2026-000123",
    )
    telegram.set_defaults(refuse=telegram.error)
    demo_call.add_parser(demo)
    demo_radio.add_parser(demo)
    demo_year.add_parser(demo)
    outbox = demo.add_parser(
        "outbox", help="what the fakes received: SMS sent, the bot's messages per chat"
    )
    outbox.add_argument(
        "--to", metavar="NUMBER|CHAT", help="only those to this number (+51...) or chat"
    )


def _phone(text: str) -> str:
    from routing.phones import to_e164

    number = to_e164(text)
    if number is None:
        raise argparse.ArgumentTypeError(
            f"expected a phone number such as +51987654321, got {text!r}"
        )
    return number


def _chat(text: str) -> int:
    try:
        chat = int(text)
    except ValueError:
        chat = 0
    if not 0 < chat < 10**15:
        raise argparse.ArgumentTypeError(
            f"expected a private chat's id (a positive integer), got {text!r}"
        )
    return chat


def _point(text: str) -> tuple[float, float]:
    lat_text, _, lon_text = text.partition(",")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        lat = lon = math.nan
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"expected LAT,LON in degrees, e.g. -12.0464,-77.0428, got {text!r}"
        )
    return lat, lon


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds, 0 to 3600, got {text!r}")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.demo_command == "sms":
        return _sms(args, settings)
    if args.demo_command == "telegram":
        return _telegram(args, settings)
    if args.demo_command == "call":
        return demo_call.run(args, fake_asterisk(settings))
    if args.demo_command == "radio":
        return demo_radio.run(args)
    if args.demo_command == "year":
        return demo_year.run(args, settings)
    return _outbox(args, settings)


# ---------------------------------------------------------------------- the fakes


def fake_twilio(settings: Settings) -> str:
    """The fake Twilio's URL (the one ``make run`` started), or a one-line refusal."""
    url = settings.twilio_api_url
    _refuse_the_runs_own("twilio_api_url", "the Twilio", "fake Twilio to write SMS with")
    if not settings.sms_configured or not _on_loopback(url):
        raise VoicebridgeError(
            f"no fake Twilio to write SMS with (VOICEBRIDGE_TWILIO_API_URL is {url}): run this "
            "beside make run, in its directory; make run starts the fake Twilio unless "
            "VOICEBRIDGE_TWILIO_ACCOUNT_SID is set"
        )
    return url


def fake_telegram(settings: Settings) -> str:
    """The fake Bot API's URL (the one ``make run`` started), or a one-line refusal."""
    url = settings.telegram_api_url
    _refuse_the_runs_own("telegram_api_url", "the Bot API", "fake Bot API to write to the bot with")
    if url is None or not settings.telegram_configured or not _on_loopback(url):
        raise VoicebridgeError(
            f"no fake Bot API to write to the bot with (VOICEBRIDGE_TELEGRAM_API_URL is "
            f"{bot_server(settings)}): run this beside make run, in its directory; make run "
            "starts the fake Bot API unless VOICEBRIDGE_TELEGRAM_TOKEN is set"
        )
    return url.removesuffix("/bot")


def fake_asterisk(settings: Settings) -> str:
    """The fake Asterisk's AMI URL (the one ``make run`` started), or a one-line refusal."""
    url = settings.ami_url
    _refuse_the_runs_own("ami_url", "Asterisk", "fake Asterisk to call")
    if url is None or not _on_loopback(url):
        from voicebridge.ami.session import AmiTarget

        shown = "not set" if url is None else str(AmiTarget.parse(url))  # never the secret
        raise VoicebridgeError(
            f"no fake Asterisk to call (VOICEBRIDGE_AMI_URL is {shown}): run "
            "this beside make run, in its directory; make run starts the fake Asterisk "
            "unless VOICEBRIDGE_AMI_URL is set"
        )
    return url


def _refuse_the_runs_own(name: str, what: str, fake: str) -> None:
    """Refuse when the ``make run`` running here uses a server of its own for ``name``
    (it started no fake then), rather than call it as a fake."""
    try:
        service = published(RUN_FILE)
    except SettingsError:
        return  # the command has said so already
    if service is None or name not in service.values:
        return
    url, source = service.values[name]
    if source != SET_BY_RUN:
        raise VoicebridgeError(
            f"no {fake}: make run uses {what} at {url or 'its default'} ({source}), no fake"
        )


def _on_loopback(url: str) -> bool:
    return urllib.parse.urlsplit(url).hostname in LOOPBACK


def control(url: str, path: str, body: dict[str, Any] | None = None, *, name: str) -> Any:
    """A call to a fake's control API: its JSON answer, or :class:`Failed` with the
    fake's error (``name`` says which fake)."""
    request = urllib.request.Request(  # noqa: S310 - an http URL of loopback, checked
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(request, timeout=WAIT_SECONDS + 10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            said = str(json.loads(exc.read())["error"])
        except (ValueError, KeyError, TypeError):
            said = f"HTTP {exc.code} {exc.reason}"
        raise Failed(f"{name} at {url} refused: {said}") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Failed(f"{name} at {url} does not answer ({reason}): is make run running?") from None


# -------------------------------------------------------------------------- SMS


def _sms(args: argparse.Namespace, settings: Settings) -> int:
    url = fake_twilio(settings)
    text = " ".join(args.words)  # quoted or not
    result = control(
        url, "/_fake/inbound", {"from": args.sender, "body": text}, name="the fake Twilio"
    )
    print(f"SMS {args.sender} -> {settings.twilio_number}: {text}")
    if result.get("error"):
        raise Failed(f"voicebridge did not take the SMS ({result['error']}); see make run's output")
    replies = result.get("replies") or []
    for reply in replies:
        print(f"reply (TwiML): {reply['body']}")
    if not replies:
        print("reply (TwiML): none")
    return 0


# --------------------------------------------------------------------- Telegram


def _telegram(args: argparse.Namespace, settings: Settings) -> int:
    from channels.telegram.sim.remote import FakeTelegramRemote, RemoteError

    action, fields, shown = _action(args, " ".join(args.words))
    url = fake_telegram(settings)
    remote = FakeTelegramRemote(url, timeout=WAIT_SECONDS + 10)
    try:
        before = len(remote.sent(args.chat))
        print(f"chat {args.chat} > {shown}")
        delivery = remote.act(args.chat, action, **fields)
    except RemoteError as exc:
        if exc.status is None:
            raise Failed(
                f"the fake Bot API at {url} does not answer: is make run running?"
            ) from None
        raise Failed(f"the fake Bot API at {url} refused: {exc.message}") from None
    outcome = delivery["outcome"]
    if outcome == "failed":
        errors = [a["error"] for a in delivery["attempts"] if a.get("error")]
        raise Failed(
            f"the fake Bot API could not post the update to voicebridge's webhook "
            f"({errors[-1] if errors else 'no answer'}); see make run's output"
        )
    if outcome == "filtered":
        raise Failed(
            "the bot's webhook does not take such updates: voicebridge telegram set-webhook"
        )
    waiting = _wait_answered(settings, args.chat, int(delivery["update_id"]), args.wait)
    if waiting:
        held = " (the fake Bot API holds it: no webhook is set)" if outcome == "queued" else ""
        raise Failed(
            f"{waiting} within {args.wait:g} s{held}; see voicebridge telegram webhook-info "
            "and make run's output"
        )
    try:
        sent = remote.sent(args.chat)[before:]
    except RemoteError as exc:
        raise Failed(f"the fake Bot API at {url} refused: {exc.message}") from None
    for message in sent:
        for line in bot_lines(message):
            print(line)
    return 0


def _action(args: argparse.Namespace, text: str) -> tuple[str, dict[str, Any], str]:
    """The fake's action for the arguments and the citizen's words, its fields, and how
    to show it."""
    if args.location is not None:
        if text:
            args.refuse("a location is sent without words: leave out the text")
        lat, lon = args.location
        return "location", {"lat": lat, "lon": lon}, f"(location {lat}, {lon})"
    if args.press is not None:
        if text:
            args.refuse("a button is pressed without words: leave out the text")
        return "presses", {"button": args.press}, f"[{args.press}]"
    if args.photo:
        caption = {"caption": text} if text else {}
        return "photo", caption, "(photo)" + (f" {text}" if text else "")
    if not text:
        args.refuse("say what the citizen does: a text, --press, --location or --photo")
    return "says", {"text": text}, text


def _wait_answered(settings: Settings, chat: int, update_id: int, seconds: float) -> str:
    """Wait until voicebridge processed the update and sent every message it had for
    the chat; "" then, else what it had not done when ``seconds`` passed."""
    from sqlalchemy import func, select

    from routing import schema as t
    from routing.db import Database
    from routing.inbox import MAX_FAILURES
    from routing.outbox import MessageState

    migrate.require(settings.database_url, schema=False)  # never creates an SQLite file
    inbound, outbound = t.inbound_messages.c, t.outbound_messages.c
    stored = select(inbound.processed_at, inbound.failures, inbound.error).where(
        inbound.channel == "telegram", inbound.external_id == str(update_id)
    )
    queued = (
        select(func.count())
        .select_from(t.outbound_messages)
        .where(
            outbound.channel == "telegram",
            outbound.chat == str(chat),
            outbound.state == MessageState.QUEUED.value,
        )
    )
    db = Database.from_url(settings.database_url, pool_size=1)
    deadline = time.monotonic() + seconds
    try:
        while True:
            with db.read() as conn:
                row = conn.execute(stored).first()
                if row is None:
                    waiting = "voicebridge did not get the update"
                elif row.processed_at is None:
                    if row.failures >= MAX_FAILURES:
                        error = (row.error or "").strip().splitlines() or ["no error recorded"]
                        raise Failed(f"voicebridge could not process the update: {error[-1]}")
                    waiting = "voicebridge did not process the update"
                elif conn.execute(queued).scalar_one():
                    waiting = "the worker did not send the bot's answer"
                else:
                    return ""
            if time.monotonic() >= deadline:
                return waiting
            time.sleep(POLL_SECONDS)
    finally:
        db.dispose()


def bot_lines(message: dict[str, Any]) -> list[str]:
    """A message the bot sent, as lines: its text (or what it is), then its buttons."""
    text = message.get("text") or (message.get("message") or {}).get("caption")
    if not text:
        text = f"({message.get('method')})"
    first, *more = str(text).splitlines() or [""]
    lines = [f"bot > {first}", *(f"      {line}" for line in more)]
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard") or []:
        lines.append("      " + " ".join(f"[{b.get('text')}]" for b in row))
    for row in markup.get("keyboard") or []:
        labels = [b.get("text") if isinstance(b, dict) else str(b) for b in row]
        lines.append("      keyboard: " + " ".join(f"[{label}]" for label in labels))
    return lines


# ----------------------------------------------------------------------- outbox


def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    to: str | None = args.to
    sms = to is None or to.startswith("+")
    telegram = to is None or not to.startswith("+")
    shown = 0
    refusals: list[str] = []
    if sms:
        try:
            url = fake_twilio(settings)
        except VoicebridgeError as exc:
            refusals.append(str(exc))
        else:
            query = "?" + urllib.parse.urlencode({"to": to}) if to else ""
            found = control(url, "/_fake/outbox" + query, name="the fake Twilio")["messages"]
            print(f"SMS sent through the fake Twilio ({len(found)}):")
            for m in found:
                print(f"  {m['from']} -> {m['to']} [{m['status']}]: {m['body']}")
            shown += 1
    if telegram:
        try:
            url = fake_telegram(settings)
        except VoicebridgeError as exc:
            refusals.append(str(exc))
        else:
            _telegram_outbox(url, to)
            shown += 1
    if not shown:
        raise VoicebridgeError(refusals[-1])
    return 0


def _telegram_outbox(url: str, to: str | None) -> None:
    name = "the fake Bot API"
    chats = control(url, "/_fake", name=name)["chats"]
    if to is not None:
        chats = [c for c in chats if str(c["chat_id"]) == to.strip()]
    print(f"Telegram chats of the fake Bot API ({len(chats)}):")
    for chat in chats:
        blocked = ", blocked the bot" if chat.get("blocked") else ""
        print(f"  chat {chat['chat_id']} ({chat['first_name']}{blocked}):")
        for message in control(url, f"/_fake/chats/{chat['chat_id']}/sent", name=name):
            for line in bot_lines(message):
                print(f"    {line}")
