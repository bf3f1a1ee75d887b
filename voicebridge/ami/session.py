"""An AMI session that stays up: login, reconnect with backoff, liveness, timeouts.

- Connection refused, reset, and EOF before the banner are all "try again later"
  (Asterisk restarting does all three, trace 08b); the wait doubles up to a ceiling.
- A refused login (Asterisk answers after 1 s and closes) waits the longest backoff.
- Ready means booted, not logged in. Asterisk accepts a Login, and even an Originate,
  before its dialplan is loaded: seen on 22.10.1 after a restart, an Originate into
  ``vb-ack`` then answered ``Extension does not exist.``, 0.6 s before FullyBooted
  (README of the traces, "Restart (08b)"). A booted Asterisk sends ``Event:
  FullyBooted`` to every new session right after the Login's response (01a); a booting
  one sends it to all when it is done. So :attr:`AmiSession.connected` is set, and the
  ``on_connected`` hooks run, only once this login has had its FullyBooted; a login
  without one for :attr:`Timing.boot_wait` s is logged once, and the session keeps
  waiting (and pinging). FullyBooted is a ``system`` event: a session with
  ``events=False`` logs in with ``Events: system`` to get it, and the account's
  ``read=`` must include ``system``.
- Every action has a timeout; a Ping whose Pong does not come in time means a dead
  (half-open) link: it is closed and the session reconnects.
- Nothing is re-sent after a reconnect; the bridge reconciles instead
  (``on_connected`` hooks run after each login, once Asterisk has booted).
- One log line when Asterisk goes away, one when it is back (booted).
"""

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from voicebridge.ami.codec import Message
from voicebridge.ami.protocol import AmiProtocol, LinkLost, SafeAction, from_panoramisk
from voicebridge.errors import SettingsError, VoicebridgeError

log = logging.getLogger(__name__)

Handler = Callable[[Message], None]
# what Asterisk 22 answers a list action with nothing in it (shared/asterisk/README.md)
EMPTY_LISTS = frozenset({"No active conferences.", "No Conference by that name found."})


class AmiError(VoicebridgeError):
    """Asterisk answered an action with an error (the message is Asterisk's)."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


@dataclass(frozen=True, kw_only=True, slots=True)
class AmiTarget:
    host: str
    port: int
    username: str
    secret: str

    @classmethod
    def parse(cls, url: str) -> "AmiTarget":
        """``ami://user:secret@host:port``."""
        parts = urlsplit(url)
        if parts.scheme != "ami" or not parts.hostname or not parts.username:
            raise SettingsError("expected ami://user:secret@host:port")
        return cls(
            host=parts.hostname,
            port=parts.port or 5038,
            username=unquote(parts.username),
            secret=unquote(parts.password or ""),
        )

    def __str__(self) -> str:
        return f"ami://{self.username}@{self.host}:{self.port}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Timing:
    action_timeout: float = 10.0
    ping_interval: float = 5.0
    ping_timeout: float = 3.0
    connect_timeout: float = 5.0
    backoff_min: float = 0.2
    backoff_max: float = 10.0
    boot_wait: float = 30.0
    """A login without FullyBooted for this long is logged (once); the wait goes on."""


class AmiSession:
    def __init__(
        self, target: AmiTarget, *, timing: Timing | None = None, events: bool = True
    ) -> None:
        self.target = target
        self.timing = timing or Timing()
        self.events = events
        self.protocol: AmiProtocol | None = None
        self.connected = asyncio.Event()
        """Logged in and Asterisk fully booted: actions such as Originate may go."""
        self._handlers: dict[str, list[Handler]] = {}
        self._any: list[Handler] = []
        self._hooks: list[Callable[[], Awaitable[None]]] = []
        self._ids = itertools.count(1)
        self._prefix = f"vb-{id(self) & 0xFFFFFF:06x}"
        self._task: asyncio.Task[None] | None = None
        self._was_up = False
        self._down_logged = False
        self.last_error: str | None = None  # why the link is down, for /readyz

    # ------------------------------------------------------------- handlers

    def on(self, event: str, handler: Handler) -> None:
        self._handlers.setdefault(event, []).append(handler)

    def on_any(self, handler: Handler) -> None:
        self._any.append(handler)

    def on_connected(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run after every successful login (the first and each reconnect), once
        Asterisk has said FullyBooted."""
        self._hooks.append(hook)

    def dispatch(self, message: Message) -> None:
        for handler in self._handlers.get(message.fields.get("Event", ""), ()):
            handler(message)
        for handler in self._any:
            handler(message)

    # ------------------------------------------------------------- actions

    def next_id(self, purpose: str = "a") -> str:
        return f"{self._prefix}-{purpose}-{next(self._ids)}"

    async def send(
        self,
        action: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        action_id: str | None = None,
        wait: float | None = None,
        as_list: bool | None = None,
        check: bool = True,
    ) -> Any:
        """Send an action and wait for its response (a list of messages for a list
        action). :class:`LinkLost` if the link is down or goes down first;
        :class:`TimeoutError` after ``wait`` seconds; :class:`AmiError` for an error
        response when ``check``."""
        protocol = self.protocol
        if protocol is None or protocol.closed:
            raise LinkLost("the AMI link is down")
        safe = SafeAction(action, headers, action_id or self.next_id(), as_list=as_list)
        future = protocol.send_safe(safe)
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the answer and
        # drops a cancel that comes in the loop turn the answer does (CPython #86296),
        # and stop() would wait for a session that keeps pinging
        async with asyncio.timeout(wait or self.timing.action_timeout):
            result = await future
        if check:
            first = result[0] if isinstance(result, list) else result
            if str(first.get("Response", "")) in ("Error", "Failure"):
                raise AmiError(action, str(first.get("Message", "")))
        return result

    async def list(self, action: str, headers: Sequence[tuple[str, str]] = ()) -> list[Message]:
        """A list action's items (``CoreShowChannels``, ``ConfBridgeList``...). Asterisk
        answers an empty list with an error (``No active conferences.``, ``No Conference
        by that name found.``): that is an empty list; any other error (``Permission
        denied``...) is :class:`AmiError`, never taken for "nothing there"."""
        result = await self.send(action, headers, as_list=None, check=False)
        first = result[0] if isinstance(result, list) and result else result
        if first and str(first.get("Response", "")) in ("Error", "Failure"):
            message = str(first.get("Message", ""))
            if message in EMPTY_LISTS:
                return []
            raise AmiError(action, message)
        if not isinstance(result, list):
            return []
        return [
            from_panoramisk(m)
            for m in result[1:]
            if not str(m.get("Event", "")).endswith("Complete")
        ]

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ami-session")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.protocol is not None:
            self.protocol.close()
        self.connected.clear()

    async def _run(self) -> None:
        delay = self.timing.backoff_min
        while True:
            refused = False
            try:
                refused = not await self._session()
                delay = self.timing.backoff_min if self._was_up else delay
            except (OSError, LinkLost, TimeoutError, EOFError) as exc:
                self._down(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # never the end of the session: a bug, logged
                log.exception("AMI: the session failed; reconnecting")
                self._down(f"{type(exc).__name__}: {exc}")
            self.connected.clear()
            self._was_up = False
            if refused:
                delay = self.timing.backoff_max
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.timing.backoff_max)

    async def _session(self) -> bool:
        """One connection, from connect to loss; False if the login was refused."""
        loop = asyncio.get_running_loop()
        t = self.timing
        booted: asyncio.Future[None] = loop.create_future()

        def on_event(message: Message) -> None:
            # this connection's FullyBooted may come in the Login response's read
            if message.fields.get("Event") == "FullyBooted" and not booted.done():
                booted.set_result(None)
            self.dispatch(message)

        async with asyncio.timeout(t.connect_timeout):  # not wait_for (see send)
            _, protocol = await loop.create_connection(
                lambda: AmiProtocol(on_event), self.target.host, self.target.port
            )
        self.protocol = protocol
        try:
            async with asyncio.timeout(t.connect_timeout):
                await protocol.banner
            login = [
                ("Username", self.target.username),
                ("Secret", self.target.secret),
                ("Events", "on" if self.events else "system"),
            ]
            try:
                await self.send("Login", login, wait=t.action_timeout)
            except AmiError as exc:
                self._down(f"login refused ({exc.message})")
                return False
            if not booted.done():
                self.last_error = "logged in, waiting for Asterisk's FullyBooted"
            late = loop.call_later(t.boot_wait, self._not_booted)
            try:
                ready = await self._ping_until(protocol, booted)
            finally:
                late.cancel()
            if ready:
                self._up()
                for hook in self._hooks:
                    try:
                        await hook()
                    except (LinkLost, TimeoutError):
                        raise
                    except Exception:
                        log.exception("AMI: reconciliation after login failed")
                await self._ping_until(protocol)
            self._down("the link dropped")
            return True
        finally:
            protocol.close()

    async def _ping_until(
        self, protocol: AmiProtocol, done: "asyncio.Future[None] | None" = None
    ) -> bool:
        """Ping every ``ping_interval`` until the link is lost or dead (False) or
        ``done`` is (True)."""
        t = self.timing
        watched: set[asyncio.Future[Any]] = {protocol.lost}
        if done is not None:
            watched.add(done)
        while not protocol.lost.done():
            if done is not None and done.done():
                return True
            finished, _ = await asyncio.wait(
                watched, timeout=t.ping_interval, return_when=asyncio.FIRST_COMPLETED
            )
            if done is not None and done.done():
                return True
            if finished:
                return False
            try:
                await self.send("Ping", wait=t.ping_timeout)
            except TimeoutError:
                self._down(f"no Pong within {t.ping_timeout:g} s (a half-open link)")
                return False
            except AmiError as exc:  # "Asterisk is shutting down": it is going away
                self._down(f"Ping refused: {exc.message}")
                return False
        return False

    def _not_booted(self) -> None:
        log.warning(
            "AMI: logged in to %s, but no FullyBooted within %g s: not originating until "
            "it comes (is Asterisk still booting? does the account read 'system'?)",
            self.target,
            self.timing.boot_wait,
        )

    def _up(self) -> None:
        self._was_up = True
        self.last_error = None
        self.connected.set()
        if self._down_logged:
            log.info("AMI: Asterisk is back at %s", self.target)
        else:
            log.info("AMI: connected to %s", self.target)
        self._down_logged = False

    def _down(self, why: str) -> None:
        self.connected.clear()
        self.last_error = why
        if not self._down_logged:
            log.error("AMI: Asterisk at %s is unreachable: %s; reconnecting", self.target, why)
            self._down_logged = True
