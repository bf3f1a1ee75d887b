"""The baseline of ``dispatch_latency``: the least a dispatch can do. An aiohttp handler
that, for ``POST /relay/{incident}``, writes three Originates (the district operator and
two agencies, as voicebridge does for a robbery) on one logged-in AMI socket and answers
202: no authentication, no database, no Redis, no routing. ``POST /api/v1/incidents``
parses the JSON and answers 201, as ``bench.bare_server`` does.
``python -m bench.bare_relay HTTP_PORT AMI_PORT``"""

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator, Callable

from aiohttp import web

AMI = web.AppKey("ami", asyncio.StreamWriter)
DIALS = (
    ("PJSIP/017918492@epr-trunk", "vb-room"),
    ("PJSIP/017210668@epr-trunk", "vb-ack"),
    ("PJSIP/017208410@epr-trunk", "vb-ack"),
)


async def relay(request: web.Request) -> web.Response:
    incident = request.match_info["incident"]
    writer = request.app[AMI]
    for dial, context in DIALS:
        leg = f"vb-{secrets.token_hex(10)}"
        writer.write(
            (
                f"Action: Originate\r\nActionID: orig-{leg}\r\nChannel: {dial}\r\n"
                f"Context: {context}\r\nExten: s\r\nPriority: 1\r\nTimeout: 30000\r\n"
                f"Async: true\r\nChannelId: {leg}\r\nOtherChannelId: {leg}-far\r\n"
                f"Variable: VB_INCIDENT={incident}\r\nVariable: VB_ROOM={incident}\r\n\r\n"
            ).encode()
        )
    await writer.drain()
    return web.json_response({"incident": incident}, status=202)


async def create(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({"id": "LIM-2026-000001", "category": body["category"]}, status=201)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def ami_link(port: int) -> Callable[[web.Application], AsyncIterator[None]]:
    async def link(app: web.Application) -> AsyncIterator[None]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()  # the banner
        writer.write(
            b"Action: Login\r\nActionID: login\r\nUsername: voicebridge\r\n"
            b"Secret: voicebridge\r\nEvents: on\r\n\r\n"
        )
        await reader.readuntil(b"\r\n\r\n")
        app[AMI] = writer

        async def drain() -> None:  # the events, read and dropped
            while await reader.read(65536):
                pass

        task = asyncio.create_task(drain())
        yield
        task.cancel()
        writer.close()

    return link


def main() -> None:
    app = web.Application()
    app.router.add_post("/api/v1/incidents", create)
    app.router.add_post("/relay/{incident}", relay)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(ami_link(int(sys.argv[2])))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
