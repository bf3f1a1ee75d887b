"""The radio adapter: the contact ledger's SDS contacts (a responder's radio, alerted by
text) placed through the centre's TETRA radio (:class:`tetra.client.PeiClient`), and
what the radios answer told to the contact port in the domain's words.

- A claimed contact becomes a Spanish alert (:func:`radio_alert`: the incident, its
  category, the place, and the status that takes it, e.g. "INC LIM-2026-000123 ROBO Av.
  Abancay 123, Cercado. Responda estado 32769 o 1") sent with a "received" report
  asked for. The radio's report is the try's outcome, as a phone's answer is: received,
  it is delivered (the try then waits for the answer that acknowledges); a failure the
  network reports (not registered, not reachable...) is not reached, with its cause;
  no report within the agency's ring time, not reached either.
- A status message from a radio an alert went to in the last 24 hours means what its
  agency's status plan says: received, en route, on scene acknowledge the agency as a
  keypress does (en route and on scene are logged as phases of the incident); unavailable
  declines (the next target at once); every status is logged.
- A text reply ("1", "OK", "SI", "recibido"; "2", "NO") acknowledges or declines.
- A contact withdrawn (its agency acknowledged another way, the incident ended) has
  nothing to hang up: it ends.

What the radios send is recorded in the order it came (one job at a time). The messages
the radio could not send are never sent twice blindly: an ``AT+CMGS`` whose answer did
not come is left to its report (or to the ring time).
"""

import asyncio
import contextlib
import functools
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from redis.exceptions import LockError, RedisError

from channels import texts
from channels.texts import place_text
from routing.categories import category_by_code
from routing.config import RoutingConfig, tetra_parts
from routing.contacts import Alerted, ToPlace
from routing.models import (
    AckMethod,
    AttemptOutcome,
    ContactRole,
    Medium,
    StatusMeaning,
    Target,
    TargetKind,
)
from tetra import sds
from tetra.client import (
    CallEvent,
    PeiClient,
    PeiTarget,
    PeiTimeout,
    PeiUnavailable,
    RadioEvent,
    SdsRefused,
    SdsSent,
)
from tetra.identity import IdentityError, Network, Tsi, parse
from voicebridge.ami.recorder import AdapterTasks, Recorder
from voicebridge.blocking import Blocking
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

MEDIUM = Medium.SDS
ALERT_CHARACTERS = 160  # what a radio's display shows without scrolling much
ANSWERS = timedelta(hours=24)  # how long after an alert a radio's answer counts
POLL_SECONDS = 0.5
STALE = timedelta(minutes=5)  # an alert in flight this long without a report is over
HOLD_BACK = 30.0  # seconds the PEI client may hold an SDS back while the radio is busy
WITHDRAWN = "la alerta ya no espera respuesta"
# what the network's delivery report says, for the try's cause ([AI] table 29.16)
DELIVERY_CAUSES = {
    0x41: "el servicio de mensajes no está disponible en la red",
    0x42: "la radio no tiene el servicio de mensajes",
    0x43: "el servicio de mensajes no está disponible",
    0x44: "la radio no está autorizada a recibirlo",
    0x45: "la red no conoce esa radio",
    0x48: "venció sin que la radio lo recibiera",
    0x4A: "la red no pudo entregarlo",
    0x4B: "la radio no está registrada en la red (apagada o fuera de cobertura)",
    0x4C: "la cola de la radio está llena",
    0x4D: "el mensaje es demasiado largo para la radio",
    0x4E: "la radio no recibe mensajes de texto",
    0x51: "la radio no lee ese juego de caracteres",
    0x52: "la memoria de la radio está llena",
    0x5A: "la radio no está al alcance",
}
SHORT_CAUSES = {
    sds.ShortReportKind.UNSUPPORTED: "la radio no lee ese tipo de mensaje",
    sds.ShortReportKind.MEMORY_FULL: "la memoria de la radio está llena",
}


def radio_alert(incident_id: str, category: str, place: str, reply: int | None) -> str:
    """The alert a responder's radio shows: at most :data:`ALERT_CHARACTERS`, the place
    cut first."""
    head = f"INC {incident_id} {category_by_code(category).label.upper()}"
    tail = f"Responda estado {reply} o 1" if reply is not None else "Responda 1 o SI"
    room = ALERT_CHARACTERS - len(head) - len(tail) - 3
    if len(place) > room:  # "..." (an ellipsis would make the whole text UTF-16)
        place = place[: max(room - 3, 0)].rstrip() + "..."
    return f"{head} {place}. {tail}"


def supervisor_radio_notice(incident_id: str, category: str, place: str) -> str:
    head = f"AVISO {incident_id} {category_by_code(category).label.upper()}"
    tail = "Una entidad no confirmó: revise el incidente"
    room = ALERT_CHARACTERS - len(head) - len(tail) - 3
    if len(place) > room:  # "..." (an ellipsis would make the whole text UTF-16)
        place = place[: max(room - 3, 0)].rstrip() + "..."
    return f"{head} {place}. {tail}"


def network_of(config: RoutingConfig) -> Network:
    return Network(config.centre.tetra.mcc, config.centre.tetra.mnc)


@dataclass(frozen=True)
class RadioEntry:
    """One radio of the routing file: every way the file writes it (the addresses its
    contacts carry: "2001" and "716000100002001" are one radio) and its agencies."""

    forms: frozenset[str]
    agencies: frozenset[str]


def radio_directory(config: RoutingConfig) -> dict[tuple[int, int, int], RadioEntry]:
    """Every radio of the routing file, by (MCC, MNC, SSI)."""
    net = config.centre.tetra
    forms: dict[tuple[int, int, int], set[str]] = {}
    agencies: dict[tuple[int, int, int], set[str]] = {}
    placed: list[tuple[Target, str | None]] = [
        (target, agency.code)
        for agency in config.agencies.values()
        for station in agency.stations
        for target in station.targets
    ]
    placed += [(target, None) for target in config.centre.supervisor]
    for target, agency in placed:
        if target.kind is not TargetKind.RADIO:
            continue
        key = tetra_parts(target.address, net)
        forms.setdefault(key, set()).add(target.address)
        if agency is not None:
            agencies.setdefault(key, set()).add(agency)
    return {
        key: RadioEntry(forms=frozenset(f), agencies=frozenset(agencies.get(key, ())))
        for key, f in forms.items()
    }


def radio_key(radio: Tsi) -> tuple[int, int, int]:
    return radio.mcc, radio.mnc, radio.ssi


def latin1(text: str) -> str:
    """``text`` in ISO 8859-1 (a radio's one-byte alphabet): a letter outside it loses
    its accent (NFKD), a ’ or a – becomes ' or -, anything else ?."""
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) < 128)
        out.append(_PUNCTUATION.get(char) or plain or "?")
    return "".join(out)


_PUNCTUATION = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."}


@dataclass(frozen=True)
class _Sent:
    ref: str  # the contact
    deadline: float  # loop time by which its report is due
    ring: float = 30.0  # its agency's ring time (a report "stored" waits that much more)


class RadioAdapter:
    def __init__(self, rt: Runtime, client: PeiClient, blocking: Blocking, *, owner: str) -> None:
        self.rt = rt
        self.client = client
        self.blocking = blocking
        self.owner = owner
        self.recorder = Recorder(blocking, rt.wakeup, "radio")
        self._running = AdapterTasks(rt.wakeup, self.recorder, "radio-alerts")
        self._sent: dict[tuple[int, int], _Sent] = {}  # (radio's SSI, message ref)
        self.placed: list[str] = []  # the contacts alerted, in order (for tests)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._running.start(self._loop)

    async def stop(self) -> None:
        await self._running.stop()

    async def idle(self) -> None:
        """Wait until every radio event received so far is recorded (for tests)."""
        await self.recorder.idle()

    def handle(self, event: RadioEvent) -> None:
        """The PEI client's handler (on the event loop): what a radio sent, matched with
        the alerts in flight here, then recorded in order (in a thread)."""
        if isinstance(event, CallEvent):
            return  # the talkgroups' calls are the voice adapter's
        if isinstance(event, SdsSent):
            self._network_said(event)
            return
        if event.to_group:
            log.info("radio: %s wrote to a group, not to the centre's radio", event.sender)
            return
        pdu = event.pdu
        if isinstance(pdu, sds.Report):
            self._report(event.sender, pdu.ref, pdu.status, sds.delivery_kind(pdu.status))
        elif isinstance(pdu, sds.ShortReport):
            kind = (
                "delivered"
                if pdu.kind in (sds.ShortReportKind.RECEIVED, sds.ShortReportKind.CONSUMED)
                else "failed"
            )
            self._report(event.sender, pdu.ref, None, kind, SHORT_CAUSES.get(pdu.kind))
        elif isinstance(pdu, sds.Status):
            value = pdu.value
            self.recorder.put(lambda: self._status(event.sender, value))
        elif isinstance(pdu, sds.Text) and event.text is not None:
            text = event.text
            self.recorder.put(lambda: self._text(event.sender, text))

    # ------------------------------------------------------------- alerts

    async def _loop(self, woken: asyncio.Event) -> None:
        failing = False
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await woken.wait()
            woken.clear()
            try:
                await self.turn()
                if failing:
                    log.info("radio: alerting works again")
                    failing = False
            except Exception:
                if not failing:
                    log.exception("radio: could not alert the pending contacts")
                    failing = True

    async def turn(self) -> int:
        """One pass: alerts for what is pending, ends for what was withdrawn, the alerts
        whose report did not come in time; how many alerts were sent."""
        port = self.rt.calls.contacts
        sent = 0
        if self.client.ready.is_set():  # the rest goes on while the radio is away
            for call in await self.blocking(port.claim, MEDIUM, self.owner):
                try:
                    sent += await self._alert(call)
                except Exception:  # this one waits for the next turn; the others go on
                    log.exception("radio: the alert of %s failed", call.contact.ref)
                    self._forget(call.contact.ref)
                    await self.blocking(port.unclaim, call.contact.ref)
        for contact in await self.blocking(port.to_withdraw, MEDIUM):
            await self.blocking(port.ended, contact.ref, WITHDRAWN)
        now = asyncio.get_running_loop().time()
        for key, pending in list(self._sent.items()):
            if now < pending.deadline:
                continue
            del self._sent[key]
            await self.blocking(
                port.not_reached,
                pending.ref,
                AttemptOutcome.NO_ANSWER,
                "la radio no acusó recibo a tiempo",
            )
        for stale in await self.blocking(port.live, MEDIUM, self.rt.clock.now() - STALE):
            if stale.ref not in {p.ref for p in self._sent.values()}:
                await self.blocking(
                    port.not_reached,
                    stale.ref,
                    AttemptOutcome.NO_ANSWER,
                    "la radio no acusó recibo (sin noticias del envío)",
                )
        return sent

    def _forget(self, contact: str) -> None:
        self._sent = {k: v for k, v in self._sent.items() if v.ref != contact}

    def _network_said(self, event: SdsSent) -> None:
        """``+CMGS: 0,5,<ref>``: the network did not take one of our SDS."""
        if event.sent or event.ref is None:
            return
        for key, pending in list(self._sent.items()):
            if key[1] == event.ref:
                del self._sent[key]
                why = f"la red no aceptó el mensaje (estado {event.status})"
                self.recorder.put(
                    functools.partial(
                        self.rt.calls.contacts.not_reached, pending.ref, AttemptOutcome.FAILED, why
                    )
                )

    async def _alert(self, call: ToPlace) -> int:
        port = self.rt.calls.contacts
        contact = call.contact
        config, _ = await self.blocking(self.rt.rules.current)
        try:
            radio = parse(contact.address, network_of(config))
        except IdentityError as exc:
            log.error("radio: %s is not a radio: %s", contact.address, exc)
            await self.blocking(
                port.not_reached, contact.ref, AttemptOutcome.FAILED, "no es una radio válida"
            )
            return 0
        incident = await self.blocking(self.rt.store.get, call.room)
        place = place_text(incident.district, incident.location.address)
        if contact.role is ContactRole.RESPONDER:
            plan = config.status_plan_of(contact.agency or "")
            reply = plan.reply.code if plan is not None and plan.reply is not None else None
            text = radio_alert(call.room, call.category, place, reply)
        else:
            text = supervisor_radio_notice(call.room, call.category, place)
        ref = self.client.next_ref()
        # one ISO 8859-1 part, never a two-part UTF-16 text (a ’ in an address would do it)
        pdus = sds.text_messages(latin1(text), ref, report=sds.ReportRequest.RECEIVED)
        loop = asyncio.get_running_loop()
        key = (radio.ssi, ref)
        # in flight before it is written: its report may come before AT+CMGS's OK (the
        # busy hold-back may take a while: the ring time counts once it went)
        sent = _Sent(ref=contact.ref, deadline=loop.time() + HOLD_BACK + call.ring_seconds)
        self._sent[key] = sent
        try:
            for pdu in pdus:
                await self.client.send_sds(radio, pdu)
        except SdsRefused as exc:
            self._sent.pop(key, None)
            await self.blocking(
                port.not_reached,
                contact.ref,
                AttemptOutcome.FAILED,
                f"la radio de la central no lo envió: {exc}",
            )
            return 0
        except PeiUnavailable:
            self._sent.pop(key, None)
            await self.blocking(port.unclaim, contact.ref)  # nothing was written: a try later
            return 0
        except PeiTimeout:
            # the radio may have sent it: its report (or the ring time) tells, never a resend
            log.warning("radio: the alert to %s may not have gone; waiting for its report", radio)
        if key in self._sent:  # (a report or a refusal may have settled it meanwhile)
            self._sent[key] = replace(
                sent, deadline=loop.time() + call.ring_seconds, ring=call.ring_seconds
            )
        self.placed.append(contact.ref)
        log.info("radio: alert %s to %s", call.room, radio, extra={"incident": call.room})
        return 1

    # ------------------------------------------------------------- answers

    def _report(
        self, radio: Tsi, ref: int, status: int | None, kind: str, cause: str | None = None
    ) -> None:
        port = self.rt.calls.contacts
        pending = self._sent.get((radio.ssi, ref))
        if pending is None:
            log.info("radio: a report from %s for message %d, no alert of ours", radio, ref)
            return
        contact = pending.ref
        if kind == "delivered":
            del self._sent[(radio.ssi, ref)]
            self.recorder.put(lambda: port.delivered(contact, "la radio acusó recibo"))
        elif kind == "failed":
            del self._sent[(radio.ssi, ref)]
            why = cause or DELIVERY_CAUSES.get(
                status or 0, f"la red no lo entregó (estado 0x{status or 0:02X})"
            )
            self.recorder.put(lambda: port.not_reached(contact, AttemptOutcome.FAILED, why))
        else:  # stored by the network, or congestion: the report to come tells
            later = asyncio.get_running_loop().time() + pending.ring
            self._sent[(radio.ssi, ref)] = replace(pending, deadline=later)

    def _alert_of(self, radio: Tsi) -> tuple[RoutingConfig, Alerted] | None:
        """The alert a radio's answer answers: the oldest still waiting among those sent
        to it (however the routing file writes it), else the latest."""
        config, _ = self.rt.rules.current()
        entry = radio_directory(config).get(radio_key(radio))
        if entry is None:
            log.info("radio: %s is no radio of the routing file", radio)
            return None
        since = self.rt.clock.now() - ANSWERS
        ledger = self.rt.calls.contacts
        alert = ledger.alerted(MEDIUM, sorted(entry.forms), since, oldest_waiting=True)
        if alert is None or not alert.waiting:
            # a radio of an agency reached by its talkgroup, patched into a room: its
            # answer is that agency's (the oldest patch still waiting for one)
            for agency in sorted(entry.agencies):
                patched = ledger.patched(agency, since)
                if patched is not None and patched.waiting:
                    return config, patched
        if alert is None:
            log.info("radio: %s answered, but no alert or talkgroup of its agency waits", radio)
            return None
        return config, alert

    def _status(self, radio: Tsi, value: int) -> None:
        found = self._alert_of(radio)
        if found is None:
            return
        config, alert = found
        plan = config.status_plan_of(alert.agency or "")
        status = plan.statuses.get(value) if plan is not None else None
        means = status.means if status is not None else None
        label = status.label if status is not None else None
        port = self.rt.calls.contacts
        port.radio_status(alert.ref, value, means, label)
        if means is StatusMeaning.UNAVAILABLE and alert.waiting:
            port.declined(alert.ref, f"respondió por radio el estado {value} «{label}»")

    def _text(self, radio: Tsi, text: str) -> None:
        found = self._alert_of(radio)
        if found is None:
            return
        _, alert = found
        answer = texts.responder_answer(text)
        said = "".join(c for c in text if c.isprintable())[:40]
        port = self.rt.calls.contacts
        if not alert.waiting or answer is None:
            log.info("radio: %s wrote %r (no answer to a waiting alert)", radio, said)
        elif answer == "accept":
            port.acknowledged(alert.ref, AckMethod.SDS, f"respondió «{said}» por radio")
        else:
            port.declined(alert.ref, f"respondió «{said}» por radio")


LEASE_KEY = "voicebridge:tetra:pei"
LEASE_SECONDS = 15.0


class RadioDriver:
    """The radio of one ``serve`` replica. A radio's PEI has one end (a serial port; a
    TCP PEI takes one connection at a time), so of the replicas configured with it one
    drives it: the holder of a Redis lock with a time limit (redis-py's ``Lock``),
    renewed while it runs. The others stand by and take over within
    :data:`LEASE_SECONDS` of the holder's end. Every replica and worker still places
    radio targets (the holder sends them); without Redis nobody can tell who drives, and
    a holder keeps driving until Redis says its lease went to another."""

    def __init__(
        self,
        rt: Runtime,
        blocking: Blocking,
        target: PeiTarget,
        network: Network,
        *,
        owner: str,
        trace: Callable[[str, bytes], None] | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.blocking = blocking
        self.client = PeiClient(target, network, self._handle, trace=trace)
        self.adapter = RadioAdapter(rt, self.client, blocking, owner=owner)
        self.lease_seconds = lease_seconds
        self.lock = rt.redis.lock(
            LEASE_KEY, timeout=lease_seconds, blocking=False, thread_local=False
        )
        self.holding = False
        self._task: asyncio.Task[None] | None = None
        self._calls: list[Callable[[CallEvent], None]] = []

    def on_call(self, listener: Callable[[CallEvent], None]) -> None:
        """``listener`` gets the radio's call control indications (push-to-talk)."""
        self._calls.append(listener)

    def driving(self) -> PeiClient | None:
        """The radio, while this replica drives it."""
        return self.client if self.holding else None

    def _handle(self, event: RadioEvent) -> None:
        if isinstance(event, CallEvent):
            for listener in self._calls:
                listener(event)
        self.adapter.handle(event)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tetra-lease")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.holding:
            await self._let_go()
            with contextlib.suppress(RedisError, LockError):
                await self.blocking(self.lock.release)

    async def _run(self) -> None:
        while True:
            try:
                await self._turn()
            except Exception:  # a turn that failed: the next one tries again
                log.exception("radio: the lease could not be kept")
            await asyncio.sleep(self.lease_seconds / 3)

    async def _turn(self) -> None:
        if not self.holding:
            try:
                got = await self.blocking(self.lock.acquire, blocking=False)
            except RedisError:
                got = False  # nobody can tell who drives it: wait for Redis
            if got:
                self.holding = True
                log.info("radio: this replica drives the radio")
                self.client.start()
                self.adapter.start()
        else:
            try:
                await self.blocking(self.lock.reacquire)
            except LockError:
                log.warning("radio: the radio's lease went to another replica")
                await self._let_go()
            except RedisError:
                pass  # keep driving until Redis can say otherwise

    async def _let_go(self) -> None:
        self.holding = False
        await self.adapter.stop()
        await self.client.stop()

    def state(self) -> str:
        """For /readyz: ok, down (why), or standing by."""
        if not self.holding:
            return "standby (another replica drives the radio)"
        state = self.client.state()
        return f"ok (radio {state.identity})" if state.ready else f"down: {state.detail}"
