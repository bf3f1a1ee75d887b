"""Who is calling: ``Authorization: Bearer vb_...`` API keys, checked on every ``/api/``
request (reads too: incidents carry citizens' names and phone numbers), or the session
of a person signed in to the console (its cookie; on a state-changing request, the
session's CSRF token in ``X-CSRF-Token`` too)."""

from aiohttp import web

from routing.districts import district_by_code
from voicebridge.accounts import COOKIE, CSRF_HEADER, cookie_name, same_token
from voicebridge.api.errors import ApiError, Handler, error
from voicebridge.api.openapi import PATH as OPENAPI_PATH
from voicebridge.apikeys import ApiKeys, Identity, Role
from voicebridge.web import BLOCKING, REVOCATION_WATCH, RUNTIME

IDENTITY = web.RequestKey("identity", Identity)
PUBLIC = frozenset({OPENAPI_PATH})  # the API's description: no key needed
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="voicebridge"'}
ROLE_LABELS = {
    Role.OPERATOR: "operador",
    Role.SUPERVISOR: "supervisor",
    Role.ADMIN: "administrador",
}


def _unauthorized(message: str) -> ApiError:
    return error("unauthorized", message, headers=CHALLENGE)


SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


async def identify(request: web.Request) -> Identity:
    given = request.headers.getall("Authorization", [])
    if not given and request.cookies.get(session_cookie(request)):
        return await session_identity(request)
    if len(given) > 1:  # which key would it be? neither
        raise _unauthorized("Envíe una sola cabecera Authorization, con una sola clave.")
    header = given[0] if given else ""
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("Se requiere una clave de API: Authorization: Bearer <clave>.")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Envíe la clave así: Authorization: Bearer <clave>.")
    keys: ApiKeys = request.app[RUNTIME].apikeys
    token = token.strip()
    # a key revoked by any process is refused from the next request on: the cache holds
    # only while the revocation counter is what it was when the key was looked up
    epoch = keys.current(await request.app[REVOCATION_WATCH].epoch())
    hit, found = keys.cached(token)
    if not hit:
        found = await request.app[BLOCKING](keys.verify, token, epoch)
    if found is None:
        raise _unauthorized("La clave de API es desconocida o fue revocada.")
    return found


def secure(request: web.Request) -> bool:
    """Whether people reach the service over https (its public URL says)."""
    return bool(request.app[RUNTIME].settings.public_url.startswith("https://"))


def session_cookie(request: web.Request) -> str:
    return cookie_name(COOKIE, secure(request))


async def session_identity(request: web.Request) -> Identity:
    """The person of the console's session cookie; a state-changing request must carry
    the session's CSRF token (a page of another site cannot read it)."""
    accounts = request.app[RUNTIME].accounts
    token = request.cookies.get(session_cookie(request), "")
    session = await request.app[BLOCKING](accounts.session, token)
    if session is None:
        raise _unauthorized("La sesión de la consola terminó: ingrese de nuevo.")
    if request.method not in SAFE and not same_token(
        request.headers.get(CSRF_HEADER), session.csrf
    ):
        raise error("csrf_failed")
    return session.user.identity()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/") and request.path not in PUBLIC:
        request[IDENTITY] = await identify(request)
    return await handler(request)


def require(request: web.Request, role: Role) -> Identity:
    identity: Identity = request[IDENTITY]
    if not identity.may(role):
        raise error(
            "forbidden",
            f"Esta operación requiere el rol {ROLE_LABELS[role]}; la clave tiene el rol "
            f"{ROLE_LABELS[identity.role]}.",
        )
    return identity


def central_name(identity: Identity) -> str:
    """The district of a key's central, for people: ``San Juan de Lurigancho (150132)``."""
    if identity.district is None:
        return "todo Lima Metropolitana"
    return f"{district_by_code(identity.district).name} ({identity.district})"


def require_district(identity: Identity, district: str | None) -> None:
    if not identity.sees_district(district):
        raise error(
            "district_forbidden",
            f"Esta clave pertenece a la central de {central_name(identity)}.",
        )
