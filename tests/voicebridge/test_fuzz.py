"""Property-based fuzzing of every operation of the OpenAPI document (issue 8, point 1):
schemathesis drives the real app, served on loopback, on SQLite and on PostgreSQL, with
the document's examples, boundary values (its coverage phase) and generated inputs, valid
and invalid, under admin, supervisor and operator keys. Any 5xx, any error that is not
the JSON envelope, any answer the document does not describe, or any ERROR or
traceback in the log fails it.

Bounded and reproducible: a fixed seed, derandomized generation, few examples per
operation, no example database.
"""

import asyncio
import collections
import logging
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from redis import Redis
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from routing.models import Medium
from tests.conftest import FakeClock, _truncate, free_port, make_settings
from voicebridge.api.errors import CODES
from voicebridge.api.openapi import document
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime, build_runtime

MAX_EXAMPLES = 25  # generated cases per operation, beyond its examples and boundaries
SEED = 20261204

# who calls: each operation's cases take these keys in turn
WHO = ("admin", "operator", "sjl", "supervisor")


@dataclass
class Served:
    base_url: str
    keys: dict[str, str]
    runtime: Runtime
    records: list[logging.LogRecord]


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _serve(app: web.Application) -> tuple[str, asyncio.AbstractEventLoop, threading.Thread]:
    """The app on 127.0.0.1 in a thread of its own (schemathesis calls it synchronously)."""
    loop = asyncio.new_event_loop()
    started: list[str] = []
    ready = threading.Event()
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        started.append(f"http://127.0.0.1:{port}")

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="fuzzed-app", daemon=True)
    thread.start()
    assert ready.wait(30), "the app did not start"
    return started[0], loop, thread


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest,
    redis_url: str,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """The app on loopback, once per database for every operation's cases."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "voicebridge.sqlite3"
        shutil.copy(sqlite_template, path)
        database_url = f"sqlite:///{path}"
    else:
        database_url = str(request.getfixturevalue("postgres_url"))
        _truncate(database_url)
    Redis.from_url(redis_url).flushdb()
    # the channels configured, so that their webhooks' checks are what the fuzz meets
    settings_ = make_settings(
        database_url,
        redis_url,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="f" * 32,
        twilio_number="+15005550006",
        twilio_api_url="http://127.0.0.1:9",
        telegram_token="123456:" + "A" * 35,
        telegram_secret="fuzz-secret",
        telegram_api_url="http://127.0.0.1:9",
    )
    runtime = build_runtime(settings_, clock=FakeClock(), media=frozenset({Medium.VOICE}))
    keys = {
        "admin": runtime.apikeys.create(Role.ADMIN, label="admin")[0],
        "supervisor": runtime.apikeys.create(Role.SUPERVISOR, label="supervisión")[0],
        "operator": runtime.apikeys.create(Role.OPERATOR, label="central")[0],
        "sjl": runtime.apikeys.create(Role.OPERATOR, district="150132", label="central SJL")[0],
    }
    records: list[logging.LogRecord] = []
    handler = _Collect(records)
    logging.getLogger().addHandler(handler)
    base_url, loop, thread = _serve(make_app(settings_, runtime=runtime))
    try:
        served = Served(base_url=base_url, keys=keys, runtime=runtime, records=records)
        _seed(served)
        yield served
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        logging.getLogger().removeHandler(handler)
        runtime.close()


def _seed(served: Served) -> None:
    """Incidents for the document's example ids: LIM-2026-000001 dispatched in SJL,
    LIM-2026-000002 received in Miraflores."""
    auth = {"Authorization": f"Bearer {served.keys['admin']}"}
    url = f"{served.base_url}/api/v1/incidents"
    for body in (
        {"category": "robo", "district": "SJL", "description": "Robo de celular"},
        {"category": "incendio", "district": "Miraflores"},
    ):
        assert requests.post(url, json=body, headers=auth, timeout=10).status_code == 201
    dispatched = requests.post(f"{url}/LIM-2026-000001/dispatch", headers=auth, timeout=10)
    assert dispatched.status_code == 200, dispatched.text


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            "with-security-parameters": False,  # every case carries one of our keys
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_dict(document(), config=CONFIG)


_CALLS: collections.Counter[str] = collections.Counter()


def _who(case: Case[Any]) -> str:
    """The keys in turn, per operation: the same sequence every run."""
    _CALLS[case.operation.label] += 1
    return WHO[_CALLS[case.operation.label] % len(WHO)]


def error_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every error is the documented JSON envelope with a registered code (the
    console's pages: a Spanish HTML page)."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if case.path.startswith("/console") and response.status_code in (401, 403, 429):
        # the console's pages answer people in Spanish HTML (the sign-in form again)
        assert content_type.startswith("text/html"), (response.status_code, content_type)
        return None
    assert content_type.startswith("application/json"), (response.status_code, content_type)
    error = response.json()["error"]
    assert error["code"] in CODES, error
    assert CODES[error["code"]].status == response.status_code, error
    assert isinstance(error["message"], str)
    assert error["message"], error
    return None


@schema.parametrize()
@settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gives_a_5xx(case: Case[Any], served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.keys[_who(case)]}"}
    seen = len(served.records)
    case.call_and_validate(
        base_url=served.base_url,
        headers=headers,
        timeout=30,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            error_envelope,
        ],
    )
    logged = [
        f"{r.name}: {r.getMessage()}"
        for r in served.records[seen:]
        if r.levelno >= logging.ERROR or r.exc_info is not None
    ]
    assert not logged, logged
