"""Every string the API shows people is Spanish (issue 8, point 7).

Walked from the sources of truth, so that a new event kind, enum member, error code or
message without Spanish text fails here: every StrEnum of the domain and its labels,
every EventKind rendered from representative payloads (each enum-valued field through
all its values), every registered error code answered by the real API with its message
and fields, every pydantic error type, and every message literal in the code that
raises errors or writes timeline causes."""

import ast
import dataclasses
import inspect
import re
import shutil
import typing
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic_core.core_schema import ErrorType
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, update

import routing
import voicebridge
from channels.telegram.errors import FileTooLarge
from channels.telegram.outbound import TelegramSender
from channels.twilio.signature import sign
from dialplans.templateset import shipped
from routing import events, models, outbox, schema
from routing.config import parse_config
from routing.directory import Names
from routing.events import PAYLOADS, EventKind, Payload
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.conftest import Api
from tests.voicebridge.rig import bridged
from voicebridge import dialplan_push
from voicebridge.ami.sim import FakeAsterisk
from voicebridge.ami.sim.model import CAUSE_TEXT
from voicebridge.api import spanish, timeline
from voicebridge.api.auth import ROLE_LABELS
from voicebridge.api.errors import CODES
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.settings import Settings

# Common English words and stems that are not Spanish words (so not "no", "use",
# "error", "radio", "manual", "supervisor", which Spanish shares). Tokenised on word
# boundaries, case-insensitive. Field names and other identifiers (target, number,
# operator, lat...) are not listed: messages name fields as they are spelt.
_ENGLISH_WORDS = """
    the and of is are was were be been being not after before received via another
    failed fails should value values required invalid must cannot can has have with
    without this that these those from into for or at least most than only it its
    which when where unknown missing allowed expected give already found does
    will too long deep digits characters items between outside needs belongs key
    please an by on your you we our to request exceeds limit input permitted
    should string integer valid greater less equal neither nor because
    reload retry again changed concurrently itself open incident incidents agency
    agencies dispatched resolved cancelled merged leg legs line lines room called
    calling skipped answered acknowledged pending ringing prompting patched
    delivered busy congestion declined unanswered guest responder ended placing
    keypress phone talkgroup voice rules rule revision problem problems file centre
    center covers point there here
"""
ENGLISH = frozenset(_ENGLISH_WORDS.split())
# labels that are the same word in Spanish as the English code (proper names, acronyms)
SAME_IN_SPANISH = frozenset({"sms", "telegram", "supervisor"})

_QUOTED = re.compile(r"«[^»]*»|'[^']*'|\"[^\"]*\"|`[^`]*`|\([A-Z][A-Za-z]+\)")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def english_in(text: str) -> list[str]:
    """The English words of ``text`` (quoted values and identifiers aside)."""
    plain = _QUOTED.sub(" ", text)
    tokens = [t for t in re.split(r"\s+", plain) if not re.search(r"[_/\d@<>]|^-", t)]
    words = [w.lower() for t in tokens for w in _WORD.findall(t)]
    return [w for w in words if w in ENGLISH]


def assert_spanish(text: str, where: str) -> None:
    assert text.strip(), f"{where}: empty"
    found = english_in(text)
    assert not found, f"{where}: English {found} in {text!r}"


def test_the_detector_finds_english_and_passes_spanish() -> None:
    assert english_in("report received via api") == ["received", "via"]
    assert english_in("Value should have at least 3 items") == [
        "value",
        "should",
        "have",
        "at",
        "least",
        "items",
    ]
    assert english_in("Exceeds the limit (4300 digits) for integer string conversion") != []
    assert english_in("not dispatched 60 s after intake") == ["not", "dispatched", "after"]
    assert english_in("otro reporte del mismo hecho, por la API") == []
    assert english_in("El campo «location.lat» no es válido: debe ser menor o igual que 90") == []


# --------------------------------------------------------------------- labels


def domain_enums() -> list[type[StrEnum]]:
    found = [
        obj
        for module in (models, events)
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, StrEnum) and obj.__module__ == module.__name__
    ]
    assert len(found) >= 12, found
    return found


@pytest.mark.parametrize("enum", domain_enums(), ids=lambda e: e.__name__)
def test_every_member_of_every_domain_enum_has_a_spanish_label(enum: type[StrEnum]) -> None:
    for member in enum:
        label = getattr(member, "label", None)
        assert isinstance(label, str), f"{enum.__name__}.{member.name} has no Spanish label"
        assert_spanish(label, f"{enum.__name__}.{member.name}.label")
        if member.value not in SAME_IN_SPANISH:
            assert label.lower() != member.value.replace("_", " "), (
                f"{enum.__name__}.{member.name}: the label is its English code"
            )


def test_every_role_has_a_spanish_label() -> None:
    assert set(ROLE_LABELS) == set(Role)
    for role, label in ROLE_LABELS.items():
        assert_spanish(label, f"Role.{role.name}")


# ------------------------------------------------------------------- timeline

# payload fields whose stored value is an enum's: every value is rendered
ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "medium": models.Medium,
    "outcome": models.AttemptOutcome,
    "role": models.ContactRole,
    "method": models.AckMethod,
    "from_": models.Status,
    "to": models.Status,
    "priority": models.Priority,
    "source": models.Source,
    "purpose": outbox.Purpose,
    "state": outbox.MessageState,
    "means": models.StatusMeaning,
}
SAMPLES: dict[str, Any] = {
    "category": "robo",
    "district": "150132",
    "agency": "pnp",
    "target": "pnp-zarate/1",
    "destination": "phone:012089201",
    "limit": "3/15m",
    "incident": "LIM-2026-000002",
    "into": "LIM-2026-000001",
    "rule": "robo en SJL",
    "dial": "PJSIP/012089201@epr-trunk",
    "leg": "vb-0a1b2c3d4e5f60718293",
    "lost": "vb-99887766554433221100",
    "due_at": "2026-11-25T15:00:00+00:00",
    "district_source": "given",
    "district_note": "Distrito indicado: San Juan de Lurigancho.",
    "agencies": ("pnp", "serenazgo"),
    "distance_m": 120.4,
    "address": "av abancay 123",
    "lat": -12.0464,
    "lon": -77.0428,
    "channel": "telegram",
    "provider_id": "SM0123456789abcdef0123456789abcdef",
    "contact": "vb-0a1b2c3d4e5f60718293",
    "label": "en camino",
}


def representative(cls: type[Payload]) -> list[Payload]:
    """One payload with every field set, then one per value of each enum field."""
    base: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in ENUM_FIELDS:
            base[f.name] = next(iter(ENUM_FIELDS[f.name])).value
        elif f.name in SAMPLES:
            base[f.name] = SAMPLES[f.name]
        elif hints[f.name] in (int, int | None):
            base[f.name] = 2
        elif hints[f.name] is float:
            base[f.name] = 12.5
        else:
            raise AssertionError(f"{cls.__name__}.{f.name}: give the test a sample value")
    payloads = [cls(**base)]
    for name in ENUM_FIELDS.keys() & base.keys():
        payloads += [cls(**{**base, name: m.value}) for m in ENUM_FIELDS[name]]
    return payloads


@pytest.mark.parametrize("kind", list(EventKind), ids=str)
def test_every_event_kind_reads_in_spanish_on_the_timeline(kind: EventKind) -> None:
    assert_spanish(kind.label, f"EventKind.{kind.name}.label")
    config = parse_config(
        (Path(routing.__file__).parent / "data" / "lima.yaml").read_text("utf-8"), "lima.yaml"
    )
    for payload in representative(PAYLOADS[kind]):
        text = timeline.describe(payload, Names.of(config))
        assert_spanish(text, f"{kind}: {payload}")
        shown = _DIAL.findall(text) + _CHANNEL_ID.findall(text) + codes_shown(text, config)
        assert not shown, f"{kind}: {shown} in {text!r}"


# ------------------------------------------------------------- error answers


@pytest.fixture
def settings(sqlite_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """A routing file of the test's own, to make a reload fail."""
    rules = tmp_path / "rules.yaml"
    shutil.copy(Path(routing.__file__).parent / "data" / "lima.yaml", rules)
    return make_settings(sqlite_url, redis_url, routing_file=str(rules))


URL = "/api/v1/incidents"


async def _dispatched(api: Api) -> str:
    created = await api.create(district="150132")
    response = await api.client.post(f"{URL}/{created['id']}/dispatch", headers=api.auth())
    assert response.status == 200
    return str(created["id"])


async def _answer(
    api: Api, code: str, monkeypatch: pytest.MonkeyPatch, channels_client: AiohttpClient
) -> Any:
    """A real request that the API answers with ``code``."""
    c, auth = api.client, api.auth()
    json_ = {**auth, "Content-Type": "application/json"}
    if code == "invalid_json":
        return await c.post(URL, data="{no", headers=json_)
    if code == "unauthorized":
        return await c.get(URL)
    if code == "forbidden":
        return await c.post("/api/v1/routing/reload", headers=auth)
    if code == "district_forbidden":
        created = await api.create("supervisor", district="150122")
        return await c.get(f"{URL}/{created['id']}", headers=api.auth("sjl"))
    if code == "csrf_failed":  # a person's session, a write without its CSRF token
        api.runtime.accounts.create(
            "ana.perez", name="Ana Pérez", role=Role.SUPERVISOR, district=None,
            password="correct horse battery",
        )  # fmt: skip
        signed = api.runtime.accounts.sign_in(
            "ana.perez", "correct horse battery", address="10.0.0.7"
        )
        assert isinstance(signed, tuple)
        return await c.post(URL, json={"category": "robo"},
                            headers={"Cookie": f"vb_session={signed[0]}"})  # fmt: skip
    if code == "not_found":
        return await c.get(f"{URL}/LIM-2026-000404", headers=auth)
    if code == "method_not_allowed":
        return await c.delete(URL, headers=auth)
    if code == "conflict":
        return await c.post(f"{URL}/{await _dispatched(api)}/dispatch", headers=auth)
    if code == "illegal_transition":
        created = await api.create()
        url = f"{URL}/{created['id']}/status"
        await c.post(url, headers=auth, json={"status": "resolved", "cause": "atendido"})
        return await c.post(url, headers=auth, json={"status": "cancelled", "cause": "error"})
    if code == "payload_too_large":
        big = "x" * (api.runtime.settings.max_body_bytes + 1)
        return await c.post(URL, headers=auth, json={"category": "robo", "description": big})
    if code == "uri_too_long":
        return await c.get(f"{URL}?district={'x' * 9000}", headers=auth)
    if code == "unsupported_media_type":
        return await c.post(URL, data="category=robo", headers=auth)
    if code == "validation_failed":
        body = {"category": "granizo", "location": {"lat": 120}, "priority": 1, "x": 1}
        return await c.post(URL, headers=auth, json=body)
    if code == "idempotency_key_reused":
        once = {**auth, "Idempotency-Key": "reintento-0001"}
        await c.post(URL, headers=once, json={"category": "robo"})
        return await c.post(URL, headers=once, json={"category": "incendio"})
    if code == "json_too_deep":
        return await c.post(URL, data="[" * 100_000, headers=json_)
    if code == "number_too_long":
        return await c.post(URL, data='{"category": ' + "9" * 5000 + "}", headers=json_)
    if code == "invalid_routing":
        api.runtime.settings.routing_file.write_text("version: 1\n")  # type: ignore[union-attr]
        return await c.post("/api/v1/routing/reload", headers=api.auth("admin"))
    if code == "headers_too_large":
        return await c.get(URL, headers={**auth, "X-Relleno": "x" * 9000})
    if code == "channel_not_configured":
        return await c.post("/webhooks/telegram", json={"update_id": 1})
    if code in ("invalid_signature", "invalid_form"):
        settings = make_settings(
            api.runtime.settings.database_url,
            api.runtime.settings.redis_url,
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="f" * 32,
            twilio_number="+15005550006",
        )
        runtime = dataclasses.replace(api.runtime, settings=settings)
        sms = await channels_client(make_app(settings, runtime=runtime))
        if code == "invalid_signature":
            return await sms.post("/webhooks/twilio/sms", data={"Body": "robo"})
        raw = "Body=%FF%FE"  # not UTF-8, and so not signed by anyone
        signature = sign("f" * 32, settings.public_url + "/webhooks/twilio/sms", {})
        headers = {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return await sms.post("/webhooks/twilio/sms", data=raw, headers=headers)
    if code in ("photo_too_large", "photo_unavailable"):
        settings = make_settings(
            api.runtime.settings.database_url,
            api.runtime.settings.redis_url,
            telegram_token="123456:" + "A" * 35,
            telegram_secret="secreto-del-webhook",
            telegram_api_url="http://127.0.0.1:9",  # nothing listens there: unreachable
        )
        runtime = dataclasses.replace(api.runtime, settings=settings)
        created = await api.create()
        i, r = schema.incidents.c, schema.reports.c
        with runtime.db.write() as conn:  # as a citizen's Telegram report keeps its photo
            row = conn.execute(select(i.id).where(i.public_id == created["id"])).scalar_one()
            report_id = conn.execute(select(r.id).where(r.incident_id == row)).scalar_one()
            conn.execute(
                update(schema.reports).where(r.id == report_id).values(payload={"photo": "AgAC1"})
            )
        if code == "photo_too_large":

            async def too_large(self: TelegramSender, file_id: str, max_bytes: int) -> bytes:
                raise FileTooLarge(limit=max_bytes, size=max_bytes * 2)

            monkeypatch.setattr(TelegramSender, "get_file", too_large)
        telegram = await channels_client(make_app(settings, runtime=runtime))
        return await telegram.get(f"{URL}/{created['id']}/reports/{report_id}/photo", headers=auth)
    if code == "log_unavailable":  # the console's log reader has not read the log yet
        from voicebridge.console import board as console_board

        api.runtime.accounts.create(
            "jefe", name="Jorge Salas", role=Role.SUPERVISOR, district=None,
            password="correct horse battery",
        )  # fmt: skip
        signed = api.runtime.accounts.sign_in("jefe", "correct horse battery", address="a")
        assert isinstance(signed, tuple)
        monkeypatch.setattr(console_board, "STARTUP_SECONDS", 0.1)

        def down() -> int:
            raise OSError("the database does not answer")

        monkeypatch.setattr(api.runtime.board, "position", down)  # the reader cannot start
        c.app[console_board.FEED].started.clear()
        return await c.get("/console/events", headers={"Cookie": f"vb_session={signed[0]}"})
    if code in ("invalid_dialplan", "dialplan_conflict"):
        admin = api.auth("admin")
        items = (await (await c.get("/api/v1/dialplans", headers=admin)).json())["items"]
        base = next(i for i in items if i["template"] == "parameters")["latest"]["id"]
        text = shipped()["parameters"]
        url = "/api/v1/dialplans/parameters/revisions"
        if code == "invalid_dialplan":
            bad = text.replace("menu_tries: 3", "menu_tries: 9")
            return await c.post(url, headers=admin, json={"content": bad, "base": base})
        saved = text.replace("menu_tries: 3", "menu_tries: 4")
        await c.post(url, headers=admin, json={"content": saved, "base": base})
        other = text.replace("menu_tries: 3", "menu_tries: 2")
        return await c.post(url, headers=admin, json={"content": other, "base": base})
    if code in ("asterisk_not_configured", "asterisk_unavailable", "dialplan_busy"):
        admin = api.auth("admin")
        await c.get("/api/v1/dialplans", headers=admin)  # the shipped revisions
        if code == "asterisk_not_configured":
            return await c.post("/api/v1/dialplans/revisions/1/trial", headers=admin)
        settings = dataclasses.replace(
            api.runtime.settings, ami_admin_url="ami://voicebridge:voicebridge@127.0.0.1:9"
        )
        runtime = dataclasses.replace(api.runtime, settings=settings)
        wired = await channels_client(make_app(settings, runtime=runtime))
        if code == "dialplan_busy":  # another replica's push holds the lock
            monkeypatch.setattr(dialplan_push, "LOCK_WAIT", 0.1)
            held = runtime.redis.lock(dialplan_push.LOCK_KEY, timeout=30)
            assert held.acquire(blocking=False)
            fake = FakeAsterisk()
            await fake.start()
            try:
                url = f"ami://voicebridge:voicebridge@127.0.0.1:{fake.port}"
                settings = dataclasses.replace(settings, ami_admin_url=url)
                runtime = dataclasses.replace(runtime, settings=settings)
                busy = await channels_client(make_app(settings, runtime=runtime))
                return await busy.post("/api/v1/dialplans/revisions/1/trial", headers=admin)
            finally:
                held.release()
                await fake.stop()
        monkeypatch.setattr(dialplan_push, "CONNECT_WAIT", 0.2)  # nothing listens on port 9
        return await wired.post("/api/v1/dialplans/revisions/1/trial", headers=admin)
    if code == "internal_error":

        def broken(*args: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(api.runtime.store, "search", broken)
        return await c.get(URL, headers=auth)
    raise AssertionError(f"no request answers {code}: add one to this test")


@pytest.mark.parametrize("code", sorted(CODES))
async def test_every_error_code_answers_in_spanish(
    api: Api, code: str, monkeypatch: pytest.MonkeyPatch, aiohttp_client: AiohttpClient
) -> None:
    assert_spanish(CODES[code].meaning, f"CODES[{code!r}]")
    response = await _answer(api, code, monkeypatch, aiohttp_client)
    assert response.status == CODES[code].status, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == code
    assert_spanish(error["message"], f"{code}: message")
    assert error["message"] != code
    if code == "invalid_routing":  # the routing file's diagnostics, as routing check says
        assert error["fields"], error
    for field in error.get("fields", []):
        assert_spanish(field["message"], f"{code}: fields[{field['field']}]")


def test_every_pydantic_error_type_has_a_spanish_message() -> None:
    ctx = {
        "min_length": 3,
        "max_length": 5,
        "ge": 1,
        "le": 9,
        "gt": 0,
        "lt": 10,
        "multiple_of": 2,
        "expected": "'a', 'b' or 'c'",
        "error": "no es válido",
    }
    for kind in typing.get_args(ErrorType):
        for given in (ctx, {}):
            for value in ("ab", [1]):
                text = spanish.message({"type": kind, "ctx": given, "input": value, "msg": "x"})
                assert_spanish(text, f"pydantic {kind}")
    assert spanish.message({"type": "too_short", "ctx": ctx, "input": "ab"}) == (
        "debe tener al menos 3 caracteres"
    )
    assert spanish.message({"type": "literal_error", "ctx": ctx, "input": "x"}) == (
        "debe ser 'a', 'b' o 'c'"
    )


# -------------------------------------------------------- messages in the code

# calls whose string arguments people read: errors at the edge and in the domain, the
# validators' reasons, the timeline's causes
RAISERS = {
    "ApiError",
    "error",
    "invalid",
    "_unauthorized",
    "add",  # Problems.add(field, message)
    "ValueError",
    "NotFound",
    "Conflict",
    "IllegalTransition",
    "InvalidValue",
    "problem",  # the routing file's Builder.problem(path, message)
    "_Refused",  # what the routing file's YAML loader refuses
}
# the settings' diagnostics (the districts file), which the CLI prints (English), and
# the invariants of stored data; the routing file's diagnostics are people's (Spanish)
NOT_PEOPLE_FACING = {
    "routing/geo.py",
    "routing/categories.py",
    "routing/directory.py",
}
# outside voicebridge/api, where a ValueError is the routing file's validators' reason
VALIDATORS = {"routing/config.py", "routing/ratelimits.py", "routing/schedule.py"}
NOT_PEOPLE_FACING_FIELDS = {"prefix", "districts_file"}


def _texts(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [
            " ".join(str(v.value) if isinstance(v, ast.Constant) else "«x»" for v in node.values)
        ]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "a" + f"b"
        return [f"{a} {b}" for a in _texts(node.left) or ["«x»"] for b in _texts(node.right)]
    if isinstance(node, ast.IfExp):
        return _texts(node.body) + _texts(node.orelse)
    return []


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def people_facing_literals() -> list[tuple[str, str]]:
    root = Path(voicebridge.__file__).parent.parent
    files = [*root.glob("voicebridge/api/*.py"), *root.glob("routing/*.py")]
    found = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel in NOT_PEOPLE_FACING:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            args: list[ast.expr] = []
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in ("log", "logging")
            ):
                continue  # log lines are for the service's operators: English
            if _name(node) in RAISERS:
                if _name(node) == "ValueError" and (
                    not (rel.startswith("voicebridge/api/") or rel in VALIDATORS)
                    or rel == "voicebridge/api/errors.py"
                ):
                    continue  # outside the validators, ValueErrors are programming errors
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and first.value in NOT_PEOPLE_FACING_FIELDS:
                    continue
                args += node.args
            args += [
                k.value for k in node.keywords if k.arg in ("cause", "reason", "message", "problem")
            ]
            for arg in args:
                for text in _texts(arg):
                    if " " in text.strip():  # sentences, not codes or field names
                        found.append((f"{rel}:{node.lineno}", text))
    assert len(found) > 40, found
    return found


def test_every_message_written_in_the_code_is_spanish() -> None:
    failures = [
        f"{where}: {english_in(text)} in {text!r}"
        for where, text in people_facing_literals()
        if english_in(text)
    ]
    assert not failures, "\n".join(failures)


# ------------------------------------------- a whole incident, as people read it

# what must never reach people: dial strings, channel ids, Asterisk's English causes,
# global ids where a number within the incident is meant, codes where names are known
LIMA_NAMES = Names.of(
    parse_config((Path(routing.__file__).parent / "data" / "lima.yaml").read_text("utf-8"), "lima")
)
_DIAL = re.compile(r"\b(PJSIP|SIP|IAX2|Local|DAHDI)/|@[a-z][\w-]*\b")
_CHANNEL_ID = re.compile(r"\bvb-[0-9a-f]{6,}")
_REPORT_ID = re.compile(r"n\.º \d")


def people_texts(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """Every people-facing text of an incident's detail, each with where it is."""
    found = []
    for n, e in enumerate(detail["timeline"]):
        for key in ("text", "kind_label", "cause"):
            found.append((f"timeline[{n}] {e['kind']}.{key}", e[key]))
    for n, leg in enumerate(detail["legs"]):
        found.append((f"legs[{n}].cause", leg["cause"] or "-"))
    for n, a in enumerate(detail["attempts"]):
        found.append((f"attempts[{n}].cause", a["cause"] or "-"))
    return found


def codes_shown(text: str, config: Any) -> list[str]:
    """Agency codes and target ids of the directory shown bare in ``text``."""
    codes = set(config.agencies)
    shown_names = set()
    for agency in config.agencies.values():
        codes |= {s.code for s in agency.stations}
        codes |= {t.id for s in agency.stations for t in s.targets}
        shown_names |= {agency.name, *(s.name for s in agency.stations)}
        shown_names |= {t.label for s in agency.stations for t in s.targets if t.label}
    for name in sorted(shown_names, key=len, reverse=True):  # "Central de serenazgo"
        text = text.replace(name, " ")
    words = set(re.findall(r"(?<![\w(«/-])[a-z][a-z0-9-]*(?:/\d+)?(?![\w/-])", text))
    # a code may follow its name in parentheses: "Policía Nacional del Perú (pnp)"
    return sorted(w for w in words & codes if f"({w})" not in text)


async def test_a_dispatched_and_bridged_incident_reads_as_an_operator_would_write_it(
    api: Api, clock: FakeClock
) -> None:
    """Through the API and the fake Asterisk: created, a second report, dispatched,
    acknowledged with key 1 and bridged, a guest called in and dropped. Every text of
    the detail is Spanish, names agencies and lines by their directory names, and
    shows no dial string, channel id, English cause or global report id."""
    c, auth = api.client, api.auth()
    async with bridged(api.runtime, clock) as rig:
        incident_id = str((await api.create(district="150132"))["id"])
        url = f"{URL}/{incident_id}"
        report = {"description": "otro vecino llama por lo mismo"}
        assert (await c.post(f"{url}/reports", headers=auth, json=report)).status == 201
        assert (await c.post(f"{url}/dispatch", headers=auth)).status == 200
        await rig.until(
            lambda: api.runtime.store.get(incident_id).status is models.Status.BRIDGED, "bridged"
        )
        response = await c.post(
            f"{url}/legs", headers=auth, json={"number": "987 654 321", "label": "Vecino"}
        )
        assert response.status == 201, await response.text()
        guest = (await response.json())["channel_id"]
        await rig.until(
            lambda: rig.leg_by_ref(incident_id, guest).state is models.ContactState.IN_ROOM,
            "the guest in the room",
        )
        assert (await c.delete(f"{url}/legs/{guest}", headers=auth)).status == 200
        await rig.until(
            lambda: rig.leg_by_ref(incident_id, guest).state is models.ContactState.ENDED,
            "the guest hung up",
        )
        await rig.settled()
    detail = await (await c.get(url, headers=auth)).json()
    config, _ = api.runtime.rules.current()
    english_causes = set(CAUSE_TEXT.values()) - {"Unknown"}
    failures = []
    for where, text in people_texts(detail):
        found = english_in(text)
        found += _DIAL.findall(text) + _CHANNEL_ID.findall(text) + _REPORT_ID.findall(text)
        found += codes_shown(text, config)
        found += [cause for cause in english_causes if cause in text]
        if found:
            failures.append(f"{where}: {found} in {text!r}")
    timeline_text = "\n".join(
        f"{e['kind_label']}: {e['text']} — {e['cause']}" for e in detail["timeline"]
    )
    assert not failures, "\n".join(failures) + "\n\n" + timeline_text
    texts = [e["text"] for e in detail["timeline"]]
    assert any("Policía Nacional del Perú" in t for t in texts), timeline_text
    assert any("Comisaría PNP" in t for t in texts), timeline_text
    assert any("al operador distrital" in t for t in texts), timeline_text
    assert any("987 654 321" in t for t in texts), timeline_text


# ------------------------------------------------- sentences that read right


def test_a_rate_limit_reads_as_a_count_per_period() -> None:
    held = events.RateLimited(
        agency="pnp", target="pnp-zarate/1", destination="phone:017210668", limit="3/15m",
        retry_in=42.0,
    )  # fmt: skip
    assert timeline.describe(held, LIMA_NAMES) == (
        "El contacto a la Guardia de prevención de la Comisaría PNP Zárate (Policía Nacional "
        "del Perú) espera por el límite de llamadas (3 en 15 min); se reintenta en 42 s."
    )


def test_a_point_outside_lima_reads_as_a_sentence() -> None:
    from routing.geo import OUTSIDE, place_of_code, where_phrase

    callao = place_of_code("070102")
    assert callao is not None
    assert f"el punto cae {where_phrase(callao)}" == (
        "el punto cae en Bellavista (070102), en el Callao"
    )
    assert f"el punto cae {where_phrase(OUTSIDE)}" == (
        "el punto cae fuera de Lima Metropolitana y del Callao"
    )


def test_a_refused_transition_names_its_states_as_quoted_labels() -> None:
    from routing.errors import IllegalTransition
    from routing.lifecycle import check_transition

    S = models.Status
    with pytest.raises(IllegalTransition) as refused:
        check_transition("LIM-2026-000009", S.BRIDGED, S.DISPATCHED)
    assert str(refused.value).startswith(
        "LIM-2026-000009 no puede pasar de «en conferencia» a «despachado» (desde «en "
        "conferencia» puede pasar a: "
    )
    with pytest.raises(IllegalTransition) as refused:
        check_transition("LIM-2026-000009", S.RESOLVED, S.CANCELLED)
    assert str(refused.value) == (
        "LIM-2026-000009 está resuelto, un estado final: no puede pasar a «cancelado»"
    )


@pytest.mark.parametrize(
    ("policy", "label"),
    [("critical", "crítica"), ("standard", "estándar"), ("utilities", "de servicios públicos")],
)
def test_a_plan_names_its_policy_in_spanish(policy: str, label: str) -> None:
    from routing.decide import policy_label

    assert policy_label(policy) == label
    assert english_in(label) == []


def test_a_policy_the_centre_named_itself_is_quoted() -> None:
    from routing.decide import policy_label

    assert policy_label("nocturna") == "«nocturna»"


# ------------------------------------------------------ the routing file's diagnostics

# broken routing files: the YAML (PyYAML's syntax errors), the bounds, the schema
# (pydantic's errors) and what spans sections
BROKEN_YAML = [
    "version: 1\ncentre: [\n",
    "a: b: c\n",
    "a:\n\tb: 1\n",
    "a: 'x\n",
    "a: [1, 2\n",
    "a: {x: 1\n",
    "- a\nb: 1\n",
    'a: "\\q"\n',
    "a: 1\n---\nb: 2\n",
    "a: &x 1\nb: *y\n",
    "a: &a [*a]\n",
    "a:\n  - 1\n b: 2\n",
    "a: |0\n x\n",
    "a: 1\na: 2\n",
    "[a]: 1\n",
    "a: \x01\n",
    "[" * 100,
    "- 1\n",
    "hola\n",
    "",
    "version: 2\ncentre: [1]\npolicies: {a: {ring_seconds: dos, x: 1}}\nagencies: 3\n",
]


def routing_diagnostics() -> list[str]:
    from routing.config import ConfigError, parse_config
    from tests.routing.configs import SMALL
    from tests.routing.test_config import HOSTILE

    texts = list(BROKEN_YAML)
    texts += [c.decode("utf-8", "replace") for c, _ in HOSTILE.values() if len(c) < 100_000]
    source = Path(routing.__file__).parents[1] / "tests" / "routing" / "test_config.py"
    tree = ast.parse(source.read_text("utf-8"))
    for node in ast.walk(tree):  # every change test_config.py makes to the small file
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            pair = [
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
            if len(pair) == 2 and pair[0] in SMALL:
                texts.append(SMALL.replace(pair[0], pair[1]))
    texts.append(SMALL[: SMALL.index("  - name: resto")])
    found = []
    for text in texts:
        try:
            parse_config(text, "routing.yaml")
        except ConfigError as exc:
            found += [p.message for p in exc.problems]
    assert len(found) > 40, found
    return found


def test_every_diagnostic_of_the_routing_file_is_spanish() -> None:
    failures = [
        f"{english_in(text)} in {text!r}" for text in routing_diagnostics() if english_in(text)
    ]
    assert not failures, "\n".join(failures)


def test_the_routing_file_s_fixed_texts_are_spanish() -> None:
    from routing import configfile

    for _, text in configfile._SYNTAX:
        assert_spanish(text.replace("{found}", "«x»"), "configfile._SYNTAX")
    fixed: list[tuple[object, str]] = [*configfile._TOKENS.items(), *configfile._OS_ERRORS.items()]
    for key, text in fixed:
        assert_spanish(text, f"configfile: {key}")
