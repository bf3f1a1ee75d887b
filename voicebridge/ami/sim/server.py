"""The fake Asterisk's server: the AMI listener, its sessions, restart (08b), dropped
and held links. See the package's docstring for what each module emulates."""

import asyncio
from collections.abc import Iterable, Mapping
from contextlib import suppress

from dialplans.render import CitizenLine
from voicebridge.ami.sim.media import SHARED_SOUNDS
from voicebridge.ami.sim.model import Behaviour, Endpoint, LogMessage, Received, SimChannel
from voicebridge.ami.sim.pbx import Pbx
from voicebridge.ami.sim.session import Session, write_classes
from voicebridge.ami.sim.wire import Field, Request, render

BOOT_SECONDS = 0.024
"""08b: the new process accepted a Login before it had booted; FullyBooted followed
24 ms after the login Response."""
SHUTDOWN_AFTER_HANGUPS = 1.1
"""The lab's Asterisk 22.10.1, ``core restart now`` with a call in a room: the Shutdown
event came 1.1 s after the last channel's Hangup (it waits for every channel to go)."""


class FakeAsterisk:
    """The fake Asterisk. ``start()`` it, point an AMI client at ``port``, ``stop()``.

    ``ack_contexts``/``room_contexts``: context names the fake runs from its built-in
    copy of voicebridge's templates (``dialplans/templates``, default parameters) while
    its loaded dialplan lacks them, so a test need not push them first; once pushed
    (UpdateConfig with ``Reload``), the pushed ones run. The lab's own contexts
    (``ack-prompt``, ``conf``) are in its extensions.conf.

    The responder line check (``vb-check``) runs from the same built-in copy, and so
    does the citizen IVR (``vb-citizen`` and its menus), rendered with ``citizen_lines``
    (the routing file's citizens' numbers).

    ``read_timeout``: every Read()'s timeout, in seconds (None: the dialplan's own).
    ``sounds``: sound file -> seconds it plays; any other file plays ``prompt_seconds``
    (0: at once), or does not exist when that is None (Playback: ``FAILED``).
    :data:`LAB_SOUNDS` with ``prompt_seconds=None`` is the lab of the voicebridge-*
    traces. ``device_states``: send DeviceStateChange events as that lab did (the
    recordings of shared/asterisk/traces have none).

    ``boot_window``: seconds (of Asterisk's time, scaled by ``speed``) from the start
    of the process, at :meth:`start` and when a restart listens again, to the end of its
    boot. A real Asterisk accepts Login, and even Originate, before its dialplan is
    loaded (README, "Restart (08b)"): in the window a Login succeeds without
    FullyBooted, and an Originate into a Context is answered ``Response: Error``,
    ``Message: Extension does not exist.``; at its end every logged-in session gets the
    boot's FullyBooted (08b's order: Status, Uptime 0, LastReload 0) and the dialplan
    runs. 0: booted at once; after a restart, then, FullyBooted comes 24 ms after the
    first Login, as in 08b (:data:`BOOT_SECONDS`), and Originate is refused until
    then.

    ``write``: the account's ``write =`` of manager.conf (``"all"``, or classes such as
    ``"originate,call,reporting"``, voicebridge's in the README): an action needing
    none of its classes is answered ``Permission denied``."""

    def __init__(
        self,
        *,
        username: str = "voicebridge",
        secret: str = "voicebridge",  # noqa: S107 - the lab's manager.conf
        speed: float = 1.0,
        ack_contexts: Iterable[str] = ("vb-ack", "ack-prompt"),
        room_contexts: Iterable[str] = ("vb-room", "conf"),
        read_timeout: float | None = None,
        prompt_seconds: float | None = 0.0,
        sounds: Mapping[str, float] = SHARED_SOUNDS,
        device_states: bool = False,
        default: Endpoint | None = None,
        boot_window: float = 0.0,
        citizen_lines: tuple[CitizenLine, ...] = (),
        write: str = "all",
    ) -> None:
        self.username = username
        self.secret = secret
        self.write = write_classes(write)
        self.speed = speed
        self.held = False
        self.shutting_down = False
        """From a restart's start to the sockets closing (:meth:`restart`): every action
        is answered ``Asterisk is shutting down``."""
        self.received: list[Received] = []
        self.boot_window = boot_window
        self.booting = False
        """The process has not booted yet: no FullyBooted, Originate refused."""
        self.booted_at: float | None = None
        """Loop time of the last boot's end (its FullyBooted; :meth:`start` without
        ``boot_window``); None before that."""
        self.pbx = Pbx(
            emit=self.broadcast,
            speed=speed,
            ack_contexts=ack_contexts,
            room_contexts=room_contexts,
            citizen_lines=citizen_lines,
            read_timeout=read_timeout,
            prompt_seconds=prompt_seconds,
            sounds=sounds,
            device_states=device_states,
            default=default or Endpoint(behaviour=Behaviour.ANSWER),
        )
        self.channels: dict[str, SimChannel] = self.pbx.channels
        """Live channels by Uniqueid."""
        self._host = "127.0.0.1"
        self._port = 0
        self._server: asyncio.Server | None = None
        self._sessions: list[Session] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._conns = 0
        self._started = 0.0
        self._reloaded = 0.0
        self._boot_timer: asyncio.TimerHandle | None = None
        self._restart_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ public API

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._started = self._reloaded = asyncio.get_running_loop().time()
        await self._listen()
        self._boot()

    @property
    def port(self) -> int:
        return self._port

    @property
    def rooms(self) -> dict[str, set[str]]:
        """Conference name -> Uniqueids of its members (joined, ConfbridgeJoin sent)."""
        return {name: {m.uniqueid for m in c.members} for name, c in self.pbx.confs.items()}

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions inside the fake's own tasks (a bug of the fake if not empty)."""
        return self.pbx.errors

    @property
    def warnings(self) -> list[LogMessage]:
        """The WARNINGs and ERRORs Asterisk would have logged (its console), oldest
        first, as :class:`LogMessage` (level, exact text): today the lines of
        extensions.conf it skipped or doubted at each load of the dialplan (boot,
        ``dialplan reload``, UpdateConfig with ``Reload``; see
        :func:`~voicebridge.ami.sim.dialplan.build_dialplan`). Kept across restarts."""
        return self.pbx.log

    async def stop(self) -> None:
        if self._restart_task is not None:
            self._restart_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._restart_task
        await self._unlisten()
        for s in list(self._sessions):
            s.close()
        if self._boot_timer is not None:
            self._boot_timer.cancel()
        self.pbx.reset()
        tasks = [*self._handlers, *self.pbx.tasks]
        if tasks:  # the connections end on their own once closed; stragglers are cancelled
            _, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def script(self, dial: str, endpoint: Endpoint) -> None:
        """What the far end of this exact Originate ``Channel`` does (overrides)."""
        self.pbx.far.endpoints[dial] = endpoint

    def actions(self, name: str) -> list[Received]:
        """The received actions of that name (any case)."""
        low = name.lower()
        return [r for r in self.received if r.action.lower() == low]

    async def restart(self, down: float = 0.2, shutdown: float = 0.0) -> None:
        """``core restart now`` (08b, and the lab's Asterisk 22.10.1 with a call up):
        from the start every action is answered ``Response: Error``, ``Message:
        Asterisk is shutting down`` (manager.c refuses every action, Login too, once
        ``ast_begin_shutdown`` ran); every call is hung up (:meth:`drop_calls`);
        :data:`SHUTDOWN_AFTER_HANGUPS` s after that, if there were any, ``Shutdown``
        (Cleanly, Restart: True) to every session; ``shutdown`` s later every socket
        closed, every channel and room gone, connections refused for ``down`` s; then
        the new process boots (see ``boot_window``): its FullyBooted is in the
        restart's order (Status, Uptime 0, LastReload 0)."""
        self.shutting_down = True
        try:
            if self.pbx.channels:
                self.drop_calls()
                await asyncio.sleep(SHUTDOWN_AFTER_HANGUPS * self.speed)
            self.broadcast(
                [
                    ("Event", "Shutdown"),
                    ("Privilege", "system,all"),
                    ("Shutdown", "Cleanly"),
                    ("Restart", "True"),
                ]
            )
            if shutdown:
                await asyncio.sleep(shutdown * self.speed)
        finally:
            self.shutting_down = False
        await self._unlisten()
        for s in list(self._sessions):
            s.close()
        self.pbx.reset()
        if self._boot_timer is not None:
            self._boot_timer.cancel()
            self._boot_timer = None
        self.booting = True
        self._started = self._reloaded = asyncio.get_running_loop().time()
        await asyncio.sleep(down * self.speed)
        await self._listen()
        self._boot()

    def talk(self, uniqueid: str, on: bool = True) -> bool:
        """The user of channel ``uniqueid``, in a room, starts (or stops) talking: a
        ConfbridgeTalking event when its user profile asks for talk detection; whether
        one was sent."""
        ch = self.pbx.find(uniqueid)
        return ch is not None and self.pbx.rooms.talking(ch, on)

    def drop_calls(self) -> None:
        """Every call hung up at once, as Asterisk's shutdown hangs them up: a
        ``SoftHangupRequest`` with ``Cause: 4`` on each channel, then its hangup's
        events (the rooms empty)."""
        self.pbx.hangups.shutdown()

    async def drop_connections(self) -> None:
        """The network drops every AMI socket (no Shutdown, no Goodbye); the calls and
        rooms go on."""
        for s in list(self._sessions):
            s.abort()
        await asyncio.sleep(0)

    def hold_events(self, on: bool) -> None:
        """Stop writing anything (events and responses) to the sessions, as a half-open
        link would; ``False`` writes what waited."""
        self.held = on
        if not on:
            for s in list(self._sessions):
                s.release()

    # ------------------------------------------------------------ for the sessions

    def record(self, conn: int, req: Request) -> None:
        loop = asyncio.get_running_loop()
        self.received.append(
            Received(
                conn=conn,
                at=loop.time(),
                action=req.action,
                headers=req.fields,
                refused=req.refused,
            )
        )

    def broadcast(self, fields: list[Field]) -> None:
        """An event to every logged-in session whose events include its class."""
        privilege = next((v for k, v in fields if k == "Privilege"), "")
        cls = privilege.split(",")[0].lower()
        data = render(fields)
        for s in list(self._sessions):
            s.deliver(data, cls)

    def logged_in(self, session: Session) -> None:
        """FullyBooted for a new session (01a order: Uptime, LastReload, Status); none
        while booting: the boot's own FullyBooted goes to all at its end (08b order)."""
        if self.booting:
            if self._boot_timer is None:  # a restart without boot_window: 08b
                loop = asyncio.get_running_loop()
                self._boot_timer = loop.call_later(BOOT_SECONDS * self.speed, self._booted)
            return
        fields: list[Field] = [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", str(self.uptime())),
            ("LastReload", str(self.last_reload())),
            ("Status", "Fully Booted"),
        ]
        session.deliver(render(fields), "system")

    def _boot(self) -> None:
        """The process is up (:meth:`start`, a restart listening again): its boot ends
        ``boot_window`` s later; with none, now, or after a restart 24 ms after the
        first Login (:meth:`logged_in`)."""
        loop = asyncio.get_running_loop()
        if self.boot_window > 0:
            self.booting = True
            self._boot_timer = loop.call_later(self.boot_window * self.speed, self._booted)
        elif not self.booting:
            self.booted_at = loop.time()

    def _booted(self) -> None:
        """The boot's end: the dialplan runs, Asterisk's uptime starts (FullyBooted says
        ``Uptime: 0``), FullyBooted to every session logged in."""
        self.booting = False
        self._boot_timer = None
        self.booted_at = self._started = self._reloaded = asyncio.get_running_loop().time()
        self.broadcast(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Status", "Fully Booted"),
                ("Uptime", "0"),
                ("LastReload", "0"),
            ]
        )

    def forget(self, session: Session) -> None:
        with suppress(ValueError):
            self._sessions.remove(session)

    def request_restart(self) -> None:
        if self._restart_task is None or self._restart_task.done():
            self._restart_task = asyncio.get_running_loop().create_task(self.restart())

    def dialplan_reloaded(self) -> None:
        self._reloaded = asyncio.get_running_loop().time()

    def uptime(self) -> int:
        return int((asyncio.get_running_loop().time() - self._started) / self.speed)

    def last_reload(self) -> int:
        return int((asyncio.get_running_loop().time() - self._reloaded) / self.speed)

    # ------------------------------------------------------------ plumbing

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connected, self._host, self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._conns += 1
        session = Session(self, reader, writer, self._conns)
        self._sessions.append(session)
        try:
            await session.run()
        except asyncio.CancelledError:
            pass  # stop(): a cancelled connection callback would be logged as an error
        finally:
            if task is not None:
                self._handlers.discard(task)
            session.close()
