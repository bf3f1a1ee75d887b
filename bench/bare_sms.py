"""The baselines of ``sms_intake``, each an aiohttp app in a process of its own.

``python -m bench.bare_sms PORT``: the bare handler. ``POST /webhooks/twilio/sms``
parses the form and answers a fixed TwiML reply: no signature, no validation, no
storage.

``python -m bench.bare_sms PORT DATABASE_URL REDIS_URL``: the naive handler, as one
would first write it: the signature checked and the form validated (the same functions
voicebridge uses), then, on the event loop, a transaction that inserts the message's
row, and a blocking RQ enqueue of a job to process it later; the answer is a fixed
TwiML reply (the incident is not known yet). The database's schema is voicebridge's
(``voicebridge db upgrade``); the jobs are never run.
"""

import sys
from typing import Any

from aiohttp import web
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, insert

from bench.sms_load import PUBLIC_URL
from channels.twilio.errors import BadForm
from channels.twilio.inbound import parse_inbound
from channels.twilio.signature import SIGNATURE_HEADER, verify
from channels.twilio.sim import DEMO_AUTH_TOKEN
from routing import schema as t
from routing.db import make_engine
from routing.ports import SystemClock

REPLY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    "<Response><Message>Recibimos su mensaje. Le avisaremos el numero de su reporte."
    "</Message></Response>"
)
ENGINE = web.AppKey("engine", Engine)
QUEUE = web.AppKey("queue", Queue)


async def bare(request: web.Request) -> web.Response:
    form = await request.post()
    del form
    return web.Response(text=REPLY, content_type="text/xml", charset="utf-8")


async def naive(request: web.Request) -> web.Response:
    form = await request.post()
    params = {name: [str(v) for v in form.getall(name)] for name in set(form.keys())}
    if not verify(
        public_url=PUBLIC_URL,
        path=request.raw_path,
        params=params,
        signature=request.headers.get(SIGNATURE_HEADER),
        tokens=(DEMO_AUTH_TOKEN,),
    ):
        raise web.HTTPForbidden()
    try:
        sms = parse_inbound(params)
    except BadForm as exc:
        raise web.HTTPUnprocessableEntity(text=exc.message) from None
    row: dict[str, Any] = {
        "channel": "sms",
        "external_id": sms.message_sid,
        "chat": sms.from_,
        "received_at": SystemClock().now(),
        "raw": params,
        "failures": 0,
    }
    with request.app[ENGINE].begin() as conn:  # blocking, on the event loop
        row_id = conn.execute(insert(t.inbound_messages).values(row)).inserted_primary_key
    assert row_id is not None
    request.app[QUEUE].enqueue("bench.naive.process", row_id[0])  # blocking too; never run
    return web.Response(text=REPLY, content_type="text/xml", charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    if len(sys.argv) > 2:
        app[ENGINE] = make_engine(sys.argv[2])
        app[QUEUE] = Queue("bench-naive", connection=Redis.from_url(sys.argv[3]))
        app.router.add_post("/webhooks/twilio/sms", naive)
    else:
        app.router.add_post("/webhooks/twilio/sms", bare)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
