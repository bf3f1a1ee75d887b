"""The citizen IVR's calls on the AMI link: each ``UserEvent(CitizenReport)`` filed
(:class:`voicebridge.ivr.CitizenCalls`, in a thread) and the call taken on, by the
replica whose filing stored it: ``Setvar`` of what ``vb-citizen``'s ``filed`` extension
reads (``VB_DIGITS``, ``VB_BRIDGE``, ``VB_ROOM``; each FILTERed again there), then
``Redirect`` of the caller's channel (by its Uniqueid) to it. A caller who hung up
meanwhile is gone (``No such channel``): the report stays filed for a call back.

After every login the callers still waiting in ``vb-citizen`` after their report left
(its ``report`` and ``operator`` extensions wait for voicebridge) are read back from
their channels (CoreShowChannels, Getvar) and taken on: a report sent while the link was
down is not lost, and one filed before whose call was not taken on (the link went down
between the filing and the Redirect) is taken on now, from the incident it went to."""

import asyncio
import logging
from collections.abc import Callable

from dialplans.render import DialplanParams
from voicebridge.ami.codec import Message, UnsafeAction
from voicebridge.ami.protocol import from_panoramisk
from voicebridge.ami.session import AmiError, AmiSession
from voicebridge.blocking import Blocking
from voicebridge.ivr import EVENT, CallReport, CallStatus, CitizenCalls, Taken, parse_report

log = logging.getLogger(__name__)

CITIZEN_CONTEXT = DialplanParams().citizen_context  # dialplans/templates, as rendered
FILED = "filed"  # its extension that says the number and bridges
FIELDS = ("Uniqueid", "Choice", "District", "Line", "Caller", "Began", "Status")
FILE_TRIES = 4  # a report that cannot be filed is tried again while its caller waits (20 s)
FILE_RETRY_SECONDS = 3.0
WAITING = {"report": "CHOSEN", "operator": "OPERATOR"}  # vb-citizen's waiting extensions
GONE_BEFORE_ROOM = "colgó antes de pasar a la sala"
# how Asterisk refuses an action on a channel that is gone: Setvar and Hangup "No such
# channel", Redirect "Channel does not exist: <name>"
GONE = ("no such channel", "does not exist")
VARIABLES = {
    "Choice": "VB_CHOICE",
    "District": "VB_DISTRICT",
    "Line": "VB_LINE",
    "Caller": "VB_CALLER",
    "Began": "VB_BEGAN",
}


class CallTaker:
    def __init__(
        self,
        session: AmiSession,
        calls: CitizenCalls,
        blocking: Blocking,
        *,
        follow: Callable[[str], None] | None = None,
    ) -> None:
        """``follow`` is told the channel of each caller put into a room (the voice
        adapter's :meth:`voicebridge.ami.bridge.Bridge.follow`)."""
        self.session = session
        self.calls = calls
        self.blocking = blocking
        self.follow = follow
        self.taken: list[Taken] = []  # what this replica took on (for tests)
        self._tasks: set[asyncio.Task[None]] = set()
        session.on("UserEvent", self._on_user_event)
        session.on_connected(self.reconcile)

    def _on_user_event(self, m: Message) -> None:
        if m.get("UserEvent") != EVENT:
            return
        report = parse_report({k: m.get(k) for k in FIELDS})
        if report is not None:
            self._spawn(report)

    def _spawn(self, report: CallReport, *, waiting: bool = False) -> None:
        task = asyncio.get_running_loop().create_task(
            self._take(report, waiting=waiting), name="ivr-call"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reconcile(self) -> None:
        """The callers waiting for voicebridge, read back from their channels and taken
        on (their reports filed, or found filed)."""
        try:
            channels = await self.session.list("CoreShowChannels")
        except (AmiError, TimeoutError, ConnectionError) as exc:
            log.warning("ivr: the waiting callers could not be listed: %s", exc)
            return
        for channel in channels:
            status = WAITING.get(channel.get("Exten"))
            if channel.get("Context") != CITIZEN_CONTEXT or status is None:
                continue
            uniqueid = channel.get("Uniqueid")
            fields = {"Uniqueid": uniqueid, "Status": status}
            try:
                for name, variable in VARIABLES.items():
                    answer = await self.session.send(
                        "Getvar", [("Channel", uniqueid), ("Variable", variable)]
                    )
                    fields[name] = from_panoramisk(answer).get("Value")
            except AmiError as exc:  # hung up meanwhile
                log.info("ivr: call %s not read back: %s", uniqueid, exc.message)
                continue
            except (TimeoutError, ConnectionError) as exc:  # the next login reads it
                log.warning("ivr: the waiting callers could not be read back: %s", exc)
                return
            report = parse_report(fields)
            if report is not None:
                log.info("ivr: call %s found waiting after a login", uniqueid)
                self._spawn(report, waiting=True)

    async def _take(self, report: CallReport, *, waiting: bool = False) -> None:
        for attempt in range(FILE_TRIES):
            try:
                # a try after a failure may find the report filed by the failed one, whose
                # call was not taken on: the caller is known to wait still
                taken = await self.blocking(self.calls.file, report, waiting=waiting or attempt > 0)
                break
            except Exception:  # the database restarting, say: the caller waits 20 s
                log.exception(
                    "ivr: the report of call %s could not be filed (try %d of %d)",
                    report.uniqueid,
                    attempt + 1,
                    FILE_TRIES,
                )
                if attempt + 1 < FILE_TRIES:
                    await asyncio.sleep(FILE_RETRY_SECONDS)
        else:
            return  # the caller hears the apology when the dialplan's wait ends
        log.info(
            "ivr: call %s (%s) -> %s%s",
            report.uniqueid,
            report.status.value,
            taken.incident,
            " (filed by another replica)" if taken.repeated else "",
            extra={"incident": taken.incident},
        )
        if taken.repeated or report.status is CallStatus.HANGUP:
            return
        self.taken.append(taken)
        variables = {
            "VB_DIGITS": taken.digits,
            "VB_BRIDGE": "1" if taken.bridge else "0",
            "VB_ROOM": taken.incident,
        }
        channel = report.uniqueid  # Asterisk finds a channel by its Uniqueid too
        if taken.bridge and self.follow is not None:
            self.follow(channel)
        try:
            for name, value in variables.items():
                await self.session.send(
                    "Setvar", [("Channel", channel), ("Variable", name), ("Value", value)]
                )
            await self.session.send(
                "Redirect",
                [
                    ("Channel", channel),
                    ("Context", CITIZEN_CONTEXT),
                    ("Exten", FILED),
                    ("Priority", "1"),
                ],
            )
        except AmiError as exc:  # the caller hung up meanwhile
            log.info("ivr: call %s not taken on: %s", report.uniqueid, exc.message)
            if taken.bridge and gone(exc):
                try:
                    await self.blocking(self.calls.not_taken, report, GONE_BEFORE_ROOM)
                except Exception:  # the reconciliation finds the channel gone
                    log.exception("ivr: call %s: its contact could not be ended", channel)
        except (TimeoutError, ConnectionError, UnsafeAction) as exc:  # LinkLost included
            # (the reconciliation after the next login finds whether the caller is there)
            log.warning("ivr: call %s not taken on: %s", report.uniqueid, exc)

    async def idle(self) -> None:
        """Wait until every call received so far is taken on (for tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def gone(exc: AmiError) -> bool:
    """Whether Asterisk refused an action because the channel is gone (any other
    refusal leaves the call to the reconciliation)."""
    return any(words in exc.message.lower() for words in GONE)
