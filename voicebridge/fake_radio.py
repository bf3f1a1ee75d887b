"""``voicebridge fake-radio``: the radio simulator (:class:`tetra.sim.RadioSim`) as a
development service, for ``make run`` and its demo.

The centre's radio (ISSI 100 of the routing file's network) speaks the PEI on
``127.0.0.1:<port>``; every radio of the routing file is on the air and answers an alert
with its agency's "received" status five seconds later (a radio whose agency has no
status plan answers "1"). A small HTTP API on ``127.0.0.1:<control-port>`` plays the
radios for ``voicebridge demo radio``: ``POST /radios/{ssi}/status`` (``{"value":
32770}``), ``POST /radios/{ssi}/text`` (``{"text": "..."}``) and ``GET /sent`` (what the
centre's radio sent). Both ports are written to ``var/fake-radio.json`` while it runs.
"""

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from routing.config import RoutingConfig, tetra_parts
from routing.models import TargetKind
from tetra import sds
from tetra.identity import Tsi
from tetra.sim import RadioSim
from voicebridge.settings import Settings

log = logging.getLogger(__name__)

ANSWER_AFTER = 5.0  # seconds a simulated radio takes to answer an alert
OWN_SSI = 100


def sim_for(config: RoutingConfig, *, speed: float = 1.0) -> RadioSim:
    """The simulator of ``config``'s network, its radios on the air."""
    net = config.centre.tetra
    sim = RadioSim(own=Tsi(net.mcc, net.mnc, OWN_SSI), speed=speed)
    for agency in config.agencies.values():
        plan = config.status_plan_of(agency.code)
        reply = plan.reply.code if plan is not None and plan.reply is not None else None
        for station in agency.stations:
            for target in station.targets:
                if target.kind is not TargetKind.RADIO:
                    continue
                _, _, ssi = tetra_parts(target.address, net)
                sim.radio(
                    ssi,
                    reply_status=reply,
                    reply_text=None if reply is not None else "1",
                    reply_after=ANSWER_AFTER,
                )
    return sim


def refused(status: int, error: str) -> web.HTTPException:
    """An error answer as the other fakes give theirs: ``{"error": ...}``."""
    cls = web.HTTPNotFound if status == 404 else web.HTTPUnprocessableEntity
    return cls(text=json.dumps({"error": error}), content_type="application/json")


def control_app(sim: RadioSim) -> web.Application:
    routes = web.RouteTableDef()

    async def body(request: web.Request) -> dict[str, Any]:
        try:
            found = await request.json()
        except ValueError:
            raise refused(422, "a JSON body") from None
        if not isinstance(found, dict):
            raise refused(422, "a JSON object")
        return found

    def ssi_of(request: web.Request) -> int:
        raw = request.match_info["ssi"]
        if not raw.isdigit() or not 1 <= int(raw) <= 0xFFFFFF:
            raise refused(404, f"no radio {raw}")
        return int(raw)

    @routes.post("/radios/{ssi}/status")
    async def status(request: web.Request) -> web.Response:
        value = (await body(request)).get("value")
        if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise refused(422, "value: a status number, 0 to 65535")
        delivered = sim.status(ssi_of(request), value)
        return web.json_response({"delivered": delivered})

    @routes.post("/radios/{ssi}/text")
    async def text(request: web.Request) -> web.Response:
        said = (await body(request)).get("text")
        if not isinstance(said, str) or not 0 < len(said) <= 1000:
            raise refused(422, "text: 1 to 1000 characters")
        delivered = sim.text(ssi_of(request), said)
        return web.json_response({"delivered": delivered})

    @routes.get("/sent")
    async def sent(request: web.Request) -> web.Response:
        out = [
            {"to": to, "text": p.text if isinstance(p, sds.Text) else None, "pdu": type(p).__name__}
            for to, p in sim.sent
        ]
        return web.json_response(out)

    app = web.Application()
    app.add_routes(routes)
    return app


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def serve_fake_radio(settings: Settings, port: int, control_port: int, info: Path) -> int:
    from routing.config import ConfigError, TetraNetwork
    from voicebridge.cli_tetra import routing_config

    config: RoutingConfig | None
    try:
        config = routing_config(settings)
    except ConfigError:  # serve says what is wrong with it; the radio is on, with no radios
        config = None

    async def main() -> None:
        if config is None:
            net = TetraNetwork()
            sim = RadioSim(own=Tsi(net.mcc, net.mnc, OWN_SSI))
        else:
            sim = sim_for(config)
        await sim.start(port=port)
        runner = web.AppRunner(control_app(sim), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", control_port)
        await site.start()
        control = runner.addresses[0][1]
        ports = json.dumps({"pid": os.getpid(), "pei": sim.port, "control": control})
        await asyncio.to_thread(write, info, ports)
        print(
            f"fake radio: PEI on tcp://127.0.0.1:{sim.port}, control on "
            f"http://127.0.0.1:{control} ({len(sim.radios)} radios on the air)",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await asyncio.to_thread(info.unlink, missing_ok=True)
            await runner.cleanup()
            await sim.stop()

    asyncio.run(main())
    return 0
