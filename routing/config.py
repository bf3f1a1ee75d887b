"""The routing configuration: the EPR directory, the rules and the escalation policies.

A YAML file (``VOICEBRIDGE_ROUTING_FILE``; the Lima defaults ship in
``routing/data/lima.yaml``) is read by :func:`parse_config` into a frozen
:class:`RoutingConfig`, or refused with a :class:`ConfigError` listing every problem
with its file, line and field::

    lima.yaml:214: agencies[3].stations[0].targets[1]: phone: se esperaba de 3 a 15 dígitos…

The diagnostics are Spanish, for the centre's admins who write the file (pydantic's
texts are translated by :mod:`routing.spanish`); the file's keys and codes are
spelt as they are written.

The file has these sections: ``version`` (1), ``centre`` (how numbers and talkgroups
are dialled, the TETRA network its radios and talkgroups are in, and the supervisors'
line: every escalation's last resort), ``rate_limits`` (per kind of destination),
``policies`` (escalation), ``status_plans`` (what the status numbers of an agency's
radios mean), ``centrals`` (each district's operator), ``agencies`` (with their
stations, the districts each covers and their targets) and ``rules`` (category x
district -> agencies). See the Lima defaults for a complete example.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic import field_validator as validator

from routing import spanish
from routing.categories import CATEGORIES, find_category
from routing.configfile import (
    TOP,
    FileProblems,
    Path_,
    Problem,
    field_name,
    load_yaml,
    read_file,
)
from routing.districts import DISTRICTS, find_district
from routing.errors import RoutingError
from routing.models import (
    Agency,
    AgencyKind,
    Policy,
    Priority,
    RadioStatus,
    Station,
    StatusMeaning,
    StatusPlan,
    Target,
    TargetKind,
)
from routing.ratelimits import Limit, parse_limit
from routing.schedule import parse_window

# the defaults of `rate_limits` (GoAlert's voice buckets for phone lines)
DEFAULT_LIMITS: Mapping[TargetKind, tuple[str, ...]] = {
    TargetKind.PHONE: ("3/15m", "7/1h"),
    TargetKind.SMS: ("5/15m", "20/1h"),
    TargetKind.TELEGRAM: ("20/1m",),
    TargetKind.RADIO: ("10/1m",),
    TargetKind.TALKGROUP: (),
}

_CODE = r"^[a-z0-9][a-z0-9-]{0,59}$"
_FORMATS: Mapping[TargetKind, tuple[re.Pattern[str], str]] = {
    TargetKind.PHONE: (re.compile(r"^\d{3,15}$"), "de 3 a 15 dígitos, tal como se marcan"),
    TargetKind.TALKGROUP: (
        re.compile(r"^(\d{1,8}|\d{15}|\d{17})$"),
        "un GSSI (hasta 8 dígitos) o un TSI (15 dígitos: MCC 3, MNC 4, SSI 8; o 17: 4, 5, 8)",
    ),
    TargetKind.RADIO: (
        re.compile(r"^(\d{1,8}|\d{15}|\d{17})$"),
        "un ISSI (hasta 8 dígitos) o un TSI (15 dígitos: MCC 3, MNC 4, SSI 8; o 17: 4, 5, 8)",
    ),
    TargetKind.SMS: (re.compile(r"^\+[1-9]\d{7,14}$"), "un número E.164, como +51987654321"),
    TargetKind.TELEGRAM: (
        re.compile(r"^(-?\d{5,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$"),
        "el id de un chat (dígitos, con «-» delante si es un grupo) o un @canal",
    ),
}
_DTMF = re.compile(r"^[0-9*#wW]{1,32}$")
_DIAL_SAFE = r"[A-Za-z0-9/@._:+-]*"
MAX_SSI = 0xFFFFFF  # a TETRA short subscriber identity is 24 bits
PERU_MCC = 716
USER_STATUSES = range(0x8000, 0x10000)  # the network's own status numbers
INBOUND_PATTERN = r"^[0-9]{3,15}$"
"""A number citizens call, as the trunk passes it to the IVR (the dialled extension):
digits only, so it is an extension of its own in the rendered ``vb-citizen``."""


class ConfigError(RoutingError):
    """The routing configuration is not valid; ``problems`` says where and why."""

    code = "invalid_routing"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{p.where(self.source)}: {p.message}" for p in self.problems]


# ------------------------------------------------------------------ the domain


@dataclass(frozen=True, kw_only=True, slots=True)
class TetraNetwork:
    """The TETRA network the centre's radios and talkgroups are in: an SSI written alone
    (up to 8 digits) is in it."""

    mcc: int = PERU_MCC
    mnc: int = 1
    ptt: str = "talk"  # who keys a talkgroup patched into a room: talk, dtmf, vox, none


def tetra_parts(address: str, network: TetraNetwork) -> tuple[int, int, int]:
    """(MCC, MNC, SSI) of a radio or talkgroup as the routing file writes it: an SSI
    alone (in ``network``), a 15-digit TSI (MCC 3, MNC 4, SSI 8) or a 17-digit one."""
    if len(address) <= 8:
        return network.mcc, network.mnc, int(address)
    if len(address) == 15:
        return int(address[:3]), int(address[3:7]), int(address[7:])
    return int(address[:4]), int(address[4:9]), int(address[9:])


@dataclass(frozen=True, kw_only=True, slots=True)
class Centre:
    name: str
    dial: str  # "PJSIP/{number}@epr-trunk"
    tetra_gateway: str  # "PJSIP/{gssi}@tetra-gw"
    tetra: TetraNetwork = field(default_factory=TetraNetwork)
    supervisor: tuple[Target, ...]
    operator: Target | None = None  # for districts without a central of their own
    inbound: tuple[str, ...] = ()  # numbers citizens call that serve every district


@dataclass(frozen=True, kw_only=True, slots=True)
class Central:
    """A district's emergency central: its operator is conferenced with the agencies."""

    district: str
    name: str
    operator: Target
    inbound: tuple[str, ...] = ()  # the numbers citizens call to reach it


@dataclass(frozen=True, kw_only=True, slots=True)
class Response:
    """One line of a rule: an agency (by code) or every agency of a kind."""

    agency: str | None
    kind: AgencyKind | None
    priority: int
    policy: str | None = None  # overrides the agency's policy for this rule

    def describe(self) -> str:
        return self.agency or f"tipo {self.kind}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    name: str
    categories: frozenset[str] | None  # None: any
    districts: frozenset[str] | None  # None: all
    priorities: frozenset[Priority] | None  # None: any
    respond: tuple[Response, ...]
    line: int | None = None
    order: int = 0

    def matches(self, category: str, district: str | None, priority: Priority) -> bool:
        return (
            (self.categories is None or category in self.categories)
            and (self.districts is None or district in self.districts)
            and (self.priorities is None or priority in self.priorities)
        )

    @property
    def specificity(self) -> tuple[int, int, int]:
        """A rule for given districts beats one for all districts; then one for given
        categories beats a catch-all; then one for given priorities."""
        return (
            self.districts is not None,
            self.categories is not None,
            self.priorities is not None,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RoutingConfig:
    centre: Centre
    policies: Mapping[str, Policy]
    agencies: Mapping[str, Agency]  # in file order
    rules: tuple[Rule, ...]
    rate_limits: Mapping[TargetKind, tuple[Limit, ...]] = field(default_factory=dict)
    centrals: Mapping[str, Central] = field(default_factory=dict)  # by UBIGEO
    status_plans: Mapping[str, StatusPlan] = field(default_factory=dict)

    def status_plan_of(self, agency: str) -> StatusPlan | None:
        """What the status numbers of ``agency``'s radios mean (None: no plan)."""
        found = self.agencies.get(agency)
        if found is None or found.status_plan is None:
            return None
        return self.status_plans.get(found.status_plan)

    def citizen_lines(self) -> dict[str, str | None]:
        """The numbers citizens call (as the trunk passes them to the IVR), each with
        the district it serves (UBIGEO), or None for a number that serves several (the
        centre's, or one listed by more than one central): the caller then keys in the
        district's code."""
        lines: dict[str, str | None] = dict.fromkeys(self.centre.inbound)
        for central in self.centrals.values():
            for number in central.inbound:
                lines[number] = central.district if number not in lines else None
        return lines

    def operator_of(self, district: str) -> tuple[str, Target] | None:
        """``(who, line)`` of the operator a dispatch in ``district`` conferences."""
        central = self.centrals.get(district)
        if central is not None:
            return central.name, central.operator
        if self.centre.operator is not None:
            return self.centre.name, self.centre.operator
        return None

    def station(self, code: str) -> Station:
        for agency in self.agencies.values():
            for station in agency.stations:
                if station.code == code:
                    return station
        raise KeyError(code)

    def agencies_of_kind(self, kind: AgencyKind) -> list[Agency]:
        return [a for a in self.agencies.values() if a.kind is kind]


# ------------------------------------------------------------- the file schema


def _code(value: str) -> str:
    if not re.match(_CODE, value):
        raise ValueError("solo minúsculas, dígitos y «-», p. ej. pnp-miraflores")
    return value


Code = Annotated[str, Field(max_length=60), AfterValidator(_code)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class TargetIn(_Strict):
    phone: str | None = None
    talkgroup: str | None = None
    radio: str | None = None
    sms: str | None = None
    telegram: str | None = None
    label: str = Field(default="", max_length=120)
    dial: str | None = None  # this line's own dial string template (phone, talkgroup)
    dtmf: str | None = None
    hours: list[str] = []
    rate_limit: list[str] | Literal["none"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "TargetIn":
        given = [k for k in TargetKind if getattr(self, k.value) is not None]
        if len(given) != 1:
            got = f" (hay {_listed([f'«{k.value}»' for k in given])})" if given else ""
            raise ValueError(
                f"indique uno solo de «phone», «talkgroup», «radio», «sms» o «telegram»{got}"
            )
        kind = given[0]
        pattern, expected = _FORMATS[kind]
        if not pattern.match(str(getattr(self, kind.value))):
            raise ValueError(
                f"«{kind.value}»: se esperaba {expected}; se recibió {getattr(self, kind.value)!r}"
            )
        if kind is TargetKind.PHONE and str(self.phone).startswith("00"):
            # the trunk dials numbers in Peru: 00 (the international prefix) is not ours
            raise ValueError(
                "«phone»: un número del extranjero (con «00» delante) no se marca: solo "
                "números del Perú, tal como se marcan aquí"
            )
        if self.dtmf is not None and (kind is not TargetKind.PHONE or not _DTMF.match(self.dtmf)):
            raise ValueError(
                "«dtmf»: solo en líneas «phone», con los dígitos 0-9, * # y w (una pausa)"
            )
        if self.dial is not None:
            if kind not in (TargetKind.PHONE, TargetKind.TALKGROUP):
                raise ValueError("«dial»: solo en líneas «phone» y en «talkgroup»")
            _template(self.dial, "number" if kind is TargetKind.PHONE else "gssi")
        return self

    @validator("hours")
    @classmethod
    def _hours(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_window(text)
        return value

    @validator("rate_limit")
    @classmethod
    def _limits(cls, value: list[str] | str | None) -> list[str] | str | None:
        if isinstance(value, list):
            for text in value:
                parse_limit(text)
        return value

    @property
    def kind(self) -> TargetKind:
        return next(k for k in TargetKind if getattr(self, k.value) is not None)


class StationIn(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=160)
    districts: list[str] | Literal["all"]
    targets: list[TargetIn] = Field(min_length=1)
    fallback: Code | None = None


class AgencyIn(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=160)
    kind: AgencyKind
    policy: str = "standard"
    status_plan: str | None = None
    stations: list[StationIn] = Field(min_length=1)


class StatusIn(_Strict):
    means: StatusMeaning
    label: str = Field(min_length=1, max_length=40)


class TetraIn(_Strict):
    mcc: int = Field(default=PERU_MCC, ge=0, le=1023)
    mnc: int = Field(ge=0, le=16383)
    # who keys a talkgroup patched into a room: voicebridge following who talks there
    # (the radio's PEI), a DTMF to the gateway, the gateway's own VOX, or nobody
    ptt: Literal["talk", "dtmf", "vox", "none"] = "talk"


class PolicyIn(_Strict):
    ring_seconds: int = Field(default=30, ge=5, le=180)
    attempts_per_target: int = Field(default=2, ge=1, le=10)
    retry_after: list[Annotated[int, Field(ge=0, le=3600)]] = Field(default=[60], min_length=1)


class ResponseIn(_Strict):
    agency: Code | None = None
    kind: AgencyKind | None = None
    priority: int | None = Field(default=None, ge=1, le=9)
    policy: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "ResponseIn":
        if (self.agency is None) == (self.kind is None):
            raise ValueError("indique «agency» (un código) o «kind», uno de los dos")
        return self


class RuleIn(_Strict):
    name: str = Field(min_length=1, max_length=80)
    categories: list[str] = Field(min_length=1)
    districts: list[str] | None = None
    priorities: list[Priority] | None = None
    respond: list[ResponseIn] = Field(min_length=1)


class CentreIn(_Strict):
    name: str = Field(min_length=1, max_length=160)
    dial: str
    tetra_gateway: str
    tetra: TetraIn | None = None  # the MCC (Peru's 716) and MNC of the radio network
    supervisor: list[TargetIn] = Field(min_length=1)
    operator: TargetIn | None = None  # the operator line of districts without a central
    inbound: list[Annotated[str, Field(pattern=INBOUND_PATTERN)]] = []

    @validator("dial")
    @classmethod
    def _dial(cls, value: str) -> str:
        return _template(value, "number")

    @validator("tetra_gateway")
    @classmethod
    def _gateway(cls, value: str) -> str:
        return _template(value, "gssi")


class CentralIn(_Strict):
    district: str
    name: str = Field(min_length=1, max_length=160)
    operator: TargetIn
    inbound: list[Annotated[str, Field(pattern=INBOUND_PATTERN)]] = []


def _template(value: str, name: str) -> str:
    if not re.fullmatch(_DIAL_SAFE + r"\{" + name + r"\}" + _DIAL_SAFE, value):
        raise ValueError(
            f"una cadena de marcado con {{{name}}} una sola vez y solo letras, dígitos y "
            f"/ @ . _ : + -, p. ej. 'PJSIP/{{{name}}}@trunk'"
        )
    return value


class ConfigIn(_Strict):
    version: Literal["1"]
    centre: CentreIn
    rate_limits: dict[TargetKind, list[str] | Literal["none"]] = {}
    policies: dict[str, PolicyIn] = Field(min_length=1)
    status_plans: dict[str, dict[int, StatusIn]] = {}
    centrals: list[CentralIn] = []
    agencies: list[AgencyIn] = Field(min_length=1)
    rules: list[RuleIn] = Field(min_length=1)

    @validator("rate_limits")
    @classmethod
    def _limits(cls, value: dict[TargetKind, list[str] | str]) -> dict[TargetKind, list[str] | str]:
        for texts in value.values():
            if isinstance(texts, list):
                for text in texts:
                    parse_limit(text)
        return value


# ----------------------------------------------------------------- parsing


def read_config_file(path: Path) -> str:
    """The text of the routing file at ``path``, or :class:`ConfigError` when it cannot
    be read, is not UTF-8 or is larger than a routing file may be."""
    try:
        return read_file(path)
    except FileProblems as exc:
        raise ConfigError(str(path), exc.problems) from None


def parse_config(text: str, source: str = "routing.yaml") -> RoutingConfig:
    """The configuration in ``text`` (YAML), or :class:`ConfigError`."""
    try:
        data, lines = load_yaml(text)
    except FileProblems as exc:
        raise ConfigError(source, exc.problems) from None
    if data is not None and not isinstance(data, dict):
        what = "una lista" if isinstance(data, list) else "un solo valor"
        message = (
            f"el archivo debe ser un mapeo YAML de secciones («version», «centre», "
            f"«agencies»…), no {what}"
        )
        raise ConfigError(source, [Problem(line=lines.get(()), field=TOP, message=message)])
    try:
        raw = ConfigIn.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems: list[Problem] = []
        for e in exc.errors():
            path = _path(e["loc"])
            problem = Problem(line=_line(lines, path), field=field_name(path), message=_message(e))
            last = problems[-1] if problems else None
            if last is not None and path != tuple(e["loc"]) and last.field == problem.field:
                # the members of a union, one refusal each: one problem, "a o b"
                extra = problem.message.removeprefix("debe ser ")
                problem = replace(problem, message=f"{last.message} o {extra}")
                problems[-1] = problem
            else:
                problems.append(problem)
        raise ConfigError(source, problems) from None
    return _Builder(raw, lines, source).build()


def _line(lines: Mapping[Path_, int], path: Path_) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


# a YAML mapping is not the JSON object of routing.spanish's own text
_YAML_TEXTS: dict[str, str] = dict.fromkeys(
    ("dict_type", "model_type", "model_attributes_type", "mapping_type"),
    "debe ser un mapeo YAML (clave: valor)",
)
# the parts of pydantic's ``loc`` that name a member of a union, not a field
_UNION_MEMBER = re.compile(r"^(list|dict|literal|function-\w+)\[.*\]$|^(str|int|none)$")


def _message(error: Any) -> str:
    return spanish.message(error, _YAML_TEXTS)


def _path(loc: Sequence[int | str]) -> Path_:
    """pydantic's ``loc`` without the union members it names (``districts.list[str]``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and _UNION_MEMBER.match(p)))


def _listed(items: Sequence[str]) -> str:
    """``a, b y c``."""
    return f"{', '.join(items[:-1])} y {items[-1]}" if len(items) > 1 else "".join(items)


class _Builder:
    """From the validated file to the domain, checking what spans several sections."""

    def __init__(self, raw: ConfigIn, lines: Mapping[Path_, int], source: str) -> None:
        self.raw = raw
        self.lines = lines
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, path: Path_, message: str) -> None:
        self.problems.append(
            Problem(line=_line(self.lines, path), field=field_name(path), message=message)
        )

    def build(self) -> RoutingConfig:
        raw = self.raw
        limits = {
            kind: tuple(parse_limit(t) for t in defaults)
            for kind, defaults in DEFAULT_LIMITS.items()
        }
        for kind, texts in raw.rate_limits.items():
            limits[kind] = () if texts == "none" else tuple(parse_limit(t) for t in texts)
        self.limits = limits
        network = (
            TetraNetwork()
            if raw.centre.tetra is None
            else TetraNetwork(
                mcc=raw.centre.tetra.mcc, mnc=raw.centre.tetra.mnc, ptt=raw.centre.tetra.ptt
            )
        )
        centre = Centre(
            name=raw.centre.name,
            dial=raw.centre.dial,
            tetra_gateway=raw.centre.tetra_gateway,
            tetra=network,
            supervisor=tuple(
                self.target(t, f"centre/supervisor/{n}", raw.centre.dial, raw.centre.tetra_gateway)
                for n, t in enumerate(raw.centre.supervisor, 1)
            ),
            operator=None
            if raw.centre.operator is None
            else self.operator(raw.centre.operator, "centre/operator", ("centre", "operator")),
            inbound=tuple(dict.fromkeys(raw.centre.inbound)),
        )
        centrals: dict[str, Central] = {}
        for n, raw_central in enumerate(raw.centrals):
            path: Path_ = ("centrals", n)
            found = find_district(raw_central.district)
            if found is None:
                self.problem(
                    (*path, "district"),
                    f"{raw_central.district!r} no es un distrito de Lima Metropolitana",
                )
                continue
            if found.ubigeo in centrals:
                self.problem((*path, "district"), f"{found.name} tiene dos centrales")
            centrals[found.ubigeo] = Central(
                district=found.ubigeo,
                name=raw_central.name,
                operator=self.operator(
                    raw_central.operator, f"central/{found.ubigeo}", (*path, "operator")
                ),
                inbound=tuple(dict.fromkeys(raw_central.inbound)),
            )
        if centre.operator is None:
            missing = [d.name for d in DISTRICTS if d.ubigeo not in centrals]
            if missing:
                self.problem(
                    ("centrals",),
                    "no hay central (ni «centre.operator») para "
                    f"{', '.join(missing[:6])}" + (" …" if len(missing) > 6 else ""),
                )
        policies = {
            name: Policy(
                name=name,
                ring_seconds=p.ring_seconds,
                attempts_per_target=p.attempts_per_target,
                retry_after=tuple(p.retry_after),
            )
            for name, p in raw.policies.items()
        }
        status_plans = self.status_plans()
        agencies = self.agencies(centre, policies)
        for a, raw_agency in enumerate(raw.agencies):
            plan = raw_agency.status_plan
            if plan is not None and plan not in status_plans:
                self.problem(
                    ("agencies", a, "status_plan"), f"no hay ningún plan de estados {plan!r}"
                )
        self.tetra_identities(network)
        rules = self.rules(agencies, policies)
        if self.problems:
            raise ConfigError(self.source, self.problems)
        config = RoutingConfig(
            centre=centre,
            policies=policies,
            agencies=agencies,
            rules=rules,
            rate_limits=limits,
            centrals=centrals,
            status_plans=status_plans,
        )
        self.coverage(config)
        if self.problems:
            raise ConfigError(self.source, self.problems)
        return config

    def status_plans(self) -> dict[str, StatusPlan]:
        plans: dict[str, StatusPlan] = {}
        for name, raw in self.raw.status_plans.items():
            statuses: dict[int, RadioStatus] = {}
            bad = [code for code in raw if code not in USER_STATUSES]
            for code in bad:
                self.problem(
                    ("status_plans", name, code),
                    f"el estado {code} no es de la red: se usan los de 32768 a 65535",
                )
            for code, status in raw.items():
                statuses[code] = RadioStatus(code=code, means=status.means, label=status.label)
            plan = StatusPlan(name=name, statuses=statuses)
            if not bad and plan.reply is None:
                self.problem(
                    ("status_plans", name),
                    "ningún estado significa «received»: la radio no tendría cómo confirmar",
                )
            plans[name] = plan
        return plans

    def tetra_identities(self, network: TetraNetwork) -> None:
        """Every radio and talkgroup is a TETRA identity of the centre's network, which
        the file names when it has radios (an MNC guessed would lose every answer)."""
        found: list[tuple[Path_, TargetIn]] = []
        centre = self.raw.centre
        found += [(("centre", "supervisor", n), t) for n, t in enumerate(centre.supervisor)]
        if centre.operator is not None:
            found.append((("centre", "operator"), centre.operator))
        found += [
            (("centrals", n, "operator"), c.operator) for n, c in enumerate(self.raw.centrals)
        ]
        for a, agency in enumerate(self.raw.agencies):
            for s, station in enumerate(agency.stations):
                found += [
                    (("agencies", a, "stations", s, "targets", n), t)
                    for n, t in enumerate(station.targets)
                ]
        radios = [path for path, raw in found if raw.kind is TargetKind.RADIO]
        if radios and self.raw.centre.tetra is None:
            self.problem(
                ("centre", "tetra"),
                "hay radios (p. ej. en "
                f"{field_name(radios[0])}): indique la red TETRA, p. ej. «tetra: {{mcc: 716, "
                "mnc: 1}»",
            )
        for path, raw in found:
            if raw.kind not in (TargetKind.RADIO, TargetKind.TALKGROUP):
                continue
            address = str(getattr(raw, raw.kind.value))
            mcc, mnc, ssi = tetra_parts(address, network)
            where = (*path, raw.kind.value)
            if not 1 <= ssi <= MAX_SSI:
                self.problem(where, f"el SSI {ssi} no es de 1 a {MAX_SSI} (24 bits)")
            elif (mcc, mnc) != (network.mcc, network.mnc):
                self.problem(
                    where,
                    f"{address} es de otra red (MCC {mcc}, MNC {mnc}); la de la central es "
                    f"MCC {network.mcc}, MNC {network.mnc}",
                )

    def target(self, raw: TargetIn, target_id: str, dial: str, gateway: str) -> Target:
        kind = raw.kind
        address = str(getattr(raw, kind.value))
        if raw.rate_limit is None:
            limits = self.limits[kind]
        elif raw.rate_limit == "none":
            limits = ()
        else:
            limits = tuple(parse_limit(t) for t in raw.rate_limit)
        dial_string = None
        if kind is TargetKind.PHONE:
            dial_string = (raw.dial or dial).replace("{number}", address)
        elif kind is TargetKind.TALKGROUP:
            dial_string = (raw.dial or gateway).replace("{gssi}", address)
        return Target(
            id=target_id,
            kind=kind,
            address=address,
            label=raw.label,
            dial=dial_string,
            dtmf=raw.dtmf,
            hours=tuple(parse_window(h) for h in raw.hours),
            limits=limits,
        )

    def operator(self, raw: TargetIn, target_id: str, path: Path_) -> Target:
        """An operator's line: a phone (or a talkgroup), never held back by a limit."""
        target = self.target(raw, target_id, self.raw.centre.dial, self.raw.centre.tetra_gateway)
        if target.kind not in (TargetKind.PHONE, TargetKind.TALKGROUP):
            self.problem(path, "al operador se le llama por «phone» o por «talkgroup»")
        return replace(target, limits=())

    def districts(self, values: Sequence[str], path: Path_) -> frozenset[str]:
        codes: set[str] = set()
        for n, value in enumerate(values):
            found = find_district(value)
            if found is None:
                self.problem((*path, n), f"{value!r} no es un distrito de Lima Metropolitana")
            else:
                codes.add(found.ubigeo)
        return frozenset(codes)

    def agencies(self, centre: Centre, policies: Mapping[str, Policy]) -> dict[str, Agency]:
        agencies: dict[str, Agency] = {}
        station_paths: dict[str, Path_] = {}
        for a, raw in enumerate(self.raw.agencies):
            path: Path_ = ("agencies", a)
            if raw.code in agencies:
                self.problem((*path, "code"), f"la entidad {raw.code!r} está definida dos veces")
            if raw.policy not in policies:
                self.problem((*path, "policy"), f"no hay ninguna política {raw.policy!r}")
            stations = []
            for s, st in enumerate(raw.stations):
                spath: Path_ = (*path, "stations", s)
                if st.code in station_paths:
                    self.problem((*spath, "code"), f"la sede {st.code!r} está definida dos veces")
                station_paths[st.code] = spath
                stations.append(
                    Station(
                        code=st.code,
                        name=st.name,
                        districts=None
                        if st.districts == "all"
                        else self.districts(st.districts, (*spath, "districts")),
                        targets=tuple(
                            self.target(t, f"{st.code}/{n}", centre.dial, centre.tetra_gateway)
                            for n, t in enumerate(st.targets, 1)
                        ),
                        fallback=st.fallback,
                    )
                )
            agencies[raw.code] = Agency(
                code=raw.code,
                name=raw.name,
                kind=raw.kind,
                policy=raw.policy,
                stations=tuple(stations),
                status_plan=raw.status_plan,
            )
        for agency in agencies.values():
            codes = {s.code for s in agency.stations}
            for station in agency.stations:
                if station.fallback is None:
                    continue
                fpath = (*station_paths[station.code], "fallback")
                if station.fallback not in codes:
                    self.problem(
                        fpath,
                        f"la entidad {agency.code} no tiene ninguna sede {station.fallback!r}",
                    )
                elif _cycle(agency, station.code):
                    self.problem(
                        fpath, f"los respaldos (fallback) desde {station.code!r} forman un círculo"
                    )
        return agencies

    def rules(
        self, agencies: Mapping[str, Agency], policies: Mapping[str, Policy]
    ) -> tuple[Rule, ...]:
        rules = []
        names: set[str] = set()
        for r, raw in enumerate(self.raw.rules):
            path: Path_ = ("rules", r)
            if raw.name in names:
                self.problem((*path, "name"), f"la regla {raw.name!r} está definida dos veces")
            names.add(raw.name)
            categories: set[str] | None = set()
            if "*" in raw.categories:
                categories = None
            else:
                for c, text in enumerate(raw.categories):
                    found = find_category(text)
                    if found is None:
                        self.problem((*path, "categories", c), f"{text!r} no es una categoría")
                    else:
                        categories.add(found.code)  # type: ignore[union-attr]
            respond = []
            for n, resp in enumerate(raw.respond):
                rpath = (*path, "respond", n)
                if resp.agency is not None and resp.agency not in agencies:
                    self.problem((*rpath, "agency"), f"no hay ninguna entidad {resp.agency!r}")
                if resp.kind is not None and not any(
                    a.kind is resp.kind for a in agencies.values()
                ):
                    self.problem(
                        (*rpath, "kind"), f"no hay ninguna entidad de tipo {resp.kind.value}"
                    )
                if resp.policy is not None and resp.policy not in policies:
                    self.problem((*rpath, "policy"), f"no hay ninguna política {resp.policy!r}")
                respond.append(
                    Response(
                        agency=resp.agency,
                        kind=resp.kind,
                        priority=resp.priority or n + 1,
                        policy=resp.policy,
                    )
                )
            rules.append(
                Rule(
                    name=raw.name,
                    categories=None if categories is None else frozenset(categories),
                    districts=None
                    if raw.districts is None
                    else self.districts(raw.districts, (*path, "districts")),
                    priorities=None if raw.priorities is None else frozenset(raw.priorities),
                    respond=tuple(respond),
                    line=_line(self.lines, path),
                    order=r,
                )
            )
        return tuple(rules)

    def coverage(self, config: RoutingConfig) -> None:
        """Every category has a rule in every district, and every agency a rule names
        has a station there: a dispatch never finds nobody to call."""
        unfiltered = [r for r in config.rules if r.priorities is None]  # they match any priority
        for category in CATEGORIES:
            missing = [
                d
                for d in DISTRICTS
                if not any(r.matches(category.code, d.ubigeo, Priority.MEDIUM) for r in unfiltered)
            ]
            if len(missing) == len(DISTRICTS):
                self.problem(
                    ("rules",),
                    f"ninguna regla cubre la categoría {category.code} (en toda prioridad); "
                    "agregue una, o una regla general con «categories: ['*']»",
                )
            elif missing:
                shown = ", ".join(f"{d.name} ({d.ubigeo})" for d in missing[:6])
                more = f" y {len(missing) - 6} más" if len(missing) > 6 else ""
                self.problem(
                    ("rules",),
                    f"ninguna regla cubre la categoría {category.code} (en toda prioridad) en "
                    f"{shown}{more}",
                )
        for r, rule in enumerate(config.rules):
            districts = (
                rule.districts if rule.districts is not None else {d.ubigeo for d in DISTRICTS}
            )
            for n, resp in enumerate(rule.respond):
                uncovered = sorted(d for d in districts if not _stations(config, resp, d))
                if uncovered:
                    shown = ", ".join(uncovered[:6]) + (" …" if len(uncovered) > 6 else "")
                    self.problem(
                        ("rules", r, "respond", n),
                        f"{resp.describe()} no tiene ninguna sede que atienda {shown}",
                    )


def _stations(config: RoutingConfig, resp: Response, district: str) -> list[Station]:
    agencies = (
        [config.agencies[resp.agency]]
        if resp.agency is not None and resp.agency in config.agencies
        else config.agencies_of_kind(resp.kind)
        if resp.kind is not None
        else []
    )
    return [s for a in agencies for s in a.stations if s.covers(district)]


def _cycle(agency: Agency, start: str) -> bool:
    by_code = {s.code: s for s in agency.stations}
    seen = {start}
    code = by_code[start].fallback
    while code is not None and code in by_code:
        if code in seen:
            return True
        seen.add(code)
        code = by_code[code].fallback
    return False
