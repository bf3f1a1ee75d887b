"""Request bodies (validated with pydantic) and response bodies of the API."""

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import phonenumbers
from aiohttp import web
from multidict import MultiMapping
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dialplans.templateset import MAX_SOURCE
from routing.categories import CATEGORIES, category_by_code, find_category
from routing.directory import Names
from routing.districts import district_by_code, find_district
from routing.ids import is_incident_id
from routing.models import (
    Ack,
    Attempt,
    Contact,
    Incident,
    IncidentDetail,
    IncidentEvent,
    Location,
    Priority,
    Report,
    Reporter,
    Status,
)
from routing.phones import to_e164
from voicebridge.api.errors import Problems, error, invalid_fields
from voicebridge.api.spanish import message, where
from voicebridge.api.timeline import describe
from voicebridge.dialplan_admin import MAX_REVISION

# control characters, and lone UTF-16 surrogates ("\ud800" in JSON), which no database
# stores as text
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("no se admiten caracteres de control (ni saltos de línea) aquí")
    return value


def _text(value: str) -> str:
    if _CONTROL_MULTILINE.search(value):
        raise ValueError("no se admiten caracteres de control (sí saltos de línea y tabulaciones)")
    return value


PERU = 51  # the country code of every number the centre's trunk dials


def _parse_phone(value: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(value, "PE")
    except phonenumbers.NumberParseException:
        raise ValueError("no es un número de teléfono") from None
    if number.extension:  # "ext. 12", ";ext=12", "x12", "anexo 12": E.164 has no room for it
        raise ValueError(
            "no se admite un anexo: dé el número solo (una línea con anexo va en el "
            "directorio, con su dtmf)"
        )
    return number


def _phone(value: str) -> str:
    """E.164, of any country (a reporter's phone is kept, not dialled), as every channel
    reads it (:func:`routing.phones.to_e164`: a bare 7-digit Lima number gets its 01).
    An extension is refused: E.164 would drop it."""
    if (e164 := to_e164(value)) is not None:
        return e164
    _parse_phone(value)  # why not: no number at all, or an extension
    raise ValueError("no es un número de teléfono válido (números peruanos: 9 dígitos, o +51...)")


def _dialable(value: str) -> str:
    """A number the centre's trunk can dial: in Peru (the dial template takes national
    digits, so a number abroad would lose its country code) and without an extension
    (a leg sends no DTMF: it would be dialled as more digits)."""
    number = _parse_phone(value)
    if number.country_code != PERU:
        raise ValueError(
            "solo se marcan números del Perú (+51): la troncal de la central no llama al extranjero"
        )
    return _phone(value)


def national_digits(e164: str) -> str:
    """A Peruvian E.164 number as dialled in Peru: ``+5114270000`` -> ``014270000``."""
    number = phonenumbers.parse(e164, "PE")
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(c for c in national if c.isdigit())


def _category(value: str) -> str:
    found = find_category(value)
    if found is None:
        raise ValueError(
            f"categoría desconocida; use una de: {', '.join(c.code for c in CATEGORIES)}"
        )
    return found.code


def district_code(value: str) -> str:
    """The UBIGEO of a district given by code, name or alias."""
    found = find_district(value)
    if found is None:
        raise ValueError(
            "no es un código UBIGEO (150101-150143) ni el nombre de un distrito de "
            "Lima Metropolitana"
        )
    return found.ubigeo


OneLine = Annotated[str, AfterValidator(_one_line)]
Text = Annotated[str, AfterValidator(_text)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(_one_line), AfterValidator(_phone)]
DialablePhone = Annotated[
    str, Field(max_length=32), AfterValidator(_one_line), AfterValidator(_dialable)
]
CategoryCode = Annotated[str, Field(max_length=80), AfterValidator(_category)]
DistrictCode = Annotated[
    str, Field(max_length=60), AfterValidator(_one_line), AfterValidator(district_code)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class LocationIn(Strict):
    # strict: a JSON number only (true, false and "-12.05" are no coordinates)
    lat: float | None = Field(default=None, ge=-90, le=90, strict=True)
    lon: float | None = Field(default=None, ge=-180, le=180, strict=True)
    address: Annotated[OneLine, Field(max_length=300)] | None = None
    reference: Annotated[OneLine, Field(max_length=300)] | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> "LocationIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("dé lat y lon juntas, o ninguna")
        return self

    def domain(self) -> Location:
        return Location(lat=self.lat, lon=self.lon, address=self.address, reference=self.reference)


class ReporterIn(Strict):
    name: Annotated[OneLine, Field(max_length=120)] | None = None
    phone: Phone | None = None

    def domain(self) -> Reporter:
        return Reporter(name=self.name, phone=self.phone)


class IncidentIn(Strict):
    category: Annotated[CategoryCode, Field(examples=["robo", "Fuga de gas", "choque"])]
    district: Annotated[DistrictCode, Field(examples=["SJL", "150122", "Miraflores"])] | None = None
    priority: Priority | None = None
    description: Annotated[
        Text, Field(max_length=2000, examples=["Robo de celular en el paradero"])
    ] = ""
    location: LocationIn = LocationIn()
    reporter: ReporterIn = ReporterIn()
    source: Literal["api", "console"] = "api"


class ReportIn(Strict):
    description: Annotated[
        Text, Field(min_length=1, max_length=2000, examples=["Otro vecino confirma"])
    ]
    location: LocationIn = LocationIn()
    reporter: ReporterIn = ReporterIn()
    source: Literal["api", "console"] = "api"


class StatusIn(Strict):
    status: Literal["resolved", "cancelled"]
    cause: Annotated[Text, Field(min_length=3, max_length=500, examples=["Serenazgo atendió"])]


def could_be_incident_id(text: str) -> bool:
    """``LIM-2026-000123`` in ASCII digits only (``\\d`` also takes ``١`` or ``０``): any
    other text is refused before the database sees it."""
    return text.isascii() and is_incident_id(text)


def _incident_id(value: str) -> str:
    if not could_be_incident_id(value):
        raise ValueError("no es un id de incidente, como LIM-2026-000123")
    return value


class MergeIn(Strict):
    into: Annotated[
        OneLine,
        Field(max_length=24, examples=["LIM-2026-000001"]),
        AfterValidator(_incident_id),
    ]
    cause: Annotated[Text, Field(min_length=3, max_length=500, examples=["mismo robo"])]


IncidentNumber = Annotated[
    OneLine, Field(max_length=24, examples=["LIM-2026-000001"]), AfterValidator(_incident_id)
]


class BulkIn(Strict):
    """One action on many incidents (a storm of duplicates), each done or refused on its
    own: ``acknowledge`` records every agency still being called as confirmed by other
    means; ``merge`` needs ``into``."""

    action: Literal["acknowledge", "resolve", "cancel", "merge"]
    incidents: Annotated[list[IncidentNumber], Field(min_length=1, max_length=200)]
    cause: Annotated[Text, Field(min_length=3, max_length=500, examples=["duplicados"])]
    into: IncidentNumber | None = None

    @model_validator(mode="after")
    def _into(self) -> "BulkIn":
        if self.action == "merge" and self.into is None:
            raise ValueError("«into»: para fusionar, indique en qué incidente")
        if self.action != "merge" and self.into is not None:
            raise ValueError("«into» va solo con la acción merge")
        if self.into is not None and self.into in self.incidents:
            raise ValueError("«into» no puede ser uno de los incidentes que se fusionan")
        return self


class SplitIn(Strict):
    """Every field optional (and the body too): the new incident takes the category and
    district of the incident the report leaves unless given."""

    category: Annotated[CategoryCode, Field(examples=["incendio"])] | None = None
    district: Annotated[DistrictCode, Field(examples=["Miraflores"])] | None = None
    cause: (
        Annotated[Text, Field(min_length=3, max_length=500, examples=["es otro robo"])] | None
    ) = None


def target_id(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)+", value):
        raise ValueError("debe ser una línea del directorio, como pnp-miraflores/1")
    return value


def agency_code(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
        raise ValueError("debe ser el código de una entidad del directorio, como pnp o bomberos")
    return value


class LegIn(Strict):
    """One of: a line of the directory, a phone number, the district operator again."""

    target: (
        Annotated[
            str,
            Field(max_length=120, examples=["pnp-miraflores/1"]),
            AfterValidator(target_id),
        ]
        | None
    ) = None
    number: Annotated[DialablePhone, Field(examples=["987 654 321", "01 427 0000"])] | None = None
    operator: bool = False
    label: Annotated[OneLine, Field(max_length=80)] | None = None

    @model_validator(mode="after")
    def _one(self) -> "LegIn":
        given = [n for n in ("target", "number") if getattr(self, n) is not None]
        given += ["operator"] if self.operator else []
        if len(given) != 1:
            raise ValueError("dé exactamente uno de target, number u operator")
        return self


class AckIn(Strict):
    """Validated with ``context={"agencies": <the directory's codes>}``, the agency is
    checked against the directory too, in the same 422 as the other fields."""

    agency: Annotated[str, Field(max_length=60, examples=["pnp"]), AfterValidator(agency_code)]
    cause: Annotated[Text, Field(min_length=3, max_length=500, examples=["confirmó por radio"])]

    @field_validator("agency")
    @classmethod
    def _in_directory(cls, value: str, info: ValidationInfo) -> str:
        agencies = (info.context or {}).get("agencies")
        if agencies is not None and value not in agencies:
            raise ValueError("no hay en el directorio una entidad con este código")
        return value


class DialplanIn(Strict):
    """A new revision of a dialplan template (or of its parameters), edited from the
    revision ``base``. Its content is kept exactly as sent (whitespace too)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)

    content: Annotated[Text, Field(min_length=1, max_length=MAX_SOURCE)]
    base: Annotated[int, Field(ge=1, le=MAX_REVISION, examples=[1])]
    comment: Annotated[OneLine, Field(max_length=500, examples=["espera de 15 s"])] = ""


class DialplanPreviewIn(Strict):
    """A template's text (or the parameters') to render with the rest in force."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)

    content: Annotated[Text, Field(min_length=1, max_length=MAX_SOURCE)]


class ChecksIn(Strict):
    """Which lines to check now: one line, an agency's, or (neither) every line."""

    agency: Annotated[str, Field(max_length=60, examples=["pnp"]), AfterValidator(agency_code)] | (
        None
    ) = None
    line: (
        Annotated[str, Field(max_length=120, examples=["pnp-miraflores/1"]),
                  AfterValidator(target_id)]
        | None
    ) = None  # fmt: skip
    all: bool = False

    @model_validator(mode="after")
    def _something(self) -> "ChecksIn":
        if not (self.agency or self.line or self.all):
            raise ValueError("dé «agency», «line», o «all»: true para probar todas las líneas")
        return self


def incident_id_of(request: web.Request) -> str:
    """The incident id of the path; 404 when it cannot be one."""
    incident_id = request.match_info["incident_id"]
    if not could_be_incident_id(incident_id):
        raise error("not_found", f"«{echo(incident_id)}» no es un id de incidente.")
    return incident_id


_REPORT_ID = re.compile(r"[1-9][0-9]{0,17}")


def report_id_of(request: web.Request) -> int:
    """The report number of the path; 404 when it cannot be one."""
    raw = request.match_info["report_id"]
    if not (raw.isascii() and _REPORT_ID.fullmatch(raw)):
        raise error("not_found", f"«{echo(raw)}» no es el número de un reporte.")
    return int(raw)


_CONTACT_REF = re.compile(r"[A-Za-z0-9._-]{1,160}")  # a citizen's is Asterisk's Uniqueid


def channel_id_of(request: web.Request) -> str:
    """The contact's ref of the path; 404 when it cannot be one."""
    ref = request.match_info["channel_id"]
    if not _CONTACT_REF.fullmatch(ref):
        raise error("not_found", f"«{echo(ref)}» no es un tramo de este incidente.")
    return ref


def single(query: MultiMapping[str], name: str, problems: Problems) -> str | None:
    """The value of a parameter that takes one: given twice, neither wins (a problem)."""
    values = query.getall(name, [])
    if len(values) > 1:
        problems.add(name, "este parámetro va una sola vez en la dirección")
        return None
    return values[0] if values else None


M = TypeVar("M", bound=BaseModel)


MAX_JSON_DEPTH = 32  # our bodies nest 2 levels; deeper is an attack or a mistake
MAX_NUMBER_DIGITS = 50  # a JSON integer longer than this is no value of ours


class _NumberTooLong(Exception):
    pass


class _KeyTwice(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: with a key given twice neither the
    first nor the last value may silently win."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _KeyTwice(key)
            seen.add(key)
    return found


def echo(value: str, limit: int = 40) -> str:
    """A value the client sent, quoted back in an error: at most ``limit`` characters,
    a character that does not print (NUL, CR, LF...) as its escape."""
    value = value if len(value) <= limit else value[:limit] + "…"
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in value)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _NumberTooLong
    return int(text)


def _too_deep(data: Any) -> bool:
    """Whether ``data`` nests more than :data:`MAX_JSON_DEPTH` levels (iteratively)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


_TOO_DEEP = f"El JSON del cuerpo tiene más de {MAX_JSON_DEPTH} niveles de anidamiento."


def _not_json(constant: str) -> Any:
    raise ValueError(constant)  # answered as invalid_json by parse_json


def parse_json(raw: bytes) -> Any:
    """The body's JSON; 400 when it is not JSON in UTF-8, 422 when it nests too deep,
    carries an integer of more than :data:`MAX_NUMBER_DIGITS` digits or gives a key of
    one object twice."""
    try:
        # decoded here: json.loads would take UTF-16 and UTF-32 bytes as well
        data = json.loads(
            raw.decode("utf-8"),
            parse_int=_int,
            parse_constant=_not_json,  # NaN, Infinity: Python's, not JSON
            object_pairs_hook=_object,
        )
    except _KeyTwice as exc:
        raise invalid_fields(
            [(echo(exc.key), "la clave aparece más de una vez en el mismo objeto JSON")]
        ) from None
    except RecursionError:
        raise error("json_too_deep", _TOO_DEEP) from None
    except _NumberTooLong:
        raise error(
            "number_too_long",
            f"El JSON del cuerpo tiene un número de más de {MAX_NUMBER_DIGITS} cifras.",
        ) from None
    except json.JSONDecodeError as exc:
        raise error(
            "invalid_json",
            f"El cuerpo no es JSON válido (línea {exc.lineno}, columna {exc.colno}).",
        ) from None
    except ValueError:  # UnicodeDecodeError among them
        raise error("invalid_json", "El cuerpo no es JSON válido en UTF-8.") from None
    if _too_deep(data):
        raise error("json_too_deep", _TOO_DEEP)
    return data


async def read_body(
    request: web.Request, model: type[M], context: dict[str, Any] | None = None
) -> M:
    """Parse and validate a JSON body; 415, 400, 413 or 422 naming every bad field.
    ``context`` goes to the model's validators."""
    if request.content_type != "application/json":
        raise error("unsupported_media_type", "Envíe el cuerpo como application/json.")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise error(
            "payload_too_large",
            f"El cuerpo supera el máximo de {request.client_max_size} bytes.",
        ) from None
    return validate(parse_json(raw), model, context)


def validate(data: Any, model: type[M], context: dict[str, Any] | None = None) -> M:
    """``data`` as ``model``, or one 422 naming every bad field in Spanish."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise invalid_fields([(where(e["loc"]), message(e)) for e in exc.errors()]) from None


# ---------------------------------------------------------------- responses


def time_json(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _location(loc: Location) -> dict[str, Any]:
    return {"lat": loc.lat, "lon": loc.lon, "address": loc.address, "reference": loc.reference}


def _reporter(reporter: Reporter) -> dict[str, Any]:
    return {"name": reporter.name, "phone": reporter.phone}


def incident_json(incident: Incident) -> dict[str, Any]:
    category = category_by_code(incident.category)
    district = district_by_code(incident.district) if incident.district else None
    return {
        "id": incident.id,
        "status": incident.status.value,
        "status_label": Status(incident.status).label,
        "category": incident.category,
        "category_label": category.label,
        "priority": incident.priority.value,
        "priority_label": incident.priority.label,
        "district": None
        if district is None
        else {"ubigeo": district.ubigeo, "name": district.name},
        "location": _location(incident.location),
        "reporter": _reporter(incident.reporter),
        "source": incident.source.value,
        "source_label": incident.source.label,
        "summary": incident.summary,
        "agency_kinds": [k.value for k in category.agency_kinds],
        "merged_into": incident.merged_into,
        "created_at": time_json(incident.created_at),
        "updated_at": time_json(incident.updated_at),
        "created_by": incident.created_by,
        "version": incident.version,
    }


def report_json(report: Report) -> dict[str, Any]:
    photo = f"/api/v1/incidents/{report.incident_id}/reports/{report.id}/photo"
    return {
        "id": report.id,
        "source": report.source.value,
        "source_label": report.source.label,
        "received_at": time_json(report.received_at),
        "text": report.text,
        "reporter": _reporter(report.reporter),
        "location": _location(report.location),
        "photo_url": photo if report.photo else None,
    }


def attempt_json(a: Attempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "agency": a.agency,
        "target": a.target,
        "number": a.number,
        "outcome": a.outcome.value,
        "outcome_label": a.outcome.label,
        "cause": a.cause,
        "medium": a.medium.value,
        "medium_label": a.medium.label,
        "channel_id": a.contact,
        "started_at": time_json(a.started_at),
        "ended_at": time_json(a.ended_at),
    }


def leg_json(leg: Contact) -> dict[str, Any]:
    """A contact: ``channel_id`` is its ref (for a call, its channel's Uniqueid),
    ``dial`` what its medium reaches."""
    return {
        "channel_id": leg.ref,
        "medium": leg.medium.value,
        "medium_label": leg.medium.label,
        "role": leg.role.value,
        "role_label": leg.role.label,
        "state": leg.state.value,
        "state_label": leg.state.label,
        "agency": leg.agency,
        "label": leg.label,
        "dial": leg.address,
        "prompt": leg.asks_for_ack,
        "cause": leg.cause,
        "hangup_requested": leg.withdraw,
        "attempt_id": leg.attempt_id,
        "created_at": time_json(leg.created_at),
        "joined_at": time_json(leg.joined_at),
        "ended_at": time_json(leg.ended_at),
    }


def ack_json(a: Ack) -> dict[str, Any]:
    return {
        "agency": a.agency,
        "method": a.method.value,
        "method_label": a.method.label,
        "at": time_json(a.at),
        "actor": a.actor,
        "attempt_id": a.attempt_id,
    }


def event_json(e: IncidentEvent, names: Names) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": time_json(e.at),
        "actor": e.actor,
        "kind": e.kind.value,
        "kind_label": e.kind.label,
        "text": describe(e.payload, names),
        "cause": e.cause,
        "data": e.data,
    }


def detail_json(d: IncidentDetail, names: Names) -> dict[str, Any]:
    return {
        **incident_json(d.incident),
        "reports": [report_json(r) for r in d.reports],
        "attempts": [attempt_json(a) for a in d.attempts],
        "acks": [ack_json(a) for a in d.acks],
        "legs": [leg_json(leg) for leg in d.contacts],
        "timeline": [event_json(e, names) for e in d.events],
    }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
