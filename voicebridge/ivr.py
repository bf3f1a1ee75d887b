"""A citizen's call through the phone IVR (``vb-citizen``): the report its dialplan sends
in ``UserEvent(CitizenReport)`` filed as every channel's reports are, and the call taken
on.

The event carries FILTERed digits only: ``Choice`` (a key of :func:`dialplans.citizen.
choices`, or empty), ``District`` (the UBIGEO's last two digits, or empty), ``Line``
(the number dialled), ``Caller`` (the caller's number) and ``Status`` (``CHOSEN``,
``OPERATOR`` or ``HANGUP``); the channel snapshot carries the ``Uniqueid``, which is the
report's external id. Every ``serve`` replica sees the event and files it; the report's
external id makes one of them the one that takes the call on (the others find it
stored) and a repeated event changes nothing.

The report becomes a new incident or joins the open one of the same category in its
district (:attr:`routing.dedup.Nearby.district_wide`: a second caller for the same fire
joins the first one's incident). Then, unless the caller hung up, the call is taken on:
the caller hears the incident's number and, for the categories of
``VOICEBRIDGE_IVR_BRIDGE`` (and whoever asked for the operator), stays on the line and
is moved into the incident's conference, where the district operator is called at once:
the incident is dispatched when it was not yet (the operator and the agencies), or, for
a report the rules cannot route (no category, no district), the district's operator
(else the centre's) alone is called into the room. The caller is a contact of that room
(role ``citizen``, named by the channel's Uniqueid): the console shows them in it, and an
operator can drop the leg.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from dialplans.citizen import choices, district_ubigeo
from routing.categories import find_category
from routing.decide import PlannedTarget
from routing.dedup import Nearby
from routing.districts import district_by_code
from routing.errors import Conflict, RoutingError
from routing.models import Medium, NewIncident, NewReport, Reporter, Source, Status
from routing.phones import to_e164
from routing.reading import UNCLASSIFIED
from routing.resolve import DistrictSource
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

ACTOR = "citizen:phone"
DISTRICT_WIDE = frozenset(
    {
        "incendio",
        "fuga_gas",
        "accidente_transito",
        "aniego",
        "corte_energia",
        "cable_caido",
        "buzon_sin_tapa",
    }
)
"""Events many people see at once (a fire, a leak, a crash, an outage): a caller, who
says no more than the category and the district, joins the open incident of both. An
assault or a medical emergency is one person's: each call is an incident of its own,
and an operator merges what is one event."""
EVENT = "CitizenReport"
UNIQUEID = re.compile(r"[0-9A-Za-z._-]{1,64}")
LINE = re.compile(r"[0-9]{0,15}")
EPOCH = re.compile(r"[0-9]{9,11}")  # Unix seconds: 1973 to 5138
IVR_LONGEST = timedelta(hours=1)
"""A call's start further back than this is taken as a clock's error, not a call that
long (the IVR hangs up long before: ``ivr_timeout``)."""


class CallStatus(StrEnum):
    CHOSEN = "CHOSEN"  # a category chosen (the district known or asked)
    OPERATOR = "OPERATOR"  # 0, or three plays without an answer: the operator now
    HANGUP = "HANGUP"  # hung up after choosing a category: a report for a call back


@dataclass(frozen=True, kw_only=True, slots=True)
class CallReport:
    """What a caller said to the IVR, checked."""

    uniqueid: str
    choice: str  # "" when none was chosen
    category: str  # the choice's, or sin_clasificar
    district: str | None  # UBIGEO
    line: str  # the number dialled ("" when none)
    caller: str | None  # E.164; None when the number is withheld or not a number
    status: CallStatus
    began: datetime | None = None
    """When the IVR took the call (Asterisk's clock, to the second); None from a
    dialplan that does not say (a revision before ``Began``)."""


def parse_report(fields: dict[str, str]) -> CallReport | None:
    """The report of a ``CitizenReport`` event's fields; None (logged) when a field is not
    what the dialplan sends, which only a dialplan other than ours would do."""
    uniqueid = fields.get("Uniqueid", "")
    choice = fields.get("Choice", "")
    district = fields.get("District", "")
    line = fields.get("Line", "")
    caller = fields.get("Caller", "")
    status = fields.get("Status", "")
    began = fields.get("Began", "")
    known = choices()
    ubigeo = district_ubigeo(district) if district else None
    checks = {
        "Uniqueid": UNIQUEID.fullmatch(uniqueid) is not None,
        "Choice": not choice or choice in known,
        "District": not district or ubigeo is not None,
        "Line": LINE.fullmatch(line) is not None,
        "Status": status in CallStatus.__members__,
        "Began": not began or EPOCH.fullmatch(began) is not None,
    }
    problem = next((name for name, ok in checks.items() if not ok), None)
    if problem is not None:
        log.warning("ivr: a %s event with a bad %s field: ignored", EVENT, problem)
        return None
    return CallReport(
        uniqueid=uniqueid,
        choice=choice,
        category=known.get(choice, UNCLASSIFIED),
        district=ubigeo,
        line=line,
        caller=to_e164(caller[:20]) if caller else None,
        status=CallStatus(status),
        began=datetime.fromtimestamp(int(began), UTC) if began else None,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Taken:
    """What becomes of the call once its report is filed."""

    incident: str
    digits: str  # the number the caller hears ("" for none)
    bridge: bool  # into the incident's conference with the operator
    repeated: bool  # filed before (another replica's, or a repeated event): not ours


def citizen_label(caller: str | None) -> str:
    """How the room's legs name the caller (Spanish)."""
    return f"Ciudadano {caller}" if caller else "Ciudadano (número oculto)"


def describe(report: CallReport) -> str:
    """The report's text, as operators read it (Spanish)."""
    category = find_category(report.category)
    what = (
        f"eligió {report.choice} ({category.label})"
        if report.choice and category is not None
        else "no eligió categoría"
    )
    where = (
        f"distrito {district_by_code(report.district).name}"
        if report.district
        else "distrito sin indicar"
    )
    how = {
        CallStatus.CHOSEN: "",
        CallStatus.OPERATOR: "; pidió un operador",
        CallStatus.HANGUP: "; colgó antes de terminar (devolver la llamada)",
    }[report.status]
    dialled = f" al {report.line}" if report.line else ""
    return f"Llamada a la central{dialled}: {what}, {where}{how}."


def _began(report: CallReport, now: datetime) -> datetime | None:
    """When the call's contact began: when the IVR took it, unless a clock's error."""
    if report.began is None or report.began < now - IVR_LONGEST:
        return None
    return report.began


class CitizenCalls:
    """Files the IVR's reports and says what becomes of each call (blocking: run it in
    a thread)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def file(self, report: CallReport, *, waiting: bool = False) -> Taken:
        """File the report and say what becomes of the call. A report filed before is
        ``repeated`` (another replica's, a repeated event) and its call left alone,
        unless the caller is known to be ``waiting`` still (read back after a login: the
        call may never have been taken on)."""
        rt = self.rt
        s = rt.settings
        new = NewIncident(
            category=report.category,
            district=report.district,
            report=NewReport(
                source=Source.PHONE,
                text=describe(report),
                reporter=Reporter(phone=report.caller),
                external_id=f"ivr:{report.uniqueid}",
                payload={
                    "choice": report.choice,
                    "line": report.line,
                    "status": report.status.value,
                },
                began_at=_began(report, rt.clock.now()),
            ),
            district_source=DistrictSource.CENTRAL.value if report.district else None,
            district_note=(
                f"el número marcado ({report.line}) o el código que marcó el ciudadano"
                if report.district
                else ""
            ),
        )
        nearby = Nearby(
            radius_m=float(s.join_radius),
            window=timedelta(minutes=s.join_window),
            district_wide=report.category in DISTRICT_WIDE,
        )
        filed = rt.store.file(new, actor=ACTOR, nearby=nearby)
        incident = filed.incident
        if report.status is CallStatus.HANGUP or (filed.repeated and not waiting):
            return Taken(incident=incident.id, digits="", bridge=False, repeated=filed.repeated)
        operator = report.status is CallStatus.OPERATOR
        wanted = operator or report.category in s.ivr_bridge
        bridge = wanted and self._operator(incident.id, incident.status, report)
        if bridge:
            try:
                rt.calls.contacts.arrived(
                    incident.id,
                    report.uniqueid,
                    Medium.VOICE,
                    report.caller or "",
                    citizen_label(report.caller),
                    actor=ACTOR,
                )
            except Conflict:  # the incident ended meanwhile: no room to put the caller in
                bridge = False
        digits = "" if operator else incident.id.rsplit("-", 1)[-1]
        return Taken(incident=incident.id, digits=digits, bridge=bridge, repeated=False)

    def not_taken(self, report: CallReport, cause: str) -> None:
        """The caller hung up before the call was moved on: their contact, if it was on
        its way to the room, ends."""
        self.rt.calls.contacts.not_arrived(report.uniqueid, cause)

    def _operator(self, incident_id: str, status: Status, report: CallReport) -> bool:
        """The district operator into the incident's room: by dispatching it (the
        agencies too) when the rules can route it and it is not dispatched yet, else
        alone (the operator triages; nothing when an operator's leg is on already).
        Whether there is an operator to meet the caller there (none configured for a
        report without a district on a centre without ``operator``: the caller is not
        put in an empty room)."""
        rt = self.rt
        config, _ = rt.rules.current()
        who = config.operator_of(report.district or "")
        if who is None:
            log.warning("ivr: no operator for %s: the caller is not bridged", incident_id)
            return False
        routable = report.category != UNCLASSIFIED and report.district is not None
        if status is Status.RECEIVED and routable and report.status is CallStatus.CHOSEN:
            try:
                rt.dispatcher.dispatch(incident_id, actor=ACTOR)
                return True
            except RoutingError as exc:  # no rule for it, or dispatched meanwhile
                log.warning("ivr: %s not dispatched (%s): its operator is called", incident_id, exc)
        target = PlannedTarget(target=who[1], station="central", station_name=who[0])
        cause = (
            "el ciudadano pidió un operador"
            if report.status is CallStatus.OPERATOR
            else "un ciudadano espera en la línea"
        )
        rt.dispatcher.call_operator(incident_id, target, actor=ACTOR, cause=cause)
        return True
