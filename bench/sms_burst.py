"""An earthquake evening: a burst of 2,000 SMS and Telegram posts at once, counted.

One ``serve`` takes Twilio's SMS webhook and Telegram's, and one ``worker`` files the SMS
that ``serve`` answered at intake (and sends what is to be sent, to addresses that answer
nothing here), on SQLite, then on PostgreSQL. At one instant this process posts, over
fresh connections:

- the SMS of 600 numbers (two or three each: a report, then what they add or another
  report, now and then ``ESTADO``), each validly signed with its own MessageSid, all at
  once (Twilio delivers each SMS on its own, in no promised order); some 5 % of them
  twice at once with the same MessageSid (Twilio's retries);
- the updates of 200 Telegram chats with the secret header, each chat's in order, the
  next once the previous one is answered (Telegram's order per chat): 150 citizens
  write what and where and press "Enviar" on the summary; 50 follow the guided
  conversation (/start, a category button, the location button, a description, "Omitir"
  the photo, "Enviar"); some 5 % of the updates delivered twice (Telegram's redelivery).

Then it counts: every post answered 2xx is in the inbox once (rows == distinct ids
answered 2xx, per channel), every row processed (none failed), each SMS's TwiML gives
the incident its row went to, or a number that is now an alias of it (the report joined
an incident of the same event), and a repeat the same answer, one report per message that
filed one (none twice), every incident has its reports, every Telegram update has its
replies in the outbox. The times: until the last
post was answered, and until the last message was processed (its report filed on an
incident), seen by polling the inbox every 0.1 s.
"""

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, func, select

from bench.common import LocalRedis, free_port, python, scratch_postgres, stop, wait_http
from bench.sms_load import (
    FOLLOW_UPS,
    FORM_TYPE,
    SMS_PATH,
    TELEGRAM_PATH,
    TELEGRAM_SECRET,
    phone,
    report_text,
    signed_sms,
    sms_env,
    sms_sid,
)
from routing import schema as t
from routing.normalise import read_message
from routing.reading import UNCLASSIFIED

SMS_NUMBERS = 600
QUICK_CHATS = 150
GUIDED_CHATS = 50
POSTS = 2_000
REPEATS = 0.05
SETTLE_SECONDS = 600.0  # at most, for the last message to be processed
TWILIO_TIMEOUT = 15.0  # Twilio gives up on a webhook's answer after 15 s (error 11200)
INCIDENT_ID = re.compile(r"\b[A-Z]{2,8}-\d{4}-\d{6}\b")
MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)
LIMA_POINTS = ((-12.0464, -77.0428), (-12.1211, -77.0297), (-12.0912, -77.0495))


@dataclass(frozen=True)
class Post:
    channel: str  # "sms", "telegram"
    key: str  # MessageSid, update_id
    body: bytes
    headers: dict[str, str]


@dataclass
class Answer:
    post: Post
    status: int | None  # None: no answer (the error says why)
    seconds: float  # since the burst began
    text: str = ""
    error: str = ""


@dataclass
class Burst:
    sms: list[Post] = field(default_factory=list)  # each on its own, all at once
    chats: list[list[Post]] = field(default_factory=list)  # each chat's, in order

    @property
    def count(self) -> int:
        return len(self.sms) + sum(len(c) for c in self.chats)


# ---------------------------------------------------------------- the evening's posts


class _Telegram:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.update_id = 700_000_000
        self.message_id = 0
        self.now = int(time.time())

    def _update(self, body: dict[str, Any]) -> Post:
        self.update_id += 1
        raw = {"update_id": self.update_id, **body}
        return Post(
            channel="telegram",
            key=str(self.update_id),
            body=json.dumps(raw, ensure_ascii=False).encode(),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            },
        )

    @staticmethod
    def _people(chat: int) -> tuple[dict[str, Any], dict[str, Any]]:
        name = f"Vecino{chat % 1000}"
        user = {"id": chat, "is_bot": False, "first_name": name, "language_code": "es"}
        return user, {"id": chat, "first_name": name, "type": "private"}

    def message(self, chat: int, fields: dict[str, Any]) -> Post:
        user, chat_json = self._people(chat)
        self.message_id += 1
        message = {
            "message_id": self.message_id,
            "from": user,
            "chat": chat_json,
            "date": self.now,
            **fields,
        }
        return self._update({"message": message})

    def text(self, chat: int, text: str) -> Post:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return self.message(chat, fields)

    def press(self, chat: int, data: str) -> Post:
        user, chat_json = self._people(chat)
        bot = {"id": 123456789, "is_bot": True, "first_name": "Voicebridge"}
        shown = {"message_id": 1, "from": bot, "chat": chat_json, "date": self.now, "text": "…"}
        query = {
            "id": f"{chat}{self.update_id}",
            "from": user,
            "message": shown,
            "chat_instance": str(chat * 7),
            "data": data,
        }
        return self._update({"callback_query": query})

    def quick(self, chat: int) -> list[Post]:
        """What and where in one message, then "Enviar" on the summary."""
        text = report_text(self.rng)
        while not _complete(text):  # else the bot asks first: the summary would not come
            text = report_text(self.rng)
        return [self.text(chat, text), self.press(chat, "ok:1")]

    def guided(self, chat: int) -> list[Post]:
        lat, lon = self.rng.choice(LIMA_POINTS)
        category = self.rng.choice(("incendio", "derrumbe", "emergencia_medica", "rescate"))
        return [
            self.text(chat, "/start"),
            self.press(chat, f"cat:1:{category}"),
            self.message(chat, {"location": {"latitude": lat, "longitude": lon}}),
            self.text(chat, "se cayo parte de la fachada, hay gente en la calle"),
            self.press(chat, "skip:1"),
            self.press(chat, "ok:1"),
        ]


def _complete(text: str) -> bool:
    """The text names a category and a place: Telegram's bot goes to the summary."""
    reading = read_message(text)
    return reading.category != UNCLASSIFIED and not reading.missing


def evening(seed: int = 2026) -> Burst:
    """The 2,000 posts: Telegram's chats, then the SMS that make up the rest."""
    rng = random.Random(seed)
    tg = _Telegram(rng)
    burst = Burst()
    for n in range(QUICK_CHATS + GUIDED_CHATS):
        chat = 5_100_000_000 + n
        posts = tg.quick(chat) if n < QUICK_CHATS else tg.guided(chat)
        with_repeats: list[Post] = []
        for post in posts:
            with_repeats.append(post)
            if rng.random() < REPEATS:
                with_repeats.append(post)  # redelivered: the same update again
        burst.chats.append(with_repeats)
    sent: Counter[str] = Counter()
    n = 0
    while burst.count < POSTS:
        number = phone(700_000_000 + n % SMS_NUMBERS)
        if not sent[number]:
            text = report_text(rng)
        else:
            roll = rng.random()
            text = (
                "ESTADO"
                if roll < 0.05
                else rng.choice(FOLLOW_UPS)
                if roll < 0.5
                else report_text(rng)
            )
        sent[number] += 1
        signature, form = signed_sms(sms_sid(0xB0257, n), number, text)
        post = Post(
            channel="sms",
            key=sms_sid(0xB0257, n),
            body=form.encode(),
            headers={"Content-Type": FORM_TYPE, "X-Twilio-Signature": signature},
        )
        burst.sms.append(post)
        if rng.random() < REPEATS and burst.count < POSTS:
            burst.sms.append(post)  # Twilio's retry, at the same moment
        n += 1
    rng.shuffle(burst.sms)
    return burst


# ---------------------------------------------------------------------- the burst


async def _post(http: aiohttp.ClientSession, base: str, post: Post, start: float) -> Answer:
    path = SMS_PATH if post.channel == "sms" else TELEGRAM_PATH
    try:
        async with http.post(base + path, data=post.body, headers=post.headers) as r:
            text = await r.text()
            return Answer(post, r.status, time.monotonic() - start, text)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Answer(post, None, time.monotonic() - start, error=f"{type(exc).__name__}: {exc}")


async def _chat(
    http: aiohttp.ClientSession, base: str, posts: list[Post], start: float
) -> list[Answer]:
    answers = []
    for post in posts:
        answers.append(await _post(http, base, post, start))
    return answers


async def _fire(base: str, burst: Burst) -> tuple[list[Answer], float]:
    """Every post, at once; the answers and when the burst began (time.time())."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=SETTLE_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        began, start = time.time(), time.monotonic()
        sms = [_post(http, base, post, start) for post in burst.sms]
        chats = [_chat(http, base, posts, start) for posts in burst.chats]
        done = await asyncio.gather(asyncio.gather(*sms), asyncio.gather(*chats))
    answers = list(done[0]) + [a for chat in done[1] for a in chat]
    return answers, began


def _settled(url: str, began: float) -> float | None:
    """Seconds from the burst's start until the inbox had nothing left to process
    (polled every 0.1 s); None if it still had after SETTLE_SECONDS."""
    engine = create_engine(url)
    m = t.inbound_messages.c
    try:
        while time.time() - began < SETTLE_SECONDS:
            with engine.connect() as conn:
                left = conn.execute(
                    select(func.count())
                    .select_from(t.inbound_messages)
                    .where(m.processed_at.is_(None), m.failures < 3)
                ).scalar_one()
            if not left:
                return time.time() - began
            time.sleep(0.1)
        return None
    finally:
        engine.dispose()


# ----------------------------------------------------------------------- the count


@dataclass
class Result:
    name: str
    posts: int
    answered_2xx: int
    failed: list[str]
    last_answer: float
    all_processed: float | None
    sms_answer_p50: float
    sms_answer_max: float
    sms_over_twilio_timeout: int
    rows: dict[str, int]
    distinct_2xx: dict[str, int]
    incidents: int
    reports: int
    replies: int
    problems: list[str]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def _count(name: str, url: str, answers: list[Answer], settled: float | None) -> Result:
    problems: list[str] = []
    ok = [a for a in answers if a.status is not None and 200 <= a.status < 300]
    failed = [
        f"{a.post.channel} {a.post.key}: {a.status} {a.error or a.text[:80]}"
        for a in answers
        if a.status is None or not 200 <= a.status < 300
    ]
    keys: dict[str, set[str]] = {"sms": set(), "telegram": set()}
    for a in ok:
        keys[a.post.channel].add(a.post.key)
    engine = create_engine(url)
    m, r, i, o = t.inbound_messages.c, t.reports.c, t.incidents.c, t.outbound_messages.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.id, m.channel, m.external_id, m.processed_at, m.incident, m.failures)
        ).all()
        reports = conn.execute(select(r.external_id, r.incident_id, r.source)).all()
        incidents = dict(conn.execute(select(i.id, i.public_id)).all())
        replies = conn.execute(select(o.key).where(o.key.like("tg-%"))).scalars().all()
        al = t.incident_aliases.c
        aliases = {
            alias: incidents[row_id]
            for alias, row_id in conn.execute(select(al.public_id, al.incident_id)).all()
        }
    engine.dispose()

    stored: dict[str, Counter[str]] = {"sms": Counter(), "telegram": Counter()}
    for row in rows:
        stored[row.channel][row.external_id] += 1
    for channel in ("sms", "telegram"):
        twice = [k for k, n in stored[channel].items() if n > 1]
        if twice:
            problems.append(f"{len(twice)} {channel} ids stored twice")
        if set(stored[channel]) != keys[channel]:
            lost = len(keys[channel] - set(stored[channel]))
            extra = len(set(stored[channel]) - keys[channel])
            problems.append(f"{channel}: {lost} answered 2xx not stored, {extra} stored not 2xx")
    unprocessed = [row for row in rows if row.processed_at is None or row.failures]
    if unprocessed:
        problems.append(f"{len(unprocessed)} stored messages not processed or failed")

    by_key = {(row.channel, row.external_id): row for row in rows}
    answered_with: dict[str, set[str]] = {}
    mismatched: list[str] = []
    for a in ok:
        if a.post.channel == "sms":
            answered_with.setdefault(a.post.key, set()).add(a.text)
    for sid, texts in answered_with.items():
        if len(texts) > 1:
            problems.append(f"SMS {sid} answered differently on its repeat")
        said = INCIDENT_ID.findall(" ".join(MESSAGE.findall(next(iter(texts)))))
        said += [aliases[n] for n in said if n in aliases]
        found = by_key.get(("sms", sid))
        if found is not None and found.incident and found.incident not in said:
            mismatched.append(f"{sid}: answered {said}, went to {found.incident}")
    if mismatched:  # (a reply without an incident is ESTADO's, or a keyword's)
        problems.append(f"{len(mismatched)} SMS answered with another incident: {mismatched[0]}")

    per_report = Counter((rep.source, rep.external_id) for rep in reports)
    refiled = [k for k, n in per_report.items() if n > 1]
    if refiled:
        problems.append(f"{len(refiled)} messages filed as more than one report")
    filing = {(row.channel, row.external_id) for row in rows if row.incident}
    if set(per_report) != filing:
        problems.append(
            f"reports and messages that went to an incident differ: {len(per_report)} reports, "
            f"{len(filing)} messages"
        )
    with_reports = {rep.incident_id for rep in reports}
    if set(incidents) != with_reports:
        problems.append("an incident without reports, or a report of none")
    named = {row.incident for row in rows if row.incident}
    if named - set(incidents.values()):
        problems.append("a message names an incident that does not exist")
    chats_filed = {row.external_id for row in rows if row.channel == "telegram" and row.incident}
    if len(chats_filed) != QUICK_CHATS + GUIDED_CHATS:
        problems.append(f"{len(chats_filed)} Telegram reports, {QUICK_CHATS + GUIDED_CHATS} chats")
    replied = {int(key.split("-")[1]) for key in replies}
    silent = [row for row in rows if row.channel == "telegram" and row.id not in replied]
    if silent:
        problems.append(f"{len(silent)} Telegram updates without a reply in the outbox")

    sms_times = [a.seconds for a in ok if a.post.channel == "sms"]
    return Result(
        name=name,
        posts=len(answers),
        answered_2xx=len(ok),
        failed=failed,
        last_answer=max((a.seconds for a in answers), default=float("nan")),
        all_processed=settled,
        sms_answer_p50=_pct(sms_times, 0.5),
        sms_answer_max=max(sms_times, default=float("nan")),
        sms_over_twilio_timeout=sum(1 for s in sms_times if s > TWILIO_TIMEOUT),
        rows={c: sum(stored[c].values()) for c in stored},
        distinct_2xx={c: len(k) for c, k in keys.items()},
        incidents=len(incidents),
        reports=len(reports),
        replies=len(replies),
        problems=problems,
    )


# ------------------------------------------------------------------------ running


def _run(name: str, url: str, redis_url: str, burst: Burst) -> Result:
    port = free_port()
    env = {**os.environ, **sms_env(url, redis_url, port, telegram=True)}
    subprocess.run(
        [sys.executable, "-m", "voicebridge", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    serve = python("-m", "voicebridge", "serve", env=env)
    worker = python("-m", "voicebridge", "worker", env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", serve)
        answers, began = asyncio.run(_fire(f"http://127.0.0.1:{port}", burst))
        settled = _settled(url, began)
    finally:
        stop(serve)
        stop(worker)
    return _count(name, url, answers, settled)


def main() -> None:
    burst = evening()
    redis = LocalRedis()
    work = tempfile.TemporaryDirectory(prefix="vb-bench-burst-")
    results = []
    try:
        sqlite_url = f"sqlite:///{Path(work.name) / 'burst.sqlite3'}"
        results.append(_run("voicebridge, SQLite", sqlite_url, redis.url, burst))
        with scratch_postgres() as pg_url:
            if pg_url is not None:
                results.append(_run("voicebridge, PostgreSQL", pg_url, redis.url, burst))
    finally:
        redis.close()
        work.cleanup()
    sms = len(burst.sms)
    print(
        f"sms_burst: {burst.count} posts at once: {sms} SMS from {SMS_NUMBERS} numbers, "
        f"{burst.count - sms} Telegram updates of {len(burst.chats)} chats "
        f"(each chat's in order), about {REPEATS:.0%} of them repeated"
    )
    for r in results:
        settled = f"{r.all_processed:.1f} s" if r.all_processed is not None else "never"
        print(
            f"  {r.name:24} {r.answered_2xx}/{r.posts} answered 2xx, the last at "
            f"{r.last_answer:.1f} s; all processed at {settled}; SMS answered p50 "
            f"{r.sms_answer_p50:.1f} s, max {r.sms_answer_max:.1f} s "
            f"({r.sms_over_twilio_timeout} past Twilio's {TWILIO_TIMEOUT:.0f} s)\n"
            f"  {'':24} inbox: SMS {r.rows['sms']} rows for {r.distinct_2xx['sms']} "
            f"MessageSids answered 2xx, Telegram {r.rows['telegram']} rows for "
            f"{r.distinct_2xx['telegram']} update_ids; {r.incidents} incidents, "
            f"{r.reports} reports, {r.replies} Telegram replies recorded; "
            + ("counts agree" if not r.problems else "PROBLEMS: " + "; ".join(r.problems))
        )
        for line in r.failed[:5]:
            print(f"  {'':24} not 2xx: {line}")
    bad = [r.name for r in results if r.problems or r.failed or r.all_processed is None]
    if bad:
        raise SystemExit(f"sms_burst: {', '.join(bad)}: not every post stored and processed once")


if __name__ == "__main__":
    main()
