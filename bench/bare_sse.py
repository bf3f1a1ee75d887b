"""The baseline of ``console_sse``: a bare aiohttp Server-Sent Events fan-out. Every
message published on a Redis channel is written to every connected client (the same
aiohttp-sse response class as the console), with no session, database or filter.
``python -m bench.bare_sse PORT REDIS_URL``"""

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp_sse import EventSourceResponse
from redis.asyncio import Redis

CHANNEL = "bench:bare-sse"
CLIENTS = web.AppKey("clients", set)


async def events(request: web.Request) -> web.StreamResponse:
    queue: asyncio.Queue[str] = asyncio.Queue()
    request.app[CLIENTS].add(queue)
    sse = EventSourceResponse(ping_interval=15)
    try:
        await sse.prepare(request)
        await sse.send("{}", event="hello")
        while True:
            await sse.send(await queue.get(), event="rows")
    except (ConnectionResetError, RuntimeError):
        pass
    finally:
        request.app[CLIENTS].discard(queue)
    return sse


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"clients": len(request.app[CLIENTS])})


async def fan_out(app: web.Application) -> AsyncIterator[None]:
    redis = Redis.from_url(sys.argv[2])

    async def relay() -> None:
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    data = message["data"].decode()
                    clients: set[asyncio.Queue[str]] = app[CLIENTS]
                    for queue in list(clients):
                        queue.put_nowait(data)

    task = asyncio.create_task(relay())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await redis.aclose()


def main() -> None:
    app = web.Application()
    app[CLIENTS] = set()
    app.router.add_get("/events", events)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(fan_out)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
