"""A radio simulator: the TETRA radio voicebridge's PEI is wired to, and the radios and
talkgroups on the air around it (CHANNELS.md, "TETRA radio PEI fake"). Signalling only:
no audio.

The attached radio speaks the PEI's AT dialect on TCP (127.0.0.1) and, for the serial
path, on a pseudo-terminal: echo on until ``ATE0`` (and again after ``ATZ`` or a
reset), CR LF answers, ``OK`` / ``ERROR`` / ``+CME ERROR: <n>``, commands ended by CR,
LF or both, ``AT+CMGS`` user data ended by Ctrl-Z (ESC aborts it), the state commands of
an initialisation (``AT+CTOM``, ``AT+CTSP``, ``AT+CSCS``, ``AT+CTSDS``, ``AT+CTGS``,
``AT+CNUMF?``, ``AT+GMI?``, ``AT+GMM?``, ``AT+CSQ?``, ``AT+CREG?``) and group calls
(``AT+CTSDC``, ``ATD<gssi>``, ``AT+CTXD``, ``AT+CUTXC``, ``ATH``).

An SDS sent through it is decoded and delivered to the simulated radio it names, which
answers as its script says: a delivery report (received, then consumed) when one was
asked for, "not registered" when it is off the air, then a status or a text reply. The
radios send statuses and texts of their own (:meth:`RadioSim.status`,
:meth:`RadioSim.text`), routed to the terminal only for the services its ``AT+CTSP``
asked for, as a radio does, and expect a delivery report when they ask for one. A
radio user may talk on a talkgroup (:meth:`RadioSim.talk`): the attached radio,
member of it, shows the call, the grant to the talker and its end.

Faults for tests: the link dropped, a garbage burst, a command left unanswered, "busy
with signalling" (``+CME ERROR: 42``) for the next SDS, out of service, a reset (echo
back on, routing forgotten). Every byte both ways is recorded.
"""

import asyncio
import contextlib
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tetra import sds
from tetra.identity import Tsi, from_pei

CTRL_Z, ESC = 0x1A, 0x1B
VENDOR, MODEL = "Motorola Solutions", "MTM5400"
DATA_WAIT = 30.0  # seconds the radio waits for AT+CMGS's user data (then +CME ERROR: 37)


@dataclass
class SimRadio:
    """A radio on the air, and what it does with an alert."""

    ssi: int
    registered: bool = True  # off the air: the network reports "not registered"
    report_after: float = 0.2  # seconds before its "received" report
    consumed_after: float | None = 1.0  # its "consumed" report, when asked (None: never)
    reply_status: int | None = None  # a status it sends after reading an alert
    reply_text: str | None = None  # or a text
    reply_after: float = 1.0
    received: list[sds.Pdu] = field(default_factory=list)
    reports: list[sds.Report] = field(default_factory=list)  # the terminal's to its texts
    heard: list[tuple[int, int]] = field(default_factory=list)  # (talkgroup, who talked)


@dataclass
class Call:
    cci: int
    gssi: int
    ours: bool  # set up by the terminal (ATD), not received
    talker: int | None = None


class RadioSim:
    def __init__(
        self,
        *,
        own: Tsi,
        speed: float = 1.0,
        echo: bool = True,
        talkgroups: dict[int, set[int]] | None = None,
    ) -> None:
        self.own = own
        self.home = own.network
        self.speed = speed
        self.default_echo = echo
        self.radios: dict[int, SimRadio] = {}
        self.talkgroups: dict[int, set[int]] = talkgroups or {}  # GSSI -> member ISSIs
        self.recorded: list[tuple[str, bytes]] = []  # ("in"|"out", bytes)
        self.commands: list[str] = []
        self.sent: list[tuple[int, sds.Pdu]] = []  # (to, PDU) through the terminal
        self.undelivered: list[tuple[int, sds.Pdu]] = []  # not routed to the terminal
        self.busy_next = 0  # the next n SDS get +CME ERROR: 42
        self.refuse_next = 0  # the network does not take the next n SDS (+CMGS: 0,5,ref)
        self.out_of_service = False
        self.stall_next = 0  # the next n commands get no answer
        self.calls: dict[int, Call] = {}
        self._cci = 0
        self._server: asyncio.Server | None = None
        self._writer: Callable[[bytes], None] | None = None
        self._closer: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._serving: set[asyncio.Task[Any]] = set()  # the terminal's connection
        self._pty: tuple[int, int] | None = None
        self._buffer = bytearray()
        self._data_for: tuple[str, int] | None = None  # AT+CMGS's (identity, bits)
        self._data_timer: asyncio.TimerHandle | None = None
        self.echo = echo
        self.routes: set[tuple[int, int, int]] = set()  # AT+CTSP's (profile, l1, l2)
        self.ctom = 0
        self.service = 12
        self.identity_type = 0
        self.group: int | None = None
        self._reset_state()

    # --------------------------------------------------------------- scripting

    def radio(self, ssi: int, **behaviour: object) -> SimRadio:
        """The simulated radio ``ssi`` (created with ``behaviour`` if new)."""
        found = self.radios.get(ssi)
        if found is None:
            found = self.radios[ssi] = SimRadio(ssi=ssi)
        for name, value in behaviour.items():
            setattr(found, name, value)
        return found

    def status(self, ssi: int, value: int) -> bool:
        """Radio ``ssi`` sends the status ``value`` to the terminal's radio; whether the
        terminal got it (it asked for statuses with AT+CTSP=1,2,20)."""
        return self._deliver(ssi, sds.Status(value=value))

    def text(
        self,
        ssi: int,
        text: str,
        *,
        report: bool = True,
        ref: int = 1,
        immediate: bool = False,
        group: int | None = None,
    ) -> bool:
        """Radio ``ssi`` sends a text (asking for a "received" report if ``report``; an
        immediate text with ``immediate``; to the talkgroup ``group``, which the
        terminal's radio is in, instead of to that radio)."""
        request = sds.ReportRequest.RECEIVED if report else sds.ReportRequest.NONE
        sent = True
        for pdu in sds.text_messages(text, ref, report=request, immediate=immediate):
            sent = self._deliver(ssi, pdu, group=group) and sent
        return sent

    async def talk(self, gssi: int, ssi: int, seconds: float) -> None:
        """A radio user talks on a talkgroup for ``seconds``: the attached radio, a
        member, shows the group call, the grant to the talker and its end; the
        talkgroup's other radios hear it. A radio not of a talkgroup the simulator
        knows cannot talk on it (ValueError)."""
        members = self.talkgroups.get(gssi)
        if members is not None and ssi not in members:
            raise ValueError(f"radio {ssi} is not of talkgroup {gssi}")
        call = next((c for c in self.calls.values() if c.gssi == gssi), None)
        if call is None:
            self._cci += 1
            call = self.calls[self._cci] = Call(cci=self._cci, gssi=gssi, ours=False)
            self._unsolicited(f"+CTICN: {call.cci},0,0,0,{ssi},1,1,0,1,0,0,{gssi},0")
        call.talker = ssi
        self._heard(gssi, ssi)
        talker = Tsi(self.home.mcc, self.home.mnc, ssi)
        self._unsolicited(f"+CTXG: {call.cci},3,0,0,1,{talker}")
        await self._sleep(seconds)
        if call.talker == ssi:
            call.talker = None
            self._unsolicited(f"+CDTXC: {call.cci},0")

    def _heard(self, gssi: int, talker: int) -> None:
        """Every other radio of the talkgroup hears ``talker`` (recorded, no audio)."""
        for ssi in self.talkgroups.get(gssi, set()) - {talker}:
            self.radio(ssi).heard.append((gssi, talker))

    def release(self, gssi: int, cause: int = 1) -> None:
        for cci, call in list(self.calls.items()):
            if call.gssi == gssi:
                del self.calls[cci]
                self._unsolicited(f"+CTCR: {cci},{cause}")

    # --------------------------------------------------------------- faults

    def drop_link(self) -> None:
        if self._closer is not None:
            self._closer()

    def garbage(self, size: int = 5000) -> None:
        """A burst of bytes with no line end (a baud-rate mismatch, a radio gone mad)."""
        self._write(
            bytes((n * 37 + 11) % 251 + 1 for n in range(size))
            .replace(b"\r", b"x")
            .replace(b"\n", b"y")
        )

    def reset(self) -> None:
        """The radio restarts: echo back on, the terminal's routing forgotten."""
        self._reset_state()
        self.calls.clear()

    # --------------------------------------------------------------- serving

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)
        self._address = (host, self.port)

    @property
    def port(self) -> int:
        assert self._server is not None  # noqa: S101 - started first
        return int(self._server.sockets[0].getsockname()[1])

    async def switch_off(self) -> None:
        """The radio is switched off: the link drops, connections are refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.drop_link()

    async def switch_on(self) -> None:
        """Back on the same port, as it was after a power cycle (echo on, no routing)."""
        self.reset()
        host, port = self._address
        self._server = await asyncio.start_server(self._serve, host, port)

    def open_pty(self) -> str:
        """A pseudo-terminal for the serial path: the device path a client opens."""
        master, slave = os.openpty()
        import tty  # POSIX only, for this path alone

        tty.setraw(slave)
        self._pty = (master, slave)
        loop = asyncio.get_running_loop()
        os.set_blocking(master, False)

        def readable() -> None:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if data:
                self._feed(data)

        def write(data: bytes) -> None:
            os.write(master, data)

        loop.add_reader(master, readable)
        self._attach(write, lambda: None)
        return os.ttyname(slave)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.drop_link()
            # a terminal's connection ends by itself once closed (never cancelled: on
            # Python 3.11 asyncio logs a connection handler that ends cancelled)
            if self._serving:
                await asyncio.wait(self._serving, timeout=1.0)
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pty is not None:
            asyncio.get_running_loop().remove_reader(self._pty[0])
            for fd in self._pty:
                with contextlib.suppress(OSError):
                    os.close(fd)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.drop_link()  # one terminal at a time, as on a serial port
        done = asyncio.Event()
        me = asyncio.current_task()
        if me is not None:
            self._serving.add(me)

        def close() -> None:
            writer.close()
            done.set()

        self._attach(writer.write, close)
        try:
            while not done.is_set():
                data = await reader.read(4096)
                if not data:
                    break
                self._feed(data)
        except (ConnectionError, OSError):
            pass
        finally:
            if me is not None:
                self._serving.discard(me)
            if self._closer is close:
                self._writer = self._closer = None
            with contextlib.suppress(Exception):
                writer.close()

    def attach(self, write: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """A terminal attached in the same process (a benchmark, a test): what the radio
        writes goes to ``write``; the function returned takes what the terminal writes."""
        self._attach(write, lambda: None)
        return self._feed

    def _attach(self, write: Callable[[bytes], None], close: Callable[[], None]) -> None:
        self._writer, self._closer = write, close
        self._buffer = bytearray()
        self._data_for = None

    # --------------------------------------------------------------- the AT dialect

    def _reset_state(self) -> None:
        self.echo = self.default_echo
        self.routes = set()
        self.ctom = 0
        self.service = 12
        self.group = None
        self._buffer = bytearray()
        self._cancel_data()

    def _write(self, data: bytes) -> None:
        self.recorded.append(("out", data))
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer(data)

    def _line(self, text: str) -> None:
        self._write(f"\r\n{text}\r\n".encode("latin-1"))

    def _unsolicited(self, text: str, data: str | None = None) -> None:
        self._line(text)
        if data is not None:
            self._write(f"{data}\r\n".encode("ascii"))

    def _feed(self, data: bytes) -> None:
        self.recorded.append(("in", data))
        for byte in data:
            if self._data_for is not None:
                if byte == CTRL_Z:
                    self._user_data(bytes(self._buffer))
                elif byte == ESC:
                    self._cancel_data()
                    self._buffer.clear()
                    self._line("OK")
                elif byte not in (0x0D, 0x0A):
                    self._buffer.append(byte)
                continue
            if byte in (0x0D, 0x0A):
                line = self._buffer.decode("latin-1").strip()
                self._buffer.clear()
                if line:
                    if self.echo:
                        self._write(f"{line}\r".encode("latin-1"))
                    self._command(line)
            elif len(self._buffer) < 1024:
                self._buffer.append(byte)

    def _command(self, line: str) -> None:
        self.commands.append(line)
        if self.stall_next > 0:
            self.stall_next -= 1
            return
        upper = line.upper()
        if not upper.startswith("AT"):
            self._line("ERROR")
            return
        body = upper[2:]
        answer = self._answer(body, line[2:])
        if answer is None:
            return  # AT+CMGS: waiting for the user data
        for text in answer:
            self._line(text)

    def _answer(self, body: str, raw: str) -> list[str] | None:
        if body in ("", "&F"):
            return ["OK"]
        if body == "Z":
            self._reset_state()
            return ["OK"]
        if body in ("E0", "E1"):
            self.echo = body == "E1"
            return ["OK"]
        name, _, args = body.partition("=")
        params = [p.strip() for p in args.split(",")] if args else []
        if body == "+CTOM?":
            return [f"+CTOM: {self.ctom}", "OK"]
        if name == "+CTOM":
            if params not in (["0"], ["1"], ["5"], ["6"]):
                return ["+CME ERROR: 34"]
            self.ctom = int(params[0])
            return ["OK"]
        if name == "+CTSP":
            try:
                profile, layer1, layer2 = (int(p or 0) for p in [*params, "0", "0"][:3])
            except ValueError:
                return ["+CME ERROR: 33"]
            self.routes.add((profile, layer1, layer2))
            return ["OK"]
        if name == "+CSCS":
            return ["OK"]
        if name == "+CTSDS":
            if not params or params[0] not in ("9", "10", "11", "12", "13"):
                return ["+CME ERROR: 34"]
            if len(params) < 2 or params[1] not in ("0", "1"):
                return ["+CME ERROR: 34"]  # the called party identity type: SSI or TSI
            self.service, self.identity_type = int(params[0]), int(params[1])
            return ["OK"]
        if name == "+CMGS":
            if len(params) != 2 or not params[1].isdigit():
                return ["+CME ERROR: 35"]
            if len(params[0]) > 8 and self.identity_type != 1:
                return ["+CME ERROR: 34"]  # a TSI given where AT+CTSDS said an SSI
            self._data_for = (params[0], int(params[1]))
            self._buffer.clear()
            loop = asyncio.get_running_loop()
            self._data_timer = loop.call_later(DATA_WAIT * self.speed, self._data_timeout)
            return None
        if body == "+CNUMF?":
            return [f"+CNUMF: 1,{self.own}", "OK"]
        if body == "+GMI?":
            return [f"+GMI: {VENDOR}", "OK"]
        if body == "+GMM?":
            return [f"+GMM: {MODEL}", "OK"]
        if body == "+CSQ?":
            return ["+CSQ: 99,99" if self.out_of_service else "+CSQ: 25,99", "OK"]
        if body == "+CREG?":
            return [f"+CREG: 0,{0 if self.out_of_service else 1}", "OK"]
        if body == "+CTGS?":
            return [f"+CTGS: 1,{self.group or 0}", "OK"]
        if name == "+CTGS":
            if len(params) != 2 or not params[1].isdigit():
                return ["+CME ERROR: 35"]
            self.group = int(params[1]) % 100_000_000
            return ["OK"]
        if name == "+CTSDC":
            return ["OK"]
        if body.startswith("D"):
            return self._dial(body[1:].rstrip(";"))
        if name == "+CTXD":
            return self._demand(params)
        if name == "+CUTXC":
            return self._cease(params)
        if body == "H":
            for cci in list(self.calls):
                del self.calls[cci]
                self._later(0.05, functools.partial(self._unsolicited, f"+CTCR: {cci},1"))
            return ["OK"]
        return ["ERROR"]

    # --------------------------------------------------------------- SDS

    def _cancel_data(self) -> None:
        self._data_for = None
        if self._data_timer is not None:
            self._data_timer.cancel()
            self._data_timer = None

    def _data_timeout(self) -> None:
        if self._data_for is not None:
            self._cancel_data()
            self._buffer.clear()
            self._line("+CME ERROR: 37")

    def _user_data(self, raw: bytes) -> None:
        identity, bits = self._data_for or ("", 0)
        self._cancel_data()
        self._buffer.clear()
        if self.echo:
            self._write(raw + b"\r")
        text = raw.decode("latin-1").strip()
        try:
            data = bytes.fromhex(text)
        except ValueError:
            self._line("+CME ERROR: 35")
            return
        if not len(data) * 8 - 7 <= bits <= len(data) * 8:
            self._line("+CME ERROR: 32")
            return
        if self.out_of_service:
            self._line("+CME ERROR: 30")
            return
        if self.busy_next > 0:
            self.busy_next -= 1
            self._line("+CME ERROR: 42")
            return
        try:
            pdu = sds.decode(self.service, data, bits=bits)
            to = from_pei(identity, "", self.home)
        except ValueError:
            self._line("+CME ERROR: 34")
            return
        ref = pdu.ref if isinstance(pdu, sds.Text | sds.Report) and pdu.ref is not None else 0
        # the SDS instance at once; the network's word on it (4: sent) after (two stages,
        # as the radios SvxLink drives answer)
        self._line("+CMGS: 0")
        self._line("OK")
        refused = self.refuse_next > 0
        self.refuse_next -= 1 if refused else 0
        said = f"+CMGS: 0,{5 if refused else 4},{ref}"  # 5: the network did not take it
        self._later(0.02, functools.partial(self._unsolicited, said))
        if refused:
            return
        self.sent.append((to.ssi, pdu))
        self._arrive(to.ssi, pdu)

    def _arrive(self, ssi: int, pdu: sds.Pdu) -> None:
        """An SDS from the terminal reaches radio ``ssi`` (or does not)."""
        radio = self.radios.get(ssi)
        if isinstance(pdu, sds.Report):
            if radio is not None:
                radio.reports.append(pdu)
            return
        wants = isinstance(pdu, sds.Text) and pdu.ref is not None
        ref = pdu.ref if isinstance(pdu, sds.Text) and pdu.ref is not None else 0
        if radio is None or not radio.registered:
            if wants and isinstance(pdu, sds.Text) and pdu.report is not sds.ReportRequest.NONE:
                status = sds.Delivery.DESTINATION_NOT_REGISTERED
                self._later(0.1, lambda: self._report_from(ssi, status, ref))
            return
        radio.received.append(pdu)
        if not isinstance(pdu, sds.Text):
            return
        if pdu.report.received:
            self._later(
                radio.report_after, lambda: self._report_from(ssi, sds.Delivery.RECEIVED, ref)
            )
        if pdu.report.consumed and radio.consumed_after is not None:
            self._later(
                radio.consumed_after, lambda: self._report_from(ssi, sds.Delivery.CONSUMED, ref)
            )
        if radio.reply_status is not None:
            value = radio.reply_status
            self._later(radio.reply_after, lambda: self.status(ssi, value))
        elif radio.reply_text is not None:
            reply = radio.reply_text
            self._later(radio.reply_after, lambda: self.text(ssi, reply, ref=(ref + 100) % 256))

    def _report_from(self, ssi: int, status: int, ref: int) -> None:
        self._deliver(ssi, sds.Report(status=status, ref=ref))

    def _deliver(self, ssi: int, pdu: sds.Pdu, *, group: int | None = None) -> bool:
        """``pdu`` from radio ``ssi`` to the terminal's radio, if the terminal asked for
        its service (AT+CTSP): statuses (1,2,20), SDS-TL texts and reports (1,3,130 or
        the PID's own, or every PID with 1,3,24/25)."""
        service = sds.service_of(pdu)
        if service == sds.Service.STATUS:
            routed = (1, 2, 20) in self.routes
        else:
            # each protocol by its own routing ([PEI] AT+CTSP 1,3,<PID>: 130 text, 137
            # immediate text, 138 with a user data header, 2 and 9 simple texts), or all
            # of them with 24 (PIDs 0-127) and 25 (128-255)
            pid = int(pdu.pid) if isinstance(pdu, sds.Text | sds.Report | sds.Ack) else 0
            route = {0x82: 130, 0x89: 137, 0x8A: 138}.get(pid, pid)
            routed = (1, 3, route) in self.routes or (1, 3, 24 if pid < 128 else 25) in self.routes
        if not routed or self._writer is None:
            self.undelivered.append((ssi, pdu))
            return False
        data = sds.encode(pdu)
        sender = Tsi(self.home.mcc, self.home.mnc, ssi)
        identity, kind = sender.pei(self.home)
        own, own_kind = self.own.pei(self.home) if group is None else (str(group), 0)
        self._unsolicited(
            f"+CTSDSR: {int(service)},{identity},{kind},{own},{own_kind},{len(data) * 8}",
            sds.hexed(data),
        )
        return True

    # --------------------------------------------------------------- calls

    def _dial(self, number: str) -> list[str]:
        if not number.isdigit():
            return ["+CME ERROR: 35"]
        self._cci += 1
        gssi = int(number)
        self.calls[self._cci] = Call(cci=self._cci, gssi=gssi, ours=True)
        return [f"+CTCC: {self._cci},1,1,0,0,0,1", "OK"]

    def _demand(self, params: list[str]) -> list[str]:
        call = self.calls.get(int(params[0])) if params and params[0].isdigit() else None
        if call is None:
            return ["+CME ERROR: 34"]
        if call.talker is not None and call.talker != self.own.ssi:
            self._later(0.01, lambda: self._unsolicited(f"+CTXW: {call.cci},0"))
            return ["OK"]
        call.talker = self.own.ssi
        self._heard(call.gssi, self.own.ssi)
        # TxGrant 0: granted (to this radio; 3 is "granted to another user")
        self._later(0.01, lambda: self._unsolicited(f"+CTXG: {call.cci},0,0,0,1,{self.own}"))
        return ["OK"]

    def _cease(self, params: list[str]) -> list[str]:
        call = self.calls.get(int(params[0])) if params and params[0].isdigit() else None
        if call is None:
            return ["+CME ERROR: 34"]
        if call.talker == self.own.ssi:
            call.talker = None
        return ["OK"]

    # --------------------------------------------------------------- time

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.speed)

    def _later(self, seconds: float, action: Callable[[], object]) -> None:
        async def run() -> None:
            await self._sleep(seconds)
            action()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
