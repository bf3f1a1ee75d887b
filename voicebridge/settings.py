"""One frozen :class:`Settings`, built from ``VOICEBRIDGE_*`` environment variables and an
optional TOML file named by ``VOICEBRIDGE_CONFIG`` (the environment wins).

Nothing else in voicebridge reads the environment: the CLI passes ``os.environ`` here and
the composition root passes the result on.

``voicebridge run`` publishes the settings its service uses in :data:`RUN_FILE` while it
runs (:func:`publish`); the other commands run in the same directory read them
(:func:`published`) beneath their own environment, so that ``voicebridge settings`` shows
what the service uses and a key ``voicebridge apikey create`` makes lands in its database.
"""

import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from routing.analytics import BY_CODE
from tetra.client import PeiTarget
from voicebridge.errors import SettingsError

PREFIX = "VOICEBRIDGE_"
CONFIG_VARIABLE = "VOICEBRIDGE_CONFIG"
# variables of the test suites, not of the service
IGNORED_PREFIXES = ("VOICEBRIDGE_TEST_",)
RUN_FILE = Path("var/run.json")  # the settings of a running ``voicebridge run``
DEFAULT = "default"
ENVIRONMENT = "environment"


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    database_url: str
    redis_url: str
    http_host: str
    http_port: int
    public_url: str
    log_level: str
    incident_prefix: str
    dispatch_deadline: int
    max_body_bytes: int
    auto_migrate: bool
    db_pool_size: int
    routing_file: Path | None
    districts_file: Path | None
    ami_url: str | None
    ami_admin_url: str | None
    tetra_pei: str | None
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_auth_token_secondary: str | None
    twilio_number: str | None
    twilio_api_url: str
    telegram_token: str | None
    telegram_secret: str | None
    telegram_api_url: str | None
    telegram_mode: str
    join_radius: int
    join_window: int
    photo_max_bytes: int
    ivr_bridge: frozenset[str]
    line_check_window: str
    line_check_rate: str
    line_check_days: int
    session_hours: int
    session_idle_minutes: int
    console_elapsed: tuple[int, ...]
    console_rows: int
    console_tiles: str | None
    console_tiles_attribution: str | None
    analytics_targets: Mapping[str, int]
    analytics_goal: int

    @property
    def twilio_tokens(self) -> tuple[str, ...]:
        """The auth tokens a Twilio signature may be made with (the second one while it
        is rotated in)."""
        return tuple(t for t in (self.twilio_auth_token, self.twilio_auth_token_secondary) if t)

    @property
    def sms_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_number)

    @property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_token)

    def redacted(self) -> dict[str, Any]:
        """The settings with passwords in URLs masked, for printing."""
        return {
            f.name: _redact(getattr(self, f.name), secret=f.name in _SECRETS) for f in fields(self)
        }

    def as_environ(self) -> dict[str, str]:
        """The settings as ``VOICEBRIDGE_*`` variables that :func:`load_settings` turns
        back into these settings (secrets included)."""
        return {spec.variable: _text(getattr(self, spec.name)) for spec in SPECS}

    def shown(self) -> dict[str, str]:
        """The settings as ``voicebridge settings`` prints them: passwords masked,
        booleans ``true``/``false``, the shipped files named, ``(none)`` for none."""
        out: dict[str, str] = {}
        for spec in SPECS:
            value = getattr(self, spec.name)
            if value is None:
                shipped = _SHIPPED.get(spec.name)
                out[spec.variable] = str(resources.files("routing") / shipped) if shipped else NONE
            else:
                out[spec.variable] = _text(_redact(value, secret=spec.secret))
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class Spec:
    name: str
    default: str | None  # None: derived from other settings
    parse: Callable[[str], Any]
    help: str
    secret: bool = False  # masked wherever settings are shown

    @property
    def variable(self) -> str:
        return PREFIX + self.name.upper()


class Invalid(ValueError):
    """Raised by a parser with what was expected."""


def _database_url(value: str) -> str:
    if value.startswith("sqlite:///"):
        path = value.removeprefix("sqlite:///")
        if not path or path == ":memory:":
            raise Invalid("a file path after sqlite:/// (an in-memory database loses everything)")
        return "sqlite:///" + str(Path(path).expanduser().resolve())
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if value.startswith(scheme):
            rest = value.removeprefix(scheme)
            if not rest:
                raise Invalid("a host and database after " + scheme)
            return "postgresql+psycopg://" + rest
    raise Invalid("sqlite:///path/to/file.db or postgresql://user:password@host:5432/dbname")


def _categories(value: str) -> frozenset[str]:
    from routing.categories import find_category

    if value.strip().lower() == "none":
        return frozenset()
    codes = [c.strip() for c in value.split(",") if c.strip()]
    known = {c: found.code for c in codes if (found := find_category(c)) is not None}
    unknown = [c for c in codes if known.get(c) != c]
    if unknown or not codes:
        raise Invalid("category codes separated by commas (e.g. incendio,fuga_gas), or none")
    return frozenset(codes)


def _windows(value: str) -> str:
    from routing.schedule import parse_window

    if value.strip().lower() in ("off", "none"):
        return "off"
    try:
        for part in value.split(";"):
            parse_window(part)
    except ValueError as exc:
        expected = "windows separated by ';' (e.g. lun-vie 10:00-12:00), or off"
        raise Invalid(f"{expected}: {exc}") from None
    return value


def _limit(value: str) -> str:
    from routing.ratelimits import parse_limit

    try:
        parse_limit(value)
    except ValueError:
        raise Invalid("a count per period, e.g. 30/1h or 5/15m") from None
    return value


def _minutes_list(value: str) -> tuple[int, ...]:
    expected = "increasing minutes separated by commas (e.g. 5,15,30,60), at most 4"
    try:
        minutes = tuple(int(m, 10) for m in value.split(","))
    except ValueError:
        raise Invalid(expected) from None
    if not 1 <= len(minutes) <= 4 or minutes[0] < 1 or list(minutes) != sorted(set(minutes)):
        raise Invalid(expected)
    if minutes[-1] > 1440:
        raise Invalid(f"{expected}, up to 1440")
    return minutes


def _targets(value: str) -> Mapping[str, int]:
    """``acknowledgement=60,answering=15``: seconds per interval (routing.analytics)."""
    expected = (
        "interval=seconds pairs separated by commas (e.g. acknowledgement=60), the "
        f"intervals among {', '.join(BY_CODE)}, the seconds from 1 to 86400"
    )
    targets: dict[str, int] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        code, sep, seconds = pair.partition("=")
        code = code.strip()
        if not sep or code not in BY_CODE or code in targets:
            raise Invalid(expected)
        try:
            targets[code] = int(seconds.strip(), 10)
        except ValueError:
            raise Invalid(expected) from None
        if not 1 <= targets[code] <= 86400:
            raise Invalid(expected)
    return targets


_TILE_HOST = re.compile(r"(\{s\}\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?")


def _tiles(value: str) -> str | None:
    if not value.strip() or value.strip().lower() == "none":
        return None
    expected = (
        "a tile URL template with {z}, {x} and {y}, e.g. "
        "https://tiles.example.pe/{z}/{x}/{y}.png (or none)"
    )
    if (
        not value.isascii()
        or any(c.isspace() or c in "\"'<>\\;," for c in value)
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        raise Invalid(expected)
    scheme, _, rest = value.partition("://")
    host = rest.split("/", 1)[0]
    if (
        scheme not in ("http", "https")
        or not _TILE_HOST.fullmatch(host)  # a host name and port only: no user, no [
        or not all(p in value for p in ("{z}", "{x}", "{y}"))
    ):
        raise Invalid(expected)
    return value


def _attribution(value: str) -> str | None:
    if any(c in value for c in "\r\n") or len(value) > 200:
        raise Invalid("one line of at most 200 characters")
    return value.strip() or None


def tile_origin(template: str) -> str:
    """What the console's Content-Security-Policy must allow for these tiles: the
    template's scheme and host (checked by the setting: a name and a port, nothing
    else), a ``{s}.`` subdomain as ``*.``."""
    scheme, _, rest = template.partition("://")
    host = rest.split("/", 1)[0]
    if host.startswith("{s}."):
        host = "*." + host.removeprefix("{s}.")
    return f"{scheme}://{host}"


def _redis_url(value: str) -> str:
    if not re.match(r"^(redis|rediss|unix)://.+", value):
        raise Invalid("redis://host:port/db, rediss://... or unix:///path/to/redis.sock")
    return value


def _host(value: str) -> str:
    if not value.strip() or any(c.isspace() for c in value):
        raise Invalid("a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
    return value


def _int_between(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value, 10)
        except ValueError:
            raise Invalid(f"{what}: an integer from {low} to {high}") from None
        if not low <= number <= high:
            raise Invalid(f"{what}: an integer from {low} to {high}")
        return number

    return parse


def _public_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise Invalid("an absolute http(s) URL such as https://voicebridge.example.pe")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise Invalid("one of DEBUG, INFO, WARNING, ERROR")
    return level


def _prefix(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2,8}", value):
        raise Invalid("2 to 8 capital letters, e.g. LIM")
    return value


def _file(value: str) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise Invalid(f"a readable file (there is none at {path})")
    return path


def _tetra_pei(value: str) -> str | None:
    if not value:
        return None
    try:
        PeiTarget.parse(value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return value


def _ami_url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme != "ami"
        or not parts.hostname
        or not parts.username
        or parts.password is None
        or port == -1
        or parts.path not in ("", "/")
        or parts.query
    ):
        raise Invalid("ami://user:secret@host:port (port 5038 when left out)")
    return value


def _optional(pattern: str, expected: str) -> Callable[[str], str | None]:
    def parse(value: str) -> str | None:
        if not value:
            return None
        if not re.fullmatch(pattern, value):
            raise Invalid(expected)
        return value

    return parse


def _api_url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise Invalid("an absolute http(s) URL")
    return value.rstrip("/")


def _required_api_url(value: str) -> str:
    url = _api_url(value)
    if url is None:
        raise Invalid("an absolute http(s) URL")
    return url


def _telegram_mode(value: str) -> str:
    if value not in ("webhook", "polling"):
        raise Invalid("webhook (Telegram posts to /webhooks/telegram) or polling (development)")
    return value


def _bool(value: str) -> bool:
    folded = value.strip().lower()
    if folded in ("1", "true", "yes", "on"):
        return True
    if folded in ("0", "false", "no", "off"):
        return False
    raise Invalid("true or false")


SPECS: tuple[Spec, ...] = (
    Spec(
        name="database_url",
        default="sqlite:///var/voicebridge.sqlite3",
        parse=_database_url,
        help="SQL database: an SQLite file (relative paths from the working directory) "
        "or PostgreSQL (`postgresql://user:password@host:5432/db`).",
    ),
    Spec(
        name="redis_url",
        default="redis://127.0.0.1:6379/0",
        parse=_redis_url,
        help="Redis for the RQ queues, schedules and short-lived locks. "
        "`make run` starts a local one when this is not set.",
    ),
    Spec(
        name="http_host",
        default="127.0.0.1",
        parse=_host,
        help="Address the HTTP server listens on.",
    ),
    Spec(
        name="http_port",
        default="8080",
        parse=_int_between(0, 65535, "a TCP port"),
        help="Port the HTTP server listens on (0 picks a free one).",
    ),
    Spec(
        name="public_url",
        default=None,
        parse=_public_url,
        help="The URL by which Twilio, Telegram and browsers reach this service (signatures "
        "are checked against it). Default: `http://<http_host>:<http_port>`.",
    ),
    Spec(name="log_level", default="INFO", parse=_log_level, help="DEBUG, INFO, WARNING or ERROR."),
    Spec(
        name="incident_prefix",
        default="LIM",
        parse=_prefix,
        help="Prefix of incident ids (`LIM-2026-000123`).",
    ),
    Spec(
        name="dispatch_deadline",
        default="60",
        parse=_int_between(0, 86400, "seconds"),
        help="Seconds an incident may stay received (not dispatched) before its log "
        "records it as overdue for the supervisors.",
    ),
    Spec(
        name="max_body_bytes",
        default="262144",
        parse=_int_between(1024, 16 * 1024 * 1024, "bytes"),
        help="Largest request body accepted; larger ones get 413.",
    ),
    Spec(
        name="auto_migrate",
        default="true",
        parse=_bool,
        help="Upgrade the database schema at start-up (under a lock, so replicas may "
        "start together).",
    ),
    Spec(
        name="routing_file",
        default="",
        parse=_file,
        help="The routing rules (YAML): EPR directory, rules, escalation policies, rate "
        "limits. Default: the shipped Lima configuration, `routing/data/lima.yaml`.",
    ),
    Spec(
        name="districts_file",
        default="",
        parse=_file,
        help="An official district boundary file (GeoJSON with UBIGEO codes) to locate "
        "points with. Default: outlines derived from IGN's, shipped with voicebridge.",
    ),
    Spec(
        name="ami_url",
        default="",
        parse=_ami_url,
        help="Asterisk's manager interface, `ami://user:secret@host:5038`. Without it "
        "`serve` originates nothing (calls wait, `/readyz` says so); `make run` starts "
        "the fake Asterisk and points this at it.",
    ),
    Spec(
        name="ami_admin_url",
        default="",
        parse=_ami_url,
        help="The AMI account dialplan trials and switches go through, "
        "`ami://user:secret@host:5038`: UpdateConfig and ShowDialPlan need the `config` "
        "write class, which the calls' account need not have. Default: VOICEBRIDGE_AMI_URL.",
    ),
    Spec(
        name="tetra_pei",
        default="",
        parse=_tetra_pei,
        help="The PEI of the centre's TETRA radio: `serial:///dev/ttyUSB0?baud=115200` or "
        "`tcp://host:port`. Without it radio (SDS) targets are skipped and `/readyz` says "
        "so; `make run` starts the radio simulator and points this at it.",
    ),
    Spec(
        name="twilio_account_sid",
        default="",
        parse=_optional(r"AC[0-9a-f]{32}", "a Twilio account SID: AC and 32 hex digits"),
        help="Twilio account for SMS. Without it (or its token or number) SMS targets are "
        "skipped and `/webhooks/twilio/sms` answers 404; `make run` starts the fake "
        "Twilio and points the `VOICEBRIDGE_TWILIO_*` settings at it.",
    ),
    Spec(
        name="twilio_auth_token",
        default="",
        parse=_optional(r"[0-9A-Za-z]{16,64}", "a Twilio auth token (letters and digits)"),
        help="Twilio auth token: signs the webhooks Twilio sends (`X-Twilio-Signature`) "
        "and authenticates the messages voicebridge sends.",
        secret=True,
    ),
    Spec(
        name="twilio_auth_token_secondary",
        default="",
        parse=_optional(r"[0-9A-Za-z]{16,64}", "a Twilio auth token (letters and digits)"),
        help="A second auth token accepted on webhooks while the first is rotated.",
        secret=True,
    ),
    Spec(
        name="twilio_number",
        default="",
        parse=_optional(r"\+[1-9][0-9]{6,14}", "an E.164 number such as +51987000000"),
        help="The Twilio number SMS are sent from and citizens write to.",
    ),
    Spec(
        name="twilio_api_url",
        default="https://api.twilio.com",
        parse=_required_api_url,
        help="Base URL of Twilio's REST API (the fake Twilio's under `make run`).",
    ),
    Spec(
        name="telegram_token",
        default="",
        parse=_optional(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,64}", "a bot token from @BotFather"),
        help="The Telegram bot's token. Without it Telegram targets are skipped and "
        "`/webhooks/telegram` answers 404; `make run` starts the fake Bot API.",
        secret=True,
    ),
    Spec(
        name="telegram_secret",
        default="",
        parse=_optional(r"[A-Za-z0-9_-]{1,256}", "1 to 256 of A-Z a-z 0-9 _ -"),
        help="The secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` on every "
        "webhook (set with `voicebridge telegram set-webhook`); required in webhook mode.",
        secret=True,
    ),
    Spec(
        name="telegram_api_url",
        default="",
        parse=_api_url,
        help="Another Bot API server (a local `telegram-bot-api`, the fake under "
        "`make run`), e.g. `http://127.0.0.1:8081`. Default: Telegram's.",
    ),
    Spec(
        name="telegram_mode",
        default="webhook",
        parse=_telegram_mode,
        help="`webhook` (Telegram posts updates to `/webhooks/telegram`) or `polling` "
        "(serve asks with getUpdates; for development without a public URL).",
    ),
    Spec(
        name="join_radius",
        default="200",
        parse=_int_between(1, 5000, "metres"),  # routing.dedup.Nearby refuses 0
        help="A citizen's report of the same category this close (metres) to an open "
        "incident joins it as another report.",
    ),
    Spec(
        name="join_window",
        default="30",
        parse=_int_between(1, 1440, "minutes"),
        help="... and this recent (minutes since the incident's last report).",
    ),
    Spec(
        name="ivr_bridge",
        default="incendio,emergencia_medica,asalto,fuga_gas",
        parse=_categories,
        help="The categories whose phone IVR caller stays on the line and is moved into "
        "the incident's conference, where the district operator is called at once "
        "(comma-separated category codes; `none`: no one). The others hear a goodbye.",
    ),
    Spec(
        name="line_check_window",
        default="lun-vie 10:00-12:00",
        parse=_windows,
        help="When the scheduled checks of the responder lines call them (Lima time; "
        "several windows separated by `;`; `off`: never). Each line of the directory "
        "gets a short Spanish test call and must press 1.",
    ),
    Spec(
        name="line_check_rate",
        default="30/1h",
        parse=_limit,
        help="At most this many scheduled line checks across the centre per period "
        "(each line's own rate limits count the checks too).",
    ),
    Spec(
        name="line_check_days",
        default="7",
        parse=_int_between(1, 90, "days"),
        help="A scheduled check calls each line once every this many days.",
    ),
    Spec(
        name="session_hours",
        default="12",
        parse=_int_between(1, 24, "hours"),
        help="A console session ends this long after sign-in, whatever the activity (a shift).",
    ),
    Spec(
        name="session_idle_minutes",
        default="60",
        parse=_int_between(5, 720, "minutes"),
        help="... and after this long without a request from it.",
    ),
    Spec(
        name="console_elapsed",
        default="5,15,30,60",
        parse=_minutes_list,
        help="The console's board colours the time since an incident came in at these "
        "minutes (up to four thresholds, each labelled too).",
    ),
    Spec(
        name="console_rows",
        default="200",
        parse=_int_between(20, 2000, "rows"),
        help="Open incidents the console's board shows at most (most urgent, then newest "
        "first; the rest are counted, and reached with the filters).",
    ),
    Spec(
        name="console_tiles",
        default="",
        parse=_tiles,
        help="The console map's base layer: a tile URL template ({z}/{x}/{y}, {s} for "
        "subdomains), e.g. a tile server inside the centre's network. Without one the map "
        "shows the districts' outlines alone, and loads nothing from outside.",
    ),
    Spec(
        name="console_tiles_attribution",
        default="",
        parse=_attribution,
        help="The credit those tiles require, shown on the map (e.g. © OpenStreetMap).",
    ),
    Spec(
        name="analytics_targets",
        default="processing=60,acknowledgement=60,turnout=80,travel=240",
        parse=_targets,
        help="Response-time targets, in seconds per interval, whose share within the "
        "analytics report (NFPA processes in 60 s, turns out in 80 s, travels in 240 s; "
        "NENA answers 90% of calls in 15 s; the editions disagree, so these are yours).",
    ),
    Spec(
        name="analytics_goal",
        default="90",
        parse=_int_between(1, 100, "percent"),
        help="The share of each interval that should be within its target (90: the "
        "target is met when 90% of the measures are at or under it).",
    ),
    Spec(
        name="photo_max_bytes",
        default="5242880",
        parse=_int_between(1024, 20 * 1024 * 1024, "bytes"),
        help="Largest citizen photo voicebridge fetches from Telegram (on demand).",
    ),
    Spec(
        name="db_pool_size",
        default="5",
        parse=_int_between(1, 100, "connections"),
        help="Database connections per process.",
    ),
)

_BY_NAME = {s.name: s for s in SPECS}
_SECRETS = frozenset(s.name for s in SPECS if s.secret)
_KNOWN_VARIABLES = {s.variable for s in SPECS} | {CONFIG_VARIABLE}


NONE = "(none)"
_SHIPPED = {"routing_file": "data/lima.yaml", "districts_file": "data/districts.json"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Service:
    """The settings a running ``voicebridge run`` published in :data:`RUN_FILE`."""

    pid: int
    path: Path
    values: Mapping[str, tuple[str, str]]  # name or "config" -> (text, where the run got it)

    @property
    def label(self) -> str:
        return f"make run, pid {self.pid}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolved:
    """The settings with where each value came from."""

    settings: Settings
    config: Path | None
    sources: Mapping[str, str]  # variable (VOICEBRIDGE_CONFIG too) -> its source
    service: Service | None

    def lines(self) -> list[str]:
        """``VARIABLE=value  # source`` for each setting, VOICEBRIDGE_CONFIG first."""
        shown = {CONFIG_VARIABLE: str(self.config) if self.config else NONE}
        shown.update(self.settings.shown())
        width = max(len(f"{k}={v}") for k, v in shown.items())
        return [f"{f'{k}={v}':<{width}}  # {self.sources[k]}" for k, v in shown.items()]


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings, or raise :class:`SettingsError` naming what is wrong."""
    return resolve_settings(environ).settings


def resolve_settings(environ: Mapping[str, str], *, service: Service | None = None) -> Resolved:
    """The settings and their sources. Each value comes from the first of: the
    environment, the file named by VOICEBRIDGE_CONFIG, the ``service`` (the settings of a
    running ``voicebridge run``), the defaults."""
    raw: dict[str, tuple[str, str, str]] = {}  # name -> (value, where, source)
    config: Path | None = None
    sources = {CONFIG_VARIABLE: DEFAULT}
    if service is not None:
        for name, (text, origin) in service.values.items():
            if name == "config":
                config, sources[CONFIG_VARIABLE] = Path(text), f"{service.label}: {origin}"
            elif name in _BY_NAME:
                where = f"{_BY_NAME[name].variable} (in {service.path})"
                raw[name] = (text, where, f"{service.label}: {origin}")
    from_service = dict(raw)
    given = environ.get(CONFIG_VARIABLE)
    if given:
        config, sources[CONFIG_VARIABLE] = Path(given).absolute(), ENVIRONMENT
        raw.update(_read_toml(Path(given)))
    for variable, value in environ.items():
        if not variable.startswith(PREFIX) or variable.startswith(IGNORED_PREFIXES):
            continue
        if variable not in _KNOWN_VARIABLES:
            hint = difflib.get_close_matches(variable, sorted(_KNOWN_VARIABLES), n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise SettingsError(f"{variable}: unknown setting{suggestion}")
        if variable != CONFIG_VARIABLE:
            raw[variable.removeprefix(PREFIX).lower()] = (value, variable, ENVIRONMENT)
    values: dict[str, Any] = {}
    for spec in SPECS:
        if spec.name in raw:
            text, where, source = raw[spec.name]
        elif spec.default is not None:
            text, where, source = spec.default, f"{spec.variable} (default)", DEFAULT
        else:
            continue
        try:
            values[spec.name] = spec.parse(text)
        except Invalid as exc:
            raise SettingsError(f"{where}: expected {exc}, got {text!r}") from None
        if (
            service is not None
            and spec.name in from_service
            and raw[spec.name] != (from_service[spec.name])
        ):
            theirs = from_service[spec.name][0]
            if _parsed(spec, theirs) != values[spec.name]:
                used = _redact(_parsed(spec, theirs), secret=spec.secret)
                source += f"; make run uses {_text(used)}"
        sources[spec.variable] = source
    if "public_url" not in values:
        host = values["http_host"]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        values["public_url"] = f"http://{shown}:{values['http_port']}"
        sources[_BY_NAME["public_url"].variable] = f"{DEFAULT}: http://<host>:<port>"
    return Resolved(settings=Settings(**values), config=config, sources=sources, service=service)


def _parsed(spec: Spec, text: str) -> Any:
    try:
        return spec.parse(text)
    except Invalid:
        return text


def publish(path: Path, environ: Mapping[str, str], *, set_by_run: Collection[str]) -> None:
    """Write the settings ``environ`` makes, and where each came from, to ``path`` (only
    the owner may read it: it holds the secrets) for the other commands to read while
    this process runs. ``set_by_run``: the variables ``voicebridge run`` set itself."""
    resolved = resolve_settings(environ)
    texts = resolved.settings.as_environ()
    values: dict[str, tuple[str, str]] = {}
    if resolved.config is not None:
        values["config"] = (str(resolved.config), ENVIRONMENT)
    for spec in SPECS:
        source = resolved.sources[spec.variable]
        values[spec.name] = (
            texts[spec.variable],
            "set by voicebridge run" if spec.variable in set_by_run else source,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        settings = {k: {"value": v, "source": source} for k, (v, source) in values.items()}
        json.dump({"pid": os.getpid(), "settings": settings}, out, indent=1)
    partial.replace(path)


def withdraw(path: Path) -> None:
    """Remove what :func:`publish` wrote in ``path``, if this process wrote it."""
    try:
        service = _read_published(path)
    except SettingsError:
        return
    if service is not None and service.pid == os.getpid():
        path.unlink(missing_ok=True)


def published(path: Path = RUN_FILE) -> Service | None:
    """The settings a ``voicebridge run`` still running published in ``path``; None when
    there are none, or when the process that wrote them is gone."""
    service = _read_published(path)
    if service is None or not _running(service.pid):
        return None
    return service


def _read_published(path: Path) -> Service | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        values = {str(k): (str(v["value"]), str(v["source"])) for k, v in data["settings"].items()}
        return Service(pid=int(data["pid"]), path=path.absolute(), values=values)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise SettingsError(
            f"{path}: not the settings of a voicebridge run ({exc}); remove the file"
        ) from None


def _running(pid: int) -> bool:
    """Whether ``pid`` is a voicebridge process (not another that reused its number)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        return b"voicebridge" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc: the pid alone
    except OSError:
        return True


def _read_toml(path: Path) -> dict[str, tuple[str, str, str]]:
    where = f"{CONFIG_VARIABLE} ({path})"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{where}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{where}: not valid TOML: {exc}") from None
    out: dict[str, tuple[str, str, str]] = {}
    for key, value in data.items():
        if key not in _BY_NAME:
            hint = difflib.get_close_matches(key, sorted(_BY_NAME), n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise SettingsError(f"{where}: unknown setting {key!r}{suggestion}")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | str):
            text = str(value)
        else:
            raise SettingsError(f"{where}: {key} must be a string, integer or boolean")
        out[key] = (text, f"{where} key {key}", f"file {path.absolute()}")
    return out


def _text(value: Any) -> str:
    """A setting's value as its variable would be written (parsed back to the same)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset):
        return ",".join(sorted(value)) or "none"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _redact(value: Any, *, secret: bool = False) -> Any:
    if value is None:
        return ""
    if secret and value:
        return "***"
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    return value
