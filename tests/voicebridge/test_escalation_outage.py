"""No outage ends an escalation: PostgreSQL held down (through a TCP proxy the test cuts)
for longer than every retry of the job due meanwhile; once it is back, the agency is
called, and its log says how late."""

import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from routing.events import EscalationResumed, EventKind
from routing.models import (
    AttemptOutcome,
    ContactState,
    Medium,
    NewIncident,
    NewReport,
    Source,
)
from tests.conftest import FakeClock, _truncate, make_settings
from tests.voicebridge.conftest import AMI_MEDIA
from voicebridge.jobs import bound, escalate
from voicebridge.queueing import JOBS
from voicebridge.runtime import Runtime, build_runtime


class Proxy:
    """A TCP proxy to PostgreSQL: ``cut()`` drops every connection and refuses new ones
    (the server is down, as far as voicebridge can tell) until ``mend()``."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.mend()

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[Proxy]:
    _truncate(postgres_url)
    url = make_url(postgres_url)
    p = Proxy(url.host or "127.0.0.1", url.port or 5432)
    yield p
    p.cut()


@pytest.fixture
def rt(
    postgres_url: str, redis_url: str, redis: Redis, clock: FakeClock, proxy: Proxy
) -> Iterator[Runtime]:
    through = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    settings = make_settings(through.render_as_string(hide_password=False), redis_url)
    runtime = build_runtime(settings, clock=clock, media=AMI_MEDIA)
    runtime.rules.load_file(actor="test")
    yield runtime
    runtime.close()


def test_a_database_outage_longer_than_every_retry_ends_no_escalation(
    rt: Runtime, clock: FakeClock, proxy: Proxy
) -> None:
    incident, _ = rt.store.create_incident(
        NewIncident(
            category="robo",
            district="150122",
            report=NewReport(source=Source.API, text="robo al paso"),
        ),
        actor="operator:test",
    )
    rt.dispatcher.dispatch(incident.id, actor="operator:test")
    [pnp] = [c for c in rt.calls.contacts.claim(Medium.VOICE, "serve") if c.contact.agency == "pnp"]
    rt.calls.contacts.not_reached(pnp.contact.ref, AttemptOutcome.NO_ANSWER, "no contestó")
    due = rt.tasks.claim()
    [task] = [t for t in due if t.name == "escalate" and t.args["agency"] == "pnp"]
    assert task.not_before is not None
    clock.current = task.not_before  # the retry is due now: the database goes down

    proxy.cut()
    retries = JOBS["escalate"].retry
    for _ in range(1 + len(retries)):  # the job and every one of RQ's retries fail
        with bound(rt), pytest.raises(OperationalError):
            escalate(**task.args)
    with pytest.raises(OperationalError):  # the worker cannot even record the failure
        rt.tasks.fail(task.key, "the database is down")
    clock.advance(sum(retries) + 60)  # the outage lasts longer than all of them
    proxy.mend()

    resumed = rt.dispatcher.resume_stalled()
    assert [(r.incident_id, r.agency) for r in resumed] == [(incident.id, "pnp")]
    late = clock.now() - task.not_before
    assert resumed[0].late == late
    pending = [
        c
        for c in rt.calls.legs(incident.id)
        if c.agency == "pnp" and c.state is ContactState.PENDING
    ]
    assert len(pending) == 1  # the police is called again, once
    [event] = [e for e in rt.store.events(incident.id) if e.kind is EventKind.ESCALATION_RESUMED]
    payload = event.payload
    assert isinstance(payload, EscalationResumed)
    assert (payload.agency, payload.after) == ("pnp", 1)
    assert payload.late_seconds == late.total_seconds()
    assert late > timedelta(seconds=sum(retries))
    assert rt.dispatcher.resume_stalled() == []  # once
    # the job, run again later (RQ resending it), finds nothing to do
    with bound(rt):
        assert "nothing to do" in escalate(**task.args)
