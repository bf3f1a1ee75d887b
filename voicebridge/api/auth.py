"""Who is calling: ``Authorization: Bearer vb_...`` API keys, checked on every ``/api/``
request (reads too: incidents carry citizens' names and phone numbers)."""

from aiohttp import web

from voicebridge.api.errors import ApiError, Handler
from voicebridge.apikeys import ApiKeys, Identity, Role
from voicebridge.web import BLOCKING, REVOCATION_WATCH, RUNTIME

IDENTITY = web.RequestKey("identity", Identity)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="voicebridge"'}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=CHALLENGE)


async def identify(request: web.Request) -> Identity:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("an API key is required: Authorization: Bearer <key>")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("use Authorization: Bearer <key>")
    keys: ApiKeys = request.app[RUNTIME].apikeys
    token = token.strip()
    # a key revoked by any process is refused from the next request on: the cache holds
    # only while the revocation counter is what it was when the key was looked up
    epoch = keys.current(await request.app[REVOCATION_WATCH].epoch())
    hit, found = keys.cached(token)
    if not hit:
        found = await request.app[BLOCKING](keys.verify, token, epoch)
    if found is None:
        raise _unauthorized("unknown or revoked API key")
    return found


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        request[IDENTITY] = await identify(request)
    return await handler(request)


def require(request: web.Request, role: Role) -> Identity:
    identity: Identity = request[IDENTITY]
    if not identity.may(role):
        raise ApiError(
            403, "forbidden", f"this needs the {role.value} role; the key is {identity.role.value}"
        )
    return identity


def require_district(identity: Identity, district: str | None) -> None:
    if not identity.sees_district(district):
        raise ApiError(
            403,
            "district_forbidden",
            f"this key belongs to the central of district {identity.district}",
        )
