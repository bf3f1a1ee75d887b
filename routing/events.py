"""The incident's log, typed: one enum of event kinds, one payload class per kind.

Every event is built by :func:`event` from its payload (the kind follows from the
payload's class), stored as the payload's JSON, and read back by :func:`payload_of`, so
the console and the analytics read a typed value, never a guessed dict. Payloads are
frozen, keyword-only dataclasses; a field ending in ``_`` (``from_``) is stored without
it (``from``). Reading tolerates what older versions wrote: unknown keys are ignored,
missing ones take their defaults.
"""

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


class EventKind(StrEnum):
    CREATED = "created"
    REPORT_ADDED = "report_added"
    STATUS_CHANGED = "status_changed"
    MERGED_FROM = "merged_from"
    DISPATCH_OVERDUE = "dispatch_overdue"
    RATE_LIMITED = "rate_limited"
    TARGET_SKIPPED = "target_skipped"
    CALLING = "calling"
    SUPERVISOR_CALLED = "supervisor_called"
    ESCALATION_RESUMED = "escalation_resumed"
    UNANSWERED = "unanswered"
    ATTEMPT_ENDED = "attempt_ended"
    ACKNOWLEDGED = "acknowledged"
    LEG_REQUESTED = "leg_requested"
    LEG_DROPPED = "leg_dropped"
    LEG_JOINED = "leg_joined"
    LEG_LEFT = "leg_left"
    LEG_FAILED = "leg_failed"
    LEG_RECALLED = "leg_recalled"
    REPORT_JOINED = "report_joined"
    FILLED_IN = "filled_in"
    REPORT_SPLIT_OUT = "report_split_out"
    SPLIT_FROM = "split_from"
    MESSAGE_SENT = "message_sent"
    MESSAGE_STATUS = "message_status"
    RADIO_STATUS = "radio_status"
    RADIO_TALKER = "radio_talker"

    @property
    def label(self) -> str:
        """What happened, in Spanish (es-PE), for the timeline people read."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    EventKind.CREATED: "incidente registrado",
    EventKind.REPORT_ADDED: "reporte adicional",
    EventKind.STATUS_CHANGED: "cambio de estado",
    EventKind.MERGED_FROM: "incidente fusionado aquí",
    EventKind.DISPATCH_OVERDUE: "despacho demorado",
    EventKind.RATE_LIMITED: "retenido por el límite de llamadas",
    EventKind.TARGET_SKIPPED: "destino omitido",
    EventKind.CALLING: "contacto a una entidad",
    EventKind.SUPERVISOR_CALLED: "aviso a la supervisión",
    EventKind.ESCALATION_RESUMED: "escalamiento retomado",
    EventKind.UNANSWERED: "entidad sin respuesta",
    EventKind.ATTEMPT_ENDED: "intento terminado",
    EventKind.ACKNOWLEDGED: "atención confirmada",
    EventKind.LEG_REQUESTED: "llamada a la sala",
    EventKind.LEG_DROPPED: "retiro de la sala",
    EventKind.LEG_JOINED: "entrada a la sala",
    EventKind.LEG_LEFT: "salida de la sala",
    EventKind.LEG_FAILED: "llamada a la sala fallida",
    EventKind.LEG_RECALLED: "nueva llamada a la sala",
    EventKind.REPORT_JOINED: "reporte sumado al incidente",
    EventKind.FILLED_IN: "datos completados",
    EventKind.REPORT_SPLIT_OUT: "reporte separado",
    EventKind.SPLIT_FROM: "incidente separado de otro",
    EventKind.MESSAGE_SENT: "mensaje enviado",
    EventKind.MESSAGE_STATUS: "entrega de un mensaje",
    EventKind.RADIO_STATUS: "estado de una radio",
    EventKind.RADIO_TALKER: "habla por radio",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Payload:
    kind: ClassVar[EventKind]

    def to_data(self) -> dict[str, Any]:
        """The stored JSON: every field, but optional ones left at their empty default
        (None, no items) are left out (:func:`payload_of` restores them)."""
        return {
            f.name.rstrip("_"): _plain(value)
            for f in dataclasses.fields(self)
            if not ((value := getattr(self, f.name)) in (None, ()) and f.default == value)
        }


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Created(Payload):
    kind = EventKind.CREATED
    category: str
    priority: str
    district: str | None
    source: str
    district_source: str | None = None
    district_note: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportAdded(Payload):
    kind = EventKind.REPORT_ADDED
    report: int
    source: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusChanged(Payload):
    kind = EventKind.STATUS_CHANGED
    from_: str
    to: str
    rule: str | None = None  # a dispatch: the rule that decided
    revision: int | None = None  # and the routing revision in force
    agencies: tuple[str, ...] = ()  # and the agencies dispatched
    into: str | None = None  # a merge: the incident it was merged into


@dataclass(frozen=True, kw_only=True, slots=True)
class MergedFrom(Payload):
    kind = EventKind.MERGED_FROM
    incident: str


@dataclass(frozen=True, kw_only=True, slots=True)
class DispatchOverdue(Payload):
    kind = EventKind.DISPATCH_OVERDUE
    deadline_seconds: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RateLimited(Payload):
    kind = EventKind.RATE_LIMITED
    agency: str
    target: str
    destination: str
    limit: str
    retry_in: float


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetSkipped(Payload):
    """A target whose medium has no adapter configured: the escalation moves on."""

    kind = EventKind.TARGET_SKIPPED
    agency: str
    target: str
    medium: str
    number: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Calling(Payload):
    kind = EventKind.CALLING
    agency: str
    target: str
    number: int
    medium: str = "voice"


@dataclass(frozen=True, kw_only=True, slots=True)
class SupervisorCalled(Payload):
    kind = EventKind.SUPERVISOR_CALLED
    agency: str
    target: str
    number: int
    medium: str = "voice"


@dataclass(frozen=True, kw_only=True, slots=True)
class EscalationResumed(Payload):
    """The periodic reconciliation took a step that nothing else had taken (a job lost
    or failed through an outage): how late it was."""

    kind = EventKind.ESCALATION_RESUMED
    agency: str
    after: int  # the try after which the step was due
    due_at: str  # ISO 8601
    late_seconds: float


@dataclass(frozen=True, kw_only=True, slots=True)
class Unanswered(Payload):
    kind = EventKind.UNANSWERED
    agency: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AttemptEnded(Payload):
    kind = EventKind.ATTEMPT_ENDED
    agency: str
    number: int
    outcome: str
    target: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Acknowledged(Payload):
    kind = EventKind.ACKNOWLEDGED
    agency: str
    method: str


@dataclass(frozen=True, kw_only=True, slots=True)
class LegRequested(Payload):
    kind = EventKind.LEG_REQUESTED
    role: str
    dial: str | None = None
    leg: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LegDropped(Payload):
    kind = EventKind.LEG_DROPPED
    leg: str


@dataclass(frozen=True, kw_only=True, slots=True)
class LegJoined(Payload):
    kind = EventKind.LEG_JOINED
    leg: str
    role: str
    agency: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LegLeft(Payload):
    kind = EventKind.LEG_LEFT
    leg: str
    role: str
    agency: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LegFailed(Payload):
    kind = EventKind.LEG_FAILED
    leg: str
    role: str


@dataclass(frozen=True, kw_only=True, slots=True)
class LegRecalled(Payload):
    """A leg lost with its room (the medium's server restarted, or dropped the calls
    while its adapter could not hear) is called again into the room: a reconnection,
    not a try of its agency's escalation. ``lost`` is the contact that was lost."""

    kind = EventKind.LEG_RECALLED
    leg: str
    lost: str
    role: str
    agency: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportJoined(Payload):
    """A citizen's report joined this open incident by itself (:mod:`routing.dedup`):
    the same category, near in space and time. ``distance_m`` is from the incident's
    point, when both have one; otherwise they matched on district and ``address`` (the
    normalised address). ``after_seconds``: since the incident's latest report."""

    kind = EventKind.REPORT_JOINED
    report: int
    source: str
    after_seconds: int
    distance_m: float | None = None
    address: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class FilledIn(Payload):
    """A later message of the citizen completed what the incident lacked: only the
    fields filled are set (``category`` when it was unclassified, with the ``priority``
    when that changed too; ``lat`` and ``lon`` together)."""

    kind = EventKind.FILLED_IN
    category: str | None = None
    priority: str | None = None
    district: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportSplitOut(Payload):
    """A report wrongly joined left this incident: it is incident ``into`` now."""

    kind = EventKind.REPORT_SPLIT_OUT
    report: int
    source: str
    into: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SplitFrom(Payload):
    """This incident began as a report of ``incident``, split out of it."""

    kind = EventKind.SPLIT_FROM
    incident: str
    report: int
    source: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageSent(Payload):
    """A message went out through a channel (an SMS, a Telegram message): to a citizen
    (a reply, news) or to a responder (an alert). ``message`` is the outbox's id."""

    kind = EventKind.MESSAGE_SENT
    message: int
    channel: str
    purpose: str
    provider_id: str | None = None
    contact: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageStatus(Payload):
    """What the channel said of a message sent: delivered, undelivered, failed, or held
    back (the number asked for no messages, the chat blocked the bot)."""

    kind = EventKind.MESSAGE_STATUS
    message: int
    channel: str
    state: str
    error_code: int | None = None
    contact: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RadioStatusReported(Payload):
    """A radio of an agency sent a status message about the incident: its number, what
    the agency's status plan says it ``means`` (received, en_route, on_scene,
    unavailable, info; None when the plan does not name it) and the plan's ``label``.
    En route and on scene are phases of the incident (the analytics read them)."""

    kind = EventKind.RADIO_STATUS
    agency: str
    status: int
    means: str | None = None
    label: str | None = None
    contact: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RadioTalker(Payload):
    """Who talks, from the radio side, on a talkgroup patched into the room (``leg``):
    the ``talker``'s ISSI, or None when nobody does any more."""

    kind = EventKind.RADIO_TALKER
    leg: str
    gssi: int
    talker: int | None = None


PAYLOADS: dict[EventKind, type[Payload]] = {
    cls.kind: cls
    for cls in (
        Created,
        ReportAdded,
        StatusChanged,
        MergedFrom,
        DispatchOverdue,
        RateLimited,
        TargetSkipped,
        Calling,
        SupervisorCalled,
        EscalationResumed,
        Unanswered,
        AttemptEnded,
        Acknowledged,
        LegRequested,
        LegDropped,
        LegJoined,
        LegLeft,
        LegFailed,
        LegRecalled,
        ReportJoined,
        FilledIn,
        ReportSplitOut,
        SplitFrom,
        MessageSent,
        MessageStatus,
        RadioStatusReported,
        RadioTalker,
    )
}


@dataclass(frozen=True, kw_only=True, slots=True)
class NewEvent:
    """An event to append: who, why (Spanish, for people) and what (typed)."""

    actor: str
    cause: str
    payload: Payload

    @property
    def kind(self) -> EventKind:
        return self.payload.kind


def event(payload: Payload, *, actor: str, cause: str) -> NewEvent:
    """The one way an event is built."""
    return NewEvent(actor=actor, cause=cause, payload=payload)


def payload_of(kind: str, data: dict[str, Any]) -> Payload:
    """The typed payload of a stored event."""
    cls = PAYLOADS[EventKind(kind)]
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = f.name.rstrip("_")
        if key in data:
            value = data[key]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)
