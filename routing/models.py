"""The domain's values: frozen, keyword-only dataclasses and string enums.

Identifiers are English; every label a person reads is Spanish (es-PE).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from routing.events import EventKind, Payload, payload_of
from routing.ratelimits import Limit
from routing.schedule import Window


class Status(StrEnum):
    """The lifecycle of an incident (see :mod:`routing.lifecycle` for the transitions)."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    RINGING = "ringing"
    ACKNOWLEDGED = "acknowledged"
    BRIDGED = "bridged"
    RESOLVED = "resolved"
    UNANSWERED = "unanswered"
    CANCELLED = "cancelled"
    MERGED = "merged"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    Status.RECEIVED: "recibido",
    Status.DISPATCHED: "despachado",
    Status.RINGING: "llamando",
    Status.ACKNOWLEDGED: "confirmado",
    Status.BRIDGED: "en conferencia",
    Status.RESOLVED: "resuelto",
    Status.UNANSWERED: "sin respuesta",
    Status.CANCELLED: "cancelado",
    Status.MERGED: "fusionado",
}


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def label(self) -> str:
        return _PRIORITY_LABELS[self]


_PRIORITY_LABELS = {
    Priority.CRITICAL: "crítica",
    Priority.HIGH: "alta",
    Priority.MEDIUM: "media",
    Priority.LOW: "baja",
}


class Source(StrEnum):
    """The channel through which a report reached voicebridge."""

    PHONE = "phone"
    TELEGRAM = "telegram"
    SMS = "sms"
    CONSOLE = "console"
    API = "api"

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self]


_SOURCE_LABELS = {
    Source.PHONE: "teléfono",
    Source.TELEGRAM: "Telegram",
    Source.SMS: "SMS",
    Source.CONSOLE: "la consola",
    Source.API: "la API",
}


class AgencyKind(StrEnum):
    """The kinds of first-response entity (EPR) a category calls for."""

    POLICE = "police"  # Policía Nacional del Perú, comisarías
    FIRE = "fire"  # Cuerpo General de Bomberos Voluntarios del Perú (CGBVP)
    MEDICAL = "medical"  # SAMU, pre-hospital care
    HEALTH = "health"  # hospitals and clinics: MINSA, EsSalud, SISOL
    TRANSIT = "transit"  # ATU, traffic lights, transport
    ELECTRICITY = "electricity"  # Luz del Sur, Enel
    WATER = "water"  # Sedapal
    GAS = "gas"  # Cálidda
    MUNICIPAL = "municipal"  # Serenazgo and municipal works of the district
    CIVIL_DEFENSE = "civil_defense"  # Defensa Civil / INDECI

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    AgencyKind.POLICE: "policía",
    AgencyKind.FIRE: "bomberos",
    AgencyKind.MEDICAL: "atención prehospitalaria",
    AgencyKind.HEALTH: "establecimiento de salud",
    AgencyKind.TRANSIT: "tránsito y transporte",
    AgencyKind.ELECTRICITY: "energía eléctrica",
    AgencyKind.WATER: "agua y alcantarillado",
    AgencyKind.GAS: "gas natural",
    AgencyKind.MUNICIPAL: "serenazgo y municipalidad",
    AgencyKind.CIVIL_DEFENSE: "defensa civil",
}


class Medium(StrEnum):
    """How a contact reaches a person: each medium has its adapter, which places the
    contacts of its medium and reports what became of them."""

    VOICE = "voice"  # a phone call: into the acknowledgement prompt or into the room
    TALKGROUP = "talkgroup"  # a radio talkgroup patched into the incident's room
    SMS = "sms"
    TELEGRAM = "telegram"
    SDS = "sds"  # a text alert to a TETRA radio

    @property
    def label(self) -> str:
        return _MEDIUM_LABELS[self]


_MEDIUM_LABELS = {
    Medium.VOICE: "telefonía",
    Medium.TALKGROUP: "grupos de radio",
    Medium.SMS: "SMS",
    Medium.TELEGRAM: "Telegram",
    Medium.SDS: "mensajes de radio (SDS)",
}


class TargetKind(StrEnum):
    """How an agency is reached."""

    PHONE = "phone"  # a phone line (its dial string)
    TALKGROUP = "talkgroup"  # a TETRA group (GSSI) patched through the radio gateway
    RADIO = "radio"  # a TETRA radio (ISSI), SDS text alerts
    SMS = "sms"
    TELEGRAM = "telegram"

    @property
    def medium(self) -> Medium:
        return _MEDIUM_OF[self]

    @property
    def label(self) -> str:
        return _TARGET_KIND_LABELS[self]


_TARGET_KIND_LABELS = {
    TargetKind.PHONE: "línea telefónica",
    TargetKind.TALKGROUP: "grupo de radio",
    TargetKind.RADIO: "radio TETRA",
    TargetKind.SMS: "SMS",
    TargetKind.TELEGRAM: "Telegram",
}


_MEDIUM_OF = {
    TargetKind.PHONE: Medium.VOICE,
    TargetKind.TALKGROUP: Medium.TALKGROUP,
    TargetKind.RADIO: Medium.SDS,
    TargetKind.SMS: Medium.SMS,
    TargetKind.TELEGRAM: Medium.TELEGRAM,
}


class AttemptOutcome(StrEnum):
    PENDING = "pending"  # to be placed
    HELD_BACK = "held_back"  # not placed: the destination's rate limit was reached
    SKIPPED = "skipped"  # not placed: no adapter of its medium is configured
    RINGING = "ringing"  # placed (a call ringing, a message on its way)
    PROMPTING = "prompting"  # answered, the prompt is playing
    ANSWERED = "answered"  # answered without a choice (a timeout, a voicemail): not an ack
    PATCHED = "patched"  # a talkgroup patched into the room: it hears, it cannot press keys
    DELIVERED = "delivered"  # a message delivered: an acknowledgement may follow by reply
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CONGESTION = "congestion"
    FAILED = "failed"
    ACKNOWLEDGED = "acknowledged"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    AttemptOutcome.PENDING: "por realizar",
    AttemptOutcome.HELD_BACK: "retenido por el límite de llamadas",
    AttemptOutcome.SKIPPED: "omitido: su canal no está configurado",
    AttemptOutcome.RINGING: "timbrando",
    AttemptOutcome.PROMPTING: "escuchando el mensaje",
    AttemptOutcome.ANSWERED: "contestó sin elegir una opción",
    AttemptOutcome.PATCHED: "enlazado a la sala (radio)",
    AttemptOutcome.DELIVERED: "mensaje entregado",
    AttemptOutcome.NO_ANSWER: "no contestó",
    AttemptOutcome.BUSY: "ocupado",
    AttemptOutcome.CONGESTION: "red congestionada",
    AttemptOutcome.FAILED: "falló",
    AttemptOutcome.ACKNOWLEDGED: "aceptó",
    AttemptOutcome.DECLINED: "rechazó",
    AttemptOutcome.CANCELLED: "cancelado",
}


class AssignmentState(StrEnum):
    """Where one agency of one incident stands."""

    PENDING = "pending"  # dispatched, its escalation under way
    ACKNOWLEDGED = "acknowledged"
    UNANSWERED = "unanswered"  # its plan ran out; the supervisors were told
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _ASSIGNMENT_LABELS[self]


_ASSIGNMENT_LABELS = {
    AssignmentState.PENDING: "en escalamiento",
    AssignmentState.ACKNOWLEDGED: "confirmó",
    AssignmentState.UNANSWERED: "sin respuesta",
    AssignmentState.CANCELLED: "cancelado",
}


class ContactRole(StrEnum):
    OPERATOR = "operator"  # the district operator, straight into the room
    RESPONDER = "responder"  # an agency's target: asked to acknowledge
    SUPERVISOR = "supervisor"  # the centre's supervisors, when an agency did not answer
    GUEST = "guest"  # a line an operator added by hand, straight into the room
    # the citizen who called the IVR, put into the room by the phone menu: voicebridge never
    # places this call (the citizen did) and never calls it back when it is lost
    CITIZEN = "citizen"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    ContactRole.OPERATOR: "operador distrital",
    ContactRole.RESPONDER: "entidad de respuesta",
    ContactRole.SUPERVISOR: "supervisión",
    ContactRole.GUEST: "invitado",
    ContactRole.CITIZEN: "ciudadano",
}


class ContactState(StrEnum):
    PENDING = "pending"  # to be placed by the adapter of its medium
    PLACING = "placing"  # the adapter placed it (a call ringing, a message sent)
    ANSWERED = "answered"  # answered, not in the room (a responder hearing the prompt)
    IN_ROOM = "in_room"  # in the incident's conference room
    DELIVERED = "delivered"  # a message delivered: it ends there
    ENDED = "ended"  # answered once, now over
    FAILED = "failed"  # never reached
    CANCELLED = "cancelled"  # not to be placed after all

    @property
    def live(self) -> bool:
        return self in (ContactState.PLACING, ContactState.ANSWERED, ContactState.IN_ROOM)

    @property
    def label(self) -> str:
        return _CONTACT_STATE_LABELS[self]


_CONTACT_STATE_LABELS = {
    ContactState.PENDING: "por realizar",
    ContactState.PLACING: "en curso",
    ContactState.ANSWERED: "contestó",
    ContactState.IN_ROOM: "en la sala",
    ContactState.DELIVERED: "entregado",
    ContactState.ENDED: "terminado",
    ContactState.FAILED: "no se logró",
    ContactState.CANCELLED: "cancelado",
}


class AckMethod(StrEnum):
    KEYPRESS = "keypress"
    MANUAL = "manual"
    TETRA_STATUS = "tetra_status"
    SDS = "sds"
    SMS = "sms"
    TELEGRAM = "telegram"

    @property
    def label(self) -> str:
        return _ACK_LABELS[self]


_ACK_LABELS = {
    AckMethod.KEYPRESS: "tecla 1 en la llamada",
    AckMethod.MANUAL: "registrada a mano por la supervisión",
    AckMethod.TETRA_STATUS: "estado TETRA",
    AckMethod.SDS: "mensaje de radio (SDS)",
    AckMethod.SMS: "respuesta por SMS",
    AckMethod.TELEGRAM: "respuesta por Telegram",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Location:
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    reference: str | None = None  # "frente al mercado", as Lima addresses are given


@dataclass(frozen=True, kw_only=True, slots=True)
class Reporter:
    name: str | None = None
    phone: str | None = None  # E.164
    handle: str | None = None  # a channel identity, e.g. a Telegram user id


@dataclass(frozen=True, kw_only=True, slots=True)
class NewReport:
    """One report as it arrives, before it is attached to an incident."""

    source: Source
    text: str = ""
    reporter: Reporter = field(default_factory=Reporter)
    location: Location = field(default_factory=Location)
    external_id: str | None = None  # dedup key from the channel (MessageSid, update_id, ...)
    payload: dict[str, Any] = field(default_factory=dict)
    began_at: datetime | None = None
    """When the citizen's contact began, if before the report is filed: the phone menu
    taking the call, the first message of a conversation, a text message's arrival
    before it was read (never later than the filing: a clock ahead is taken as the
    filing's time). None: as it is filed."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NewIncident:
    category: str
    district: str | None  # UBIGEO; None when nobody could tell yet
    report: NewReport
    priority: Priority | None = None  # None: the category's default
    summary: str = ""
    district_source: str | None = None  # how the district was found (routing.resolve)
    district_note: str = ""  # and the evidence, for the log


@dataclass(frozen=True, kw_only=True, slots=True)
class Incident:
    id: str  # LIM-2026-000123
    category: str
    priority: Priority
    district: str | None
    location: Location
    reporter: Reporter
    source: Source
    summary: str
    status: Status
    created_at: datetime
    updated_at: datetime
    created_by: str
    merged_into: str | None = None
    version: int = 0  # the sequence number of its last event


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    id: int
    incident_id: str
    source: Source
    received_at: datetime
    text: str
    reporter: Reporter
    location: Location
    external_id: str | None = None
    photo: bool = False  # a citizen's photo comes with it (fetched on demand)
    began_at: datetime | None = None  # when the citizen's contact began, if before

    @property
    def began(self) -> datetime:
        """When the citizen's contact began: ``began_at``, else its arrival."""
        return self.received_at if self.began_at is None else self.began_at


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """One way to reach an agency: a line, a talkgroup, a radio or a chat."""

    id: str  # "pnp-miraflores/1"
    kind: TargetKind
    address: str  # dialled digits, GSSI, ISSI, E.164 number or chat id
    label: str = ""
    dial: str | None = None  # the dial string of the PBX (phone lines and talkgroups)
    dtmf: str | None = None  # digits to send once the line answers (an extension)
    hours: tuple[Window, ...] = ()  # when it is staffed; empty: always
    limits: tuple[Limit, ...] = ()  # calls or messages it may take, per period

    @property
    def destination(self) -> str:
        """The key its rate limits count under: the same line in two stations is one."""
        return f"{self.kind.value}:{self.address}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Station:
    """A unit of an agency (a comisaría, a fire company, a district's serenazgo)."""

    code: str
    name: str
    districts: frozenset[str] | None  # UBIGEO codes it covers; None: all of Lima
    targets: tuple[Target, ...]
    fallback: str | None = None  # the station whose targets come next

    def covers(self, district: str | None) -> bool:
        return self.districts is None or (district is not None and district in self.districts)


@dataclass(frozen=True, kw_only=True, slots=True)
class Agency:
    code: str  # "pnp"
    name: str  # "Policía Nacional del Perú"
    kind: AgencyKind
    policy: str  # the name of its escalation policy
    stations: tuple[Station, ...] = ()
    status_plan: str | None = None  # what its radios' status numbers mean (by name)


class StatusMeaning(StrEnum):
    """What a radio's status message says, as an agency's status plan gives it."""

    RECEIVED = "received"  # the alert is taken: acknowledges the agency
    EN_ROUTE = "en_route"  # on the way: acknowledges, and is a phase of the incident
    ON_SCENE = "on_scene"  # arrived: acknowledges, and is a phase of the incident
    UNAVAILABLE = "unavailable"  # cannot take it: declines (the next target at once)
    INFO = "info"  # anything else the plan names: recorded only

    @property
    def acknowledges(self) -> bool:
        return self in (StatusMeaning.RECEIVED, StatusMeaning.EN_ROUTE, StatusMeaning.ON_SCENE)

    @property
    def label(self) -> str:
        return _MEANING_LABELS[self]


_MEANING_LABELS = {
    StatusMeaning.RECEIVED: "recibido",
    StatusMeaning.EN_ROUTE: "en camino",
    StatusMeaning.ON_SCENE: "en la escena",
    StatusMeaning.UNAVAILABLE: "no disponible",
    StatusMeaning.INFO: "informativo",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class RadioStatus:
    """One status number of a plan: 32768 to 65535, the network's own statuses."""

    code: int
    means: StatusMeaning
    label: str  # what the centre calls it ("en camino")


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusPlan:
    name: str
    statuses: Mapping[int, RadioStatus]

    @property
    def reply(self) -> RadioStatus | None:
        """The status a radio sends to take an alert (the lowest that means received)."""
        found = sorted(s.code for s in self.statuses.values() if s.means is StatusMeaning.RECEIVED)
        return self.statuses[found[0]] if found else None


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """How an agency is escalated: each target is tried ``attempts_per_target`` times,
    ``retry_after[n]`` seconds after the previous try ended (the last value repeats),
    each call rings ``ring_seconds``; then the centre's supervisor line, then the
    agency is marked unanswered on that incident."""

    name: str
    ring_seconds: int
    attempts_per_target: int
    retry_after: tuple[int, ...]

    def wait_before(self, attempt: int) -> int:
        """Seconds to wait before try number ``attempt`` (2, 3, ...) of the agency."""
        return self.retry_after[min(attempt - 2, len(self.retry_after) - 1)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Attempt:
    """One try at reaching one agency for one incident through one target."""

    id: int
    incident_id: str
    agency: str
    target: str
    number: int  # 1, 2, ... per (incident, agency)
    outcome: AttemptOutcome
    started_at: datetime
    medium: Medium
    contact: str | None = None  # the ref of the contact that made it
    cause: str | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Assignment:
    """One agency that must respond to one incident, with the plan frozen at dispatch
    (see :func:`routing.decide.plan_to_json`)."""

    incident_id: str
    agency: str
    priority: int
    state: AssignmentState
    plan: dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Contact:
    """One person or group reached through one medium for an incident: a responder's
    try, the district operator or a guest called into the room, a supervisor."""

    id: int
    incident_id: str
    # how every report names it: chosen by voicebridge before it is placed, or for a
    # citizen's own call (role citizen), the medium's name for that call
    ref: str
    medium: Medium
    role: ContactRole
    state: ContactState
    address: str  # what the medium's adapter reaches: a dial string, a number, a chat
    label: str
    agency: str | None = None
    attempt_id: int | None = None
    cause: str | None = None
    withdraw: bool = False  # someone asked to end it (hang up, leave the room)
    created_at: datetime | None = None
    joined_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def asks_for_ack(self) -> bool:
        """A responder reached where a person can answer (not a talkgroup patched in)."""
        return self.role is ContactRole.RESPONDER and self.medium is not Medium.TALKGROUP


@dataclass(frozen=True, kw_only=True, slots=True)
class Revision:
    """One version of the routing configuration, as it was loaded."""

    id: int
    created_at: datetime
    actor: str
    source: str
    digest: str  # sha256 of the content
    content: str
    diff: str  # unified diff from the previous revision


@dataclass(frozen=True, kw_only=True, slots=True)
class Ack:
    incident_id: str
    agency: str
    method: AckMethod
    at: datetime
    actor: str
    attempt_id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentEvent:
    """One entry of an incident's append-only log."""

    incident_id: str
    seq: int
    at: datetime
    actor: str
    kind: EventKind
    cause: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def payload(self) -> Payload:
        return payload_of(self.kind, self.data)


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentDetail:
    incident: Incident
    reports: tuple[Report, ...]
    attempts: tuple[Attempt, ...]
    acks: tuple[Ack, ...]
    events: tuple[IncidentEvent, ...]
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Task:
    """Follow-up work recorded in the same transaction as the change that calls for it,
    handed to the job queue afterwards (a transactional outbox).

    ``key`` is unique and doubles as the job id: ``[A-Za-z0-9_-]`` only."""

    key: str
    name: str
    args: dict[str, Any]
    not_before: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentQuery:
    districts: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    categories: tuple[str, ...] = ()
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    limit: int = 50
    after: tuple[datetime, int] | None = None  # keyset cursor: (created_at, row id)


@dataclass(frozen=True, kw_only=True, slots=True)
class Page:
    items: tuple[Incident, ...]
    next_after: tuple[datetime, int] | None
