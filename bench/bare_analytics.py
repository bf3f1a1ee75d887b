"""The baseline of the analytics page's API: a bare aiohttp handler answering the same
JSON bodies from memory (no key checked, no database). ``python -m bench.bare_analytics
PORT BODIES.json`` (the bodies by path and query)."""

import json
import sys
from pathlib import Path

from aiohttp import web


def main() -> None:
    bodies: dict[str, str] = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))

    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=bodies[request.path_qs], content_type="application/json")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/analytics/summary", answer)
    app.router.add_get("/api/v1/analytics/figures", answer)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
