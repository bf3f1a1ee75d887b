"""Signing in and out of the console, and the session every console page and the API
accept in place of an API key.

- ``GET /console/login`` shows the form; ``POST /console/login`` checks the account
  (:meth:`voicebridge.accounts.Accounts.sign_in`: rate-limited, one answer for every
  wrong credential) and sets the session cookie: HttpOnly, SameSite=Lax, Secure when
  the public URL is https, for the session's lifetime. The form carries a token that
  must match a cookie of its own (a login CSRF: nobody signs a victim in to their
  account).
- ``POST /console/logout`` ends the session (its CSRF token required).
- Every other ``/console/`` page needs a live session (else a redirect to the form);
  every state-changing request needs the session's CSRF token: the form field
  ``csrf`` or the header ``X-CSRF-Token`` (the pages put it in
  ``<meta name="csrf-token">``). The API takes the same session
  (:func:`session_identity`), with the header, so the console's pages call the API as
  the person.
"""

import math
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from routing.districts import district_by_code
from voicebridge.accounts import CSRF_HEADER, Refusal, Session, cookie_name, same_token
from voicebridge.api.auth import ROLE_LABELS, secure, session_cookie
from voicebridge.api.errors import Handler, error
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).parent / "static"

LOGIN_COOKIE = "vb_login"  # the sign-in form's own CSRF token
SESSION = web.RequestKey("console_session", Session)
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PAGES = frozenset({"/console/login"})
PASSIVE = frozenset({"/console/events", "/console/board.json"})
STATIC = "/console/static/"
MAX_FORM = 4096

templates = jinja2.Environment(
    loader=jinja2.PackageLoader("voicebridge.console", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
)


def render(
    name: str, status: int = 200, *, img_src: str | None = None, **context: Any
) -> web.Response:
    """A console page; ``img_src``: one more origin its images may come from (the map's
    tile server, when one is set)."""
    context.setdefault("csrf", None)
    html = templates.get_template(name).render(**context)
    response = web.Response(text=html, status=status, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    images = "'self' data:" + (f" {img_src}" if img_src else "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src {images}; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return response


def signed_in(session: Session) -> dict[str, Any]:
    """What every page says of the person signed in: who, their role, their central,
    and the session's CSRF token."""
    user = session.user
    return {
        "user": user,
        "role": ROLE_LABELS[user.role],
        "central": central_of(user.district),
        "csrf": session.csrf,
    }


def central_of(district: str | None) -> str | None:
    """The central of an operator's district, as the header shows it."""
    if district is None:
        return None
    return f"{district_by_code(district).name} ({district})"


def _address(request: web.Request) -> str:
    return request.remote or "desconocida"


async def session_of(request: web.Request) -> Session | None:
    token = request.cookies.get(session_cookie(request))
    if not token:
        return None
    accounts = request.app[RUNTIME].accounts
    # what a board left open asks for by itself is no activity of the person's
    touch = request.path not in PASSIVE and not (
        request.path.startswith("/console/incidents/") and request.path.endswith("/live")
    )
    return await request.app[BLOCKING](accounts.session, token, touch=touch)


def csrf_given(request: web.Request, form: Any = None) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if form is not None:
        value = form.get("csrf")
        return value if isinstance(value, str) else None
    return None


async def _form(request: web.Request) -> Mapping[str, Any]:
    """The console's form fields; any other body is no form (and carries no token, so
    what it asks for is refused as not from the console)."""
    if request.content_length is not None and request.content_length > MAX_FORM:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM, actual_size=request.content_length)
    if request.content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        return await request.post()
    except (ValueError, LookupError):  # not UTF-8, malformed, an unknown charset
        return {}


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A live session for every console page but the sign-in form; its CSRF token on
    every state-changing request."""
    if (
        not request.path.startswith("/console")
        or request.path in OPEN_PAGES
        or request.path.startswith(STATIC)
    ):
        return await handler(request)
    session = await session_of(request)
    if session is None:
        if request.method in SAFE:
            raise web.HTTPSeeOther("/console/login")
        return login_page(request, 401, "Su sesión terminó: ingrese de nuevo.")
    if request.method not in SAFE:
        form = None
        if request.headers.get(CSRF_HEADER) is None:
            form = await _form(request)
        if not same_token(csrf_given(request, form), session.csrf):
            return render("forbidden.html", status=403,
                          message="La solicitud no traía el código de la consola (CSRF): "
                          "no se hizo nada. Vuelva a cargar la página.")  # fmt: skip
    request[SESSION] = session
    return await handler(request)


def _static_files() -> dict[str, Path]:
    """Every file the console serves, by its name under ``static/`` (a fixed list: no
    name a request makes up reaches the file system)."""
    return {p.relative_to(STATIC_DIR).as_posix(): p for p in STATIC_DIR.rglob("*") if p.is_file()}


_STATIC = _static_files()


@routes.get("/console/static/{filename:.+}")
async def static_file(request: web.Request) -> web.FileResponse:
    """The console's scripts, styles and vendored libraries (no session needed: the
    sign-in form uses them too)."""
    path = _STATIC.get(request.match_info["filename"])
    if path is None:
        raise error("not_found", "La consola no tiene ese archivo.")
    response = web.FileResponse(path, headers={"Cache-Control": "no-cache"})
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def login_cookie(request: web.Request) -> str:
    return cookie_name(LOGIN_COOKIE, secure(request))


def login_page(request: web.Request, status: int, message: str, username: str = "") -> web.Response:
    """The sign-in form with a new token of its own, in its cookie and in the form."""
    token = secrets.token_urlsafe(32)
    response = render("login.html", status=status, message=message, username=username,
                      login_csrf=token)  # fmt: skip
    response.set_cookie(
        login_cookie(request), token, httponly=True, samesite="Strict", secure=secure(request),
        path="/", max_age=3600,
    )  # fmt: skip
    return response


@routes.get("/console/login")
async def login_form(request: web.Request) -> web.Response:
    return login_page(request, 200, "")


@routes.post("/console/login")
async def login(request: web.Request) -> web.Response:
    form = await _form(request)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))
    expected = request.cookies.get(login_cookie(request))
    if not expected or not same_token(str(form.get("csrf", "")), expected):
        return login_page(request, 403, "El formulario venció o no vino de esta consola: "
                          "ingrese de nuevo.", username)  # fmt: skip
    accounts = request.app[RUNTIME].accounts
    result = await request.app[BLOCKING](
        accounts.sign_in, username, password, address=_address(request),
        agent=request.headers.get("User-Agent", ""),
    )  # fmt: skip
    if isinstance(result, Refusal):
        if result.limited:
            minutes = max(1, math.ceil(result.retry_in / 60))
            response = login_page(request, 429, f"Demasiados intentos: espere {minutes} min y "
                                  "vuelva a intentar.", username)  # fmt: skip
            response.headers["Retry-After"] = str(max(1, math.ceil(result.retry_in)))
            return response
        return login_page(request, 401, "Usuario o contraseña incorrectos.", username)
    token, session = result
    previous = request.cookies.get(session_cookie(request))
    if previous:  # a shared computer: whoever was signed in there is signed out
        await request.app[BLOCKING](accounts.sign_out, previous)
    response = web.HTTPSeeOther("/console/")
    lifetime = (session.expires_at - session.created_at).total_seconds()
    response.set_cookie(
        session_cookie(request), token, httponly=True, samesite="Lax", secure=secure(request),
        path="/", max_age=int(lifetime),
    )  # fmt: skip
    response.del_cookie(login_cookie(request), path="/")
    raise response


@routes.post("/console/logout")
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(session_cookie(request), "")
    await request.app[BLOCKING](request.app[RUNTIME].accounts.sign_out, token)
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(session_cookie(request), path="/")
    raise response


@routes.get("/console")
async def home_slash(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/console/")
