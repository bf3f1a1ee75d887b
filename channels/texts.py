"""Every text the SMS and Telegram channels send people, in Spanish (es-PE).

Citizens get the replies of their conversation (:mod:`channels.conversation`) and news
as their incident advances; responders get alerts and the replies to their answers.

Texts for SMS fit one segment: 160 GSM-7 septets (:mod:`channels.conversation.gsm7`).
Their fixed wording avoids á, í, ó and ú (it says "escriba", "calle y distrito", "el
reporte", never "número" or "dirección"); values from elsewhere (category labels, district
and agency names, addresses) are transliterated ("Comisaría" -> "Comisaria") and cut to
fit: a list of agencies keeps the names that fit and says how many more. The incident id
is never cut. Telegram texts keep their accents and are plain text (send them without a
``parse_mode``); they stay far below Telegram's 4096 characters.

Functions take codes where voicebridge has them (category codes, UBIGEO, statuses) and
names where only the directory knows them (agencies).
"""

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from channels.conversation.gsm7 import SEGMENT, septets, to_gsm7, truncate
from routing.categories import CATEGORIES
from routing.geo import place_of_code
from routing.models import Priority, Status
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED
from routing.text import fold


class Channel(StrEnum):
    SMS = "sms"
    TELEGRAM = "telegram"


TELEGRAM_LIMIT = 4096  # characters of one Telegram message
CALLBACK_LIMIT = 64  # bytes of an inline button's callback_data
REF_LIMIT = 40  # characters of the reference a responder's button carries

_LABELS = {c.code: c.label for c in CATEGORIES}
_MIN_KEEP = 12  # septets a cut value keeps at least ("Av. Abanca...")


def category_label(code: str) -> str:
    """The Spanish label of a category code; "Sin clasificar" for an unclassified one,
    and a code voicebridge does not know as words (codes are Spanish slugs)."""
    if code == UNCLASSIFIED:
        return "Sin clasificar"
    return _LABELS.get(code) or code.replace("_", " ").strip().capitalize() or "Otro"


def district_name(ubigeo: str | None) -> str | None:
    """The name of a district of Lima or Callao, or None."""
    place = place_of_code(ubigeo) if ubigeo else None
    return place.name if place else None


def place_text(district: str | None, address: str | None) -> str:
    """``"Av. Abancay 123, Lima"``, the address or the district alone, or a phrase."""
    name = district_name(district)
    parts = [p for p in (address, name) if p]
    return ", ".join(parts) if parts else "lugar por confirmar"


# ------------------------------------------------------------------ composition


def _sms(template: str, /, *, shrink: Sequence[str] = (), **values: str) -> str:
    """``template`` filled with ``values`` (transliterated to GSM-7) in one segment: when
    too long, the values named in ``shrink`` are cut to a common length, the longest
    first, down to a few words each. The template's own words are never cut."""
    values = {k: to_gsm7(v) for k, v in values.items()}

    def filled(cap: int | None) -> str:
        if cap is None:
            return template.format(**values)
        cut = {name: truncate(values[name], cap) for name in shrink}
        return template.format(**{**values, **cut}).replace("....", "...")

    text = filled(None)
    if (septets(text) or 0) > SEGMENT and shrink:
        low, high = _MIN_KEEP, max(septets(values[name]) or 0 for name in shrink)
        while low < high:  # the longest common length that fits
            middle = (low + high + 1) // 2
            if (septets(filled(middle)) or 0) <= SEGMENT:
                low = middle
            else:
                high = middle - 1
        text = filled(low)
    return text if (septets(text) or 0) <= SEGMENT else truncate(text, SEGMENT)  # last resort


def _names(names: Sequence[str], budget: int | None) -> str:
    """Names joined by commas; for SMS (a ``budget`` in septets) the names that fit
    (the first one cut if need be), then "y N mas"."""
    if budget is None:
        return ", ".join(names)
    shown = [to_gsm7(n) for n in names]
    for count in range(len(shown), 0, -1):
        rest = len(shown) - count
        tail = f" y {rest} mas" if rest else ""
        text = ", ".join(shown[:count]) + tail
        if (septets(text) or 0) <= budget:
            return text
    tail = f" y {len(shown) - 1} mas" if len(shown) > 1 else ""
    return truncate(shown[0], max(_MIN_KEEP, budget - len(tail))) + tail


def _with_names(template: str, names: Sequence[str], channel: Channel, **values: str) -> str:
    """``template`` whose ``{names}`` is a list of names that must fit with the rest."""
    if channel is Channel.TELEGRAM:
        return template.format(names=_names(names, None), **values)
    values = {k: to_gsm7(v) for k, v in values.items()}
    budget = SEGMENT - (septets(template.format(names="", **values)) or 0)
    return _sms(template, names=_names(names, budget), **values)


def _one(channel: Channel, template: str, /, **values: str) -> str:
    if channel is Channel.SMS:
        return _sms(template, **values)
    return template.format(**values)


# ------------------------------------------------------- replies to a citizen

_MEDIUM = {Channel.SMS: "por este medio", Channel.TELEGRAM: "por este chat"}
_NEXT = "Un operador lo revisa y avisa a la entidad que corresponde."

_EXAMPLE_PLACE = "Av. Abancay 123, Lima"
_QUESTIONS = {
    (MISSING_CATEGORY, MISSING_PLACE): (
        f"¿qué sucede y en qué calle y distrito? Ej.: robo en {_EXAMPLE_PLACE}"
    ),
    (MISSING_CATEGORY,): "¿qué sucede? Ej.: robo, choque, incendio, huele a gas",
    (MISSING_PLACE,): f"¿en qué calle y distrito? Ej.: {_EXAMPLE_PLACE}",
}


def _question(missing: Sequence[str]) -> str:
    key = tuple(m for m in (MISSING_CATEGORY, MISSING_PLACE) if m in missing)
    return _QUESTIONS.get(key) or _QUESTIONS[MISSING_CATEGORY, MISSING_PLACE]


def ask_missing(missing: Sequence[str] = (MISSING_CATEGORY, MISSING_PLACE)) -> str:
    """An SMS that said nothing we could file: what to write."""
    return f"Para reportar, responda: {_question(missing)}"


def report_received(channel: Channel, incident_id: str, *, missing: Sequence[str] = ()) -> str:
    """A new incident from the citizen's report; by SMS, asking for what it lacks."""
    if channel is Channel.SMS and any(m in missing for m in (MISSING_CATEGORY, MISSING_PLACE)):
        return _sms(
            "Reporte {id} recibido. Para avisar a quien corresponde, responda: {q}",
            id=incident_id,
            q=_question(missing),
        )
    if channel is Channel.SMS:
        return _sms(
            f"Reporte {{id}} recibido. {_NEXT} Le enviaremos novedades por este medio.",
            id=incident_id,
        )
    return (
        f"Reporte {incident_id} recibido. {_NEXT} Le enviaremos novedades por este chat. "
        f"Para consultar su estado, escriba /estado {incident_id}"
    )


def report_joined(channel: Channel, incident_id: str) -> str:
    """The report joined an incident already open for the same event."""
    return _one(
        channel,
        "Gracias. El hecho ya estaba reportado como {id}; sumamos su "
        f"reporte. Le enviaremos novedades {_MEDIUM[channel]}.",
        id=incident_id,
    )


def report_joined_later(channel: Channel, ticket: str, incident_id: str) -> str:
    """After the reply gave the report its own number (``ticket``): the report turned out
    to be of an incident already open for the same event, which the number now names."""
    return _one(
        channel,
        "Su reporte {t} es del mismo hecho que el incidente {id}, que ya se atiende; "
        "los unimos. Puede consultar con cualquiera de los dos.",
        t=ticket,
        id=incident_id,
    )


def report_refiled(channel: Channel, closed: str, incident_id: str) -> str:
    """A message meant to complete an incident that had ended meanwhile: it became an
    incident of its own."""
    return _one(
        channel,
        "El incidente {old} ya estaba cerrado; su mensaje es el reporte nuevo {id}. "
        f"Le enviaremos novedades {_MEDIUM[channel]}.",
        old=closed,
        id=incident_id,
    )


def report_completed(channel: Channel, incident_id: str, *, missing: Sequence[str] = ()) -> str:
    """A later message completed the citizen's incident; asks again for what it lacks."""
    if any(m in missing for m in (MISSING_CATEGORY, MISSING_PLACE)):
        return _one(
            channel,
            "Gracias, sumamos sus datos al reporte {id}. Falta: {q}",
            id=incident_id,
            q=_question(missing),
        )
    return _one(
        channel,
        "Gracias, sumamos sus datos al reporte {id}. Un operador lo revisa. "
        f"Le enviaremos novedades {_MEDIUM[channel]}.",
        id=incident_id,
    )


_STATUS_NOTES = {
    Status.RECEIVED: "Un operador lo revisa.",
    Status.DISPATCHED: "Estamos avisando a las entidades.",
    Status.RINGING: "Estamos llamando a las entidades.",
    Status.ACKNOWLEDGED: "Ya hay una entidad a cargo.",
    Status.BRIDGED: "Las entidades coordinan la respuesta.",
    Status.RESOLVED: "Gracias por avisar.",
    Status.UNANSWERED: "Un operador sigue llamando a las entidades.",
    Status.CANCELLED: "Si el problema sigue, escriba de nuevo.",
    Status.MERGED: "Ahora se sigue en {into}.",
}


def incident_status(
    channel: Channel,
    incident_id: str,
    status: Status,
    *,
    confirmed: Sequence[str] = (),
    merged_into: str | None = None,
) -> str:
    """The answer to "ESTADO <id>" / "/estado <id>": the status's label, what it means
    for the citizen, and the agencies that confirmed (by name)."""
    head = f"Estado de {{id}}: {status.label}. {_STATUS_NOTES[status]}"
    into = merged_into or "otro reporte"
    if not confirmed:
        return _one(channel, head, id=incident_id, into=into)
    template = head + " Confirmaron: {names}."
    return _with_names(template, confirmed, channel, id=incident_id, into=into)


def incident_not_found(channel: Channel, incident_id: str) -> str:
    return _one(
        channel, "No encontramos el reporte {id}. Revise que esté bien escrito.", id=incident_id
    )


def status_usage(channel: Channel, *, example: str) -> str:
    """How to ask for a report's status (``example`` is an incident id)."""
    if channel is Channel.SMS:
        return _sms(
            "Para consultar un reporte, escriba ESTADO y el reporte, p. ej.: ESTADO {ex}",
            ex=example,
        )
    return f"Para consultar un reporte, escriba /estado y su código, por ejemplo: /estado {example}"


# ---------------------------------------------------------------- SMS keywords


def sms_help(*, example: str) -> str:
    return _sms(
        "Para reportar, escriba qué sucede, la calle y el distrito. Para consultar: ESTADO {ex}."
        " Para no recibir mensajes: PARA.",
        ex=example,
    )


SMS_OPTED_OUT = "Listo: dejamos de enviarle mensajes. Para volver a recibirlos, escriba INICIO."
SMS_OPTED_IN = (
    "Listo: volvemos a enviarle novedades de sus reportes. Para dejar de recibirlas, escriba PARA."
)


# ------------------------------------------------------------ news to a citizen


def news_derived(channel: Channel, incident_id: str, agencies: Sequence[str]) -> str:
    """The incident was derived to these agencies (their names)."""
    return _with_names(
        "Su reporte {id} fue derivado a: {names}.", agencies, channel, id=incident_id
    )


def news_confirmed(channel: Channel, incident_id: str, agency: str) -> str:
    """The first agency confirmed it attends the incident."""
    return _with_names(
        "Su reporte {id} fue confirmado por {names}, que se encarga de atenderlo.",
        [agency],
        channel,
        id=incident_id,
    )


def news_resolved(channel: Channel, incident_id: str) -> str:
    return _one(channel, "Su reporte {id} fue resuelto. Gracias por avisar.", id=incident_id)


def news_cancelled(channel: Channel, incident_id: str) -> str:
    return _one(
        channel,
        "Su reporte {id} fue cancelado. Si el problema sigue, escriba de nuevo.",
        id=incident_id,
    )


def news_merged(channel: Channel, incident_id: str, into: str) -> str:
    """The incident was merged into ``into``, which the citizen now follows."""
    return _one(
        channel,
        "Su reporte {id} ahora se sigue en {into}, abierto por el mismo "
        f"hecho. Le enviaremos novedades {_MEDIUM[channel]}.",
        id=incident_id,
        into=into,
    )


# ------------------------------------------------------------------ responders

_HOW_TO_ANSWER = "Responda 1 o SI para confirmar, 2 o NO para declinar."


def responder_alert(
    channel: Channel,
    incident_id: str,
    *,
    category: str,
    district: str | None,
    address: str | None,
    priority: Priority | None = None,
) -> str:
    """The alert a responder gets: incident, category (code), place and how to answer.
    By SMS the label, the address and the district are cut to a common length to fit,
    the longest first."""
    label = category_label(category)
    name = district_name(district)
    if channel is Channel.SMS:
        where = {
            (True, True): " en {address}, {district}",
            (True, False): " en {address}",
            (False, True): " en {district}",
            (False, False): ", lugar por confirmar",
        }[bool(address), bool(name)]
        return _sms(
            "Alerta {id}: {category}" + where + ". " + _HOW_TO_ANSWER,
            shrink=("address", "district", "category"),
            id=incident_id,
            category=label,
            address=address or "",
            district=name or "",
        )
    heading = label + (f" (prioridad {priority.label})" if priority else "")
    return "\n".join(
        (
            f"Alerta {incident_id}",
            heading,
            f"Lugar: {place_text(district, address)}",
            "Pulse un botón o responda 1 o SI para confirmar, 2 o NO para declinar.",
        )
    )


def supervisor_notice(
    channel: Channel, incident_id: str, *, category: str, district: str | None, address: str | None
) -> str:
    """The centre's supervisors, told by SMS or Telegram that an agency did not answer an
    incident's escalation (nothing to answer: they act on the console)."""
    label = category_label(category)
    if channel is Channel.SMS:
        return _sms(
            "Aviso {id}: {category}, {place}. Una entidad no confirmo la atencion: "
            "revise el incidente.",
            shrink=("place", "category"),
            id=incident_id,
            category=label,
            place=place_text(district, address),
        )
    return "\n".join(
        (
            f"Aviso {incident_id}",
            label,
            f"Lugar: {place_text(district, address)}",
            "Una entidad no confirmó la atención: revise el incidente.",
        )
    )


_REF = re.compile(r"[\x21-\x7e]{1,40}")  # printable ASCII: one byte a character


def responder_buttons(ref: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The inline keyboard of a responder's Telegram alert: one row of (label, data);
    ``ref`` is the integrator's reference of the contact (1-40 printable ASCII)."""
    if not _REF.fullmatch(ref):
        raise ValueError(f"a button reference is 1-{REF_LIMIT} printable ASCII: {ref!r}")
    return ((("Confirmo (1)", f"ack:{ref}"), ("No puedo (2)", f"dec:{ref}")),)


Answer = Literal["accept", "decline"]


def responder_button(data: str) -> tuple[Answer, str] | None:
    """What a pressed responder button means, with its reference; None if not one."""
    kind, sep, ref = data.partition(":")
    if not sep or not _REF.fullmatch(ref) or kind not in ("ack", "dec"):
        return None
    return ("accept" if kind == "ack" else "decline"), ref


_ACCEPT_WORDS = {
    "1", "si", "ok", "okey", "okay", "confirmo", "confirmado", "acepto", "voy", "recibido",
}  # fmt: skip
_DECLINE_WORDS = {"2", "no", "puedo", "declino", "rechazo", "negativo"}


def responder_answer(text: str) -> Answer | None:
    """A responder's reply to an alert: "1", "si", "Sí.", "OK", "okey", "confirmo"
    accept; "2", "no", "No puedo" decline; anything else (or a mix) is None."""
    words = re.findall(r"\w+", fold(text))
    if not words or len(words) > 4:
        return None
    if all(w in _ACCEPT_WORDS for w in words):
        return "accept"
    if words[0] in ("2", "no", "declino", "rechazo", "negativo") and all(
        w in _DECLINE_WORDS for w in words
    ):
        return "decline"
    return None


def responder_confirmed(channel: Channel, incident_id: str) -> str:
    return _one(channel, "Gracias. Registramos que su entidad atiende {id}.", id=incident_id)


def responder_declined(channel: Channel, incident_id: str) -> str:
    return _one(
        channel, "Registramos que no puede atender {id}. Gracias por avisar.", id=incident_id
    )


def responder_not_understood(channel: Channel, incident_id: str | None = None) -> str:
    about = " sobre {id}" if incident_id else ""
    return _one(
        channel, f"No entendimos su respuesta{about}. {_HOW_TO_ANSWER}", id=incident_id or ""
    )


def responder_not_target(channel: Channel, incident_id: str) -> str:
    """The answer came from a number or chat the alert was not sent to: nothing changes."""
    who = "Este teléfono" if channel is Channel.SMS else "Este chat"
    return _one(
        channel,
        f"{who} no figura entre los destinatarios de la alerta {{id}}; su "
        "respuesta no cambia nada.",
        id=incident_id,
    )


def responder_too_late(channel: Channel, incident_id: str) -> str:
    """The alert no longer waits for an answer (answered already, or the incident closed)."""
    return _one(
        channel, "La alerta {id} ya no espera respuesta; no cambiamos nada.", id=incident_id
    )


# ------------------------------------------------------ the Telegram conversation

TG_GREETING = (
    "Hola. Este es el canal de reportes de emergencias de Lima. Le haremos unas preguntas "
    "cortas; puede escribir /cancelar en cualquier momento."
)
TG_ASK_CATEGORY = "¿Qué está pasando? Elija una opción o escríbalo con sus palabras."
TG_REASK_CATEGORY = (
    "No reconocí qué pasa. Elija una opción de la lista o escríbalo en pocas palabras, por "
    "ejemplo: «me robaron el celular», «choque», «huele a gas»."
)
TG_ASK_LOCATION = (
    "¿Dónde está pasando? Pulse «Compartir ubicación» o escriba la dirección y el distrito, "
    "por ejemplo: Av. Abancay 123, Cercado de Lima."
)
TG_REASK_LOCATION = (
    "No reconocí esa dirección. Escriba la calle, el número y el distrito, o pulse "
    "«Compartir ubicación»."
)
TG_LOCATION_BUTTON = "Compartir ubicación"
TG_PLACE_NOTED = "Lugar anotado."
TG_ASK_DESCRIPTION = (
    "Cuéntenos en un mensaje qué ocurre: qué ve, si hay personas heridas o en peligro."
)
TG_REASK_DESCRIPTION = "Escriba en un mensaje qué ocurre."
TG_ASK_PHOTO = "Si puede hacerlo sin riesgo, envíe una foto. Si no, pulse «Omitir»."
TG_REASK_PHOTO = "Envíe una foto o pulse «Omitir»."
TG_SKIP_BUTTON = "Omitir"
TG_CONFIRM_BUTTON = "Confirmar"
TG_CANCEL_BUTTON = "Cancelar"
TG_REASK_CONFIRM = "Pulse «Confirmar» para enviar el reporte o «Cancelar» para descartarlo."
TG_AS_IS_OFFER = (
    "Si prefiere, envíe el reporte tal como está: un operador lo revisará y lo completará."
)
TG_AS_IS_BUTTON = "Enviar así"
TG_CANCELLED = "Reporte descartado. Cuando quiera, escríbanos de nuevo."
TG_NOTHING_TO_CANCEL = "No hay ningún reporte en curso."
TG_STALE = "Ese botón ya no está vigente."
TG_EXPIRED = (
    "Pasaron más de 2 horas sin respuesta: el reporte anterior quedó sin enviar. "
    "Empecemos de nuevo."
)
TG_UNKNOWN_COMMAND = "No conozco ese comando. Escriba /ayuda para ver las opciones."
# answers to a pressed button (the small notice Telegram shows)
TG_ANSWER_NOTED = "Anotado."
TG_ANSWER_SENT = "Reporte enviado."
TG_ANSWER_CANCELLED = "Reporte descartado."


def tg_help(*, example: str) -> str:
    return (
        "Para reportar una emergencia, escriba qué ocurre y dónde, o siga los pasos con los "
        "botones.\n"
        f"/estado {example}: el estado de un reporte.\n"
        "/cancelar: descarta el reporte en curso.\n"
        "/ayuda: este mensaje."
    )


_SUMMARY_TEXT = 1000  # characters of the citizen's own text shown in the summary


def _clip(text: str, limit: int = _SUMMARY_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def tg_summary(
    *,
    category: str,
    place: str | None,
    point: tuple[float, float] | None,
    description: str | None,
    photo: bool,
) -> str:
    """The draft as the citizen confirms it: ``place`` is the typed address as read,
    ``point`` a shared location (lat, lon)."""
    where = [f"ubicación compartida ({point[0]:.5f}, {point[1]:.5f})"] if point else []
    where += [_clip(place, 300)] if place else []
    lines = [
        "Revise su reporte:",
        f"Tipo: {category_label(category)}",
        f"Lugar: {'; '.join(where) or 'sin indicar'}",
        f"Descripción: {_clip(description) if description else 'sin descripción'}",
        f"Foto: {'adjunta' if photo else 'sin foto'}",
        "¿Lo enviamos?",
    ]
    return "\n".join(lines)
