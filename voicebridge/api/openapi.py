"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /api/v1/openapi.json``.

Request bodies come from the pydantic models (``model_json_schema``); every error
response is the one envelope with the codes of :data:`voicebridge.api.errors.CODES`. A
test checks the document against the app's router in both directions and validates it;
the fuzz test drives every operation it describes.

The document is public (no key): it holds no citizen's data and no secret, only what the
README says already, and a client needs it (and the bearer scheme it names) before it
has a key to generate or check itself against.
"""

import functools
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dialplans.templateset import EDITABLE
from routing.analytics import BY_CODE, GROUPS, Period
from routing.models import Priority, Status
from routing.store import MAX_PAGE
from voicebridge.api.errors import CODES, MAX_HEADER_BYTES
from voicebridge.api.schemas import (
    AckIn,
    BulkIn,
    ChecksIn,
    DialplanIn,
    DialplanPreviewIn,
    IncidentIn,
    LegIn,
    MergeIn,
    ReportIn,
    SplitIn,
    StatusIn,
)

PATH = "/api/v1/openapi.json"

routes = web.RouteTableDef()

Schema = dict[str, Any]

_BODIES: tuple[type[BaseModel], ...] = (
    IncidentIn,
    ReportIn,
    StatusIn,
    MergeIn,
    LegIn,
    AckIn,
    SplitIn,
    ChecksIn,
    BulkIn,
    DialplanIn,
    DialplanPreviewIn,
)


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}

_RESPONSES: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "Every error: a stable English code for machines, Spanish text "
        "for people, and each bad field when there are any.",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": sorted(CODES)},
                    "message": {"type": "string"},
                    "diff": {
                        "type": "string",
                        "description": "dialplan_conflict: what changed since the base",
                    },
                    "latest": {
                        "type": "integer",
                        "description": "dialplan_conflict: the template's latest revision",
                    },
                    "fields": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["field", "message"],
                            "additionalProperties": False,
                            "properties": {
                                "field": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    },
    "Location": {
        "type": "object",
        "required": ["lat", "lon", "address", "reference"],
        "properties": {
            "lat": _nullable("number"),
            "lon": _nullable("number"),
            "address": _nullable("string"),
            "reference": _nullable("string"),
        },
    },
    "Reporter": {
        "type": "object",
        "required": ["name", "phone"],
        "properties": {"name": _nullable("string"), "phone": _nullable("string")},
    },
    "Incident": {
        "type": "object",
        "required": [
            "id",
            "status",
            "status_label",
            "category",
            "category_label",
            "priority",
            "priority_label",
            "district",
            "location",
            "reporter",
            "source",
            "summary",
            "created_at",
            "updated_at",
            "version",
        ],
        "properties": {
            "id": {"type": "string", "examples": ["LIM-2026-000123"]},
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "status_label": {"type": "string", "description": "Spanish"},
            "category": {"type": "string"},
            "category_label": {"type": "string", "description": "Spanish"},
            "priority": {"type": "string", "enum": [p.value for p in Priority]},
            "priority_label": {"type": "string", "description": "Spanish"},
            "district": {
                "type": ["object", "null"],
                "required": ["ubigeo", "name"],
                "properties": {"ubigeo": {"type": "string"}, "name": {"type": "string"}},
            },
            "location": _ref("Location"),
            "reporter": _ref("Reporter"),
            "source": {"type": "string"},
            "summary": {"type": "string"},
            "agency_kinds": {"type": "array", "items": {"type": "string"}},
            "merged_into": _nullable("string"),
            "created_at": _TIME,
            "updated_at": _TIME,
            "created_by": {"type": "string"},
            "version": {"type": "integer"},
        },
    },
    "IncidentPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref("Incident")},
            "next_cursor": _nullable("string"),
        },
    },
    "TimelineEntry": {
        "type": "object",
        "required": ["seq", "at", "actor", "kind", "kind_label", "text", "cause", "data"],
        "properties": {
            "seq": {"type": "integer"},
            "at": _TIME,
            "actor": {"type": "string"},
            "kind": {"type": "string", "description": "stable English code"},
            "kind_label": {"type": "string", "description": "the kind, in Spanish"},
            "text": {"type": "string", "description": "what happened, in Spanish"},
            "cause": {"type": "string", "description": "why, in Spanish"},
            "data": {"type": "object"},
        },
    },
    "Leg": {
        "type": "object",
        "required": ["channel_id", "medium", "role", "state", "dial", "created_at"],
        "properties": {
            "channel_id": {"type": "string"},
            "medium": {"type": "string"},
            "medium_label": {"type": "string"},
            "role": {"type": "string"},
            "role_label": {"type": "string"},
            "state": {"type": "string"},
            "state_label": {"type": "string"},
            "agency": _nullable("string"),
            "label": {"type": "string"},
            "dial": {"type": "string"},
            "prompt": {"type": "boolean"},
            "cause": _nullable("string"),
            "hangup_requested": {"type": "boolean"},
            "attempt_id": _nullable("integer"),
            "created_at": _TIME_OR_NULL,
            "joined_at": _TIME_OR_NULL,
            "ended_at": _TIME_OR_NULL,
        },
    },
    "IncidentDetail": {
        "allOf": [
            _ref("Incident"),
            {
                "type": "object",
                "required": ["reports", "attempts", "acks", "legs", "timeline"],
                "properties": {
                    "reports": {"type": "array", "items": {"type": "object"}},
                    "attempts": {"type": "array", "items": {"type": "object"}},
                    "acks": {"type": "array", "items": {"type": "object"}},
                    "legs": {"type": "array", "items": _ref("Leg")},
                    "timeline": {"type": "array", "items": _ref("TimelineEntry")},
                },
            },
        ]
    },
    "Report": {
        "type": "object",
        "required": ["id", "source", "received_at", "text", "reporter", "location"],
        "properties": {
            "id": {"type": "integer"},
            "source": {"type": "string"},
            "received_at": _TIME,
            "text": {"type": "string"},
            "reporter": _ref("Reporter"),
            "location": _ref("Location"),
            "photo_url": {
                "type": ["string", "null"],
                "description": "where the citizen's photo is fetched (GET), if one came",
            },
        },
    },
    "Calls": {
        "type": "object",
        "required": ["incident", "agencies", "legs"],
        "properties": {
            "incident": _ref("Incident"),
            "agencies": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["agency", "state", "tries"],
                    "properties": {
                        "agency": {"type": "string"},
                        "agency_name": {"type": "string"},
                        "priority": {"type": "integer"},
                        "state": {"type": "string"},
                        "state_label": {"type": "string"},
                        "acknowledged": {"type": ["object", "null"]},
                        "tries": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "legs": {"type": "array", "items": _ref("Leg")},
        },
    },
    "Route": {
        "type": "object",
        "required": ["incident", "frozen", "rule", "reasons", "agencies"],
        "properties": {
            "incident": _ref("Incident"),
            "frozen": {"type": "boolean"},
            "revision": _nullable("integer"),
            "decided_at": _TIME_OR_NULL,
            "decided_by": _nullable("string"),
            "rule": {"type": "string"},
            "rule_line": _nullable("integer"),
            "reasons": {"type": "array", "items": {"type": "string"}},
            "agencies": {"type": "array", "items": {"type": "object"}},
        },
    },
    "LineCheck": {
        "type": "object",
        "required": ["id", "ref", "line", "state", "result", "result_label", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "ref": {"type": "string"},
            "line": {"type": "string"},
            "state": {"enum": ["pending", "placing", "answered", "done"]},
            "result": {
                "enum": [
                    "confirmed",
                    "answered",
                    "busy",
                    "no_answer",
                    "failed",
                    "interrupted",
                    "skipped",
                    None,
                ]
            },
            "result_label": {"type": "string"},
            "cause": _nullable("string"),
            "scheduled": {"type": "boolean"},
            "actor": {"type": "string"},
            "raised": {"type": "boolean"},
            "created_at": _TIME,
            "ended_at": _TIME_OR_NULL,
        },
    },
    "Line": {
        "type": "object",
        "required": ["line", "label", "number", "agency", "station", "last", "failing"],
        "properties": {
            "line": {"type": "string"},
            "label": {"type": "string"},
            "number": {"type": "string"},
            "agency": {"type": "string"},
            "agency_name": {"type": "string"},
            "station": {"type": "string"},
            "station_name": {"type": "string"},
            "last": {"oneOf": [_ref("LineCheck"), {"type": "null"}]},
            "last_verdict": {"oneOf": [_ref("LineCheck"), {"type": "null"}]},
            "failures_in_a_row": {"type": "integer"},
            "failing": {"type": "boolean"},
            "checks": {"type": "array", "items": _ref("LineCheck")},
        },
    },
    "DialplanRevision": {
        "type": "object",
        "required": [
            "id",
            "template",
            "created_at",
            "author",
            "comment",
            "base",
            "digest",
            "in_force",
        ],
        "properties": {
            "id": {"type": "integer"},
            "template": {"type": "string", "enum": list(EDITABLE)},
            "created_at": _TIME,
            "author": {"type": "string"},
            "comment": {"type": "string"},
            "base": {"type": ["integer", "null"]},
            "digest": {"type": "string"},
            "in_force": {"type": "boolean"},
            "content": {"type": "string"},
            "diff": {"type": "string"},
        },
    },
    "DialplanOutcome": {
        "type": "object",
        "required": ["ok", "revision", "steps", "problems"],
        "properties": {
            "ok": {"type": "boolean"},
            "revision": {"type": ["integer", "null"]},
            "steps": {"type": "array", "items": {"type": "string"}},
            "problems": {"type": "array", "items": {"type": "string"}},
        },
    },
    "AnalyticsInterval": {
        "type": "object",
        "required": [
            "code",
            "label",
            "start",
            "end",
            "per_agency",
            "leaves_out",
            "leaves_out_label",
            "target",
        ],
        "properties": {
            "code": {"type": "string"},
            "label": {"type": "string", "description": "Spanish"},
            "start": {"type": "string", "description": "the phase it runs from"},
            "end": {"type": "string", "description": "the phase it runs to"},
            "per_agency": {"type": "boolean"},
            "leaves_out": {"type": "string", "description": "what is not measured, and why"},
            "leaves_out_label": {"type": "string", "description": "the same, in Spanish"},
            "target": _nullable("integer", description="seconds, from the settings"),
        },
    },
    "AnalyticsFigures": {
        "type": "object",
        "required": ["count", "excluded", "mean", "median", "p90", "within"],
        "properties": {
            "count": {"type": "integer", "description": "measured"},
            "excluded": {
                "type": "object",
                "description": "not measured: a phase missing, or two clocks that disagree",
                "required": ["missing", "negative"],
                "properties": {
                    "missing": {"type": "integer"},
                    "negative": {"type": "integer"},
                },
            },
            "mean": _nullable("number", description="seconds"),
            "median": _nullable("number", description="seconds (PostgreSQL's percentile_cont)"),
            "p90": _nullable("number", description="seconds"),
            "within": _nullable("number", description="share at or under the target"),
            "first_try": _nullable("number", description="an agency's legs reached first try"),
            "unanswered": _nullable("number", description="an agency's legs given up on"),
        },
    },
    "DialplanAudit": {
        "type": "object",
        "required": ["id", "at", "actor", "action", "revision", "ok", "detail"],
        "properties": {
            "id": {"type": "integer"},
            "at": _TIME,
            "actor": {"type": "string"},
            "action": {"type": "string"},
            "revision": {"type": ["integer", "null"]},
            "ok": {"type": "boolean"},
            "detail": {"type": "string"},
        },
    },
    "Revision": {
        "type": "object",
        "required": ["id", "created_at", "actor", "source", "digest"],
        "properties": {
            "id": {"type": "integer"},
            "created_at": _TIME,
            "actor": {"type": "string"},
            "source": {"type": "string"},
            "digest": {"type": "string"},
            "content": {"type": "string"},
            "diff": {"type": "string"},
        },
    },
}

# -------------------------------------------------------------- parameters

_INCIDENT_ID = {
    "name": "incident_id",
    "in": "path",
    "required": True,
    "description": "`<prefix>-<year>-<n>`; anything else is 404",
    "schema": {
        "type": "string",
        "pattern": "^[A-Z]{2,8}-[0-9]{4}-[0-9]{6,9}$",
        "examples": ["LIM-2026-000001"],
    },
    "examples": {"first": {"value": "LIM-2026-000001"}, "second": {"value": "LIM-2026-000002"}},
}
_CHANNEL_ID = {
    "name": "channel_id",
    "in": "path",
    "required": True,
    "description": "a leg's `channel_id` (the contact's ref)",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
}
_REPORT_ID = {
    "name": "report_id",
    "in": "path",
    "required": True,
    "description": "a report's `id`, as the incident's file lists its reports",
    "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1, "examples": [2]},
}
_REVISION_ID = {
    "name": "revision_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1, "examples": [1]},
}


def _filter(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "description": description + "; repeatable or comma-separated",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string"}},
    }


_LIST_PARAMETERS = [
    _filter("district", "UBIGEO, name or alias"),
    _filter("status", ", ".join(s.value for s in Status)),
    _filter("category", "code, label or alias"),
    {
        "name": "since",
        "in": "query",
        "description": "created at or after: ISO 8601 with offset, or a date (midnight in Lima)",
        "schema": {"type": "string", "examples": ["2026-11-25T08:00:00-05:00", "2026-11-25"]},
    },
    {
        "name": "until",
        "in": "query",
        "description": "created before: as `since`",
        "schema": {"type": "string", "examples": ["2026-11-26"]},
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "`next_cursor` of the previous page",
        "schema": {"type": "string"},
    },
]
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": (
        "makes a retried creation safe: the repeat answers 200 with the first incident; "
        "the key reused with another body answers 422 idempotency_key_reused"
    ),
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,100}$"},
}
_DEGREES = {
    "lat": {"type": "number", "minimum": -90, "maximum": 90, "examples": [-12.0464]},
    "lon": {"type": "number", "minimum": -180, "maximum": 180, "examples": [-77.0428]},
}

# -------------------------------------------------------------- operations


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error_response(status: int) -> Schema:
    codes = {code: known for code, known in CODES.items() if known.status == status}
    lines = "\n".join(f"- `{code}`: {known.meaning}" for code, known in codes.items())
    return {
        "description": f"codes:\n{lines}",
        "content": {"application/json": {"schema": _ref("Error")}},
    }


# every request may be refused for its size, and every /api/ request without a key
_ALWAYS = (414, 431, 500)
_KEYED = (401, 403)
_BODY = (400, 413, 415, 422)


def _op(
    summary: str,
    ok: int,
    schema: Schema | None,
    ok_description: str,
    *,
    errors: tuple[int, ...] = (),
    parameters: list[Schema] | None = None,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    keyed: bool = True,
    content_type: str = "application/json",
) -> Schema:
    statuses = set(_ALWAYS) | set(errors)
    if keyed:
        statuses |= set(_KEYED)
    if body is not None:
        statuses |= set(_BODY)
    responses: dict[str, Any] = {}
    if schema is None:
        responses[str(ok)] = {
            "description": ok_description,
            "content": {content_type: {"schema": {"type": "string"}}},
        }
    else:
        responses[str(ok)] = _json(schema, ok_description)
    for status in sorted(statuses):
        responses[str(status)] = _error_response(status)
    op: Schema = {"summary": summary, "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body.__name__)}},
        }
    op["security"] = [{"bearer": []}] if keyed else []
    return op


def _export(op: Schema) -> Schema:
    """The export's answer in each of its formats."""
    op["responses"]["200"]["content"] = {
        kind: {"schema": {"type": "string"}}
        for kind in ("application/x-ndjson", "text/csv", "application/vnd.apache.parquet")
    }
    return op


def _items(name: str) -> Schema:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref(name)}},
    }


def _also(op: Schema, status: int, response: Schema) -> Schema:
    """``op`` with another success answer."""
    op["responses"][str(status)] = response
    return op


def _page(summary: str, *statuses: int, errors: tuple[int, ...] = ()) -> Schema:
    """A page of the console: Spanish HTML for people, signed in by its session cookie;
    a redirect (303) in plain text; ``errors`` in the JSON envelope."""
    responses: dict[str, Any] = {}
    for status in statuses:
        kind = "text/plain" if status == 303 else "text/html"
        responses[str(status)] = {
            "description": "a redirect" if status == 303 else "a Spanish HTML page",
            "content": {kind: {"schema": {"type": "string"}}},
        }
    for status in sorted({*_ALWAYS, *errors}):
        responses[str(status)] = _error_response(status)
    return {"summary": summary, "responses": responses, "security": []}


def _paths() -> dict[str, dict[str, Schema]]:
    incident = [_INCIDENT_ID]
    return {
        "/api/v1/incidents": {
            "post": _also(
                _op(
                    "Report an incident (operator)",
                    201,
                    _ref("Incident"),
                    "created, with a Location header",
                    parameters=[_IDEMPOTENCY_KEY],
                    body=IncidentIn,
                ),
                200,
                _json(_ref("Incident"), "the first incident of this Idempotency-Key"),
            ),
            "get": _op(
                "List incidents, newest first (operator)",
                200,
                _ref("IncidentPage"),
                "one page",
                errors=(422,),
                parameters=_LIST_PARAMETERS,
            ),
        },
        "/api/v1/incidents/{incident_id}": {
            "get": _op(
                "The incident with its reports, attempts, acknowledgements, legs and timeline",
                200,
                _ref("IncidentDetail"),
                "the incident's file",
                errors=(404,),
                parameters=incident,
            ),
        },
        "/api/v1/incidents/{incident_id}/eido": {
            "get": _op(
                "The incident as NENA EIDO JSON (NENA-STA-021.1a-2022; operator)",
                200,
                {
                    "type": "object",
                    "required": [
                        "$id",
                        "eidoVersion",
                        "issuingElementIdentification",
                        "agencyComponent",
                    ],
                },
                "the Emergency Incident Data Object",
                errors=(404,),
                parameters=incident,
            ),
        },
        "/api/v1/incidents/{incident_id}/cap": {
            "get": _op(
                "The incident as an OASIS CAP 1.2 alert with an es-PE info block (operator)",
                200,
                None,
                "the CAP alert",
                errors=(404, 422),
                parameters=[
                    *incident,
                    {"name": "scope", "in": "query", "schema": {"enum": ["Restricted", "Public"]}},
                ],
                content_type="application/cap+xml",
            ),
        },
        "/api/v1/exports/incidents": {
            "get": _export(
                _op(
                    "Every incident created in a range of Lima days, streamed as EIDO NDJSON, "
                    "CSV or Parquet (supervisor)",
                    200,
                    None,
                    "the export, oldest first (its Content-Type follows the format)",
                    errors=(422,),
                    parameters=[
                        {
                            "name": "from",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"enum": ["ndjson", "csv", "parquet"]},
                        },
                    ],
                )
            ),
        },
        "/api/v1/incidents/{incident_id}/reports": {
            "post": _also(
                _op(
                    "Another report of the same event (operator)",
                    201,
                    _ref("Report"),
                    "added",
                    errors=(404, 409),
                    parameters=incident,
                    body=ReportIn,
                ),
                200,
                _json(_ref("Report"), "the same report, received already"),
            ),
        },
        "/api/v1/incidents/{incident_id}/reports/{report_id}/split": {
            "post": _op(
                "Split a report wrongly joined to this incident into an incident of its "
                "own (operator); the body is optional",
                201,
                _ref("Incident"),
                "the new incident, with a Location header",
                errors=(404, 409),
                parameters=[_INCIDENT_ID, _REPORT_ID],
                body=SplitIn,
                body_required=False,
            ),
        },
        "/api/v1/incidents/{incident_id}/reports/{report_id}/photo": {
            "get": _op(
                "The photo a citizen sent by Telegram with a report, fetched from Telegram "
                "when asked, at most VOICEBRIDGE_PHOTO_MAX_BYTES (operator)",
                200,
                None,
                "the photo (JPEG)",
                errors=(404, 413, 502),
                parameters=[_INCIDENT_ID, _REPORT_ID],
                content_type="image/jpeg",
            ),
        },
        "/api/v1/incidents/{incident_id}/status": {
            "post": _op(
                "Resolve or cancel by hand (operator)",
                200,
                _ref("Incident"),
                "the incident in its new status (or already in it)",
                errors=(404, 409),
                parameters=incident,
                body=StatusIn,
            ),
        },
        "/api/v1/incidents/{incident_id}/merge": {
            "post": _op(
                "Merge this incident into another: it is a duplicate (operator)",
                200,
                _ref("Incident"),
                "the incident, merged",
                errors=(404, 409),
                parameters=incident,
                body=MergeIn,
            ),
        },
        "/api/v1/incidents/bulk": {
            "post": _op(
                "One action on many incidents, a storm of duplicates (supervisor): "
                "acknowledge every agency still being called, resolve, cancel, or merge "
                "into one; each done or refused on its own",
                200,
                {
                    "type": "object",
                    "required": ["done", "failed", "results"],
                    "properties": {
                        "done": {"type": "integer"},
                        "failed": {"type": "integer"},
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "ok", "detail"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "ok": {"type": "boolean"},
                                    "detail": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "what became of each incident",
                body=BulkIn,
            ),
        },
        "/api/v1/incidents/{incident_id}/route": {
            "get": _op(
                "The route and why: before dispatch what the rules in force would decide, "
                "after it the frozen decision (operator)",
                200,
                _ref("Route"),
                "the route",
                errors=(404, 422),
                parameters=incident,
            ),
        },
        "/api/v1/incidents/{incident_id}/dispatch": {
            "post": _op(
                "Decide with the rules in force and freeze the decision (operator)",
                200,
                _ref("Route"),
                "dispatched",
                errors=(404, 409, 422),
                parameters=incident,
            ),
        },
        "/api/v1/incidents/{incident_id}/calls": {
            "get": _op(
                "Each agency's escalation and the legs of the room (operator)",
                200,
                _ref("Calls"),
                "the calls",
                errors=(404,),
                parameters=incident,
            ),
        },
        "/api/v1/incidents/{incident_id}/legs": {
            "post": _op(
                "Call a line into the room: a directory target, a number or the district "
                "operator again (operator)",
                201,
                _ref("Leg"),
                "the new leg",
                errors=(404, 409),
                parameters=incident,
                body=LegIn,
            ),
        },
        "/api/v1/incidents/{incident_id}/legs/{channel_id}": {
            "delete": _op(
                "Hang up one leg (operator)",
                200,
                _ref("Leg"),
                "the leg, asked to end",
                errors=(404, 409),
                parameters=[_INCIDENT_ID, _CHANNEL_ID],
            ),
        },
        "/api/v1/incidents/{incident_id}/acks": {
            "post": _also(
                _op(
                    "Record that an agency took the incident by other means (supervisor)",
                    201,
                    _ref("Calls"),
                    "recorded; the calls",
                    errors=(404, 409),
                    parameters=incident,
                    body=AckIn,
                ),
                200,
                _json(_ref("Calls"), "the agency had acknowledged already; the calls"),
            ),
        },
        "/api/v1/routing/revisions": {
            "get": _op(
                "The revisions of the routing rules, newest first (supervisor)",
                200,
                {
                    "type": "object",
                    "required": ["items"],
                    "properties": {"items": {"type": "array", "items": _ref("Revision")}},
                },
                "the revisions",
            ),
        },
        "/api/v1/routing/revisions/{revision_id}": {
            "get": _op(
                "One revision with its content and diff (supervisor)",
                200,
                _ref("Revision"),
                "the revision",
                errors=(404,),
                parameters=[_REVISION_ID],
            ),
        },
        "/api/v1/routing/reload": {
            "post": _op(
                "Read the routing file again and put it in force if valid (admin)",
                200,
                {
                    "type": "object",
                    "required": ["revision", "changed"],
                    "properties": {"revision": _ref("Revision"), "changed": {"type": "boolean"}},
                },
                "the revision in force",
                errors=(422,),
            ),
        },
        "/api/v1/dialplans": {
            "get": _op(
                "The dialplan templates, each with its revision in force and its latest (admin)",
                200,
                {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["template", "in_force", "latest"],
                                "properties": {
                                    "template": {"type": "string"},
                                    "in_force": _ref("DialplanRevision"),
                                    "latest": _ref("DialplanRevision"),
                                },
                            },
                        }
                    },
                },
                "the templates",
            ),
        },
        "/api/v1/dialplans/revisions": {
            "get": _op(
                "The dialplan templates' revisions, newest first (admin)",
                200,
                _items("DialplanRevision"),
                "the revisions",
                errors=(422,),
                parameters=[
                    {
                        "name": "template",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(EDITABLE)},
                    }
                ],
            ),
        },
        "/api/v1/dialplans/revisions/{revision_id}": {
            "get": _op(
                "One revision of a dialplan template with its content and diff (admin)",
                200,
                _ref("DialplanRevision"),
                "the revision",
                errors=(404,),
                parameters=[_REVISION_ID],
            ),
        },
        "/api/v1/dialplans/diff": {
            "get": _op(
                "The unified diff between two revisions (admin)",
                200,
                {
                    "type": "object",
                    "required": ["from", "to", "diff"],
                    "properties": {
                        "from": {"type": "integer"},
                        "to": {"type": "integer"},
                        "diff": {"type": "string"},
                    },
                },
                "the diff",
                errors=(404, 422),
                parameters=[
                    {
                        "name": name,
                        "in": "query",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    }
                    for name in ("from", "to")
                ],
            ),
        },
        "/api/v1/dialplans/{template}/revisions": {
            "post": _also(
                _op(
                    "Validate a template's new revision and save it; nothing changes in "
                    "Asterisk until a trial and a switch (admin)",
                    201,
                    _ref("DialplanRevision"),
                    "saved",
                    errors=(404, 409),
                    parameters=[
                        {
                            "name": "template",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": list(EDITABLE)},
                        }
                    ],
                    body=DialplanIn,
                ),
                200,
                _json(_ref("DialplanRevision"), "the same as the latest revision: nothing saved"),
            ),
        },
        "/api/v1/dialplans/{template}/preview": {
            "post": _op(
                "Render the set in force with this text for the template, checked as a "
                "save would be; nothing is saved (admin)",
                200,
                {
                    "type": "object",
                    "required": ["template", "contexts"],
                    "properties": {
                        "template": {"type": "string"},
                        "contexts": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                    },
                },
                "the rendered contexts, by name",
                errors=(404,),
                parameters=[
                    {
                        "name": "template",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(EDITABLE)},
                    }
                ],
                body=DialplanPreviewIn,
            ),
        },
        "/api/v1/dialplans/revisions/{revision_id}/trial": {
            "post": _op(
                "Load a revision with the rest in force into trial contexts of the live "
                "Asterisk and check it loaded every line; nothing live changes (admin)",
                200,
                _ref("DialplanOutcome"),
                "what was done; ok false: what failed",
                errors=(404, 409, 503),
                parameters=[_REVISION_ID],
            ),
        },
        "/api/v1/dialplans/revisions/{revision_id}/switch": {
            "post": _op(
                "Trial a revision, then put it live in one step and in force (admin)",
                200,
                _ref("DialplanOutcome"),
                "what was done; ok false: what failed (the revision in force did not change)",
                errors=(404, 409, 503),
                parameters=[_REVISION_ID],
            ),
        },
        "/api/v1/dialplans/rollback": {
            "post": _op(
                "Put back the revision in force before the last switch or rollback (admin)",
                200,
                _ref("DialplanOutcome"),
                "what was done; ok false: what failed",
                errors=(404, 409, 503),
            ),
        },
        "/api/v1/dialplans/audit": {
            "get": _op(
                "Every step of the dialplan administration, newest first (admin)",
                200,
                _items("DialplanAudit"),
                "the audit log",
            ),
        },
        "/api/v1/analytics/figures": {
            "get": _op(
                "One interval's response-time figures per period, grouped and filtered "
                "(supervisor)",
                200,
                {
                    "type": "object",
                    "required": ["interval", "period", "by", "where", "items"],
                    "properties": {
                        "interval": _ref("AnalyticsInterval"),
                        "period": {"enum": [p.value for p in Period]},
                        "by": {"type": "array", "items": {"enum": list(GROUPS)}},
                        "where": {"type": "object"},
                        "items": {
                            "type": "array",
                            "items": {
                                "allOf": [
                                    _ref("AnalyticsFigures"),
                                    {
                                        "type": "object",
                                        "required": ["period", "group"],
                                        "properties": {
                                            "period": {"type": "string"},
                                            "group": {"type": "object"},
                                        },
                                    },
                                ]
                            },
                        },
                    },
                },
                "the figures, oldest period first",
                errors=(422,),
                parameters=[
                    {"name": "interval", "in": "query", "schema": {"enum": list(BY_CODE)}},
                    {
                        "name": "period",
                        "in": "query",
                        "schema": {"enum": [p.value for p in Period]},
                    },
                    {
                        "name": "from",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "first period: 2026-01, 2026-W02 or 2026-01-05",
                    },
                    {"name": "to", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "by",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": f"up to two of {', '.join(GROUPS)}, by commas",
                    },
                    *({"name": g, "in": "query", "schema": {"type": "string"}} for g in GROUPS),
                ],
            ),
        },
        "/api/v1/analytics/summary": {
            "get": _op(
                "A month's KPIs beside the month before (supervisor)",
                200,
                {
                    "type": "object",
                    "required": [
                        "month",
                        "previous",
                        "response",
                        "improved",
                        "districts",
                        "agencies",
                        "productivity",
                        "targets",
                    ],
                    "properties": {
                        "month": {"type": "string"},
                        "previous": {"type": "string"},
                        "response": {"type": "object"},
                        "improved": _nullable("number"),
                        "districts": {"type": "array", "items": {"type": "object"}},
                        "agencies": {"type": "array", "items": {"type": "object"}},
                        "productivity": {"type": "array", "items": {"type": "object"}},
                        "targets": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "the KPIs",
                errors=(422,),
                parameters=[
                    {
                        "name": "month",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "2026-11 (default: this month)",
                    },
                ],
            ),
        },
        "/api/v1/lines": {
            "get": _op(
                "The directory's phone lines with their last check (operator)",
                200,
                {
                    "type": "object",
                    "required": ["items", "failing"],
                    "properties": {
                        "items": {"type": "array", "items": _ref("Line")},
                        "failing": {"type": "integer"},
                    },
                },
                "the lines",
                errors=(422,),
                parameters=[
                    {"name": "agency", "in": "query", "schema": {"type": "string"}},
                    {"name": "failing", "in": "query", "schema": {"enum": ["true", "false"]}},
                ],
            ),
        },
        "/api/v1/lines/{line}": {
            "get": _op(
                "One line with its history of checks, newest first (operator)",
                200,
                _ref("Line"),
                "the line",
                errors=(404,),
                parameters=[
                    {
                        "name": "line",
                        "in": "path",
                        "required": True,
                        "description": "the directory's target id, e.g. `pnp-miraflores/1`",
                        "schema": {"type": "string"},
                    }
                ],
            ),
        },
        "/api/v1/lines/checks": {
            "post": _op(
                "Check lines now: a Spanish test call, 1 confirms (supervisor)",
                202,
                {
                    "type": "object",
                    "required": ["items"],
                    "properties": {"items": {"type": "array", "items": {"type": "object"}}},
                },
                "the checks asked for (or in flight already, or why not called)",
                body=ChecksIn,
            ),
        },
        "/api/v1/districts/locate": {
            "get": _op(
                "The district of a point, or outside Lima Metropolitana (operator)",
                200,
                {
                    "type": "object",
                    "required": ["in_lima", "ubigeo", "name", "description"],
                    "properties": {
                        "in_lima": {"type": "boolean"},
                        "ubigeo": _nullable("string"),
                        "name": _nullable("string"),
                        "province": _nullable("string"),
                        "description": {"type": "string"},
                    },
                },
                "where the point is",
                errors=(422,),
                parameters=[
                    {"name": name, "in": "query", "required": True, "schema": schema}
                    for name, schema in _DEGREES.items()
                ],
            ),
        },
        PATH: {
            "get": _op(
                "This document (no key needed)",
                200,
                {"type": "object"},
                "the OpenAPI 3.1 document",
                keyed=False,
            ),
        },
        "/healthz": {
            "get": _op(
                "Liveness (no key)",
                200,
                {"type": "object", "required": ["status"]},
                "the process answers",
                keyed=False,
            ),
        },
        "/readyz": {
            "get": _also(
                _op(
                    "Readiness: the database and Redis answer (no key)",
                    200,
                    {"type": "object", "required": ["status", "checks"]},
                    "ready",
                    keyed=False,
                ),
                503,
                _json({"type": "object", "required": ["status", "checks"]}, "not ready"),
            ),
        },
        "/metrics": {
            "get": _op(
                "Prometheus metrics (no key)",
                200,
                None,
                "the exposition format",
                keyed=False,
                content_type="text/plain",
            ),
        },
        "/": {
            "get": _op(
                "What this service is, in Spanish (no key)",
                200,
                None,
                "plain text",
                keyed=False,
                content_type="text/plain",
            ),
        },
    }


_TWILIO_FORM = {
    "type": "object",
    "description": "Twilio's form, every parameter as Twilio sends it (see its docs); "
    "signed with `X-Twilio-Signature` over VOICEBRIDGE_PUBLIC_URL plus the path.",
    "properties": {
        name: {"type": "string"}
        for name in ("MessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "MessageStatus")
    },
    "additionalProperties": {"type": "string"},
}
_WEBHOOK_ERRORS = (400, 403, 404, 413, 414, 422, 431, 500)


def _webhook(summary: str, ok: str, ok_response: Schema, body: Schema, kind: str) -> Schema:
    responses: dict[str, Any] = {ok: ok_response}
    for status in (*_WEBHOOK_ERRORS, *((415,) if kind == "application/json" else ())):
        responses[str(status)] = _error_response(status)
    return {
        "summary": summary,
        "requestBody": {"required": True, "content": {kind: {"schema": body}}},
        "responses": dict(sorted(responses.items())),
        "security": [],
    }


def _webhooks() -> dict[str, dict[str, Schema]]:
    """The channels' webhooks: verified by their signature or secret, not by a key."""
    form = "application/x-www-form-urlencoded"
    return {
        "/webhooks/twilio/sms": {
            "post": _webhook(
                "A citizen's or responder's SMS, from Twilio; answered in TwiML",
                "200",
                {
                    "description": "TwiML: the reply SMS (the incident's number, what follows)",
                    "content": {"text/xml": {"schema": {"type": "string"}}},
                },
                _TWILIO_FORM,
                form,
            )
        },
        "/webhooks/twilio/status": {
            "post": _webhook(
                "What became of an SMS voicebridge sent (Twilio's status callback)",
                "204",
                {"description": "recorded"},
                _TWILIO_FORM,
                form,
            )
        },
        "/webhooks/telegram": {
            "post": _webhook(
                "An update from Telegram (X-Telegram-Bot-Api-Secret-Token)",
                "200",
                _json(
                    {"type": "object", "properties": {"ok": {"type": "boolean"}}},
                    "stored; processed next, in order per chat",
                ),
                {"type": "object", "description": "a Telegram Update"},
                "application/json",
            )
        },
        "/console/login": {
            "get": _page("The console's sign-in form (sets its own CSRF cookie)", 200),
            "post": _page(
                "Sign in: username, password and the form's csrf (form-encoded): 303 to "
                "/console/ with the session cookie; 401 wrong credentials, 403 a form not "
                "from the console, 429 too many attempts (the form again)",
                303,
                401,
                403,
                429,
                errors=(413,),
            ),
        },
        "/console/logout": {
            "post": _page(
                "Sign out (the session's csrf): 303 to the form; 401 no session, 403 no CSRF token",
                303,
                401,
                403,
                errors=(413,),
            ),
        },
        "/console/": {
            "get": _page(
                "The live board of open incidents (a session; else 303 to the form); the "
                "filters district, status, category, priority in the query (422 a bad one)",
                200,
                303,
                422,
            )
        },
        "/console": {"get": _page("303 to /console/", 303)},
        "/console/events": {
            "get": _stream(
                "The board's changes as Server-Sent Events (a session): `hello`, `rows` "
                "(id: the log position), `beat`, `resync`, `ended`; resumes from "
                "Last-Event-ID or `after`; the board's filters as on /console/"
            )
        },
        "/console/board.json": {
            "get": _console_json(
                "The board's changes past `after` (the polling fallback), or its whole "
                "first page (`full`: true)"
            )
        },
        "/console/incidents/{incident_id}": {
            "get": _incident_page(
                "An incident's page: its facts, the conference, each agency's "
                "tries, reports, timeline and route, with its actions"
            )
        },
        "/console/incidents/{incident_id}/live": {
            "get": _incident_page(
                "The live part of an incident's page alone (fetched again "
                "when the incident changes)"
            )
        },
        "/console/analytics": {
            "get": _page(
                "Response times: the month's KPIs, the interval per month, the districts' "
                "map, the agencies, productivity, with filters (supervisors and admins; "
                "others get 403)",
                200,
                303,
                errors=(403,),
            )
        },
        "/console/admin/dialplans": {
            "get": _page(
                "The dialplan templates with the revision of each in force, and the audit "
                "log (admins; others get 403)",
                200,
                303,
                errors=(403,),
            )
        },
        "/console/admin/dialplans/diff": {
            "get": _page(
                "The differences between two revisions of the dialplan templates (admins)",
                200,
                303,
                errors=(403, 404),
            )
        },
        "/console/admin/dialplans/{template}": {
            "get": {
                **_page(
                    "One template's editor (line numbers, preview, save) and history "
                    "(trial, switch, rollback) (admins)",
                    200,
                    303,
                    errors=(403, 404),
                ),
                "parameters": [
                    {
                        "name": "template",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
            }
        },
        "/console/map": {
            "get": _page(
                "The map of Lima's districts with the open incidents (the board's filters)",
                200,
                303,
                422,
            )
        },
        "/console/districts.json": {
            "get": _console_json("Lima's 43 districts for the map: name, rings, centre")
        },
        "/console/new": {
            "get": _page("The form to create an incident while on the phone", 200, 303)
        },
        "/console/lookup": {
            "get": _console_json(
                "The new-incident form's live answers: the category understood, the district "
                "the resolver gives and why, the open incidents nearby it may duplicate"
            )
        },
        "/console/static/{filename}": {
            "get": _file("The console's scripts, styles and vendored libraries"),
        },
    }


def _incident_page(summary: str) -> Schema:
    op = _page(summary, 200, 303, 404)
    op["parameters"] = [_INCIDENT_ID]
    return op


def _stream(summary: str) -> Schema:
    op = _page(summary, 303, errors=(422,))
    op["responses"]["200"] = {
        "description": "an event stream",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
    return op


def _console_json(summary: str) -> Schema:
    op = _page(summary, 303, errors=(422,))
    op["responses"]["200"] = {
        "description": "rows of the board",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return op


def _file(summary: str) -> Schema:
    return {
        "summary": summary,
        "parameters": [
            {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {"description": "the file", "content": {"*/*": {"schema": {}}}},
            "404": _error_response(404),
        },
        "security": [],
    }


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once)."""
    _, bodies = models_json_schema(
        [(model, "validation") for model in _BODIES],
        ref_template="#/components/schemas/{model}",
    )
    paths = _paths() | _webhooks()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "voicebridge",
            "version": "1",
            "description": "The HTTP API of voicebridge, the telephony and messaging platform "
            "of Lima's emergency-coordination centre. Every request under /api/ but this "
            "document carries `Authorization: Bearer <key>`. Errors answer "
            '`{"error": {"code", "message", "fields": [{"field", "message"}]}}`: `code` '
            "is stable English snake_case, the messages are Spanish (es-PE). Requests "
            f"whose target or any header exceeds {MAX_HEADER_BYTES // 1024} KiB answer 414 "
            "or 431.",
        },
        "paths": paths,
        "components": {
            "schemas": {**bodies["$defs"], **_RESPONSES},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API key from `voicebridge apikey create`",
                }
            },
        },
        "security": [{"bearer": []}],
    }


@routes.get(PATH)
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())
