"""The composition root: everything a process needs, built from one :class:`Settings`."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from redis import Redis

from routing import news
from routing.board import Board
from routing.calls import CallStore
from routing.chats import Chats
from routing.db import Database
from routing.dispatching import DispatchStore
from routing.geo import Outlines
from routing.inbox import Inbox
from routing.ledger import stop_all
from routing.linechecks import LineChecks
from routing.models import Medium
from routing.outbox import Outbox
from routing.ports import Clock, SystemClock
from routing.revisions import RevisionStore
from routing.store import IncidentStore
from routing.tasks import TaskStore
from voicebridge import migrate
from voicebridge.accounts import Accounts, SessionPolicy
from voicebridge.apikeys import ApiKeys
from voicebridge.dialplan_admin import DialplanStore
from voicebridge.dispatch import Dispatcher
from voicebridge.queueing import make_redis
from voicebridge.ratelimit import RedisLimiter
from voicebridge.rules import RulesInForce
from voicebridge.settings import Settings
from voicebridge.wakeup import LOG_CHANNEL, Wakeup

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Runtime:
    settings: Settings
    clock: Clock
    db: Database
    store: IncidentStore
    tasks: TaskStore
    apikeys: ApiKeys
    redis: "Redis"
    rules: RulesInForce
    calls: CallStore
    dispatcher: Dispatcher
    outlines: Outlines
    wakeup: Wakeup
    logged: Wakeup  # the incident log grew (LOG_CHANNEL)
    media: frozenset[Medium]
    inbox: Inbox
    chats: Chats
    outbox: Outbox
    linechecks: LineChecks
    accounts: Accounts
    board: Board
    dialplans: DialplanStore

    def after_fork(self) -> None:
        self.db.after_fork()

    def close(self) -> None:
        self.redis.close()
        self.db.dispose()


def configured_media(settings: Settings) -> frozenset[Medium]:
    """The media whose adapter the settings configure: calls and talkgroups (through
    the radio gateway's dial string) with an Asterisk, radio alerts (SDS) with a TETRA
    radio's PEI, SMS with Twilio, Telegram with a bot."""
    media: set[Medium] = set()
    if settings.ami_url is not None:
        media |= {Medium.VOICE, Medium.TALKGROUP}
    if settings.tetra_pei is not None:
        media.add(Medium.SDS)
    if settings.sms_configured:
        media.add(Medium.SMS)
    if settings.telegram_configured:
        media.add(Medium.TELEGRAM)
    return frozenset(media)


def open_runtime(settings: Settings, *, origin: str = "") -> Runtime:
    """The runtime of a command that works on the service's database as it is: refused
    (:class:`~voicebridge.migrate.DatabaseNotReady`, naming the database and ``origin``,
    where its URL came from) when it does not exist or its schema is not the newest;
    never created nor upgraded here (``voicebridge db upgrade`` does that)."""
    migrate.require(settings.database_url, origin=origin)
    return build_runtime(settings, migrate_schema=False)


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate_schema: bool | None = None,
    media: frozenset[Medium] | None = None,
) -> Runtime:
    """Open the database (upgrading its schema when ``auto_migrate`` is on) and Redis.
    ``media``: the media with an adapter (by default :func:`configured_media`)."""
    if settings.auto_migrate if migrate_schema is None else migrate_schema:
        migrate.upgrade(settings.database_url)
    clock = clock or SystemClock()
    media = configured_media(settings) if media is None else media
    redis = make_redis(settings.redis_url)
    logged = Wakeup(redis, channel=LOG_CHANNEL)  # told after each commit that grew the log
    db = Database.from_url(
        settings.database_url, pool_size=settings.db_pool_size, after_log=logged.notify
    )
    store = IncidentStore(
        db,
        prefix=settings.incident_prefix,
        clock=clock,
        on_final=stop_all,
        on_event=news.on_event,
    )
    wakeup = Wakeup(redis)
    rules = RulesInForce(RevisionStore(db, clock=clock), settings.routing_file)
    limiter = RedisLimiter(redis, clock)
    calls = CallStore(DispatchStore(store), limiter, media)
    outbox = Outbox(db, store, clock=clock)
    linechecks = LineChecks(db, clock, limiter, outbox, lambda: rules.current()[0])
    outlines = (
        Outlines.from_geojson(settings.districts_file)
        if settings.districts_file is not None
        else Outlines.bundled()
    )
    return Runtime(
        settings=settings,
        clock=clock,
        db=db,
        store=store,
        tasks=TaskStore(db, clock=clock),
        apikeys=ApiKeys(db, redis, clock=clock),
        redis=redis,
        rules=rules,
        calls=calls,
        dispatcher=Dispatcher(store, calls, rules, clock, wakeup, failing=linechecks.failing),
        outlines=outlines,
        wakeup=wakeup,
        logged=logged,
        media=media,
        inbox=Inbox(db, clock=clock),
        chats=Chats(db),
        outbox=outbox,
        linechecks=linechecks,
        board=Board(db),
        dialplans=DialplanStore(db, clock=clock),
        accounts=Accounts(
            db,
            RedisLimiter(redis, clock, fail_open=False),  # no guessing while Redis is down
            clock=clock,
            policy=SessionPolicy(
                lifetime=timedelta(hours=settings.session_hours),
                idle=timedelta(minutes=settings.session_idle_minutes),
            ),
        ),
    )
