"""The HTTP metrics middleware: the labelled children it keeps per (method, route,
status) count what ``labels()`` per request counted, per app."""

import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Middleware
from prometheus_client.parser import text_string_to_metric_families

from voicebridge.api.errors import Handler
from voicebridge.app import _metrics_middleware
from voicebridge.metrics import Metrics
from voicebridge.web import METRICS


@web.middleware
async def _labels_per_request(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The middleware as it was: ``labels()`` on every request (the reference)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        metrics = request.app[METRICS]
        metrics.http_requests.labels(request.method, name, str(status)).inc()
        metrics.http_latency.labels(name).observe(time.perf_counter() - started)


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _created(request: web.Request) -> web.Response:
    return web.Response(status=201)


async def _answers(request: web.Request) -> web.Response:
    return web.Response(status=int(request.query["status"]))


async def _fails(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


async def _refuses(request: web.Request) -> web.Response:
    raise web.HTTPForbidden()


def _app(middleware: Middleware) -> web.Application:
    app = web.Application(middlewares=[middleware])
    app[METRICS] = Metrics()
    app.router.add_get("/ok", _ok)
    app.router.add_post("/ok", _ok)
    app.router.add_post("/items/{id}", _created)
    app.router.add_get("/answers", _answers)
    app.router.add_get("/fails", _fails)
    app.router.add_get("/refuses", _refuses)
    return app


@contextlib.asynccontextmanager
async def _client(app: web.Application) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


REQUESTS = [
    ("GET", "/ok"),
    ("POST", "/ok"),
    ("GET", "/ok"),
    ("POST", "/items/1"),
    ("POST", "/items/2"),
    ("GET", "/items/3"),  # 405
    ("GET", "/fails"),
    ("GET", "/refuses"),
    ("GET", "/nowhere"),
    ("DELETE", "/nowhere"),
    ("GET", "/ok"),
    ("GET", "/fails"),
    ("GET", "/answers?status=200"),
    ("GET", "/answers?status=404"),
    ("GET", "/answers?status=204"),
    ("GET", "/answers?status=404"),
]


def _counted(app: web.Application) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the latencies' buckets and sums (times differ run to run)."""
    text = app[METRICS].render().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("voicebridge_http")
        for sample in family.samples
        if not sample.name.endswith(("_bucket", "_sum", "_created"))
    }


@pytest.mark.parametrize("rounds", [1, 3])
async def test_the_same_samples_as_labels_per_request(rounds: int) -> None:
    apps = {"cached": _app(_metrics_middleware), "reference": _app(_labels_per_request)}
    for app in apps.values():
        async with _client(app) as client:
            for _ in range(rounds):
                for method, path in REQUESTS:
                    await client.request(method, path)
    cached, reference = (_counted(app) for app in apps.values())
    assert cached == reference
    requests = "voicebridge_http_requests_total"
    assert cached[(requests, (("method", "GET"), ("route", "/ok"), ("status", "200")))] == (
        3 * rounds
    )
    assert cached[
        (requests, (("method", "POST"), ("route", "/items/{id}"), ("status", "201")))
    ] == (2 * rounds)
    assert cached[(requests, (("method", "GET"), ("route", "/fails"), ("status", "500")))] == (
        2 * rounds
    )
    assert cached[
        (requests, (("method", "DELETE"), ("route", "unmatched"), ("status", "500")))
    ] == (rounds)
    for status, count in (("200", 1), ("204", 1), ("404", 2)):
        labels = (("method", "GET"), ("route", "/answers"), ("status", status))
        assert cached[(requests, labels)] == count * rounds
    latency = "voicebridge_http_request_duration_seconds_count"
    assert cached[(latency, (("route", "/ok"),))] == 4 * rounds
    assert cached[(latency, (("route", "/answers"),))] == 4 * rounds


async def test_each_app_counts_its_own() -> None:
    first, second = _app(_metrics_middleware), _app(_metrics_middleware)
    async with _client(first) as client:
        await client.get("/ok")
        await client.get("/ok")
    async with _client(second) as client:
        await client.get("/ok")
    key = (
        "voicebridge_http_requests_total",
        (("method", "GET"), ("route", "/ok"), ("status", "200")),
    )
    assert (_counted(first)[key], _counted(second)[key]) == (2, 1)
