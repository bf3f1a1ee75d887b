"""News back to the citizens who reported an incident, as it advances: derived to which
agencies, the first agency that confirmed, resolved, cancelled, or merged (with the
incident they now follow). Each is told once per citizen and kind.

An event that calls for news records a task in its own transaction (:func:`news_task`);
the job finds who follows the incident (:func:`followers`: whoever reported it by SMS or
Telegram, on it or on an incident merged into it) and records one message each, under a
key that is recorded once.
"""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, select

from routing import schema as t
from routing.events import Acknowledged, NewEvent, StatusChanged
from routing.models import Source, Status, Task


class NewsKind(StrEnum):
    DERIVED = "derived"  # dispatched: derived to these agencies
    CONFIRMED = "confirmed"  # the first agency confirmed it attends
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    MERGED = "merged"  # now followed under another incident


_BY_STATUS = {
    Status.DISPATCHED.value: NewsKind.DERIVED,
    Status.RESOLVED.value: NewsKind.RESOLVED,
    Status.CANCELLED.value: NewsKind.CANCELLED,
    Status.MERGED.value: NewsKind.MERGED,
}

CITIZEN_SOURCES = (Source.SMS.value, Source.TELEGRAM.value)


def news_for(new: NewEvent) -> NewsKind | None:
    """The news an event of the incident's log calls for, if any."""
    payload = new.payload
    if isinstance(payload, StatusChanged):
        return _BY_STATUS.get(payload.to)
    if isinstance(payload, Acknowledged):
        return NewsKind.CONFIRMED
    return None


def news_task(incident_id: str, kind: NewsKind, seq: int) -> Task:
    """The job that tells the incident's followers ``kind``, recorded with the event
    ``seq`` of its log that calls for it (a second agency's confirmation records
    another; the messages' own keys keep anyone from being told twice)."""
    return Task(
        key=f"{incident_id}--news_{kind.value}--{seq}",
        name="citizen_news",
        args={"incident_id": incident_id, "kind": kind.value},
    )


def on_event(conn: Connection, row_id: int, new: NewEvent, seq: int) -> list[Task]:
    """The store's hook (:class:`~routing.store.IncidentStore` ``on_event``): the news
    task an event calls for, when some citizen follows the incident."""
    kind = news_for(new)
    if kind is None or not followers(conn, row_id):
        return []
    i = t.incidents.c
    incident_id = conn.execute(select(i.public_id).where(i.id == row_id)).scalar_one()
    return [news_task(incident_id, kind, seq)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Follower:
    channel: str  # "sms", "telegram"
    chat: str  # the E.164 number or the chat id


def followers(conn: Connection, row_id: int) -> list[Follower]:
    """Who reported the incident by SMS or Telegram, on it or on incidents merged into
    it (at any depth), each once, in the order they reported."""
    i = t.incidents.c
    rows = [row_id]
    seen = {row_id}
    public_ids = [conn.execute(select(i.public_id).where(i.id == row_id)).scalar_one()]
    while public_ids:
        merged = conn.execute(select(i.id, i.public_id).where(i.merged_into.in_(public_ids))).all()
        public_ids = [m.public_id for m in merged if m.id not in seen]
        for m in merged:
            if m.id not in seen:
                seen.add(m.id)
                rows.append(m.id)
    r = t.reports.c
    found = conn.execute(
        select(r.source, r.reporter_phone, r.reporter_handle)
        .where(r.incident_id.in_(rows), r.source.in_(CITIZEN_SOURCES))
        .order_by(r.received_at, r.id)
    ).all()
    out: list[Follower] = []
    for report in found:
        chat = report.reporter_phone if report.source == Source.SMS.value else None
        chat = chat or report.reporter_handle
        if chat and (f := Follower(channel=report.source, chat=chat)) not in out:
            out.append(f)
    return out
