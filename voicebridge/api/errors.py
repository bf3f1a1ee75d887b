"""Errors at the HTTP edge: every error answers JSON with a stable code.

``{"error": {"code": "validation_failed", "message": "...", "fields": [{"field":
"location.lat", "message": "..."}]}}``
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from routing.errors import Conflict, IllegalTransition, InvalidValue, NotFound, RoutingError
from voicebridge.errors import VoicebridgeError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(VoicebridgeError):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = [{"field": f, "message": m} for f, m in self.fields]
        return web.json_response({"error": body}, status=self.status, headers=self.headers)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_failed", f"{field}: {message}", fields=[(field, message)])


_AIOHTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def from_domain(exc: RoutingError) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, exc.code, str(exc))
    if isinstance(exc, IllegalTransition | Conflict):
        return ApiError(409, exc.code, str(exc))
    if isinstance(exc, InvalidValue):
        return invalid(exc.field, exc.message)
    return ApiError(400, exc.code, str(exc))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except RoutingError as exc:
        return from_domain(exc).response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
        code = _AIOHTTP_CODES.get(exc.status, "http_error")
        return ApiError(exc.status, code, exc.text or exc.reason, headers=headers).response()
    except Exception:
        log.exception("unhandled error answering %s %s", request.method, request.path)
        return ApiError(500, "internal_error", "internal error; it has been logged").response()
