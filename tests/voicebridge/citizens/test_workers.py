"""The SMS answered at intake are filed by the workers: a real ``serve`` answers a
signed SMS with its incident number before any worker runs, a real ``worker`` files it
under that number; the job is queued once however many commits ask for it; and when the
workers cannot be asked (Redis down), every serve's recovery files what waits."""

import asyncio
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from channels.twilio.signature import sign
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER
from routing import schema as t
from tests.conftest import FakeClock, free_port
from tests.voicebridge.citizens.conftest import CITIZEN, PUBLIC, Sms, incident_of
from tests.voicebridge.test_recovery import Service, until
from voicebridge.citizens import channels
from voicebridge.citizens.channels import KICK_KEY, PROCESS_INBOX, kick_workers
from voicebridge.citizens.intake import STALE_SECONDS
from voicebridge.queueing import JOBS, queue
from voicebridge.runtime import Runtime
from voicebridge.web import CHANNELS

BODY = "incendio en jr. huallaga 450 cercado"


def _post_sms(port: str, sid: str, body: str) -> str:
    form = {
        "MessageSid": sid,
        "AccountSid": DEMO_ACCOUNT_SID,
        "From": CITIZEN,
        "To": DEMO_NUMBER,
        "Body": body,
    }
    path = "/webhooks/twilio/sms"
    signature = sign(DEMO_AUTH_TOKEN, PUBLIC + path, {k: [v] for k, v in form.items()})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def _incidents(rt: Runtime) -> list[str]:
    with rt.db.read() as conn:
        return list(conn.execute(select(t.incidents.c.public_id)).scalars())


def test_a_real_worker_files_an_sms_that_serve_answered_at_intake(
    sms_runtime: Runtime, redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    del redis  # emptied
    s = sms_runtime.settings
    env = {
        "VOICEBRIDGE_DATABASE_URL": s.database_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_HTTP_PORT": str(free_port()),
        "VOICEBRIDGE_PUBLIC_URL": PUBLIC,
        "VOICEBRIDGE_TWILIO_ACCOUNT_SID": DEMO_ACCOUNT_SID,
        "VOICEBRIDGE_TWILIO_AUTH_TOKEN": DEMO_AUTH_TOKEN,
        "VOICEBRIDGE_TWILIO_NUMBER": DEMO_NUMBER,
        "VOICEBRIDGE_TWILIO_API_URL": "http://127.0.0.1:9",  # nothing is sent here
        "VOICEBRIDGE_LOG_LEVEL": "INFO",
    }
    port = env["VOICEBRIDGE_HTTP_PORT"]
    (tmp_path / "serve").mkdir()
    (tmp_path / "worker").mkdir()
    serve = Service("serve", env, tmp_path / "serve")
    worker = None
    try:
        until(lambda: "serves on" in serve.output(), "serve listening", within=60)
        twiml = _post_sms(port, "SM" + "d" * 32, BODY)
        number = incident_of(sms_runtime, twiml)
        assert _incidents(sms_runtime) == []  # answered, not filed: no worker runs
        worker = Service("worker", env, tmp_path / "worker")
        until(lambda: _incidents(sms_runtime) == [number], "the worker filed it", within=60)
        assert sms_runtime.store.get(number).category == "incendio"
    finally:
        serve.stop()
        if worker is not None:
            worker.stop()


def test_one_job_is_queued_until_it_starts(sms_runtime: Runtime, redis: Redis) -> None:
    q = queue(JOBS[PROCESS_INBOX].queue, redis)
    assert kick_workers(sms_runtime)
    assert not kick_workers(sms_runtime)  # one waits to start: it will take these too
    assert q.count == 1
    redis.delete(KICK_KEY)  # what the job does first
    assert kick_workers(sms_runtime)
    assert q.count == 2


async def test_an_sms_the_workers_could_not_be_asked_for_is_filed_by_the_recovery(
    sms: Sms, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(runtime: Runtime) -> bool:
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(channels, "kick_workers", down)
    result = await sms.fake.send_inbound(CITIZEN, BODY)
    number = incident_of(sms.runtime, result.replies[0].body)  # answered all the same
    await asyncio.sleep(0.2)  # the kick failed (logged)
    app = sms.client.app
    assert app is not None
    intake = app[CHANNELS]
    assert await asyncio.to_thread(intake.recover) == 0  # not stale yet: a worker may come
    clock.advance(STALE_SECONDS + 1)
    assert await asyncio.to_thread(intake.recover) == 1
    assert _incidents(sms.runtime) == [number]
    assert await asyncio.to_thread(intake.recover) == 0
