"""A ``serve`` killed between storing a citizen's message and processing it: the message
was answered 2xx and stored, so the next ``serve`` processes it at start-up, once.

A real ``voicebridge serve`` on PostgreSQL. To stop it deterministically between the
two transactions, the test holds a lock on the chats' table (which the processing
takes, and storing does not), kills ``serve`` with SIGKILL while processing waits on
it, releases the lock, and starts ``serve`` again."""

import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from routing import schema as t
from tests.conftest import free_port
from tests.voicebridge.test_recovery import Service, until

SECRET = "choque-de-combi"
CHAT = 5001


@pytest.fixture
def engine(empty_postgres: str) -> Iterator[Engine]:
    eng = create_engine(empty_postgres)
    yield eng
    eng.dispose()


def _env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "VOICEBRIDGE_DATABASE_URL": database_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_HTTP_PORT": str(free_port()),
        "VOICEBRIDGE_LOG_LEVEL": "INFO",
        "VOICEBRIDGE_TELEGRAM_TOKEN": "123456:" + "K" * 35,
        "VOICEBRIDGE_TELEGRAM_SECRET": SECRET,
        "VOICEBRIDGE_TELEGRAM_API_URL": "http://127.0.0.1:9",  # never called here
    }


def _post(port: str, update: dict[str, object]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/telegram",
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return int(response.status)


def _up(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    m = t.inbound_messages.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(m.external_id, m.processed_at))]


def _start(env: dict[str, str], tmp_path: Path, name: str) -> Service:
    directory = tmp_path / name
    directory.mkdir()
    service = Service("serve", env, directory)
    until(lambda: _up(env["VOICEBRIDGE_HTTP_PORT"]), f"{name} answers /healthz", within=60)
    return service


@pytest.mark.postgres
def test_a_message_stored_by_a_serve_killed_before_processing_it_is_processed_on_restart(
    empty_postgres: str, engine: Engine, redis_url: str, tmp_path: Path
) -> None:
    env = _env(empty_postgres, redis_url)
    port = env["VOICEBRIDGE_HTTP_PORT"]
    first = _start(env, tmp_path, "first")
    update = {
        "update_id": 700001,
        "message": {
            "message_id": 1,
            "date": 1764860000,
            "chat": {"id": CHAT, "type": "private", "first_name": "Rosa"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Rosa"},
            "text": "/start",
        },
    }
    admin = psycopg.connect(empty_postgres.replace("postgresql+psycopg", "postgresql"))
    try:
        admin.execute("LOCK TABLE citizen_chats IN ACCESS EXCLUSIVE MODE")
        assert _post(port, update) == 200  # stored: Telegram was told it arrived
        until(lambda: _rows(engine) == [("700001", None)], "stored, not processed")
        os.killpg(first.proc.pid, signal.SIGKILL)  # processing waits on the lock
        first.proc.wait()
    finally:
        admin.rollback()
        admin.close()
    assert _rows(engine) == [("700001", None)]
    second = _start(env, tmp_path, "second")
    try:
        until(lambda: _rows(engine)[0][1] is not None, "processed by the next serve")
        until(lambda: "processed late (recovered)" in second.output(), "the recovery logged")
        o, c = t.outbound_messages.c, t.citizen_chats.c
        with engine.connect() as conn:
            sent = conn.execute(select(o.chat, o.body).order_by(o.id)).all()
            state = conn.execute(select(c.state).where(c.chat == str(CHAT))).scalar_one()
        assert sent  # the greeting and the category buttons, to the citizen's chat
        assert {chat for chat, _ in sent} == {str(CHAT)}
        assert state["step"] == "category"
        assert _post(port, update) == 200  # Telegram's redelivery: stored and done once
        assert len(_rows(engine)) == 1
        with engine.connect() as conn:
            assert len(conn.execute(select(o.id)).all()) == len(sent)
    finally:
        second.stop()
