"""One AMI connection to the fake Asterisk: banner, login, event filtering, dispatch.

Facts from traces 01a/01b/01c/07/08a and the README ("Login / session"):

- the banner goes out at once; an unauthenticated socket is closed silently after 30 s;
- a failed Login (wrong secret, unknown user, no Secret) is answered after 1.0 s with
  ``Authentication failed`` and the socket is closed; other sessions see
  ``InvalidPassword`` / ``InvalidAccountID``;
- before Login any action but Login/Logoff/Challenge is ``Permission denied``
  (``RequestNotAllowed`` to the others) and the socket stays open;
- success is ``Authentication accepted``, then FullyBooted (this session only), then
  ``SuccessfulAuth`` to every session with events on, this one included;
- ``Events: off`` at Login means no event at all on this session;
- an unknown action is ``Invalid/unknown command: X. Use Action: ListCommands ...`` and a
  message without ``Action:`` is ``Missing action in request`` (08a), each followed by a
  ``RequestBadFormat`` event;
- an action none of whose classes (:data:`~voicebridge.ami.sim.actions.AUTHORITY`) the
  account has in its ``write`` is ``Permission denied``, followed by a
  ``RequestNotAllowed`` event, as before Login (``process_message()`` of main/manager.c).
"""

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from voicebridge.ami.sim import actions
from voicebridge.ami.sim.wire import (
    BANNER,
    ActionParser,
    Field,
    Request,
    is_false,
    is_true,
    render,
    response,
)

if TYPE_CHECKING:
    from voicebridge.ami.sim.pbx import Pbx

AUTH_TIMEOUT = 30.0
"""01c: closed 30.06 s after connect (manager.conf authtimeout default)."""
LOGIN_FAILURE_DELAY = 1.0
"""01b: Asterisk sleeps 1 s before answering a failed Login."""
EVENT_CLASSES = frozenset(
    {
        "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
        "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security",
        "message",
    }
)  # fmt: skip
EPOCH_TV = "1970-01-01T00:00:00.000+0000"
"""SessionTV of a session that never logged in (01b)."""


class Host(Protocol):
    """What a session needs of the fake Asterisk (:class:`~voicebridge.ami.sim.FakeAsterisk`)."""

    username: str
    secret: str
    speed: float
    held: bool
    shutting_down: bool
    booting: bool
    write: frozenset[str]
    """The classes of the account's ``write`` (:func:`write_classes`)."""

    @property
    def pbx(self) -> "Pbx": ...

    def record(self, conn: int, req: Request) -> None: ...

    def broadcast(self, fields: list[Field]) -> None: ...

    def logged_in(self, session: "Session") -> None: ...

    def forget(self, session: "Session") -> None: ...

    def request_restart(self) -> None: ...

    def dialplan_reloaded(self) -> None: ...

    def uptime(self) -> int: ...

    def last_reload(self) -> int: ...


def event_tv() -> str:
    """``EventTV: 2026-11-25T01:43:25.832+0000``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def write_classes(value: str) -> frozenset[str]:
    """manager.conf's ``write =`` (``get_perm()``): classes separated by commas;
    ``all``: every class."""
    names = {v.strip().lower() for v in value.split(",")}
    return EVENT_CLASSES if "all" in names else frozenset(names & EVENT_CLASSES)


def event_mask(value: str) -> frozenset[str]:
    """Login ``Events:`` / Events ``EventMask:``: on, off, or a list of classes."""
    if not value.strip() or is_true(value):
        return EVENT_CLASSES
    if is_false(value):
        return frozenset()
    if value.strip().isdigit():
        return EVENT_CLASSES
    names = {v.strip().lower() for v in value.split(",")}
    return EVENT_CLASSES if "all" in names else frozenset(names & EVENT_CLASSES)


class Session:
    """A client connection; actions are handled one at a time, in order."""

    def __init__(
        self, host: Host, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: int
    ) -> None:
        self.host = host
        self.reader = reader
        self.writer = writer
        self.conn = conn
        local = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        remote = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local = f"IPV4/TCP/{local[0]}/{local[1]}"
        self.remote = f"IPV4/TCP/{remote[0]}/{remote[1]}"
        self.session_id = f"0x{0x7FC300000EE0 + conn * 0x10000:x}"
        self.authenticated = False
        self.username = ""
        self.login_tv = ""
        self.challenge = ""
        self.mask: frozenset[str] = frozenset()
        self.paused = False
        """A synchronous Originate runs: events wait until its Response (README)."""
        self.closed = False
        self._deferred: list[bytes] = []
        self._held: list[bytes] = []
        self._auth_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ output

    def write(self, data: bytes, *, event: bool = False) -> None:
        if self.closed:
            return
        if event and self.paused:
            self._deferred.append(data)
        elif self.host.held:
            self._held.append(data)
        else:
            self.writer.write(data)

    def respond(self, fields: list[Field]) -> None:
        self.write(render(fields))

    def deliver(self, data: bytes, cls: str) -> None:
        """An event, if this session logged in with that class of events on."""
        if self.authenticated and cls in self.mask:
            self.write(data, event=True)

    def resume(self) -> None:
        self.paused = False
        deferred, self._deferred = self._deferred, []
        for data in deferred:
            self.write(data, event=True)

    def release(self) -> None:
        """The link is no longer held: what waited goes out, in order."""
        held, self._held = self._held, []
        for data in held:
            self.write(data)

    def is_open(self) -> bool:
        """Not closed (a method: it may change across an ``await``)."""
        return not self.closed

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        with suppress(Exception):
            self.writer.close()
        self.host.forget(self)

    def abort(self) -> None:
        """The network drops the socket: no FIN, nothing more is written."""
        self.closed = True
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        self.writer.transport.abort()
        self.host.forget(self)

    # ------------------------------------------------------------ input

    async def run(self) -> None:
        self.write(BANNER)
        loop = asyncio.get_running_loop()
        self._auth_timer = loop.call_later(AUTH_TIMEOUT * self.host.speed, self._auth_expired)
        parser = ActionParser()
        try:
            while self.is_open():
                data = await self.reader.read(65536)
                if not data:
                    break
                for req in parser.feed(data):
                    if not self.is_open():
                        break
                    await self.handle(req)
        except OSError:
            pass
        finally:
            self.close()

    def _auth_expired(self) -> None:
        if not self.authenticated:
            self.close()

    async def handle(self, req: Request) -> None:
        self.host.record(self.conn, req)
        if req.refused:  # too many lines, a line too long: answered, never run
            self.respond(response(req, "Error", req.refused))
            return
        action = req.action.strip()
        if not action:
            self.respond(response(req, "Error", "Missing action in request"))
            self.security("RequestBadFormat", request_type="Action: NONE")
            return
        if self.host.shutting_down:  # manager.c, process_message: every action, Login too
            self.respond(response(req, "Error", "Asterisk is shutting down"))
            return
        name = action.lower()
        if not self.authenticated and name not in ("login", "logoff", "challenge"):
            self.respond(response(req, "Error", "Permission denied"))
            self.security("RequestNotAllowed", request_type=f"Action: {action}")
            return
        handler = HANDLERS.get(name) or actions.HANDLERS.get(name)
        if handler is None:
            text = (
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands."
            )
            self.respond(response(req, "Error", text))
            self.security("RequestBadFormat", request_type=f"Action: {action}")
            return
        needs = actions.AUTHORITY.get(name, frozenset())
        if needs and not needs & self.host.write:
            self.respond(response(req, "Error", "Permission denied"))
            self.security("RequestNotAllowed", request_type=f"Action: {action}")
            return
        await handler(self, req)

    # ------------------------------------------------------------ security events

    def security(self, name: str, *, account: str | None = None, request_type: str = "") -> None:
        """The security events, field order as in 01b and 08a."""
        fields: list[Field] = [
            ("Event", name),
            ("Privilege", "security,all"),
            ("EventTV", event_tv()),
            ("Severity", "Informational" if name == "SuccessfulAuth" else "Error"),
            ("Service", "AMI"),
            ("EventVersion", "2" if name == "InvalidPassword" else "1"),
        ]
        account = self.username if account is None else account
        where = [
            ("SessionID", self.session_id),
            ("LocalAddress", self.local),
            ("RemoteAddress", self.remote),
        ]
        session_tv = self.login_tv or EPOCH_TV
        if name == "RequestBadFormat":
            fields += [*where, ("RequestType", request_type), ("SessionTV", session_tv)]
            fields.append(("AccountID", account))
        else:
            fields += [("AccountID", account), *where]
            if name == "SuccessfulAuth":
                fields.append(("UsingPassword", "0"))
            if request_type:
                fields.append(("RequestType", request_type))
            fields.append(("SessionTV", session_tv))
        self.host.broadcast(fields)


# ---------------------------------------------------------------- session actions


async def login(s: Session, req: Request) -> None:
    if s.authenticated:
        s.respond(response(req, "Success", "Already authenticated"))
        return
    host, user = s.host, req.get("Username")
    known = bool(user) and user.lower() == host.username.lower()
    if req.get("AuthType").lower() == "md5" and s.challenge:
        digest = hashlib.md5((s.challenge + host.secret).encode(), usedforsecurity=False)
        good = req.get("Key").lower() == digest.hexdigest()
    else:
        good = req.has("Secret") and req.get("Secret") == host.secret
    if not (known and good):
        s.security("InvalidAccountID" if not known else "InvalidPassword", account=user)
        await asyncio.sleep(LOGIN_FAILURE_DELAY * host.speed)
        s.respond(response(req, "Error", "Authentication failed"))
        s.close()
        return
    s.authenticated, s.username, s.login_tv = True, user, event_tv()
    if s._auth_timer is not None:
        s._auth_timer.cancel()
    s.mask = event_mask(req.get("Events"))
    s.respond(response(req, "Success", "Authentication accepted"))
    host.logged_in(s)
    s.security("SuccessfulAuth")


async def logoff(s: Session, req: Request) -> None:
    s.respond(response(req, "Goodbye", "Thanks for all the fish."))
    s.close()


async def challenge(s: Session, req: Request) -> None:
    if req.get("AuthType").lower() != "md5":
        s.respond(response(req, "Error", "Must specify AuthType"))
        return
    s.challenge = str(secrets.randbelow(900000000) + 100000000)
    s.respond(response(req, "Success", None, ("Challenge", s.challenge)))


async def ping(s: Session, req: Request) -> None:
    """Ping: ``Ping: Pong`` and a Timestamp, no Message; no ActionID without one (08a)."""
    s.respond(response(req, "Success", None, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")))


async def events(s: Session, req: Request) -> None:
    """Events: switch this session's events (Asterisk's action_events)."""
    s.mask = event_mask(req.get("EventMask"))
    s.respond(response(req, "Success", None, ("Events", "On" if s.mask else "Off")))


HANDLERS: dict[str, Callable[[Session, Request], Awaitable[None]]] = {
    "login": login,
    "logoff": logoff,
    "challenge": challenge,
    "ping": ping,
    "events": events,
}
