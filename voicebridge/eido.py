"""Incidents as NENA EIDO JSON (NENA-STA-021.1a-2022, the Emergency Incident Data Object;
issue 15, point 6): what another centre's CAD, or an analyst's tool, reads from
voicebridge. One object per incident:

- ``agencyComponent``: the centre (it took the calls) and every agency dispatched;
- ``incidentComponent``: the type in APCO's common registry (:data:`INCIDENT_TYPES`, a
  table with the reason of each choice), the status in EIDO's registry
  (:data:`STATUSES`), the priority, the district as the dispatch group;
- ``callComponent``: each report (a call, an SMS, a Telegram message, an operator's
  entry), when it started and when it was answered;
- ``dispatchComponent`` and ``emergencyResourceComponent``: each agency dispatched, its
  unit's statuses (dispatched, acknowledged, en route, on scene) from the log;
- ``locationComponent`` and ``notesComponent``: the place as given, and the summary.

Components point at each other by ``$id`` (``{"$ref": ...}``), as the standard does.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from routing.analytics import Phase, Phases, phases
from routing.categories import category_by_code
from routing.config import RoutingConfig
from routing.districts import district_by_code
from routing.errors import RoutingError
from routing.models import AgencyKind, IncidentDetail, Priority, Source, Status

EIDO_VERSION: Final = "1.0"


@dataclass(frozen=True, slots=True)
class Mapped:
    code: str
    why: str


INCIDENT_TYPES: Final[Mapping[str, Mapped]] = {
    "robo": Mapped("ROBBERY", "robo is taking by force or threat: robbery, not larceny"),
    "asalto": Mapped("ASSAULT", "an attack on a person"),
    "violencia_familiar": Mapped(
        "DVA", "family violence is reported while it happens: domestic violence with assault"
    ),
    "rina": Mapped("FIGHT", "a fight between people"),
    "disturbio": Mapped("CIVDIS", "a disturbance of the public order: civil disturbance"),
    "persona_desaparecida": Mapped(
        "ATL",
        "a person to be found: attempt to locate (the registry's missing-person "
        "codes are for runaways and abductions, which a report does not yet tell)",
    ),
    "accidente_transito": Mapped(
        "MVA", "a traffic accident whose injuries the report does not yet tell"
    ),
    "buzon_sin_tapa": Mapped("PUBWKS", "a missing manhole cover is for public works"),
    "fuga_gas": Mapped("GASLEAK", "a gas leak"),
    "incendio": Mapped("FOTHER", "a fire the report does not say is of a structure or vehicle"),
    "emergencia_medica": Mapped(
        "SICK", "a medical emergency whose nature the report does not yet tell"
    ),
    "rescate": Mapped("RESCUE", "a rescue"),
    "derrumbe": Mapped("BLDCLPSE", "a collapse (in Lima, mostly of walls and buildings)"),
    "materiales_peligrosos": Mapped("HAZMAT", "hazardous materials"),
    "corte_energia": Mapped("ELEC", "an electrical problem: a power cut"),
    "cable_caido": Mapped("WIRES", "wires down"),
    "aniego": Mapped("WATER", "a water problem: flooding from a burst main"),
    "semaforo_averiado": Mapped("THAZ", "a traffic signal out is a traffic hazard"),
    "arbol_caido": Mapped("PUBWKS", "a fallen tree is cleared by the municipality's works"),
    "otro": Mapped("CITASST", "anything else a citizen asks for: citizen assist"),
    "sin_clasificar": Mapped(
        "TROUBLE", "not yet classified: unknown trouble, until an operator says more"
    ),
}
"""voicebridge's categories as APCO ANS 2.103 incident types (the registry EIDO's
``incidentTypeCommonRegistryText`` takes; codes as NIEM's ``apco`` namespace lists them).
The category itself travels as the internal code and its label as the internal text."""

STATUSES: Final[Mapping[Status, tuple[tuple[str, ...], str]]] = {
    Status.RECEIVED: (("Active",), "taken, nobody dispatched yet"),
    Status.DISPATCHED: (("Active", "ResourcesAssigned"), "the agencies are chosen"),
    Status.RINGING: (("Active", "ResourcesAssigned"), "the agencies are being called"),
    Status.ACKNOWLEDGED: (("Active", "ResourcesAssigned"), "an agency took it"),
    Status.BRIDGED: (("Active", "ResourcesAssigned"), "an agency is with the operator"),
    Status.UNANSWERED: (("Active",), "no agency took it yet: still the centre's"),
    Status.RESOLVED: (("Closed",), "attended"),
    Status.CANCELLED: (("Cancelled",), "a false alarm, or withdrawn"),
    Status.MERGED: (("Closed",), "the same event as another incident, which carries on"),
}
"""voicebridge's statuses in EIDO's Incident Status registry (with why); an incident whose
units report en route or on scene adds ``ResourcesEnroute`` or ``ResourcesOnscene``."""

RESOURCE_TYPES: Final[Mapping[AgencyKind, str]] = {
    AgencyKind.POLICE: "Law",
    AgencyKind.FIRE: "Fire",
    AgencyKind.MEDICAL: "EMS",
    AgencyKind.HEALTH: "EMS",
    AgencyKind.TRANSIT: "Other",
    AgencyKind.ELECTRICITY: "Other",
    AgencyKind.WATER: "Other",
    AgencyKind.GAS: "Other",
    AgencyKind.MUNICIPAL: "Other",
    AgencyKind.CIVIL_DEFENSE: "Other",
}
"""What kind of resource each kind of agency sends."""

PRIORITY_NUMBERS: Final = {Priority.CRITICAL: 1, Priority.HIGH: 2, Priority.MEDIUM: 3,
                           Priority.LOW: 4}  # fmt: skip
CALL_TYPES: Final = {
    Source.PHONE: "emergency",
    Source.SMS: "emergency",
    Source.TELEGRAM: "emergency",
    Source.CONSOLE: "emergency",
    Source.API: "emergency",
}


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _ref(target: str) -> dict[str, str]:
    return {"$ref": target}


def _drop_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None and v != []}


def eido(detail: IncidentDetail, config: RoutingConfig, *, issuer: str) -> dict[str, Any]:
    """The EIDO of one incident, issued by ``issuer`` (the centre's domain)."""
    incident = detail.incident
    p = phases(detail)
    centre = f"psap.{issuer}"
    base = f"urn:emergency:uid:incidentid:{incident.id}:{issuer}"
    updated = _time(incident.updated_at)

    def prologue(component_id: str, at: str | None = None) -> dict[str, Any]:
        return {"$id": component_id, "lastUpdateTimeStamp": at or updated,
                "updatedByAgencyReference": _ref(centre)}  # fmt: skip

    agencies = sorted(p.agencies)
    agency_components = [
        prologue(centre) | {
            "agencyRoleDescriptionRegistryText": ["CallReceiving", "Dispatching"],
            "agencyType": ["psap"],
            "incidentOwningAgencyIndicator": True,
        }
    ]  # fmt: skip
    resources, dispatches = [], []
    for agency in agencies:
        known = config.agencies.get(agency)
        kind = known.kind if known is not None else AgencyKind.MUNICIPAL
        agency_id = f"{agency}.agency.{issuer}"
        agency_components.append(
            prologue(agency_id) | {"agencyRoleDescriptionRegistryText": ["Responding"],
                                   "agencyType": [RESOURCE_TYPES[kind].lower()]}
        )  # fmt: skip
        unit = f"{base}:resource:{agency}"
        resources.append(
            prologue(unit) | _drop_none({
                "emergencyResourceTypeCommonRegistryText": RESOURCE_TYPES[kind],
                "emergencyResourceTypeInternalText": known.name if known else agency,
                "emergencyResourceName": known.name if known else agency,
                "resourceAttributeRegistryText": [],
                "primaryUnitStatusRegistryText": (
                    "Available" if incident.status in (Status.RESOLVED, Status.CANCELLED,
                                                       Status.MERGED) else "NotAvailable"
                ),
                "secondaryUnitStatusRegistryText": _unit_statuses(p, agency),
                "agentReference": [_ref(agency_id)],
                "activeOnIncidentId": incident.id,
            }) | {"resourceAttributeRegistryText": []}
        )  # fmt: skip
        dispatches.append(
            prologue(f"{base}:dispatch:{agency}")
            | {"agencyReference": _ref(agency_id), "emergencyResourceReference": [_ref(unit)]}
        )
    location_id = f"{base}:location:1"
    loc = incident.location
    has_place = loc.lat is not None or loc.address or loc.reference
    locations = []
    if has_place:
        locations.append(
            prologue(location_id) | _drop_none({
                "locationTypeDescriptionRegistryText": "geodetic" if loc.lat is not None
                else "civic",
                "locationByValue": _pidf(loc.lat, loc.lon) if loc.lat is not None else None,
                "locationDescriptionText": " · ".join(filter(None, (loc.address, loc.reference)))
                or None,
            })
        )  # fmt: skip
    notes_id = f"{base}:notes:1"
    category = category_by_code(incident.category)
    statuses, _ = STATUSES[incident.status]
    statuses = (*statuses, *_field_statuses(p))
    incident_component = prologue(f"{base}:incident") | _drop_none({
        "incidentTypeCommonRegistryText": INCIDENT_TYPES[incident.category].code,
        "incidentTypeInternalCode": incident.category,
        "incidentTypeInternalText": category.label,
        "incidentStatusCommonRegistryText": list(statuses),
        "incidentStatusInternalText": [incident.status.value],
        "internalIncidentId": incident.id,
        "incidentPriorityInternalText": incident.priority.value,
        "incidentCommonPriorityNumber": PRIORITY_NUMBERS[incident.priority],
        "beatOrDispatchGroupText": _district(incident.district),
        "locationReference": [_ref(location_id)] if has_place else None,
        "notesReference": [_ref(notes_id)],
    })  # fmt: skip
    calls = [
        prologue(f"{base}:call:{r.id}", _time(r.received_at)) | _drop_none({
            "standardPrimaryCallType": CALL_TYPES[r.source],
            "localCallType": r.source.value,
            "direction": "incoming",
            "callStartTimestamp": _time(r.began),
            "answerDate": _time(p.at.get(Phase.CREATED)) if n == 0 else _time(r.received_at),
            "callStateRegistryText": "callAnswered",
            "locationReference": [_ref(location_id)] if has_place else None,
            "agencyReference": [_ref(centre)],
        })
        for n, r in enumerate(sorted(detail.reports, key=lambda r: (r.received_at, r.id)))
    ]  # fmt: skip
    return _drop_none(
        prologue(base)
        | {
            "eidoVersion": EIDO_VERSION,
            "issuingElementIdentification": issuer,
            "agencyComponent": agency_components,
            "incidentComponent": incident_component,
            "callComponent": calls,
            "dispatchComponent": dispatches,
            "emergencyResourceComponent": resources,
            "locationComponent": locations,
            "notesComponent": [prologue(notes_id) | {"notesActionComments": incident.summary
                                                     or category.label}],
        }
    )  # fmt: skip


def _district(code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return f"{code} {district_by_code(code).name}"
    except RoutingError:
        return code


def _unit_statuses(p: Phases, agency: str) -> list[str]:
    """EIDO's secondary unit statuses the agency's leg went through, in order."""
    leg = p.agencies.get(agency, {})
    out = ["Dispatched"]
    if Phase.ACKNOWLEDGED in leg:
        out.append("AcknowledgedTransmission")
    if Phase.EN_ROUTE in leg:
        out.append("EnRoute")
    if Phase.ON_SCENE in leg:
        out.append("OnScene")
    if p.final is not None:
        out.append("Cleared")
    return out


def _field_statuses(p: Phases) -> tuple[str, ...]:
    if p.final is not None:
        return ()
    legs = p.agencies.values()
    if any(Phase.ON_SCENE in leg for leg in legs):
        return ("ResourcesOnscene",)
    if any(Phase.EN_ROUTE in leg for leg in legs):
        return ("ResourcesEnroute",)
    return ()


def _pidf(lat: float | None, lon: float | None) -> str:
    """The point as a PIDF-LO (RFC 4119) GML point, as ``locationByValue`` carries it."""
    return (
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:gml="http://www.opengis.net/gml" entity="pres:incident@voicebridge">'
        "<tuple><status><gp:geopriv><gp:location-info>"
        f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{lat} {lon}</gml:pos>'
        "</gml:Point></gp:location-info></gp:geopriv></status></tuple></presence>"
    )


def issuer_of(public_url: str | None) -> str:
    """The centre's domain: the host of its public URL, else ``voicebridge.invalid``."""
    if public_url:
        host = urlsplit(public_url).hostname
        if host:
            return host
    return "voicebridge.invalid"
