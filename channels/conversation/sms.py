"""The citizen's SMS conversation, as a pure state machine.

Every SMS is a whole request: a keyword (a whole message, case and accents ignored), a
status question, or a report. The state remembers the number's last report for 30
minutes, so that a later SMS can complete it instead of opening a second incident.

Keywords:

- ``PARA``, ``STOP``, ``BAJA``, ``CANCELAR SUSCRIPCION`` (and Twilio's own ``STOPALL``,
  ``UNSUBSCRIBE``, ``CANCEL``, ``END``, ``QUIT``): :class:`OptOut`.
- ``INICIO``, ``START``, ``ALTA`` (and Twilio's ``UNSTOP``, ``YES``): :class:`OptIn`.
- ``AYUDA``, ``HELP``, ``INFO``, and ``CANCELAR`` alone: :class:`Help` (``CANCELAR``
  alone may mean a report, not the messages: the help says how to stop them).
- ``ESTADO <id>``: :class:`AskStatus`; the id as :func:`parse_incident_id` reads it
  (``LIM-2026-000123``, ``lim 2026 123``, ``2026-123``, ``123``). ``ESTADO`` alone asks
  for the number's last report. ``ESTADO`` followed by a few words with a digit that are
  not an id gets the usage; followed by a sentence it is a report ("estado de
  emergencia...").

Anything else is a report, even what cannot be classified (an incident in
``sin_clasificar``, and the reply asks for what is missing); only an empty SMS is not
filed (it gets the question). A report becomes :class:`AddToIncident` when the number's
previous report (within 30 minutes) lacked a category or a place, or when it says
nothing on its own (no category, no place: "gracias", "apúrense"), unless it names a
different category or place than that incident's; otherwise :class:`FileReport`.

The integrator, per inbound SMS: load the number's :class:`SmsState` (``SmsState()`` when
none), call :func:`step`; apply the action (record opt-out/in, look up a status, file
the report); for FileReport / AddToIncident call :func:`filed` with the incident the
report went to, which gives the reply and the state to store. Store the state in the
transaction that applies the action.
"""

from dataclasses import replace
from datetime import datetime, timedelta

from channels import texts
from channels.conversation.common import Reader, aware, example_id, parse_incident_id
from channels.conversation.models import (
    AddToIncident,
    AskStatus,
    FileReport,
    Help,
    LastReport,
    OptIn,
    OptOut,
    SmsAction,
    SmsReply,
    SmsState,
    SmsTurn,
)
from channels.texts import Channel
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED, Reading
from routing.text import fold

__all__ = [
    "COMPLETION_WINDOW",
    "AddToIncident",
    "AskStatus",
    "FileReport",
    "Help",
    "LastReport",
    "OptIn",
    "OptOut",
    "SmsReply",
    "SmsState",
    "SmsTurn",
    "filed",
    "step",
]

COMPLETION_WINDOW = timedelta(minutes=30)
MAX_ASKS = 3  # replies that ask for what an incident lacks; then the operators triage it

# whole messages, folded (see _words); Twilio's own keywords too, which it also acts on
OPT_OUT = frozenset(("para", "stop", "baja", "cancelar suscripcion", "stopall", "unsubscribe",
                     "cancel", "end", "quit"))  # fmt: skip
OPT_IN = frozenset(("inicio", "start", "alta", "unstop", "yes"))
HELP = frozenset(("ayuda", "help", "info", "cancelar"))
STATUS = "estado"


def _words(text: str) -> str:
    """``"¡Cancelar suscripción!"`` -> ``"cancelar suscripcion"``."""
    return " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())


def _looks_like_an_id(rest: str) -> bool:
    return any(c.isdigit() for c in rest) and len(rest) <= 30 and len(rest.split()) <= 4


def step(
    state: SmsState, text: str, now: datetime, reader: Reader, *, prefix: str = "LIM"
) -> SmsTurn:
    """One inbound SMS of a number: what to do, and the reply when it needs nothing
    from the integrator. ``prefix`` is the centre's incident id prefix."""
    aware(now)
    words = _words(text)
    if words in OPT_OUT:
        return SmsTurn(state=state, action=OptOut(), reply=texts.SMS_OPTED_OUT)
    if words in OPT_IN:
        return SmsTurn(state=state, action=OptIn(), reply=texts.SMS_OPTED_IN)
    if words in HELP:
        return SmsTurn(
            state=state, action=Help(), reply=texts.sms_help(example=example_id(prefix, now))
        )
    first, rest = [*text.split(None, 1), "", ""][:2]
    if _words(first) == STATUS and (not rest.strip() or _looks_like_an_id(rest)):
        return _status(state, rest, now, prefix)
    if not words:
        return SmsTurn(state=state, action=None, reply=texts.ask_missing())
    return SmsTurn(state=state, action=_report(state, text, now, reader), reply=None)


def _status(state: SmsState, rest: str, now: datetime, prefix: str) -> SmsTurn:
    if rest.strip():
        incident_id = parse_incident_id(rest, now=now, prefix=prefix)
    else:
        incident_id = state.last.incident_id if state.last else None
    if incident_id is None:
        usage = texts.status_usage(Channel.SMS, example=example_id(prefix, now))
        return SmsTurn(state=state, action=None, reply=usage)
    return SmsTurn(state=state, action=AskStatus(incident_id=incident_id), reply=None)


def _has_place(reading: Reading) -> bool:
    return MISSING_PLACE not in reading.missing


def _has_category(reading: Reading) -> bool:
    return MISSING_CATEGORY not in reading.missing and reading.category != UNCLASSIFIED


def _contradicts(last: LastReport, reading: Reading) -> bool:
    """The reading names another category or another place than the incident's."""
    if last.category and _has_category(reading) and reading.category != last.category:
        return True
    if not _has_place(reading):
        return False
    return bool(
        (last.address_key and reading.address_key and last.address_key != reading.address_key)
        or (last.district and reading.district and last.district != reading.district)
    )


def _report(state: SmsState, text: str, now: datetime, reader: Reader) -> SmsAction:
    reading = reader(text)
    last = state.last
    if last is None or now - last.at > COMPLETION_WINDOW or _contradicts(last, reading):
        return FileReport(reading=reading, text=text)
    says_nothing = not _has_category(reading) and not _has_place(reading)
    if not last.missing and not says_nothing:
        return FileReport(reading=reading, text=text)  # a new report: dedup may join it
    supplied = set()
    if _has_category(reading):
        supplied.add(MISSING_CATEGORY)
    if _has_place(reading):
        supplied.add(MISSING_PLACE)
    return AddToIncident(
        incident_id=last.incident_id,
        reading=reading,
        text=text,
        still_missing=tuple(m for m in last.missing if m not in supplied),
    )


def filed(
    state: SmsState,
    action: FileReport | AddToIncident,
    *,
    incident_id: str,
    joined: bool = False,
    now: datetime,
) -> SmsReply:
    """The reply once the report is filed, and the state to store. ``incident_id`` is the
    incident the report went to; ``joined`` when a FileReport joined an incident already
    open for the same event."""
    aware(now)
    reading = action.reading
    category = reading.category if _has_category(reading) else None
    if isinstance(action, FileReport) and joined:
        last = LastReport(
            incident_id=incident_id,
            at=now,
            category=category,
            district=reading.district,
            address_key=reading.address_key,
        )
        return SmsReply(
            state=SmsState(last=last), reply=texts.report_joined(Channel.SMS, incident_id)
        )
    if isinstance(action, FileReport):
        missing = tuple(m for m in (MISSING_CATEGORY, MISSING_PLACE) if m in reading.missing)
        if reading.category == UNCLASSIFIED and MISSING_CATEGORY not in missing:
            missing = (MISSING_CATEGORY, *missing)
        last = LastReport(
            incident_id=incident_id,
            at=now,
            missing=missing,
            category=category,
            district=reading.district,
            address_key=reading.address_key,
            asked=1 if missing else 0,
        )
        reply = texts.report_received(Channel.SMS, incident_id, missing=missing)
        return SmsReply(state=SmsState(last=last), reply=reply)
    before = state.last or LastReport(incident_id=incident_id, at=now)
    ask = bool(action.still_missing) and before.asked < MAX_ASKS
    last = replace(
        before,
        incident_id=incident_id,
        at=now,
        missing=action.still_missing,
        category=before.category or category,
        district=before.district or reading.district,
        address_key=before.address_key or reading.address_key,
        asked=before.asked + int(ask),
    )
    missing = action.still_missing if ask else ()
    reply = texts.report_completed(Channel.SMS, incident_id, missing=missing)
    return SmsReply(state=SmsState(last=last), reply=reply)
