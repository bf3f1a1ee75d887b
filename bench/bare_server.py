"""The baseline: a bare aiohttp POST handler that parses the JSON body and answers 201,
with no validation, no authentication and no storage. ``python -m bench.bare_server PORT``"""

import sys

from aiohttp import web


async def create(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response(
        {"id": "LIM-2026-000001", "category": body.get("category")}, status=201
    )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/api/v1/incidents", create)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
