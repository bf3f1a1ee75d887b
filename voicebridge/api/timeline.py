"""The incident's timeline as people read it: each event's kind and what happened, in
Spanish (es-PE), from its typed payload. The event's ``cause`` (why) is written in
Spanish where the event is made; this says what. Every :class:`EventKind` has its
renderer here (a test walks them all)."""

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from routing.categories import find_category
from routing.districts import find_district
from routing.events import (
    Acknowledged,
    AttemptEnded,
    Calling,
    Created,
    DispatchOverdue,
    EscalationResumed,
    EventKind,
    LegDropped,
    LegFailed,
    LegJoined,
    LegLeft,
    LegRecalled,
    LegRequested,
    MergedFrom,
    Payload,
    RateLimited,
    ReportAdded,
    StatusChanged,
    SupervisorCalled,
    TargetSkipped,
    Unanswered,
)
from routing.models import (
    AckMethod,
    AttemptOutcome,
    ContactRole,
    Medium,
    Priority,
    Source,
    Status,
)

E = TypeVar("E", bound=StrEnum)


def _label(enum: type[E], value: str) -> str:
    """The Spanish label of a stored enum value; an unknown one (a newer writer) as is."""
    try:
        member = enum(value)
    except ValueError:
        return value
    label: str = getattr(member, "label")  # noqa: B009 - every labelled enum has one
    return label


def _category(code: str) -> str:
    found = find_category(code)
    return found.label if found is not None else code


def _district(code: str | None) -> str:
    if code is None:
        return "distrito por determinar"
    found = find_district(code)
    return f"distrito de {found.name}" if found is not None else f"distrito {code}"


def _who(role: str, agency: str | None) -> str:
    who = _label(ContactRole, role)
    return f"{who} ({agency})" if agency else who


def _created(p: Created) -> str:
    return (
        f"Incidente registrado: {_category(p.category)}, prioridad "
        f"{_label(Priority, p.priority)}, {_district(p.district)}, recibido por "
        f"{_label(Source, p.source)}."
    )


def _report_added(p: ReportAdded) -> str:
    return f"Reporte n.º {p.report} recibido por {_label(Source, p.source)}."


def _status_changed(p: StatusChanged) -> str:
    text = f"Estado: {_label(Status, p.from_)} → {_label(Status, p.to)}"
    if p.rule is not None:
        text += f", según la regla «{p.rule}»"
        if p.revision is not None:
            text += f" (revisión {p.revision})"
    if p.agencies:
        text += f"; entidades: {', '.join(p.agencies)}"
    if p.into is not None:
        text += f"; fusionado con {p.into}"
    return text + "."


def _merged_from(p: MergedFrom) -> str:
    return f"Se fusionó aquí el incidente {p.incident}."


def _overdue(p: DispatchOverdue) -> str:
    return f"Sin despachar {p.deadline_seconds} s después de recibido."


def _rate_limited(p: RateLimited) -> str:
    return (
        f"Contacto a {p.target} ({p.agency}) retenido por el límite {p.limit}; "
        f"se reintenta en {p.retry_in:.0f} s."
    )


def _skipped(p: TargetSkipped) -> str:
    return (
        f"Intento {p.number} a {p.target} ({p.agency}) omitido: no hay canal de "
        f"{_label(Medium, p.medium)} configurado."
    )


def _calling(p: Calling) -> str:
    return (
        f"Intento {p.number}: se contacta a {p.target} ({p.agency}) por {_label(Medium, p.medium)}."
    )


def _supervisor(p: SupervisorCalled) -> str:
    return (
        f"{p.agency} no respondió: se avisa a la supervisión ({p.target}) por "
        f"{_label(Medium, p.medium)}."
    )


def _resumed(p: EscalationResumed) -> str:
    return (
        f"El paso de {p.agency} tras el intento {p.after} se retomó con "
        f"{p.late_seconds:.0f} s de retraso."
    )


def _unanswered(p: Unanswered) -> str:
    return f"{p.agency} no respondió en ningún destino."


def _attempt_ended(p: AttemptEnded) -> str:
    return (
        f"Intento {p.number} a {p.target} ({p.agency}) terminó: "
        f"{_label(AttemptOutcome, p.outcome)}."
    )


def _acknowledged(p: Acknowledged) -> str:
    return f"{p.agency} confirmó la atención: {_label(AckMethod, p.method)}."


def _leg_requested(p: LegRequested) -> str:
    where = f" ({p.dial})" if p.dial else ""
    return f"Se llama a la sala a {_label(ContactRole, p.role)}{where}."


def _leg_dropped(p: LegDropped) -> str:
    return f"Se retira de la sala el tramo {p.leg}."


def _leg_joined(p: LegJoined) -> str:
    return f"Entró a la sala: {_who(p.role, p.agency)}."


def _leg_left(p: LegLeft) -> str:
    return f"Salió de la sala: {_who(p.role, p.agency)}."


def _leg_failed(p: LegFailed) -> str:
    return f"No se logró llamar a la sala a {_label(ContactRole, p.role)} (tramo {p.leg})."


def _leg_recalled(p: LegRecalled) -> str:
    return (
        f"Se vuelve a llamar a la sala a {_who(p.role, p.agency)}: su tramo {p.lost} "
        f"se perdió con la sala (nuevo tramo {p.leg})."
    )


_RENDER: dict[EventKind, Callable[[Any], str]] = {
    EventKind.CREATED: _created,
    EventKind.REPORT_ADDED: _report_added,
    EventKind.STATUS_CHANGED: _status_changed,
    EventKind.MERGED_FROM: _merged_from,
    EventKind.DISPATCH_OVERDUE: _overdue,
    EventKind.RATE_LIMITED: _rate_limited,
    EventKind.TARGET_SKIPPED: _skipped,
    EventKind.CALLING: _calling,
    EventKind.SUPERVISOR_CALLED: _supervisor,
    EventKind.ESCALATION_RESUMED: _resumed,
    EventKind.UNANSWERED: _unanswered,
    EventKind.ATTEMPT_ENDED: _attempt_ended,
    EventKind.ACKNOWLEDGED: _acknowledged,
    EventKind.LEG_REQUESTED: _leg_requested,
    EventKind.LEG_DROPPED: _leg_dropped,
    EventKind.LEG_JOINED: _leg_joined,
    EventKind.LEG_LEFT: _leg_left,
    EventKind.LEG_FAILED: _leg_failed,
    EventKind.LEG_RECALLED: _leg_recalled,
}


def describe(payload: Payload) -> str:
    """What the event says happened, in Spanish."""
    return _RENDER[payload.kind](payload)
