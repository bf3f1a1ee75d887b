"""Rows of the incident tables to domain values and back."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from routing.events import EventKind
from routing.models import (
    Ack,
    AckMethod,
    Attempt,
    AttemptOutcome,
    Contact,
    ContactRole,
    ContactState,
    Incident,
    IncidentEvent,
    Location,
    Medium,
    NewReport,
    Priority,
    Report,
    Reporter,
    Source,
    Status,
)


def report_row(
    incident_row_id: int, report: NewReport, now: datetime, address_key: str | None = None
) -> dict[str, Any]:
    return {
        "incident_id": incident_row_id,
        "source": report.source.value,
        "external_id": report.external_id,
        "received_at": now,
        "began_at": None if report.began_at is None else min(report.began_at, now),
        "text": report.text,
        "payload": report.payload,
        "address_key": address_key,
        **location_columns(report.location),
        **reporter_columns(report.reporter),
    }


def location_columns(location: Location) -> dict[str, Any]:
    return {
        "lat": location.lat,
        "lon": location.lon,
        "address": location.address,
        "reference": location.reference,
    }


def reporter_columns(reporter: Reporter) -> dict[str, Any]:
    return {
        "reporter_name": reporter.name,
        "reporter_phone": reporter.phone,
        "reporter_handle": reporter.handle,
    }


def new_report(r: Row[Any]) -> NewReport:
    """A stored report as it arrived (to file it again elsewhere: a split)."""
    stored = report(r, "")
    return NewReport(
        source=stored.source,
        text=stored.text,
        reporter=stored.reporter,
        location=stored.location,
        external_id=stored.external_id,
        payload=dict(r.payload),
        began_at=stored.began_at,
    )


def incident(m: Mapping[Any, Any]) -> Incident:
    return Incident(
        id=m["public_id"],
        category=m["category"],
        priority=Priority(m["priority"]),
        district=m["district"],
        location=Location(
            lat=m["lat"], lon=m["lon"], address=m["address"], reference=m["reference"]
        ),
        reporter=Reporter(
            name=m["reporter_name"], phone=m["reporter_phone"], handle=m["reporter_handle"]
        ),
        source=Source(m["source"]),
        summary=m["summary"],
        status=Status(m["status"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        created_by=m["created_by"],
        merged_into=m["merged_into"],
        version=m["version"],
    )


def report(r: Row[Any], incident_id: str) -> Report:
    return Report(
        id=r.id,
        incident_id=incident_id,
        source=Source(r.source),
        received_at=r.received_at,
        text=r.text,
        reporter=Reporter(name=r.reporter_name, phone=r.reporter_phone, handle=r.reporter_handle),
        location=Location(lat=r.lat, lon=r.lon, address=r.address, reference=r.reference),
        external_id=r.external_id,
        photo=bool((r.payload or {}).get("photo")),
        began_at=r.began_at,
    )


def attempt(a: Row[Any], incident_id: str) -> Attempt:
    return Attempt(
        id=a.id,
        incident_id=incident_id,
        agency=a.agency,
        target=a.target,
        number=a.number,
        outcome=AttemptOutcome(a.outcome),
        started_at=a.started_at,
        medium=Medium(a.medium),
        contact=a.contact,
        cause=a.cause,
        ended_at=a.ended_at,
    )


def ack(a: Row[Any], incident_id: str) -> Ack:
    return Ack(
        incident_id=incident_id,
        agency=a.agency,
        method=AckMethod(a.method),
        at=a.at,
        actor=a.actor,
        attempt_id=a.attempt_id,
    )


def event(e: Row[Any], incident_id: str) -> IncidentEvent:
    return IncidentEvent(
        incident_id=incident_id,
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        kind=EventKind(e.kind),
        cause=e.cause,
        data=dict(e.data),
    )


def contact(row: Row[Any], incident_id: str) -> Contact:
    m = row._mapping
    return Contact(
        id=m["id"],
        incident_id=incident_id,
        ref=m["ref"],
        medium=Medium(m["medium"]),
        role=ContactRole(m["role"]),
        state=ContactState(m["state"]),
        address=m["address"],
        label=m["label"],
        agency=m["agency"],
        attempt_id=m["attempt_id"],
        cause=m["cause"],
        withdraw=bool(m["withdraw"]),
        created_at=m["created_at"],
        joined_at=m["joined_at"],
        ended_at=m["ended_at"],
    )
