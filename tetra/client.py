"""The PEI client: one radio's PEI, over a serial port or TCP, by one code path
(pyserial-asyncio-fast opens ``socket://host:port`` with the event loop's own TCP
connection, a device path as a serial port; the bytes and everything above them are the
same).

It keeps the link up and the radio set up: after every (re)connection it initialises
the radio (:data:`INIT`: echo off, trunked mode, the SDS-TL text, status, voice and
group services routed to this terminal, ISO 8859-1) and reads the radio's own identity
(``AT+CNUMF?``). One command is in flight at a time (:class:`tetra.pei.Pei`), each with
a timeout; a command that stalls, a garbage burst, or the echo of a command coming back
after ``ATE0`` (the radio reset and forgot its set-up) closes the link and starts over.
With no traffic for :attr:`Timing.keepalive` seconds an ``AT`` checks that the radio is
still there.

:meth:`PeiClient.send_sds` sends a PDU (``AT+CTSDS`` to select the AI service, then
``AT+CMGS`` with the user data) and answers with the SDS's message reference; while the
radio says it is busy with signalling (``+CME ERROR: 42``) the PDU is held back and
sent again after :attr:`Timing.busy_retry`. An SDS received arrives as
:class:`SdsReceived`; a text whose sender asked for a delivery report is answered with
the report "received" at once, before it is handed on. Call control indications arrive
as :class:`CallEvent`.
"""

import asyncio
import contextlib
import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import serial_asyncio_fast

from tetra import sds
from tetra.identity import IdentityError, Network, Tsi, from_pei
from tetra.pei import Done, Event, Garbage, Indication, Pei, PeiError, Stray

log = logging.getLogger(__name__)

# the initialisation after every (re)connection ([PEI] 6.14, CHANNELS.md C3): echo off,
# trunked mode (TMO), services routed to this terminal: SDS-TL text (PID 130), immediate
# text (137), concatenated texts with a user data header (138), simple and simple
# immediate text (2, 9), status (AI service 13), voice, group management; ISO 8859-1
INIT = (
    "ATE0",
    "AT+CTOM=0",
    "AT+CTSP=1,3,130",
    "AT+CTSP=1,3,137",
    "AT+CTSP=1,3,138",
    "AT+CTSP=1,3,2",
    "AT+CTSP=1,3,9",
    "AT+CTSP=1,2,20",
    "AT+CTSP=2,0,0",
    "AT+CTSP=1,1,11",
    "AT+CSCS=8859-1",
)
CALL_INDICATIONS = frozenset({"+CTICN", "+CTCC", "+CTCR", "+CTXG", "+CDTXC", "+CTXI", "+CTXW"})
SDS_SENT = "4"  # +CMGS's SDS status: sent (5: not sent)


class PeiUnavailable(ConnectionError):
    """The radio is not connected or not initialised (yet)."""


class PeiTimeout(TimeoutError):
    """A command's final result did not come in time (the link is started over): the
    radio may or may not have carried it out."""


class PeiLinkLost(PeiTimeout):
    """The link went down while a command was in flight: it may or may not have been
    carried out."""


class SdsRefused(Exception):
    """The radio refused to send the SDS: why, in the radio's words."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PeiTarget:
    """Where the radio's PEI is: ``serial:///dev/ttyUSB0?baud=115200`` or
    ``tcp://host:port``."""

    url: str  # as pyserial opens it
    baud: int = 115200
    shown: str = ""  # as the setting wrote it (for logs and /readyz)

    @classmethod
    def parse(cls, text: str) -> "PeiTarget":
        parsed = urllib.parse.urlsplit(text)
        if parsed.scheme == "tcp":
            if not parsed.hostname or parsed.port is None:
                raise ValueError(f"{text!r}: tcp://host:port")
            return cls(url=f"socket://{parsed.hostname}:{parsed.port}", shown=text)
        if parsed.scheme == "serial":
            if not parsed.path.startswith("/"):
                raise ValueError(f"{text!r}: serial:///dev/... with the device's path")
            query = urllib.parse.parse_qs(parsed.query)
            unknown = set(query) - {"baud"}
            if unknown:
                raise ValueError(f"{text!r}: unknown option {sorted(unknown)[0]!r}")
            raw = query.get("baud", ["115200"])[-1]
            if not raw.isdigit() or not 300 <= int(raw) <= 4_000_000:
                raise ValueError(f"{text!r}: baud {raw!r} is not a serial speed")
            return cls(url=parsed.path, baud=int(raw), shown=text)
        raise ValueError(f"{text!r}: serial:///dev/ttyUSB0?baud=115200 or tcp://host:port")


@dataclass(frozen=True, kw_only=True, slots=True)
class Timing:
    command: float = 5.0  # a command's final result
    # an AT after this long without traffic: a radio that reset (and forgot what it was
    # told to route here) is found by its echo within this time
    keepalive: float = 10.0
    busy_retry: float = 2.0  # an SDS held back while the radio is busy
    busy_tries: int = 15  # then it is refused
    reconnect: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)  # waits between tries, the last repeated


@dataclass(frozen=True, kw_only=True, slots=True)
class SdsReceived:
    sender: Tsi
    destination: str  # as the radio wrote it (our radio, or a group)
    service: int
    pdu: sds.Pdu
    text: str | None = None  # a text, whole (its parts put together)
    to_group: bool = False  # sent to a group this radio is in, not to this radio


@dataclass(frozen=True, kw_only=True, slots=True)
class SdsSent:
    """The network's word on an SDS this radio sent (``+CMGS: <instance>,<status>,
    <reference>``): sent, or not; ``ref`` is the SDS-TL message reference."""

    sent: bool
    ref: int | None
    status: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CallEvent:
    """A call control indication: its name and parameters (``+CTXG``, the talker)."""

    name: str
    params: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkState:
    """What the client says about its radio (for /readyz and the log)."""

    connected: bool
    ready: bool
    identity: str | None
    detail: str


RadioEvent = SdsReceived | SdsSent | CallEvent
Handler = Callable[[RadioEvent], Awaitable[None] | None]


class _Protocol(asyncio.Protocol):
    def __init__(self, client: "PeiClient") -> None:
        self.client = client
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.client._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


@dataclass
class PeiClient:
    target: PeiTarget
    home: Network
    on_event: Handler
    timing: Timing = field(default_factory=Timing)
    trace: Callable[[str, bytes], None] | None = None  # (">" written, "<" read; the bytes)

    def __post_init__(self) -> None:
        self.pei = Pei()
        self.identity: Tsi | None = None
        self.ready = asyncio.Event()
        self.connected = asyncio.Event()
        self.detail = "sin conectar"
        self.resets = 0  # initialisations after the first (for tests and the log)
        self.sent: list[str] = []  # commands written (for tests)
        self._protocol: _Protocol | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[Done] | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reassembly = sds.Reassembly()
        self._echo_off = False
        self._last_traffic = 0.0
        self._restart = asyncio.Event()
        self._ref = 0

    # --------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tetra-pei")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._close()

    def state(self) -> LinkState:
        return LinkState(
            connected=self.connected.is_set(),
            ready=self.ready.is_set(),
            identity=str(self.identity) if self.identity else None,
            detail=self.detail,
        )

    def next_ref(self) -> int:
        """A message reference for the next SDS-TL text (1 to 255, then again)."""
        self._ref = self._ref % 255 + 1
        return self._ref

    async def _run(self) -> None:
        tries = 0
        while True:
            resets = self.resets
            try:
                await self._session()
            except (OSError, PeiTimeout, PeiUnavailable, TimeoutError) as exc:
                if not isinstance(exc, PeiUnavailable):
                    self.detail = f"sin enlace con la radio ({type(exc).__name__}: {exc})"
                log.warning("tetra: the PEI at %s: %s", self.target.shown, exc)
            finally:
                self._close()
            if self.resets > resets:
                tries = 0  # it was up: the next try waits the shortest
            waits = self.timing.reconnect
            await asyncio.sleep(waits[min(tries, len(waits) - 1)])
            tries += 1

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await serial_asyncio_fast.create_serial_connection(
            loop, lambda: _Protocol(self), self.target.url, baudrate=self.target.baud
        )
        assert isinstance(protocol, _Protocol)  # noqa: S101 - ours
        # (a serial port's connection_made comes at the loop's next turn: the transport
        # used is the one returned)
        self._transport = transport
        self._protocol = protocol
        self.pei.reset()
        self._echo_off = False
        self._restart.clear()
        self.connected.set()
        self._last_traffic = loop.time()
        await self._initialise()
        self.ready.set()
        self.detail = "radio lista"
        log.info("tetra: radio %s ready on %s", self.identity, self.target.shown)
        keepalive = loop.create_task(self._keepalive())
        try:
            restart = loop.create_task(self._restart.wait())
            await asyncio.wait({protocol.closed, restart}, return_when=asyncio.FIRST_COMPLETED)
            restart.cancel()
            if self._restart.is_set():
                raise PeiUnavailable(self.detail)
            raise PeiUnavailable("el enlace se cortó")
        finally:
            keepalive.cancel()

    async def _initialise(self) -> None:
        # an AT first, asked again (three tries) while the radio answers the noise of a
        # reset with "+CME ERROR: 35"
        for _ in range(3):
            done = await self._command("AT", ready=False)
            if done.final.ok:
                break
        for command in INIT:
            done = await self._command(command, ready=False)
            if not done.final.ok:
                raise PeiUnavailable(f"la radio rechazó {command}: {done.final}")
            if command == "ATE0":
                self._echo_off = True
        done = await self._command("AT+CNUMF?", ready=False)
        found = done.info("+CNUMF")
        if done.final.ok and found:
            try:
                self.identity = from_pei(found[-1], "", self.home)
            except IdentityError as exc:
                log.warning("tetra: the radio's own identity %r: %s", found[-1], exc)
            if self.identity is not None and self.identity.network != self.home:
                # the routing file names another network: radios would be addressed, and
                # their answers read, in the wrong one
                log.error(
                    "tetra: the radio is %s, of network MCC %d MNC %d; the routing file "
                    "says MCC %d MNC %d (centre.tetra)",
                    self.identity, self.identity.mcc, self.identity.mnc,
                    self.home.mcc, self.home.mnc,
                )  # fmt: skip
                self.detail = (
                    f"la radio es de la red MCC {self.identity.mcc} MNC {self.identity.mnc}, "
                    f"no de la del archivo de ruteo (MCC {self.home.mcc} MNC {self.home.mnc})"
                )
                raise PeiUnavailable(self.detail)
        self.resets += 1

    def _close(self) -> None:
        self.ready.clear()
        self.connected.clear()
        protocol, self._protocol = self._protocol, None
        transport, self._transport = self._transport, None
        if protocol is not None and transport is not None:
            transport.close()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(PeiLinkLost("el enlace se cortó"))
        self.pei.abandon()

    def _start_over(self, why: str) -> None:
        log.warning("tetra: %s; the radio is set up again", why)
        self.detail = why
        self.ready.clear()
        self._restart.set()

    async def _keepalive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self._last_traffic
            if idle < self.timing.keepalive:
                await asyncio.sleep(self.timing.keepalive - idle)
                continue
            try:
                await self.command("AT")
            except (PeiTimeout, PeiUnavailable):
                return  # the session is started over
            except PeiError:  # a command left in flight: the line is wedged
                self._start_over("la línea de la radio quedó trabada")
                return

    # --------------------------------------------------------------- commands

    async def command(self, command: str, data: str | None = None) -> Done:
        """Send ``command`` once the radio is ready; its answer (a timeout starts the
        link over)."""
        return await self._command(command, data)

    async def _command(self, command: str, data: str | None = None, *, ready: bool = True) -> Done:
        async with self._lock:
            return await self._locked(command, data, ready=ready)

    async def _locked(self, command: str, data: str | None = None, *, ready: bool = True) -> Done:
        """One command, the lock held by the caller."""
        if ready and not self.ready.is_set():
            raise PeiUnavailable(self.detail)
        protocol = self._protocol
        transport = self._transport
        if protocol is None or transport is None:
            raise PeiUnavailable(self.detail)
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        try:
            out = self.pei.command(command, data)
        except PeiError:
            self._waiter = None
            raise
        self.sent.append(command)
        transport.write(out)
        self._trace(">", out)
        self._last_traffic = loop.time()
        answered = False
        try:
            async with asyncio.timeout(self.timing.command):
                done = await self._waiter
            answered = True
            return done
        except TimeoutError:
            self._start_over(f"la radio no respondió a {command}")
            raise PeiTimeout(f"no answer to {command}") from None
        finally:
            if not answered:
                self.pei.abandon()  # timed out, lost or cancelled: a late answer is stray
            self._waiter = None

    async def send_sds(self, to: Tsi, pdu: sds.Pdu) -> None:
        """Send ``pdu`` to ``to``. Held back and sent again while the radio is busy;
        :class:`SdsRefused` when it refuses otherwise."""
        identity, kind = to.pei(self.home)
        service = sds.service_of(pdu)
        data = sds.hexed(sds.encode(pdu))
        for _ in range(self.timing.busy_tries):
            # the service selected and the SDS sent under one hold of the line: nothing
            # else (a report, a keepalive, another alert) may select another between
            async with self._lock:
                done = await self._locked(f"AT+CTSDS={service},{kind},0,0,0")
                if done.final.ok:
                    done = await self._locked(f"AT+CMGS={identity},{sds.bits(pdu)}", data)
            if done.final.ok:
                return  # the network's word on it comes as SdsSent
            if not done.final.busy:
                raise SdsRefused(str(done.final))
            log.info("tetra: the radio is busy; the SDS to %s is held back", identity)
            await asyncio.sleep(self.timing.busy_retry)
        raise SdsRefused(f"{done.final}, {self.timing.busy_tries} times")

    # --------------------------------------------------------------- reading

    def _trace(self, direction: str, data: bytes) -> None:
        if self.trace is not None:
            try:
                self.trace(direction, data)
            except Exception:  # a monitor never stops the radio
                log.exception("tetra: the PEI trace failed")

    def _received(self, data: bytes) -> None:
        self._trace("<", data)
        self._last_traffic = asyncio.get_running_loop().time()
        pending = self.pei.in_flight
        for event in self.pei.receive(data):
            self._event(event, pending)

    def _event(self, event: Event, pending: str | None) -> None:
        if isinstance(event, Done):
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(event)
            if event.echoed and self._echo_off:
                self._start_over("la radio volvió a repetir los comandos (se reinició)")
            return
        if isinstance(event, Garbage):
            self._start_over(f"la radio envió {event.size} bytes ilegibles")
            return
        if isinstance(event, Stray):
            log.info("tetra: a line nobody asked for: %r", event.line)
            return
        self._indication(event)

    def _indication(self, ind: Indication) -> None:
        if ind.name == "+CTSDSR":
            self._sds(ind)
        elif ind.name == "+CMGS" and len(ind.params) >= 2:
            ref = ind.params[2] if len(ind.params) > 2 else ""
            self._deliver(
                SdsSent(
                    sent=ind.params[1] == SDS_SENT,
                    ref=int(ref) if ref.isdigit() else None,
                    status=ind.params[1],
                )
            )
        elif ind.name in CALL_INDICATIONS:
            self._deliver(CallEvent(name=ind.name, params=ind.params))

    def _sds(self, ind: Indication) -> None:
        p = ind.params
        try:
            service = int(p[0])
            if len(p) >= 6:  # service, calling, calling type, called, called type, bits[, e2ee]
                sender = from_pei(p[1], p[2], self.home)
                destination, bits = p[3], int(p[5])
                to_group = self._to_group(p[3], p[4])
            else:
                raise ValueError(f"{len(p)} fields")
            pdu = sds.decode(service, sds.unhexed(ind.data or ""), bits=bits)
        except (ValueError, IndexError, IdentityError) as exc:
            log.warning("tetra: an SDS that cannot be read (%s): %s / %s", exc, p, ind.data)
            return
        text = None
        if isinstance(pdu, sds.Text):
            if pdu.report.received and pdu.ref is not None and not to_group:
                report = sds.Report(status=sds.Delivery.RECEIVED, ref=pdu.ref, pid=pdu.pid)
                self._spawn(self._report(sender, report))
            text = self._reassembly.add(str(sender), pdu)
            if text is None:
                return  # more parts to come
        self._deliver(
            SdsReceived(
                sender=sender,
                destination=destination,
                service=service,
                pdu=pdu,
                text=text,
                to_group=to_group,
            )
        )

    def _to_group(self, called: str, kind: str) -> bool:
        """Whether an SDS was sent to a group this radio is in, not to the radio (an
        identity that cannot be read is taken as the radio's)."""
        if self.identity is None:
            return False
        try:
            return from_pei(called, kind, self.home) != self.identity
        except IdentityError:
            return False

    async def _report(self, to: Tsi, report: sds.Report) -> None:
        try:
            await self.send_sds(to, report)
        except (PeiUnavailable, PeiTimeout, SdsRefused) as exc:
            log.warning("tetra: the delivery report to %s was not sent: %s", to, exc)

    def _deliver(self, event: RadioEvent) -> None:
        try:
            result = self.on_event(event)
        except Exception:
            log.exception("tetra: the handler failed on %s", event)
            return
        if asyncio.iscoroutine(result):
            self._spawn(result)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
