"""The aiohttp application: one cleanup context per resource, torn down in reverse."""

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import Counter, Histogram
from redis.exceptions import RedisError

from tetra.client import PeiTarget
from voicebridge import webhooks
from voicebridge.ami.bridge import Bridge
from voicebridge.ami.citizens import CallTaker
from voicebridge.ami.linechecks import LineChecker
from voicebridge.ami.session import AmiSession, AmiTarget
from voicebridge.api import analytics, export, health, incidents, lines, openapi, photos
from voicebridge.api import calls as calls_api
from voicebridge.api import dialplans as dialplans_api
from voicebridge.api import routing as routing_api
from voicebridge.api.auth import auth_middleware
from voicebridge.api.errors import (
    PARSER_LIMIT_BYTES,
    Handler,
    error_middleware,
    quiet_unparsed_requests,
)
from voicebridge.apikeys import RevocationWatch
from voicebridge.blocking import Blocking
from voicebridge.citizens.channels import channels_ctx as _channels_ctx
from voicebridge.cli_tetra import PEI_CHANNEL
from voicebridge.console import analytics as console_analytics
from voicebridge.console import board as console_board
from voicebridge.console import create as console_create
from voicebridge.console import dialplans as console_dialplans
from voicebridge.console import incident as console_incident
from voicebridge.console import map as console_map
from voicebridge.console import web as console
from voicebridge.console.web import console_middleware
from voicebridge.dialplan_push import PushError, connected_pusher
from voicebridge.intake import IntakeWriter
from voicebridge.ivr import CitizenCalls
from voicebridge.jobs import (
    ANALYTICS_PERIOD,
    LINE_CHECK_PERIOD,
    analytics_task,
    line_check_task,
    overdue_sweep_task,
    sweep_period,
)
from voicebridge.metrics import Metrics
from voicebridge.ptt import TalkgroupKeyer
from voicebridge.queueing import TaskRelay
from voicebridge.radio import RadioDriver, network_of
from voicebridge.runtime import Runtime, build_runtime
from voicebridge.settings import Settings
from voicebridge.wakeup import stop_follower
from voicebridge.web import (
    BLOCKING,
    BRIDGE,
    CALL_TAKER,
    INTAKE,
    LINE_CHECKER,
    METRICS,
    RADIO,
    REVOCATION_WATCH,
    RUNTIME,
)

log = logging.getLogger(__name__)

RELAY_IDLE_SECONDS = 1.0
RELAY_GATHER_SECONDS = 0.02
SWEEP_SECONDS = 30.0
CHECK_SECONDS = 1.0  # has Redis lost the jobs sent to it? (TaskRelay.check)
PROMOTE_SECONDS = 2.0  # scheduled jobs left behind by a dead RQ scheduler
RESUME_SECONDS = 5.0  # escalations whose next step nothing took


def make_app(settings: Settings, *, runtime: Runtime | None = None) -> web.Application:
    """The service. With ``runtime`` given (tests), the app uses it and leaves it open."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[_metrics_middleware, error_middleware, auth_middleware, console_middleware],
        # aiohttp's parser answers a longer request line or header in plain text before
        # any middleware; with room past the API's 8 KiB limits, error_middleware
        # answers those in JSON (414 uri_too_long, 431 headers_too_large)
        handler_args={"max_line_size": PARSER_LIMIT_BYTES, "max_field_size": PARSER_LIMIT_BYTES},
    )
    quiet_unparsed_requests()
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_runtime_ctx(settings, runtime))
    app.cleanup_ctx.append(_blocking_ctx)
    app.cleanup_ctx.append(_revocations_ctx)
    app.cleanup_ctx.append(_relay_ctx)
    app.cleanup_ctx.append(_channels_ctx)
    app.cleanup_ctx.append(_radio_ctx)  # before the AMI's: its talkgroups' keyer uses it
    app.cleanup_ctx.append(_ami_ctx)
    app.cleanup_ctx.append(console_board.feed_ctx)
    app.add_routes(health.routes)
    app.add_routes(incidents.routes)
    app.add_routes(photos.routes)
    app.add_routes(routing_api.routes)
    app.add_routes(dialplans_api.routes)
    app.add_routes(calls_api.routes)
    app.add_routes(lines.routes)
    app.add_routes(analytics.routes)
    app.add_routes(export.routes)
    app.add_routes(openapi.routes)
    app.add_routes(webhooks.routes)
    app.add_routes(console.routes)
    app.add_routes(console_board.routes)
    app.add_routes(console_incident.routes)
    app.add_routes(console_map.routes)
    app.add_routes(console_dialplans.routes)
    app.add_routes(console_analytics.routes)
    app.add_routes(console_create.routes)
    return app


def _runtime_ctx(
    settings: Settings, given: Runtime | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if given is not None:
            app[RUNTIME] = given
            yield
            return
        runtime = await asyncio.to_thread(build_runtime, settings)
        try:  # the routing file is validated and recorded before the first request
            await asyncio.to_thread(runtime.rules.load_file, actor="system:serve")
        except BaseException:
            runtime.close()
            raise
        app[RUNTIME] = runtime
        yield
        runtime.close()

    return ctx


async def _blocking_ctx(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    blocking = Blocking(runtime.settings.db_pool_size)
    app[BLOCKING] = blocking
    app[INTAKE] = intake = IntakeWriter(runtime.store, blocking, app[METRICS])
    yield
    await intake.close()
    blocking.shutdown()


async def _revocations_ctx(app: web.Application) -> AsyncIterator[None]:
    watch = RevocationWatch(app[RUNTIME].settings.redis_url)
    app[REVOCATION_WATCH] = watch
    yield
    await watch.close()


async def _relay_ctx(app: web.Application) -> AsyncIterator[None]:
    wakeup = app[RUNTIME].wakeup
    woken = wakeup.listener()
    task = asyncio.create_task(_relay_loop(app, woken), name="voicebridge-task-relay")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    wakeup.forget(woken)


async def _relay_loop(app: web.Application, wake: asyncio.Event) -> None:
    """Hand stored tasks to RQ as soon as a wake-up comes, and at least every second,
    having checked that Redis did not lose the jobs sent before (:meth:`TaskRelay.check`:
    a job lost with Redis's data is sent again within a tick of Redis being back); ask
    for the overdue sweep once a period, the line checks' turn once a minute and the
    analytics' rollup every five minutes; every few seconds take the escalation steps
    nothing else took (:meth:`Dispatcher.resume_stalled`); every 30 s look for tasks
    whose job went missing some other way."""
    runtime, blocking, metrics = app[RUNTIME], app[BLOCKING], app[METRICS]
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    last_sweep = last_promote = last_resume = time.monotonic()
    last_check = 0.0
    last_period = last_checks = last_roll = 0
    deadline = runtime.settings.dispatch_deadline
    failing = False
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RELAY_IDLE_SECONDS):  # not wait_for (see Bridge)
                await wake.wait()
            await asyncio.sleep(RELAY_GATHER_SECONDS)  # let a burst of tasks gather
        wake.clear()
        try:
            if (period := int(time.time()) // sweep_period(deadline)) != last_period:
                sweep = overdue_sweep_task(runtime.clock.now(), deadline)
                await blocking(runtime.tasks.add, [sweep])
                last_period = period
            if (turn := int(time.time()) // LINE_CHECK_PERIOD) != last_checks:
                await blocking(runtime.tasks.add, [line_check_task(runtime.clock.now())])
                last_checks = turn
            if (roll := int(time.time()) // ANALYTICS_PERIOD) != last_roll:
                await blocking(runtime.tasks.add, [analytics_task(runtime.clock.now())])
                last_roll = roll
            if time.monotonic() - last_check >= CHECK_SECONDS:
                last_check = time.monotonic()
                await blocking(relay.check)
            if not relay.outage.is_down:  # else the tasks wait in the database
                metrics.tasks_enqueued.inc(await blocking(relay.flush))
            if time.monotonic() - last_resume > RESUME_SECONDS:
                last_resume = time.monotonic()
                for resumed in await blocking(runtime.dispatcher.resume_stalled):
                    log.warning(
                        "%s %s: escalation resumed %.0f s late",
                        resumed.incident_id,
                        resumed.agency,
                        resumed.late.total_seconds(),
                        extra={"incident": resumed.incident_id},
                    )
            if time.monotonic() - last_promote > PROMOTE_SECONDS:
                last_promote = time.monotonic()
                await blocking(relay.promote_late)
            if time.monotonic() - last_sweep > SWEEP_SECONDS:
                last_sweep = time.monotonic()
                await blocking(relay.sweep)
                counts = await blocking(runtime.tasks.counts)
                for state in ("unsent", "in_queue", "failed"):
                    metrics.tasks.labels(state).set(getattr(counts, state))
            if failing:
                log.info("the task relay works again")
                failing = False
        except Exception:
            if not failing:
                log.exception("the task relay failed; tasks stay stored and are retried")
                failing = True


async def _ami_ctx(app: web.Application) -> AsyncIterator[None]:
    """The AMI session and the voice adapter, woken by this process's changes at once
    and by the other processes' (the worker's escalation jobs, other replicas) over
    Redis."""
    runtime = app[RUNTIME]
    url = runtime.settings.ami_url
    if url is None:
        log.warning(
            "VOICEBRIDGE_AMI_URL is not set: no calls; phone and talkgroup targets are skipped"
        )
        yield
        return
    loop = asyncio.get_running_loop()
    session = AmiSession(AmiTarget.parse(url))
    bridge = Bridge(
        session,
        runtime.calls.contacts,
        app[BLOCKING],
        runtime.wakeup,
        runtime.clock,
        owner=f"{socket.gethostname()}:{os.getpid()}",
    )
    app[BRIDGE] = bridge
    radio = app.get(RADIO)
    keyer = TalkgroupKeyer(
        runtime,
        session,
        app[BLOCKING],
        radio.driving if radio is not None else lambda: None,
        owner=bridge.owner,
    )
    if radio is not None:
        radio.on_call(keyer.call_event)
    app[CALL_TAKER] = CallTaker(session, CitizenCalls(runtime), app[BLOCKING], follow=bridge.follow)
    app[LINE_CHECKER] = checker = LineChecker(
        session,
        runtime.linechecks,
        app[BLOCKING],
        runtime.wakeup,
        runtime.clock,
        owner=bridge.owner,
        paused=bridge.going_away,
    )
    stop_following = asyncio.Event()
    follower = loop.create_task(
        runtime.wakeup.follow(runtime.settings.redis_url, stop_following),
        name="voicebridge-wakeup",
    )
    restoring: set[asyncio.Task[None]] = set()

    async def restore_dialplans() -> None:  # not in the login's way: a task of its own
        task = loop.create_task(_restore_dialplans(app), name="voicebridge-dialplan-restore")
        restoring.add(task)
        task.add_done_callback(restoring.discard)

    session.on_connected(restore_dialplans)
    session.start()
    bridge.start()
    checker.start()
    keyer.start()
    yield
    for task in list(restoring):
        task.cancel()
    await asyncio.gather(*restoring, return_exceptions=True)
    await keyer.stop()  # what it keyed released
    stop_following.set()
    await stop_follower(follower)  # not a cancel: one can be lost inside redis-py
    await checker.stop()
    await bridge.stop()
    await session.stop()


async def _restore_dialplans(app: web.Application) -> None:
    """After a login to Asterisk: if its live contexts differ from the last dialplan
    pushed (an Asterisk restarted with an older extensions.conf), push that again."""
    try:
        if await app[BLOCKING](app[RUNTIME].dialplans.last_push) is None:
            return  # voicebridge never pushed one: the contexts are the admin's
        async with connected_pusher(app[RUNTIME], app[BLOCKING]) as pusher:
            outcome = await pusher.restore()
    except PushError as exc:
        log.warning("dialplan: could not check Asterisk's live contexts: %s", exc)
        return
    except Exception:
        log.exception("dialplan: the check of Asterisk's live contexts failed")
        return
    if outcome is not None and not outcome.ok:
        log.error("dialplan: %s", "; ".join(p.en for p in outcome.problems))
    elif outcome is not None:
        log.warning("dialplan: %s", outcome.steps[0].en)


async def _radio_ctx(app: web.Application) -> AsyncIterator[None]:
    """The centre's TETRA radio and the radio adapter, when its PEI is configured."""
    runtime = app[RUNTIME]
    url = runtime.settings.tetra_pei
    if url is None:
        log.warning("VOICEBRIDGE_TETRA_PEI is not set: no radio; radio (SDS) targets are skipped")
        yield
        return
    config, _ = await app[BLOCKING](runtime.rules.current)
    traced: asyncio.Queue[str] = asyncio.Queue(maxsize=TRACE_BACKLOG)

    def trace(direction: str, data: bytes) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a monitor never holds the radio up
            traced.put_nowait(pei_trace_line(direction, data))

    driver = RadioDriver(
        runtime,
        app[BLOCKING],
        PeiTarget.parse(url),
        network_of(config),
        owner=f"{socket.gethostname()}:{os.getpid()}",
        trace=trace,
    )
    app[RADIO] = driver
    publisher = asyncio.get_running_loop().create_task(
        _publish_trace(traced, runtime, app[BLOCKING]), name="tetra-pei-trace"
    )
    driver.start()
    yield
    await driver.stop()
    publisher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await publisher


TRACE_BACKLOG = 1000  # PEI lines kept for the monitor while Redis is slow (then dropped)


def pei_trace_line(direction: str, data: bytes) -> str:
    """One read or write of the PEI, for ``voicebridge tetra monitor`` (JSON)."""
    text = data.decode("latin-1").encode("unicode_escape").decode("ascii")
    at = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
    return json.dumps({"at": at, "dir": direction, "text": text})


async def _publish_trace(
    traced: "asyncio.Queue[str]", runtime: Runtime, blocking: Blocking
) -> None:
    """The radio's PEI traffic on Redis (``voicebridge tetra monitor`` follows it)."""
    while True:
        line = await traced.get()
        with contextlib.suppress(RedisError):  # what a monitor missed is not told again
            await blocking(runtime.redis.publish, PEI_CHANNEL, line)


class _HttpChildren:
    """The labelled children of one :class:`Metrics`' HTTP request metrics, by their label
    values. ``labels()`` converts and checks the values and looks the child up under a
    lock on every call; a child, once made, stays the same object (nothing removes or
    clears these metrics), so it is looked up here once per (method, route, status)."""

    def __init__(self, requests: Counter, latency: Histogram) -> None:
        self._requests = requests
        self._latency = latency
        self._counts: dict[tuple[str, str, int], Counter] = {}
        self._times: dict[str, Histogram] = {}

    def count(self, method: str, route: str, status: int) -> Counter:
        key = (method, route, status)
        child = self._counts.get(key)
        if child is None:
            child = self._counts[key] = self._requests.labels(method, route, str(status))
        return child

    def time(self, route: str) -> Histogram:
        child = self._times.get(route)
        if child is None:
            child = self._times[route] = self._latency.labels(route)
        return child


_HTTP_CHILDREN: "weakref.WeakKeyDictionary[Metrics, _HttpChildren]" = weakref.WeakKeyDictionary()
"""Per app's Metrics (a test makes many), forgotten with it."""


def _http_children(metrics: Metrics) -> _HttpChildren:
    children = _HTTP_CHILDREN.get(metrics)
    if children is None:
        children = _HttpChildren(metrics.http_requests, metrics.http_latency)
        _HTTP_CHILDREN[metrics] = children
    return children


@web.middleware
async def _metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        children = _http_children(request.app[METRICS])
        children.count(request.method, name, status).inc()
        children.time(name).observe(time.perf_counter() - started)
