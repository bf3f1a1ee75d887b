"""People sign in to the console (issue 11, point 1): accounts with a role and Argon2id
password hashes created by ``voicebridge user create``; sessions in HttpOnly, SameSite
cookies (Secure on https) that expire, idle or not, and can be revoked; a CSRF token on
every state-changing request; sign-in attempts rate-limited; every action in the
incident's log with the person's name; an operator sees their own district only."""

import io
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.conftest import FakeClock, make_settings
from tests.voicebridge.conftest import AiohttpClient
from voicebridge.accounts import AccountError, Accounts, Refusal
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.cli import main
from voicebridge.runtime import Runtime, build_runtime
from voicebridge.schema import user_sessions, users

PASSWORD = "correct horse battery"


def ana(accounts: Accounts, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "name": "Ana Pérez", "role": Role.OPERATOR, "district": "150132", "password": PASSWORD,
    }  # fmt: skip
    accounts.create("ana.perez", **(fields | overrides))


def signed_in(accounts: Accounts, username: str = "ana.perez") -> str:
    result = accounts.sign_in(username, PASSWORD, address="10.0.0.7")
    assert not isinstance(result, Refusal)
    return result[0]


# ---------------------------------------------------------------- accounts


def test_passwords_are_stored_as_argon2id_hashes(runtime: Runtime) -> None:
    ana(runtime.accounts)
    with runtime.db.read() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("username", "overrides", "why"),
    [
        ("Ana Perez", {}, "minúsculas"),
        ("ana.perez", {"district": None}, "pertenece a la central de un distrito"),
        ("jefe", {"role": Role.SUPERVISOR}, "ve todos los distritos"),
        ("ana.perez", {"password": "corta"}, "de 12 a 256 caracteres"),
        ("ana.perez", {"district": "Narnia"}, "no es un distrito"),
        ("ana.perez", {"name": "x" * 35}, "de 1 a 34 caracteres"),
    ],
)
def test_an_account_is_refused_saying_why(
    runtime: Runtime, username: str, overrides: dict[str, Any], why: str
) -> None:
    fields: dict[str, Any] = {
        "name": "Ana Pérez", "role": Role.OPERATOR, "district": "150132", "password": PASSWORD,
    }  # fmt: skip
    with pytest.raises(AccountError, match=why):
        runtime.accounts.create(username, **(fields | overrides))


def test_one_account_per_username(runtime: Runtime) -> None:
    ana(runtime.accounts)
    with pytest.raises(AccountError, match=r"ya existe el usuario ana\.perez"):
        ana(runtime.accounts)


def test_every_wrong_credential_gets_the_same_answer(runtime: Runtime) -> None:
    accounts = runtime.accounts
    ana(accounts)
    accounts.create("luis", name="Luis", role=Role.SUPERVISOR, district=None, password=PASSWORD)
    accounts.set_active("luis", False)
    for username, password in (("ana.perez", "wrong password!"), ("nadie", PASSWORD),
                               ("luis", PASSWORD)):  # fmt: skip
        assert accounts.sign_in(username, password, address="a") == Refusal(limited=False)


def test_the_session_token_is_kept_only_as_its_hash(runtime: Runtime) -> None:
    ana(runtime.accounts)
    token = signed_in(runtime.accounts)
    session = runtime.accounts.session(token)
    assert session is not None
    assert session.user.identity().actor == "operator:ana.perez (Ana Pérez)"
    with runtime.db.read() as conn:
        stored = conn.execute(select(user_sessions)).one()
    assert token not in (stored.token_hash, stored.csrf)
    assert runtime.accounts.session(token + "x") is None


def test_sessions_end_when_idle_and_at_the_end_of_their_lifetime(
    runtime: Runtime, clock: FakeClock
) -> None:
    accounts = runtime.accounts
    ana(accounts)
    idle = signed_in(accounts)
    clock.advance(59 * 60)
    assert accounts.session(idle) is not None  # 59 minutes after: alive, and seen now
    clock.advance(59 * 60)
    assert accounts.session(idle) is not None
    clock.advance(60 * 60)
    assert accounts.session(idle) is None  # an hour without a request
    busy = signed_in(accounts)
    for _ in range(23):  # a request every half hour for eleven and a half hours
        clock.advance(30 * 60)
        assert accounts.session(busy) is not None
    clock.advance(30 * 60)
    assert accounts.session(busy) is None  # twelve hours after sign-in


def test_sessions_are_revoked_signed_out_and_ended_by_a_new_password(runtime: Runtime) -> None:
    accounts = runtime.accounts
    ana(accounts)
    first, second, third = signed_in(accounts), signed_in(accounts), signed_in(accounts)
    accounts.sign_out(first)
    assert accounts.session(first) is None
    assert accounts.session(second) is not None
    assert accounts.revoke_all("ana.perez") == 2
    assert accounts.session(second) is None
    assert accounts.session(third) is None
    fourth = signed_in(accounts)
    accounts.set_password("ana.perez", "another long password")
    assert accounts.session(fourth) is None
    fifth = accounts.sign_in("ana.perez", "another long password", address="a")
    assert not isinstance(fifth, Refusal)
    accounts.set_active("ana.perez", False)
    assert accounts.session(fifth[0]) is None


def test_sign_in_failures_are_rate_limited_and_nobody_locks_a_person_out(
    runtime: Runtime,
) -> None:
    accounts = runtime.accounts
    ana(accounts)
    for _ in range(40):  # successes count against nothing: a shift signing in at one desk
        signed_in(accounts)
    for n in range(5):  # wrong passwords from elsewhere...
        assert accounts.sign_in("ana.perez", "guessing wrong", address=f"10.9.0.{n}") == (
            Refusal(limited=False)
        )
    signed_in(accounts)  # ...lock nobody out of their own desk
    for _ in range(5):
        accounts.sign_in("ana.perez", "guessing wrong", address="10.9.9.9")
    refused = accounts.sign_in("ana.perez", PASSWORD, address="10.9.9.9")
    assert isinstance(refused, Refusal)
    assert refused.limited  # but one address guessing one account is stopped
    assert 0 < refused.retry_in <= 900
    # an address trying many accounts; an IPv6 address counts by its /64
    for n in range(30):
        accounts.sign_in(f"user{n}", "guessing wrong", address=f"2001:db8:1:2::{n + 1:x}")
    last = accounts.sign_in("someone", "guessing wrong", address="2001:db8:1:2:ffff::1")
    assert isinstance(last, Refusal)
    assert last.limited


def test_without_redis_nobody_signs_in_rather_than_guess_unlimited(
    runtime: Runtime, clock: FakeClock
) -> None:
    from redis import Redis

    from voicebridge.ratelimit import RedisLimiter

    ana(runtime.accounts)
    gone = Redis(port=9, socket_connect_timeout=0.2, socket_timeout=0.2)  # nothing there
    accounts = Accounts(runtime.db, RedisLimiter(gone, clock, fail_open=False), clock=clock)
    refused = accounts.sign_in("ana.perez", PASSWORD, address="10.0.0.7")
    assert refused == Refusal(limited=True, retry_in=60.0)


def test_a_username_that_cannot_be_one_is_refused_like_any_other(runtime: Runtime) -> None:
    for junk in ("ana\x00perez", "' or 1=1 --", "x" * 300):
        assert runtime.accounts.sign_in(junk, PASSWORD, address="a") == Refusal(limited=False)


# ---------------------------------------------------------------- the console over HTTP


async def console(aiohttp_client: AiohttpClient, runtime: Runtime) -> TestClient:  # type: ignore[type-arg]
    client: TestClient = await aiohttp_client(make_app(runtime.settings, runtime=runtime))  # type: ignore[type-arg]
    return client


async def sign_in_form(client: TestClient, username: str, password: str) -> Any:  # type: ignore[type-arg]
    page = await client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    return await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": token[1]},
        allow_redirects=False,
    )


def set_cookie(response: Any, name: str) -> str:
    found: str = next(v for v in response.headers.getall("Set-Cookie") if v.startswith(f"{name}="))
    return found


async def test_pages_need_a_session_and_the_form_signs_in(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana(runtime.accounts)
    client = await console(aiohttp_client, runtime)
    response = await client.get("/console/", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/console/login")
    page = await client.get("/console/login")
    assert page.status == 200
    login_cookie = set_cookie(page, "vb_login")
    assert "HttpOnly" in login_cookie
    assert "SameSite=Strict" in login_cookie
    assert 'lang="es-PE"' in await page.text()
    wrong = await sign_in_form(client, "ana.perez", "wrong password!")
    assert wrong.status == 401
    assert "Usuario o contraseña incorrectos." in await wrong.text()
    right = await sign_in_form(client, "ana.perez", PASSWORD)
    assert (right.status, right.headers["Location"]) == (303, "/console/")
    cookie = set_cookie(right, "vb_session")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # the public URL is http here
    home = await client.get("/console/")
    assert home.status == 200
    text = await home.text()
    assert "Ana Pérez · operador · San Juan de Lurigancho (150132)" in text
    assert home.headers["Cache-Control"] == "no-store"


async def test_signing_in_again_signs_out_whoever_was_signed_in(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana(runtime.accounts)
    runtime.accounts.create("luis.rios", name="Luis Ríos", role=Role.SUPERVISOR,
                            district=None, password=PASSWORD)  # fmt: skip
    client = await console(aiohttp_client, runtime)
    await sign_in_form(client, "ana.perez", PASSWORD)
    ana_token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["vb_session"]
    await sign_in_form(client, "luis.rios", PASSWORD)  # the next shift, at the same desk
    assert runtime.accounts.session(ana_token.value) is None
    assert "Luis Ríos" in await (await client.get("/console/")).text()


async def test_an_expired_session_gets_a_form_that_works(
    runtime: Runtime, aiohttp_client: AiohttpClient, clock: FakeClock
) -> None:
    ana(runtime.accounts)
    client = await console(aiohttp_client, runtime)
    await sign_in_form(client, "ana.perez", PASSWORD)
    clock.advance(13 * 3600)
    again = await client.post("/console/logout", data={}, allow_redirects=False)
    assert again.status == 401
    token = re.search(r'name="csrf" value="([^"]+)"', await again.text())
    assert token is not None
    assert token[1]  # a new token, and its cookie
    assert set_cookie(again, "vb_login")
    right = await client.post(
        "/console/login",
        data={"username": "ana.perez", "password": PASSWORD, "csrf": token[1]},
        allow_redirects=False,
    )
    assert right.status == 303


async def test_the_sign_in_form_must_come_from_the_console(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana(runtime.accounts)
    client = await console(aiohttp_client, runtime)
    await client.get("/console/login")
    forged = await client.post(
        "/console/login",
        data={"username": "ana.perez", "password": PASSWORD, "csrf": "forged"},
        allow_redirects=False,
    )
    assert forged.status == 403
    assert "vb_session" not in forged.cookies


async def test_the_session_cookie_is_secure_behind_https(
    sqlite_url: str, redis_url: str, clock: FakeClock, aiohttp_client: AiohttpClient
) -> None:
    settings = make_settings(sqlite_url, redis_url, public_url="https://cic.example.pe")
    runtime = build_runtime(settings, clock=clock, migrate_schema=True)
    try:
        ana(runtime.accounts)
        client = await console(aiohttp_client, runtime)
        page = await client.get("/console/login")
        login_cookie = set_cookie(page, "__Host-vb_login")
        assert "Secure" in login_cookie
        assert "Path=/" in login_cookie
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert token is not None
        # (the test client speaks http: it keeps no Secure cookie, a browser on https does)
        right = await client.post(
            "/console/login",
            data={"username": "ana.perez", "password": PASSWORD, "csrf": token[1]},
            headers={"Cookie": f"__Host-vb_login={token[1]}"},
            allow_redirects=False,
        )
        assert right.status == 303
        session_cookie = set_cookie(right, "__Host-vb_session")
        assert "Secure" in session_cookie
        assert "HttpOnly" in session_cookie
    finally:
        runtime.close()


async def test_too_many_attempts_are_refused_with_429(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana(runtime.accounts)
    client = await console(aiohttp_client, runtime)
    for _ in range(5):
        assert (await sign_in_form(client, "ana.perez", "guessing wrong")).status == 401
    refused = await sign_in_form(client, "ana.perez", PASSWORD)
    assert refused.status == 429
    assert "Demasiados intentos: espere" in await refused.text()
    assert int(refused.headers["Retry-After"]) > 0


async def test_signing_out_needs_the_csrf_token_and_ends_the_session(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana(runtime.accounts)
    client = await console(aiohttp_client, runtime)
    await sign_in_form(client, "ana.perez", PASSWORD)
    forged = await client.post("/console/logout", data={}, allow_redirects=False)
    assert forged.status == 403
    assert "CSRF" in await forged.text()
    assert (await client.get("/console/", allow_redirects=False)).status == 200
    home = await (await client.get("/console/")).text()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home)
    assert csrf is not None
    out = await client.post("/console/logout", data={"csrf": csrf[1]}, allow_redirects=False)
    assert (out.status, out.headers["Location"]) == (303, "/console/login")
    assert (await client.get("/console/", allow_redirects=False)).status == 303


async def test_the_api_takes_the_session_with_its_csrf_token_and_names_the_person(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana(runtime.accounts)
    client = await console(aiohttp_client, runtime)
    await sign_in_form(client, "ana.perez", PASSWORD)
    home = await (await client.get("/console/")).text()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home)
    assert csrf is not None
    assert (await client.get("/api/v1/incidents")).status == 200
    body = {"category": "robo", "district": "150132", "description": "Robo de celular"}
    forged = await client.post("/api/v1/incidents", json=body)
    assert forged.status == 403
    assert (await forged.json())["error"]["code"] == "csrf_failed"
    created = await client.post("/api/v1/incidents", json=body, headers={"X-CSRF-Token": csrf[1]})
    assert created.status == 201, await created.text()
    incident_id = (await created.json())["id"]
    (event,) = runtime.store.events(incident_id)
    assert event.actor == "operator:ana.perez (Ana Pérez)"
    # her district only, as an operator key's
    other = await client.post(
        "/api/v1/incidents", json=body | {"district": "150122"},
        headers={"X-CSRF-Token": csrf[1]},
    )  # fmt: skip
    assert other.status == 403
    assert (await other.json())["error"]["code"] == "district_forbidden"


async def test_an_ended_session_is_401_on_the_api(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    ana(runtime.accounts)
    client = await console(aiohttp_client, runtime)
    await sign_in_form(client, "ana.perez", PASSWORD)
    runtime.accounts.revoke_all("ana.perez")
    response = await client.get("/api/v1/incidents")
    assert response.status == 401
    assert "sesión de la consola terminó" in (await response.json())["error"]["message"]


# ---------------------------------------------------------------- the CLI


def test_user_create_list_revoke_and_disable(
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    env = {"VOICEBRIDGE_DATABASE_URL": runtime.settings.database_url,
           "VOICEBRIDGE_REDIS_URL": runtime.settings.redis_url}  # fmt: skip
    create = ["user", "create", "ana.perez", "--name", "Ana Pérez", "--role", "operator",
              "--district", "SJL", "--password-stdin"]  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(create, env) == 0
    assert "created ana.perez (Ana Pérez), operator, district 150132" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(create, env) == 2
    assert "ya existe el usuario ana.perez" in capsys.readouterr().err
    assert main(["user", "list"], env) == 0
    assert capsys.readouterr().out == "ana.perez\toperator\t150132\tactive\tAna Pérez\n"
    assert isinstance(runtime.clock, FakeClock)
    runtime.clock.current = datetime.now(UTC)  # the command's clock is the system's
    token = signed_in(runtime.accounts)
    assert main(["user", "revoke", "ana.perez"], env) == 0
    assert "1 session(s) ended" in capsys.readouterr().out
    assert runtime.accounts.session(token) is None
    assert main(["user", "disable", "ana.perez"], env) == 0
    assert runtime.accounts.sign_in("ana.perez", PASSWORD, address="x") == Refusal(limited=False)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("username=ana.perez", "application/x-www-form-urlencoded; charset=bogus"),
        ('{"username": "ana.perez"}', "application/json"),
        ("--x\r\n", "multipart/form-data"),
        ("username=%FF%FE", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_body_that_is_no_form_signs_nobody_in(
    runtime: Runtime, aiohttp_client: AiohttpClient, body: str, content_type: str
) -> None:
    client = await console(aiohttp_client, runtime)
    await client.get("/console/login")
    response = await client.post(
        "/console/login", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 403
    assert "no vino de esta consola: ingrese de nuevo" in await response.text()
