"""One frozen :class:`Settings`, built from ``VOICEBRIDGE_*`` environment variables and an
optional TOML file named by ``VOICEBRIDGE_CONFIG`` (the environment wins).

Nothing else in voicebridge reads the environment: the CLI passes ``os.environ`` here and
the composition root passes the result on.
"""

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from voicebridge.errors import SettingsError

PREFIX = "VOICEBRIDGE_"
CONFIG_VARIABLE = "VOICEBRIDGE_CONFIG"
# variables of the test suites, not of the service
IGNORED_PREFIXES = ("VOICEBRIDGE_TEST_",)


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

    def redacted(self) -> dict[str, Any]:
        """The settings with passwords in URLs masked, for printing."""
        return {f.name: _redact(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, kw_only=True, slots=True)
class Spec:
    name: str
    default: str | None  # None: derived from other settings
    parse: Callable[[str], Any]
    help: str

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
        name="db_pool_size",
        default="5",
        parse=_int_between(1, 100, "connections"),
        help="Database connections per process.",
    ),
)

_BY_NAME = {s.name: s for s in SPECS}
_KNOWN_VARIABLES = {s.variable for s in SPECS} | {CONFIG_VARIABLE}


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings, or raise :class:`SettingsError` naming what is wrong."""
    raw: dict[str, tuple[str, str]] = {}  # name -> (value, where it came from)
    config = environ.get(CONFIG_VARIABLE)
    if config:
        raw.update(_read_toml(Path(config)))
    for variable, value in environ.items():
        if not variable.startswith(PREFIX) or variable.startswith(IGNORED_PREFIXES):
            continue
        if variable not in _KNOWN_VARIABLES:
            hint = difflib.get_close_matches(variable, sorted(_KNOWN_VARIABLES), n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise SettingsError(f"{variable}: unknown setting{suggestion}")
        if variable != CONFIG_VARIABLE:
            raw[variable.removeprefix(PREFIX).lower()] = (value, variable)
    values: dict[str, Any] = {}
    for spec in SPECS:
        if spec.name in raw:
            text, where = raw[spec.name]
        elif spec.default is not None:
            text, where = spec.default, f"{spec.variable} (default)"
        else:
            continue
        try:
            values[spec.name] = spec.parse(text)
        except Invalid as exc:
            raise SettingsError(f"{where}: expected {exc}, got {text!r}") from None
    if "public_url" not in values:
        host = values["http_host"]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        values["public_url"] = f"http://{shown}:{values['http_port']}"
    return Settings(**values)


def _read_toml(path: Path) -> dict[str, tuple[str, str]]:
    where = f"{CONFIG_VARIABLE} ({path})"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{where}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{where}: not valid TOML: {exc}") from None
    out: dict[str, tuple[str, str]] = {}
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
        out[key] = (text, f"{where} key {key}")
    return out


def _redact(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    return value
