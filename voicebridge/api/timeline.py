"""The incident's timeline as people read it: each event's kind and what happened, in
Spanish (es-PE), from its typed payload. The event's ``cause`` (why) is written in
Spanish where the event is made; this says what. Every :class:`EventKind` has its
renderer here (a test walks them all)."""

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from routing.categories import find_category
from routing.directory import Names, phone_shown
from routing.districts import find_district
from routing.events import (
    Acknowledged,
    AttemptEnded,
    Calling,
    Created,
    DispatchOverdue,
    EscalationResumed,
    EventKind,
    FilledIn,
    LegDropped,
    LegFailed,
    LegJoined,
    LegLeft,
    LegRecalled,
    LegRequested,
    MergedFrom,
    MessageSent,
    MessageStatus,
    Payload,
    RadioStatusReported,
    RadioTalker,
    RateLimited,
    ReportAdded,
    ReportJoined,
    ReportSplitOut,
    SplitFrom,
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
    StatusMeaning,
)
from routing.ratelimits import parse_limit

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


# the article of a name by its first word (a name whose first word is not here, a brand
# such as "Sedapal" or "EsSalud", goes without one)
_FEMININE = frozenset({
    "autoridad", "base", "brigada", "central", "comisaría", "compañía", "consola",
    "defensa", "dirección", "división", "entidad", "gerencia", "guardia", "jefatura",
    "línea", "mesa", "municipalidad", "oficina", "policía", "regulación", "sala",
    "subgerencia", "supervisión", "unidad",
})  # fmt: skip
_MASCULINE = frozenset({
    "centro", "cuerpo", "departamento", "escuadrón", "grupo", "hospital", "médico",
    "ministerio", "operador", "puesto", "samu", "serenazgo", "servicio", "sistema",
})  # fmt: skip


def _the(name: str) -> str:
    """``la Comisaría PNP Zárate``, ``el Serenazgo municipal``, ``Sedapal``."""
    first = name.split(maxsplit=1)[0].lower() if name.strip() else ""
    if first in _FEMININE:
        return f"la {name}"
    if first in _MASCULINE:
        return f"el {name}"
    return name


def _to(phrase: str) -> str:
    """``a`` before a noun phrase: ``al operador``, ``a la Comisaría``."""
    return "al " + phrase[3:] if phrase.startswith("el ") else f"a {phrase}"


def _of(phrase: str) -> str:
    """``de`` before a noun phrase: ``del Serenazgo``, ``de la Comisaría``."""
    return "del " + phrase[3:] if phrase.startswith("el ") else f"de {phrase}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _agency(n: Names, code: str) -> str:
    """The agency by its name, with its article: ``la Policía Nacional del Perú``."""
    return _the(n.agency(code))


def _agencies(n: Names, codes: tuple[str, ...]) -> str:
    shown = [n.agency(code) for code in codes]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} y {shown[-1]}"


def _line(n: Names, target_id: str, agency: str | None = None) -> str:
    """A line of the directory by its label and station, with its agency's name:
    ``la Guardia de prevención de la Comisaría PNP Zárate (Policía Nacional del
    Perú)``; one no longer in the directory by its id."""
    found = n.line(target_id)
    if found is None:
        text = f"la línea «{target_id}», que ya no está en el directorio"
    else:
        label, station = found
        text = f"{_the(label)} {_of(_the(station))}"
    return f"{text} ({n.agency(agency)})" if agency else text


_ROLE_PHRASES = {
    ContactRole.OPERATOR: "el operador distrital",
    ContactRole.RESPONDER: "la entidad de respuesta",
    ContactRole.SUPERVISOR: "la supervisión",
    ContactRole.GUEST: "un invitado",
    ContactRole.CITIZEN: "el ciudadano",
}


def _who(n: Names, role: str, agency: str | None = None) -> str:
    """Who a leg is: its agency by name, else its role (``el operador distrital``)."""
    if agency:
        return _agency(n, agency)
    try:
        return _ROLE_PHRASES[ContactRole(role)]
    except ValueError:
        return f"«{role}»"


def _created(p: Created, n: Names) -> str:
    return (
        f"Incidente registrado: {_category(p.category)}, prioridad "
        f"{_label(Priority, p.priority)}, {_district(p.district)}, recibido por "
        f"{_label(Source, p.source)}."
    )


def _report_added(p: ReportAdded, n: Names) -> str:
    # p.report is the report's id among all incidents' reports: not shown (the detail's
    # reports list them in order, each with its time)
    return f"Otro reporte del mismo hecho, recibido por {_label(Source, p.source)}."


def _status_changed(p: StatusChanged, n: Names) -> str:
    text = f"Estado: {_label(Status, p.from_)} → {_label(Status, p.to)}"
    if p.rule is not None:
        text += f", según la regla «{p.rule}»"
        if p.revision is not None:
            text += f" (revisión {p.revision})"
    if p.agencies:
        text += f"; se despacha a: {_agencies(n, p.agencies)}"
    if p.into is not None:
        text += f"; fusionado con {p.into}"
    return text + "."


def _merged_from(p: MergedFrom, n: Names) -> str:
    return f"Se fusionó aquí el incidente {p.incident}."


def _overdue(p: DispatchOverdue, n: Names) -> str:
    return f"Sin despachar {p.deadline_seconds} s después de recibido."


def _rate_limited(p: RateLimited, n: Names) -> str:
    return (
        f"El contacto {_to(_line(n, p.target, p.agency))} espera por el límite de llamadas "
        f"({_limit(p.limit)}); se reintenta en {p.retry_in:.0f} s."
    )


def _limit(text: str) -> str:
    """``3 en 15 min`` for ``3/15m``; as stored if it does not read as a limit."""
    try:
        return parse_limit(text).spanish()
    except ValueError:
        return text or "sin límite indicado"


def _skipped(p: TargetSkipped, n: Names) -> str:
    return (
        f"Intento {p.number} {_to(_line(n, p.target, p.agency))} omitido: no hay canal de "
        f"{_label(Medium, p.medium)} configurado."
    )


def _calling(p: Calling, n: Names) -> str:
    return (
        f"Intento {p.number}: se contacta {_to(_line(n, p.target, p.agency))} por "
        f"{_label(Medium, p.medium)}."
    )


def _supervisor(p: SupervisorCalled, n: Names) -> str:
    return (
        f"{_capital(_agency(n, p.agency))} no respondió: se avisa a la supervisión "
        f"({_line(n, p.target)}) por {_label(Medium, p.medium)}."
    )


def _resumed(p: EscalationResumed, n: Names) -> str:
    return (
        f"El escalamiento {_of(_agency(n, p.agency))} tras el intento {p.after} se retomó con "
        f"{p.late_seconds:.0f} s de retraso."
    )


def _unanswered(p: Unanswered, n: Names) -> str:
    return f"{_capital(_agency(n, p.agency))} no respondió en ningún destino."


def _attempt_ended(p: AttemptEnded, n: Names) -> str:
    return (
        f"Intento {p.number} {_to(_line(n, p.target, p.agency))} terminó: "
        f"{_label(AttemptOutcome, p.outcome)}."
    )


def _acknowledged(p: Acknowledged, n: Names) -> str:
    return f"{_capital(_agency(n, p.agency))} confirmó la atención: {_label(AckMethod, p.method)}."


def _leg_requested(p: LegRequested, n: Names) -> str:
    if p.role == ContactRole.CITIZEN.value:  # the citizen called: nobody calls them
        return "El ciudadano, en la línea, pasa a la sala."
    number = phone_shown(p.dial) if p.role == ContactRole.GUEST.value else None
    where = f" ({number})" if number else ""
    return f"Se llama {_to(_who(n, p.role))} a la sala{where}."


def _leg_dropped(p: LegDropped, n: Names) -> str:
    return "Se pide colgar una llamada de la sala."


def _leg_joined(p: LegJoined, n: Names) -> str:
    return f"Entró a la sala {_who(n, p.role, p.agency)}."


def _leg_left(p: LegLeft, n: Names) -> str:
    return f"Salió de la sala {_who(n, p.role, p.agency)}."


def _leg_failed(p: LegFailed, n: Names) -> str:
    if p.role == ContactRole.CITIZEN.value:  # the citizen called: nobody called them
        return "El ciudadano colgó antes de llegar a la sala."
    return f"No se logró llamar {_to(_who(n, p.role))} a la sala."


def _leg_recalled(p: LegRecalled, n: Names) -> str:
    return (
        f"Se vuelve a llamar {_to(_who(n, p.role, p.agency))} a la sala: su llamada se perdió "
        "con la sala."
    )


_CHANNELS = {"sms": "SMS", "telegram": "Telegram"}
_PURPOSES = {
    "reply": "Respuesta al ciudadano",
    "news": "Aviso de novedades al ciudadano",
    "alert": "Alerta a la entidad",
}
_DELIVERY = {
    "delivered": "entregado",
    "undelivered": "no entregado",
    "failed": "falló",
    "held": "retenido (el destinatario no recibe mensajes)",
    "sent": "enviado",
    "queued": "en cola",
}


def _message_sent(p: MessageSent, n: Names) -> str:
    purpose = _PURPOSES.get(p.purpose, "Mensaje")
    return f"{purpose} enviada por {_CHANNELS.get(p.channel, p.channel)} (mensaje {p.message})."


def _message_status(p: MessageStatus, n: Names) -> str:
    state = _DELIVERY.get(p.state, p.state)
    code = f", código {p.error_code}" if p.error_code is not None else ""
    channel = _CHANNELS.get(p.channel, p.channel)
    return f"Mensaje {p.message} por {channel}: {state}{code}."


def _radio_status(p: RadioStatusReported, n: Names) -> str:
    who = _capital(_agency(n, p.agency))
    if p.means is None:
        return f"{who} envió por radio el estado {p.status}, que su plan de estados no nombra."
    label = p.label or _label(StatusMeaning, p.means)
    return f"{who} informa por radio: {label} (estado {p.status})."


def _radio_talker(p: RadioTalker, n: Names) -> str:
    if p.talker is None:
        return f"Nadie habla ya por radio en el grupo {p.gssi}."
    return f"Habla por radio la unidad {p.talker} en el grupo {p.gssi}."


def _after(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _report_joined(p: ReportJoined, n: Names) -> str:
    if p.distance_m is not None:
        why = f"a {p.distance_m:.0f} m del punto del incidente"
    elif p.address is not None:
        why = f"en la misma dirección («{p.address}») y distrito"
    else:
        why = "en la misma dirección y distrito"
    return (
        f"Otro reporte del mismo hecho, recibido por {_label(Source, p.source)}, se sumó "
        f"automáticamente: misma categoría, {why}, {_after(p.after_seconds)} después del reporte "
        "anterior."
    )


def _filled_in(p: FilledIn, n: Names) -> str:
    parts = []
    if p.category is not None:
        parts.append(f"categoría {_category(p.category)}")
    if p.priority is not None:
        parts.append(f"prioridad {_label(Priority, p.priority)}")
    if p.district is not None:
        parts.append(_district(p.district))
    if p.address is not None:
        parts.append(f"dirección «{p.address}»")
    if p.lat is not None and p.lon is not None:
        parts.append("ubicación en el mapa")
    filled = "; ".join(parts) if parts else "nada"
    return f"Se completó lo que faltaba: {filled}."


def _report_split_out(p: ReportSplitOut, n: Names) -> str:
    return (
        f"Un reporte recibido por {_label(Source, p.source)} era de otro hecho: se separó "
        f"como el incidente {p.into}."
    )


def _split_from(p: SplitFrom, n: Names) -> str:
    return (
        f"Incidente separado de {p.incident}: su reporte, recibido por "
        f"{_label(Source, p.source)}, se había sumado allí y era de otro hecho."
    )


_RENDER: dict[EventKind, Callable[[Any, Names], str]] = {
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
    EventKind.REPORT_JOINED: _report_joined,
    EventKind.FILLED_IN: _filled_in,
    EventKind.REPORT_SPLIT_OUT: _report_split_out,
    EventKind.SPLIT_FROM: _split_from,
    EventKind.MESSAGE_SENT: _message_sent,
    EventKind.MESSAGE_STATUS: _message_status,
    EventKind.RADIO_STATUS: _radio_status,
    EventKind.RADIO_TALKER: _radio_talker,
}


def describe(payload: Payload, names: Names) -> str:
    """What the event says happened, in Spanish; agencies and lines by ``names`` (those
    of the configuration in force)."""
    return _RENDER[payload.kind](payload, names)
