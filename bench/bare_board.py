"""The baseline of ``console_board``: a bare aiohttp handler that reads the same first
page of open incidents (the same query: most urgent first, then newest, with each one's
agencies) from the same SQLite file with the standard library and returns the rows as
JSON: no session, no template, no SQLAlchemy. ``python -m bench.bare_board PORT FILE``"""

import asyncio
import json
import sqlite3
import sys
import threading

from aiohttp import web

LIMIT = 200
PAGE = """
SELECT id, public_id, category, priority, district, address, reference, lat, lon, source,
       status, summary, created_at, updated_at, version
FROM incidents WHERE status IN ('received', 'dispatched', 'ringing', 'acknowledged',
                                'bridged', 'unanswered')
ORDER BY CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                       WHEN 'low' THEN 3 ELSE 4 END, created_at DESC, id DESC
LIMIT ?
"""
_local = threading.local()


def _rows(path: str) -> str:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(path, check_same_thread=False)
        conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute(PAGE, (LIMIT,))]
    ids = [r["id"] for r in rows]
    marks = ",".join("?" * len(ids))
    agencies: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
    for a in conn.execute(
        f"SELECT incident_id, agency, state FROM assignments WHERE incident_id IN ({marks})",  # noqa: S608
        ids,
    ):
        agencies[a["incident_id"]].append({"agency": a["agency"], "state": a["state"]})
    for r in rows:
        r["agencies"] = agencies[r["id"]]
    return json.dumps({"rows": rows}, ensure_ascii=False)


async def page(request: web.Request) -> web.Response:
    body = await asyncio.to_thread(_rows, sys.argv[2])
    return web.Response(text=body, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_get("/board", page)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
