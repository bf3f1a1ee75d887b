"""``/healthz`` (the process answers), ``/readyz`` (its database and Redis answer) and
``/metrics`` (Prometheus)."""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from voicebridge.metrics import CONTENT_TYPE
from voicebridge.web import BLOCKING, BRIDGE, METRICS, RADIO, RUNTIME

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

CHECK_SECONDS = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    blocking = request.app[BLOCKING]
    checks: dict[str, Callable[[], object]] = {
        "database": runtime.db.ping,
        "redis": runtime.redis.ping,
    }
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(blocking(check), CHECK_SECONDS)
            results[name] = "ok"
        except TimeoutError:
            results[name] = f"no answer within {CHECK_SECONDS:g} s"
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"
        request.app[METRICS].peer_up.labels(name).set(1 if results[name] == "ok" else 0)
    ready = all(v == "ok" for v in results.values())
    # without Asterisk the API still takes and stores incidents (phone and talkgroup
    # targets are skipped when it is not configured, wait while it is down): the
    # replica stays ready, and says it is degraded
    bridge = request.app.get(BRIDGE)
    if bridge is None:
        results["ami"] = "not configured (VOICEBRIDGE_AMI_URL)"
    elif bridge.session.connected.is_set():
        results["ami"] = "ok"
    else:
        results["ami"] = f"down: {bridge.session.last_error or 'connecting'}"
    request.app[METRICS].peer_up.labels("ami").set(1 if results["ami"] == "ok" else 0)
    # likewise the radio: without it radio targets are skipped, or wait while it is down
    radio = request.app.get(RADIO)
    if radio is None:
        results["tetra"] = "not configured (VOICEBRIDGE_TETRA_PEI)"
    else:
        results["tetra"] = radio.state()
    up = results["tetra"].startswith(("ok", "standby"))
    request.app[METRICS].peer_up.labels("tetra").set(1 if up else 0)
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": results}
    degraded = [
        name for name in ("ami", "tetra") if not results[name].startswith(("ok", "standby"))
    ]
    if degraded:
        body["degraded"] = degraded
    return web.json_response(body, status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    text = (
        "voicebridge: plataforma de telefonía y mensajería del centro de coordinación de "
        "emergencias de Lima Metropolitana.\n"
        "API: /api/v1/incidents (con clave de API)  ·  estado: /healthz, /readyz  ·  "
        "métricas: /metrics\n"
    )
    return web.Response(text=text, content_type="text/plain", charset="utf-8")
