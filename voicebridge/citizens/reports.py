"""Filing citizens' reports, shared by the channels: a report becomes a new incident or
joins the open one of the same event (within ``VOICEBRIDGE_JOIN_RADIUS`` and
``VOICEBRIDGE_JOIN_WINDOW``), a later message completes what an incident lacked, and a
citizen asks how an incident they reported goes."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from channels import texts
from channels.conversation.models import AddToIncident
from channels.texts import Channel
from routing import schema as t
from routing.dedup import Filed, Nearby
from routing.lifecycle import FINAL
from routing.models import Location, NewIncident, NewReport, Reporter, Source, Status
from routing.news import Follower, followers
from routing.reading import MISSING_CATEGORY, UNCLASSIFIED, Reading
from routing.text import printable
from voicebridge.runtime import Runtime

MAX_TEXT = 4000  # characters of a citizen's message kept in the report


class Filing:
    def __init__(self, rt: Runtime, *, channel: Channel) -> None:
        self.rt = rt
        self.channel = channel
        self.source = Source(channel.value)

    @property
    def nearby(self) -> Nearby:
        s = self.rt.settings
        return Nearby(radius_m=float(s.join_radius), window=timedelta(minutes=s.join_window))

    def report(
        self,
        *,
        text: str,
        reading: Reading,
        external_id: str,
        phone: str | None = None,
        handle: str | None = None,
        name: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        payload: dict[str, Any] | None = None,
        began_at: datetime | None = None,
    ) -> NewReport:
        """The report of a citizen's message, as operators will read it (no control
        characters), with the channel's id of the message for deduplication, and when
        the citizen's contact began (``began_at``: the conversation's first message, the
        message's arrival)."""
        return NewReport(
            source=self.source,
            text=printable(text)[:MAX_TEXT],
            reporter=Reporter(
                name=printable(name)[:200] if name else None, phone=phone, handle=handle
            ),
            location=Location(lat=lat, lon=lon, address=reading.address),
            external_id=external_id,
            payload=payload or {},
            began_at=began_at,
        )

    def file(
        self,
        conn: Connection,
        reading: Reading,
        report: NewReport,
        *,
        actor: str,
        public_id: str | None = None,
    ) -> Filed:
        """A new incident, or another report of the open one of the same event.
        ``public_id``: the number the citizen was given for it (reserved at intake)."""
        new = NewIncident(
            category=reading.category,
            district=reading.district,
            report=report,
            priority=reading.priority,
            summary=reading.summary,
            district_source=reading.district_source,
            district_note=reading.district_note,
        )
        return self.rt.store.file_report(
            conn,
            new,
            actor=actor,
            nearby=self.nearby,
            address_key=reading.address_key,
            public_id=public_id,
        )

    def add_to(
        self, conn: Connection, action: AddToIncident, report: NewReport, *, actor: str
    ) -> str | None:
        """The citizen's next message completes their incident: another report of it,
        and what it lacked (category, place) filled in. None when that incident can take
        no more (closed, merged): the message is then a report of its own."""
        store = self.rt.store
        row = store.locked(conn, action.incident_id)
        if Status(row.status) in FINAL:
            return None
        reading = action.reading
        store.add_report_in(
            conn,
            action.incident_id,
            report,
            actor=actor,
            cause=f"el mismo ciudadano completa su reporte por {self.source.label}",
            address_key=reading.address_key,
        )
        classified = reading.category != UNCLASSIFIED and MISSING_CATEGORY not in reading.missing
        store.fill_in(
            conn,
            action.incident_id,
            category=reading.category if classified else None,
            priority=reading.priority if classified else None,
            district=reading.district,
            address=reading.address,
            address_key=reading.address_key,
            lat=report.location.lat,
            lon=report.location.lon,
            actor=actor,
            cause=f"datos que el ciudadano envió después, por {self.source.label}",
        )
        return action.incident_id

    def status(self, conn: Connection, incident_id: str, chat: str) -> str:
        """How the incident goes, for a citizen who reported it (by this channel and
        chat); to anyone else it does not exist (incident numbers are not secret, what
        happens to them is nobody else's business)."""
        row_id = self.row_of(conn, incident_id)
        if row_id is None or Follower(channel=self.channel.value, chat=chat) not in followers(
            conn, row_id
        ):
            return texts.incident_not_found(self.channel, incident_id)
        incident = self.rt.store.read(conn, row_id)
        a = t.acks.c
        agencies = conn.execute(select(a.agency).where(a.incident_id == row_id).order_by(a.at))
        names = self.rt.rules.names()
        confirmed = list(dict.fromkeys(names.agency(code) for code in agencies.scalars()))
        return texts.incident_status(
            self.channel,
            incident.id,  # its own number, when asked by the one a joined report got
            incident.status,
            confirmed=confirmed,
            merged_into=incident.merged_into,
        )

    def row_of(self, conn: Connection, incident_id: str) -> int | None:
        return self.rt.store.row_id(conn, incident_id)
