"""The citizen IVR's calls on the AMI link: each ``UserEvent(CitizenReport)`` filed
(:class:`voicebridge.ivr.CitizenCalls`, in a thread) and the call taken on, by the
replica whose filing stored it: ``Setvar`` of what ``vb-citizen``'s ``filed`` extension
reads (``VB_DIGITS``, ``VB_BRIDGE``, ``VB_ROOM``; each FILTERed again there), then
``Redirect`` of the caller's channel (by its Uniqueid) to it. A caller who hung up
meanwhile is gone (``No such channel``): the report stays filed for a call back."""

import asyncio
import logging

from dialplans.render import DialplanParams
from voicebridge.ami.codec import Message, UnsafeAction
from voicebridge.ami.session import AmiError, AmiSession
from voicebridge.blocking import Blocking
from voicebridge.ivr import EVENT, CallReport, CallStatus, CitizenCalls, Taken, parse_report

log = logging.getLogger(__name__)

CITIZEN_CONTEXT = DialplanParams().citizen_context  # dialplans/templates, as rendered
FILED = "filed"  # its extension that says the number and bridges
FIELDS = ("Uniqueid", "Choice", "District", "Line", "Caller", "Status")


class CallTaker:
    def __init__(self, session: AmiSession, calls: CitizenCalls, blocking: Blocking) -> None:
        self.session = session
        self.calls = calls
        self.blocking = blocking
        self.taken: list[Taken] = []  # what this replica took on (for tests)
        self._tasks: set[asyncio.Task[None]] = set()
        session.on("UserEvent", self._on_user_event)

    def _on_user_event(self, m: Message) -> None:
        if m.get("UserEvent") != EVENT:
            return
        report = parse_report({k: m.get(k) for k in FIELDS})
        if report is None:
            return
        task = asyncio.get_running_loop().create_task(self._take(report), name="ivr-call")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take(self, report: CallReport) -> None:
        try:
            taken = await self.blocking(self.calls.file, report)
        except Exception:
            log.exception("ivr: the report of call %s could not be filed", report.uniqueid)
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
        except (TimeoutError, ConnectionError, UnsafeAction) as exc:  # LinkLost included
            log.warning("ivr: call %s not taken on: %s", report.uniqueid, exc)

    async def idle(self) -> None:
        """Wait until every call received so far is taken on (for tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
