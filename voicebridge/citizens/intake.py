"""Intake of the messages that come through the channels (SMS, Telegram): stored first,
processed after, in arrival order per chat.

A webhook hands its message to :meth:`ChannelIntake.submit`. Messages that arrive while
the database is busy are stored together, in one transaction (a group commit); the
webhook may answer its channel as soon as its message is stored.

A channel with an answer hook (SMS: :class:`~voicebridge.citizens.sms.SmsAnswerer`)
answers its messages in that same transaction; once it commits, the workers are asked to
process them (``kick``: one ``process_inbox`` job queued unless one is queued already;
:meth:`ChannelIntake.work` is the job's), and the webhook does not wait for them. The
others (Telegram's updates, and the SMS whose answer needs the processing: ESTADO, a
responder's answer) are processed here, right after, together with what their chats
sent before and is still unprocessed, in one transaction, each by its channel's
:class:`Processor` (the report filed or joined, the conversation advanced, the replies
and news recorded), and each marked processed in that same transaction. A
message stored by a process that died before processing it, or whose processing failed,
is taken again by :meth:`recover` (every ``serve`` runs it every second, for what is
older than :data:`STALE_SECONDS`), so nothing stored is lost; a message processed is
never processed again.
"""

import asyncio
import contextlib
import logging
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, select

from routing import schema as t
from routing.db import Database
from routing.inbox import MAX_FAILURES, Answer, Answering, Inbound, Inbox, Stored
from routing.ports import Clock
from voicebridge.blocking import Blocking

log = logging.getLogger(__name__)

MAX_BATCH = 256
# a message unprocessed this long is a leftover: of a process that died, or of workers
# that are not running or far behind (then the recovery of every serve helps them)
STALE_SECONDS = 30.0
KICK_SECONDS = 0.1  # the workers are asked at most this often (the job takes all there is)
# a webhook that waits for its message's processing (an SMS, for its TwiML) waits this
# long at most: Twilio gives up after 15 s, and its citizen would never hear the reply;
# past it the webhook answers without replies, and the replies go as messages
ANSWER_SECONDS = 10.0


class _Waiters:
    """The stored messages whose webhook still waits to answer with their replies. The
    processing (in a worker thread) takes one to answer it, or the webhook (on the event
    loop) gives up on it past its deadline: whichever comes first, under one lock, so a
    reply is either in the answer or sent as a message, never lost nor sent twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[int] = set()
        self._taken: set[int] = set()

    def wait(self, row_id: int) -> None:
        with self._lock:
            self._open.add(row_id)

    def take(self, row_id: int) -> bool:
        """Processing: whether the webhook still waits (its replies go in its answer)."""
        with self._lock:
            if row_id in self._open:
                self._taken.add(row_id)
                return True
            return False

    def give_up(self, row_id: int) -> bool:
        """The webhook's deadline: False when processing took it already (wait on)."""
        with self._lock:
            if row_id in self._taken:
                return False
            self._open.discard(row_id)
            return True

    def taken(self, row_id: int) -> bool:
        with self._lock:
            return row_id in self._taken

    def done(self, row_id: int) -> None:
        with self._lock:
            self._open.discard(row_id)
            self._taken.discard(row_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class Processed:
    replies: tuple[str, ...] = ()  # the answers to the sender
    incident: str | None = None  # the incident the message went to, if any


class Processor(Protocol):
    """What a channel does with one of its messages.

    :meth:`prepare` runs first, outside any transaction, for what must run in
    transactions of its own (a responder's acknowledgement through the contact ledger);
    it must be idempotent (it runs again if the process dies before the message is
    marked processed). :meth:`process` then runs in the intake's write transaction, with
    what ``prepare`` returned. ``answering``: the sender waits for the channel's answer
    (an SMS webhook's TwiML), which carries the replies; otherwise the processor records
    them as messages."""

    def prepare(self, message: Stored, now: datetime) -> object: ...

    def process(
        self,
        conn: Connection,
        message: Stored,
        now: datetime,
        *,
        answering: bool,
        prepared: object,
    ) -> Processed: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    stored: Stored
    processed: Processed | None  # None: not processed now (it will be, in order)
    answered: bool  # the replies are the sender's answer (else they go as messages)


@dataclass
class _Pending:
    message: Inbound
    wait: bool  # the webhook waits for the processing (to answer with the replies)
    stored: "asyncio.Future[Stored]"
    done: "asyncio.Future[Outcome]"


class ChannelIntake:
    def __init__(
        self,
        inbox: Inbox,
        db: Database,
        clock: Clock,
        blocking: Blocking | None,  # None: used only synchronously (a worker)
        processors: Mapping[str, Processor],
        *,
        answerers: Mapping[str, Answering] | None = None,
        kick: Callable[[], object] | None = None,
        answer_within: float = ANSWER_SECONDS,
    ) -> None:
        """``answerers``: the channels that answer at intake (their hook, by channel);
        ``kick`` asks the workers to process what was answered (it runs in the thread
        pool; without it, what was answered at intake is processed here too)."""
        self.kick = kick
        self._kick_pending = False
        self._kicked_at = float("-inf")
        self._kick_handle: asyncio.TimerHandle | None = None
        self._kick_task: asyncio.Task[None] | None = None
        self.inbox = inbox
        self.answerers = dict(answerers or {})
        self.answer_within = answer_within
        self._waiters = _Waiters()
        self.db = db
        self.clock = clock
        self._started = clock.now()
        self.blocking = blocking
        self.processors = processors
        self._pending: list[_Pending] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, message: Inbound, *, wait: bool) -> Outcome:
        """Store the message (a repeat finds the first one's row) and, with ``wait``,
        process it before returning: the outcome carries the replies to answer with.
        Without ``wait`` it returns once the message is stored; its processing follows."""
        loop = asyncio.get_running_loop()
        pending = _Pending(
            message=message, wait=wait, stored=loop.create_future(), done=loop.create_future()
        )
        self._pending.append(pending)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain(), name="voicebridge-channel-intake")
        stored = await asyncio.shield(pending.stored)
        if pending.done.done():  # answered at intake
            return pending.done.result()
        if not wait:
            return Outcome(stored=stored, processed=None, answered=False)
        try:
            async with asyncio.timeout(self.answer_within):
                return await asyncio.shield(pending.done)
        except TimeoutError:
            if not self._waiters.give_up(stored.id):
                return await asyncio.shield(pending.done)  # being processed: a moment
            log.warning(
                "message %d not processed within %.0f s: answered without replies, which "
                "go as messages once it is",
                stored.id,
                self.answer_within,
            )
            return Outcome(stored=stored, processed=None, answered=False)

    def _answer(
        self, conn: Connection, messages: Sequence[Inbound], now: datetime
    ) -> list[Answer | None]:
        """The inbox's answer hook: each channel's answerer on its messages (in order per
        channel; channels are independent), and the workers' task when any was answered."""
        out: list[Answer | None] = [None] * len(messages)
        for channel, answerer in self.answerers.items():
            mine = [n for n, m in enumerate(messages) if m.channel == channel]
            if mine:
                answers = answerer(conn, [messages[n] for n in mine], now)
                for n, answer in zip(mine, answers, strict=True):
                    out[n] = answer
        return out

    def store(self, messages: Sequence[Inbound]) -> list[Stored]:
        """Store (and, for the channels that answer at intake, answer) ``messages`` now,
        in this thread, in one transaction."""
        return self.inbox.store(messages, self._answer if self.answerers else None)

    def _here(self, stored: Sequence[Stored]) -> list[Stored]:
        """The stored messages to process in this process now (not those handed over to
        the workers)."""
        return [
            s for s in stored if s.processed_at is None and (s.plan is None or self.kick is None)
        ]

    def _kick_soon(self) -> None:
        """Ask the workers for what was just committed: at once, then at most every
        :data:`KICK_SECONDS` (a job takes everything there is when it starts)."""
        if self.kick is None or self._kick_pending:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._kicked_at + KICK_SECONDS - loop.time())
        self._kick_pending = True
        self._kick_handle = loop.call_later(delay, self._start_kick)

    def _start_kick(self) -> None:
        self._kick_handle = None
        self._kick_task = asyncio.get_running_loop().create_task(self._kick_now())

    async def stop(self) -> None:
        """The service stops: a kick not sent yet is dropped (the workers' recovery finds
        what it was for), one being sent is waited for."""
        if self._kick_handle is not None:
            self._kick_handle.cancel()
            self._kick_handle = None
            self._kick_pending = False
        if self._kick_task is not None and not self._kick_task.done():
            with contextlib.suppress(Exception):
                await self._kick_task

    async def _kick_now(self) -> None:
        self._kick_pending = False
        self._kicked_at = asyncio.get_running_loop().time()
        if self.kick is None or self.blocking is None:
            return
        try:
            await self.blocking(self.kick)
        except Exception:  # Redis down: the recovery processes them (STALE_SECONDS)
            log.warning("could not ask the workers to file what was answered", exc_info=True)

    async def _drain(self) -> None:
        blocking = self.blocking
        if blocking is None:
            raise RuntimeError("an intake without a thread pool cannot take submissions")
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                stored = await blocking(self.store, [p.message for p in batch])
            except Exception as exc:  # the database failed: nothing stored, all hear it
                for p in batch:
                    for future in (p.stored, p.done):
                        if not future.done():
                            future.set_exception(exc)
                            future.exception()  # retrieved: a waiter may be gone
                continue
            if any(s.plan and not s.repeated for s in stored):
                self._kick_soon()
            for p, s in zip(batch, stored, strict=True):
                if s.plan is not None:  # answered at intake (or a repeat of one)
                    processed = Processed(replies=s.replies or (), incident=s.incident)
                    p.done.set_result(Outcome(stored=s, processed=processed, answered=True))
                elif p.wait and s.processed_at is None:
                    self._waiters.wait(s.id)
                p.stored.set_result(s)
            try:
                here = self._here(stored)
                # with what their chats sent before and is unprocessed, in order
                to_process = await blocking(self.inbox.earlier, here) if here else []
                results = await blocking(self.process, to_process) if to_process else {}
            except Exception:
                log.exception("processing %d stored message(s) failed; retried", len(batch))
                results = {}
            for p, s in zip(batch, stored, strict=True):
                if p.done.done():
                    continue
                if s.processed_at is not None:  # a repeat of a message processed before
                    replies = s.replies or ()
                    p.done.set_result(
                        Outcome(
                            stored=s,
                            processed=Processed(replies=replies, incident=s.incident),
                            answered=s.answered,
                        )
                    )
                else:
                    result = results.get(s.id)
                    answered = result is not None and self._waiters.taken(s.id)
                    p.done.set_result(Outcome(stored=s, processed=result, answered=answered))
            for s in stored:
                self._waiters.done(s.id)

    def process(
        self, messages: Sequence[Stored], *, answering: bool = True
    ) -> dict[int, Processed]:
        """Process the stored ``messages`` in one transaction, in order; with
        ``answering``, those whose webhook still waits with their replies left for its
        answer (the recovery never answers: its replies go as messages). If one fails,
        the batch is rolled back and each is processed in a transaction of its own, the
        failing one counted (:meth:`Inbox.failed`); what each message's processor
        prepared (a responder's answer taken through the ledger) is prepared once and
        used again. The results, by id, of the messages processed here (not those
        processed meanwhile by another process, nor those whose chat has an earlier
        message still to process)."""
        if not messages:
            return {}
        prepared: dict[int, object] = {}
        try:
            return self._process(messages, prepared, answering)
        except Exception:
            if len(messages) == 1:
                self._failed(messages[0].id)
                return {}
        results: dict[int, Processed] = {}
        for message in messages:
            try:
                results |= self._process([message], prepared, answering)
            except Exception:
                self._failed(message.id)
        return results

    def _processor(self, channel: str) -> Processor:
        processor = self.processors.get(channel)
        if processor is None:
            raise LookupError(f"no processor for channel {channel!r}")
        return processor

    def _process(
        self, messages: Sequence[Stored], prepared: dict[int, object], answering: bool
    ) -> dict[int, Processed]:
        now = self.clock.now()
        for m in messages:
            if m.id not in prepared:
                prepared[m.id] = self._processor(m.channel).prepare(m, now)
        results: dict[int, Processed] = {}
        with self.db.write() as conn:
            for message in self._turns(conn, messages):
                row_id = message.id
                live = answering and self._waiters.take(row_id)
                result = self._processor(message.channel).process(
                    conn, message, now, answering=live, prepared=prepared[row_id]
                )
                self.inbox.processed(
                    conn,
                    row_id,
                    replies=result.replies,
                    answered=live or message.plan is not None,
                    incident=result.incident,
                    now=now,
                )
                results[row_id] = result
        return results

    def _turns(self, conn: Connection, messages: Sequence[Stored]) -> list[Stored]:
        """In the write transaction: the ``messages`` to process now, each once, in order,
        what :meth:`Inbox.take` says of each one in turn, for the whole batch in two
        statements: a message still unprocessed (locked, on PostgreSQL) whose chat has no
        earlier message still to process (not set aside after repeated failures) other
        than those taken before it here (processed before it in this transaction)."""
        c = t.inbound_messages.c
        batch = sorted({m.id: m for m in messages}.values(), key=lambda m: m.id)
        query = select(c.id).where(c.id.in_([m.id for m in batch]), c.processed_at.is_(None))
        if self.db.dialect == "postgresql":
            query = query.order_by(c.id).with_for_update()
        unprocessed = set(conn.execute(query).scalars())
        chats = {(m.channel, m.chat) for m in batch if m.id in unprocessed}
        if not chats:
            return []
        waiting: dict[tuple[str, str], list[int]] = {}
        for channel in sorted({channel for channel, _ in chats}):
            # one channel per query: the (channel, chat, id) index answers it (a
            # row-value IN over both columns scans the table on SQLite)
            for row in conn.execute(
                select(c.channel, c.chat, c.id).where(
                    c.channel == channel,
                    c.chat.in_(sorted(chat for ch, chat in chats if ch == channel)),
                    c.processed_at.is_(None),
                    c.failures < MAX_FAILURES,
                    c.id < max(unprocessed),
                )
            ):
                waiting.setdefault((row.channel, row.chat), []).append(row.id)
        taken: set[int] = set()
        turns = []
        for m in batch:
            earlier = (i for i in waiting.get((m.channel, m.chat), ()) if i < m.id)
            if m.id in unprocessed and all(i in taken for i in earlier):
                taken.add(m.id)
                turns.append(m)
        return turns

    def _failed(self, row_id: int) -> None:
        """Called from an exception handler: count the failure, with its traceback."""
        error = traceback.format_exc(limit=8)
        log.error("processing inbound message %d failed: %s", row_id, error)
        try:
            failures = self.inbox.failed(row_id, error)
        except Exception:
            log.exception("could not count the failure of inbound message %d", row_id)
            return
        if failures >= MAX_FAILURES:
            log.error(
                "inbound message %d failed %d times: set aside for the operators",
                row_id,
                failures,
            )

    def work(self) -> int:
        """The workers' share (the ``process_inbox`` task): every message answered at
        intake and not processed yet, oldest first, until none is left or none of those
        left can go now (its chat waits for an earlier message processed elsewhere, or
        it keeps failing). Replies go out as messages. The number processed."""
        processed = 0
        while True:
            done = self.process(self.inbox.due(MAX_BATCH, answered_only=True), answering=False)
            processed += len(done)
            if not done:
                return processed

    def recover(self, *, everything: bool = False) -> int:
        """Process what is stored and not processed: the messages stored more than
        :data:`STALE_SECONDS` ago (by a process that died, whose processing failed, or
        that no worker took), or with ``everything`` all those stored before this intake
        was made (at start-up: not the ones it took since, which are on their way).
        Replies go out as messages. The number processed."""
        stale = self.clock.now() - timedelta(seconds=STALE_SECONDS)
        before = self._started if everything else stale
        processed = 0
        while True:
            due = self.inbox.due(stored_before=before)
            if not due:
                return processed
            done = self.process(due, answering=False)
            processed += len(done)
            if not done:
                return processed  # what is left waits (its chat's turn) or keeps failing
