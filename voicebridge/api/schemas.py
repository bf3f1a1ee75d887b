"""Request bodies (validated with pydantic) and response bodies of the API."""

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import phonenumbers
from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from routing.categories import CATEGORIES, category_by_code, find_category
from routing.districts import district_by_code
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
from voicebridge.api.errors import ApiError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters (line breaks included) are not allowed here")
    return value


def _text(value: str) -> str:
    if _CONTROL_MULTILINE.search(value):
        raise ValueError("control characters are not allowed (line breaks and tabs are)")
    return value


_PE_MOBILE = re.compile(r"(?:\+?51)?(9\d{8})")


def _phone(value: str) -> str:
    """E.164. Peruvian mobile numbers (9 digits from 9, most reports) are recognised
    directly; anything else goes through libphonenumber."""
    if mobile := _PE_MOBILE.fullmatch(re.sub(r"[\s\-()]", "", value)):
        return "+51" + mobile.group(1)
    try:
        number = phonenumbers.parse(value, "PE")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number (Peruvian numbers: 9 digits, or +51...)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _category(value: str) -> str:
    found = find_category(value)
    if found is None:
        raise ValueError(f"unknown category; use one of: {', '.join(c.code for c in CATEGORIES)}")
    return found.code


OneLine = Annotated[str, AfterValidator(_one_line)]
Text = Annotated[str, AfterValidator(_text)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(_one_line), AfterValidator(_phone)]
CategoryCode = Annotated[str, Field(max_length=80), AfterValidator(_category)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class LocationIn(Strict):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: Annotated[OneLine, Field(max_length=300)] | None = None
    reference: Annotated[OneLine, Field(max_length=300)] | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> "LocationIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self

    def domain(self) -> Location:
        return Location(lat=self.lat, lon=self.lon, address=self.address, reference=self.reference)


class ReporterIn(Strict):
    name: Annotated[OneLine, Field(max_length=120)] | None = None
    phone: Phone | None = None

    def domain(self) -> Reporter:
        return Reporter(name=self.name, phone=self.phone)


class IncidentIn(Strict):
    category: CategoryCode
    district: Annotated[OneLine, Field(max_length=60)] | None = None
    priority: Priority | None = None
    description: Annotated[Text, Field(max_length=2000)] = ""
    location: LocationIn = LocationIn()
    reporter: ReporterIn = ReporterIn()
    source: Literal["api", "console"] = "api"


class ReportIn(Strict):
    description: Annotated[Text, Field(min_length=1, max_length=2000)]
    location: LocationIn = LocationIn()
    reporter: ReporterIn = ReporterIn()
    source: Literal["api", "console"] = "api"


class StatusIn(Strict):
    status: Literal["resolved", "cancelled"]
    cause: Annotated[Text, Field(min_length=3, max_length=500)]


class MergeIn(Strict):
    into: Annotated[OneLine, Field(max_length=24)]
    cause: Annotated[Text, Field(min_length=3, max_length=500)]


def _target_id(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)+", value):
        raise ValueError("a line id of the directory, such as pnp-miraflores/1")
    return value


def _agency(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
        raise ValueError("an agency code of the directory, such as pnp or bomberos")
    return value


class LegIn(Strict):
    """One of: a line of the directory, a phone number, the district operator again."""

    target: Annotated[str, Field(max_length=120), AfterValidator(_target_id)] | None = None
    number: Phone | None = None
    operator: bool = False
    label: Annotated[OneLine, Field(max_length=80)] | None = None

    @model_validator(mode="after")
    def _one(self) -> "LegIn":
        given = [n for n in ("target", "number") if getattr(self, n) is not None]
        given += ["operator"] if self.operator else []
        if len(given) != 1:
            raise ValueError("give exactly one of target, number, operator")
        return self


class AckIn(Strict):
    agency: Annotated[str, Field(max_length=60), AfterValidator(_agency)]
    cause: Annotated[Text, Field(min_length=3, max_length=500)]


M = TypeVar("M", bound=BaseModel)


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body; 415, 400, 413 or 422 with the fields named."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()  # 413 above client_max_size
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [(_where(e["loc"]), _message(e)) for e in exc.errors()]
        summary = "; ".join(f"{f}: {m}" for f, m in fields)
        raise ApiError(422, "validation_failed", summary, fields=fields) from None


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def _message(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


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
        "summary": incident.summary,
        "agency_kinds": [k.value for k in category.agency_kinds],
        "merged_into": incident.merged_into,
        "created_at": time_json(incident.created_at),
        "updated_at": time_json(incident.updated_at),
        "created_by": incident.created_by,
        "version": incident.version,
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "source": report.source.value,
        "received_at": time_json(report.received_at),
        "text": report.text,
        "reporter": _reporter(report.reporter),
        "location": _location(report.location),
    }


def attempt_json(a: Attempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "agency": a.agency,
        "target": a.target,
        "number": a.number,
        "outcome": a.outcome.value,
        "cause": a.cause,
        "medium": a.medium.value,
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
        "role": leg.role.value,
        "state": leg.state.value,
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
        "at": time_json(a.at),
        "actor": a.actor,
        "attempt_id": a.attempt_id,
    }


def event_json(e: IncidentEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": time_json(e.at),
        "actor": e.actor,
        "kind": e.kind.value,
        "cause": e.cause,
        "data": e.data,
    }


def detail_json(d: IncidentDetail) -> dict[str, Any]:
    return {
        **incident_json(d.incident),
        "reports": [report_json(r) for r in d.reports],
        "attempts": [attempt_json(a) for a in d.attempts],
        "acks": [ack_json(a) for a in d.acks],
        "legs": [leg_json(leg) for leg in d.contacts],
        "timeline": [event_json(e) for e in d.events],
    }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
