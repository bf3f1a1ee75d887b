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

``python -m bench.bare_sms PORT DATABASE_URL --floor`` (SQLite): the floor, the least
any intake that answers with a number can do on this machine: the signature and the form
checked as above, the text read (``read_message``), the message's row written by a group
commit in a thread of its own (the sqlite3 driver, one multi-row INSERT a batch, no
SQLAlchemy) and a TwiML reply with a number counted in memory. None of the rest of what
voicebridge does at intake: no middleware, no metrics, no check for repeats, no
conversation or its state, no number reserved in the database.
"""

import asyncio
import itertools
import json
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, insert

from bench.sms_load import PUBLIC_URL
from channels.twilio.errors import BadForm
from channels.twilio.form import parse_form
from channels.twilio.inbound import InboundSms, parse_inbound
from channels.twilio.signature import SIGNATURE_HEADER, verify
from channels.twilio.sim import DEMO_AUTH_TOKEN
from channels.twilio.twiml import CONTENT_TYPE, twiml_reply
from routing import schema as t
from routing.db import SQLITE_PRAGMAS, make_engine
from routing.normalise import read_message
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


def checked(request: web.Request, params: dict[str, list[str]]) -> InboundSms:
    """The signature and the form checked as voicebridge checks them: the SMS, or 403/422."""
    if not verify(
        public_url=PUBLIC_URL,
        path=request.raw_path,
        params=params,
        signature=request.headers.get(SIGNATURE_HEADER),
        tokens=(DEMO_AUTH_TOKEN,),
    ):
        raise web.HTTPForbidden()
    try:
        return parse_inbound(params)
    except BadForm as exc:
        raise web.HTTPUnprocessableEntity(text=exc.message) from None


async def naive(request: web.Request) -> web.Response:
    form = await request.post()
    params = {name: [str(v) for v in form.getall(name)] for name in set(form.keys())}
    sms = checked(request, params)
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


INSERT_COLUMNS = "channel, external_id, chat, received_at, raw, failures"


@dataclass
class Floor:
    """The floor's group commit: what the handlers queued, written a batch at a time."""

    path: str
    pending: list[tuple[tuple[str, str, str], "asyncio.Future[int]"]] = field(default_factory=list)
    drainer: "asyncio.Task[None] | None" = None
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    numbers: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))
    conn: sqlite3.Connection | None = None

    def write(self, rows: list[tuple[str, str, str]]) -> int:
        if self.conn is None:
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:
                self.conn.execute(pragma)
        now = SystemClock().now().isoformat(sep=" ")
        values = ",".join(["(?, ?, ?, ?, ?, 0)"] * len(rows))
        params = [v for sid, chat, raw in rows for v in ("sms", sid, chat, now, raw)]
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            written = len(
                self.conn.execute(
                    f"INSERT INTO inbound_messages ({INSERT_COLUMNS}) VALUES {values} "  # noqa: S608 - placeholders only
                    "RETURNING id",
                    params,
                ).fetchall()
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return written

    async def drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending:
            batch, self.pending = self.pending[:256], self.pending[256:]
            await loop.run_in_executor(self.pool, self.write, [row for row, _ in batch])
            for _, future in batch:
                future.set_result(next(self.numbers))

    async def stored(self, row: tuple[str, str, str]) -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self.pending.append((row, future))
        if self.drainer is None or self.drainer.done():
            self.drainer = loop.create_task(self.drain())
        return await future


FLOOR = web.AppKey("floor", Floor)


async def floor(request: web.Request) -> web.Response:
    params = parse_form(await request.read())
    sms = checked(request, params)
    reading = read_message(sms.body)
    number = await request.app[FLOOR].stored((sms.message_sid, sms.from_, json.dumps(params)))
    reply = f"Recibimos su reporte ({reading.category}) LIM-2026-{number:06d}. Le avisaremos."
    return web.Response(text=twiml_reply((reply,)), content_type=CONTENT_TYPE, charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    if sys.argv[3:] == ["--floor"]:
        app[FLOOR] = Floor(sys.argv[2].removeprefix("sqlite:///"))
        app.router.add_post("/webhooks/twilio/sms", floor)
    elif len(sys.argv) > 2:
        app[ENGINE] = make_engine(sys.argv[2])
        app[QUEUE] = Queue("bench-naive", connection=Redis.from_url(sys.argv[3]))
        app.router.add_post("/webhooks/twilio/sms", naive)
    else:
        app.router.add_post("/webhooks/twilio/sms", bare)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
