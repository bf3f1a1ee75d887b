"""An incident as an OASIS CAP 1.2 alert (issue 15, point 6): what voicebridge gives other
centres and alerting systems (a restricted alert to the agencies, or a public one). One
``<info>`` in Spanish with ``<language>es-PE</language>`` (CAP assumes en-US where it is
absent), the place as the district's UBIGEO geocode, the address and, when known, a
circle around the point. The mapping of categories and priorities to CAP's enumerations
is a table here with its reasons. Written with the standard library's streaming XML
writer, which escapes every text (what XML cannot carry at all is dropped); never
parsed from outside."""

import io
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesNSImpl

from routing.categories import category_by_code
from routing.districts import district_by_code
from routing.errors import RoutingError
from routing.ids import LIMA
from routing.models import Incident, Priority, Status

NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
LANGUAGE: Final = "es-PE"
SENDER_NAME: Final = "CIC-SC Lima Metropolitana"

CATEGORIES: Final[Mapping[str, tuple[str, str]]] = {
    "robo": ("Security", "a crime against people or property"),
    "asalto": ("Security", "a crime against people"),
    "violencia_familiar": ("Security", "a crime against people"),
    "rina": ("Security", "public order"),
    "disturbio": ("Security", "public order"),
    "persona_desaparecida": ("Rescue", "a person to be found"),
    "accidente_transito": ("Transport", "road traffic"),
    "buzon_sin_tapa": ("Infra", "public works"),
    "fuga_gas": ("Safety", "a hazard to people nearby"),
    "incendio": ("Fire", "fire suppression"),
    "emergencia_medica": ("Health", "medical care"),
    "rescate": ("Rescue", "rescue"),
    "derrumbe": ("Geo", "a collapse of ground or structures"),
    "materiales_peligrosos": ("CBRNE", "hazardous materials"),
    "corte_energia": ("Infra", "utilities"),
    "cable_caido": ("Infra", "utilities (and a hazard)"),
    "aniego": ("Infra", "utilities"),
    "semaforo_averiado": ("Transport", "road traffic"),
    "arbol_caido": ("Infra", "public works"),
    "otro": ("Other", "none of the above"),
    "sin_clasificar": ("Other", "not yet classified"),
}
"""voicebridge's categories as CAP ``<category>`` values (with why)."""

SEVERITY: Final = {
    Priority.CRITICAL: ("Immediate", "Extreme"),
    Priority.HIGH: ("Immediate", "Severe"),
    Priority.MEDIUM: ("Expected", "Moderate"),
    Priority.LOW: ("Expected", "Minor"),
}
"""A priority as CAP's ``<urgency>`` and ``<severity>``: a critical or high incident needs
action now (Immediate) and threatens life or much property (Extreme, Severe)."""

MSG_TYPES: Final = {Status.CANCELLED: "Cancel", Status.MERGED: "Cancel"}
"""A cancelled or merged incident's alert cancels the earlier ones; every other is an
Alert (the first) or an Update (its log went on)."""


def cap_time(at: datetime) -> str:
    """CAP's dateTime: seconds, an explicit offset, no ``Z`` (Lima's: -05:00)."""
    return at.astimezone(LIMA).replace(microsecond=0).isoformat()


def cap_alert(
    incident: Incident,
    *,
    issuer: str,
    sent: datetime,
    scope: str = "Restricted",
    restriction: str = "Para las entidades de primera respuesta y las centrales distritales",
) -> bytes:
    """The CAP 1.2 alert of ``incident``, sent at ``sent`` by ``issuer`` (the centre's
    domain), as UTF-8 XML."""
    msg_type = MSG_TYPES.get(incident.status, "Alert" if incident.version <= 1 else "Update")
    category = category_by_code(incident.category)
    urgency, severity = SEVERITY[incident.priority]
    district = _district_name(incident.district)
    headline = f"{category.label} en {district}" if district else category.label
    if msg_type == "Cancel":
        urgency, severity = "Past", "Minor"
        headline = f"Anulado: {headline}"
    loc = incident.location
    where = ", ".join(x for x in (loc.address, loc.reference, district) if x)
    area: list[Node] = [("areaDesc", where or "Lima Metropolitana")]
    if loc.lat is not None and loc.lon is not None:
        area.append(("circle", f"{loc.lat},{loc.lon} 0.1"))  # a 100 m radius, in km
    if incident.district:
        area.append(("geocode", [("valueName", "UBIGEO"), ("value", incident.district)]))
    info: list[Node] = [
        ("language", LANGUAGE),
        ("category", CATEGORIES[incident.category][0]),
        ("event", category.label),
        ("urgency", urgency),
        ("severity", severity),
        ("certainty", "Observed" if incident.status is not Status.RECEIVED else "Likely"),
        ("senderName", SENDER_NAME),
        ("headline", headline[:160]),
        ("description", incident.summary or category.label),
        ("area", area),
    ]
    alert: list[Node] = [
        ("identifier", f"{incident.id}-{incident.version}"),
        ("sender", f"cap@{issuer}"),
        ("sent", cap_time(sent)),
        ("status", "Actual"),
        ("msgType", msg_type),
        ("scope", scope),
    ]
    if scope == "Restricted":
        alert.append(("restriction", restriction))
    if msg_type != "Alert":
        alert.append(
            ("references", f"cap@{issuer},{incident.id}-1,{cap_time(incident.created_at)}")
        )
    alert += [("incidents", incident.id), ("info", info)]
    out = io.StringIO()
    xml = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
    xml.startDocument()
    xml.startPrefixMapping(None, NS)
    _write(xml, ("alert", alert))
    xml.endPrefixMapping(None)
    xml.endDocument()
    return out.getvalue().encode()


Node = tuple[str, "str | list[Node]"]
"""An element: its name, and its text or its children."""


NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 does not allow in a document, escaped or not."""


def _write(xml: XMLGenerator, node: Node) -> None:
    name, content = node
    xml.startElementNS((NS, name), name, AttributesNSImpl({}, {}))
    if isinstance(content, str):
        xml.characters(NOT_XML.sub("", content))
    else:
        for child in content:
            _write(xml, child)
    xml.endElementNS((NS, name), name)


def _district_name(code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return district_by_code(code).name
    except RoutingError:
        return None
