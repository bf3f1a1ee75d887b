"""Errors at the HTTP edge: every error answers JSON with a stable code.

``{"error": {"code": "validation_failed", "message": "...", "fields": [{"field":
"location.lat", "message": "..."}]}}``

``code`` is stable English snake_case, for machines; ``message`` and each field's
``message`` are Spanish, for people. Every code the API can answer is in :data:`CODES`,
with its status and what it means: the OpenAPI document lists them, and an error with a
code missing there cannot be built.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from routing.errors import Conflict, IllegalTransition, InvalidValue, NotFound, RoutingError
from voicebridge.errors import VoicebridgeError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_URL_BYTES = 8 * 1024  # the request target: path and query string
MAX_HEADER_BYTES = 8 * 1024  # any one header's value
# aiohttp's own parser refuses a longer request line or header with a plain-text 400
# before any middleware runs; it is given room past our limits so that the limits
# above answer in JSON (see make_app's handler_args)
PARSER_LIMIT_BYTES = 64 * 1024


class UnparsedRequests(logging.Filter):
    """What aiohttp's parser refuses (a request line or header past
    :data:`PARSER_LIMIT_BYTES`, a NUL in a header, garbage that is not HTTP) it answers
    with a plain-text 400 and logs on ``aiohttp.server`` at ERROR with a traceback. That
    is the client's mistake, not a fault of the service: one WARNING line on this
    module's logger instead, without the traceback, saying what was refused."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BadHttpMessage):
            log.warning("request refused by the HTTP parser (400): %s", exc.message)
            return False  # told above, without the traceback
        return True


def quiet_unparsed_requests() -> None:
    """Install :class:`UnparsedRequests` on aiohttp's server logger, once."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, UnparsedRequests) for f in server_log.filters):
        server_log.addFilter(UnparsedRequests())


@dataclass(frozen=True, slots=True)
class ErrorCode:
    status: int
    meaning: str  # Spanish: what the code means (the OpenAPI document's description)


CODES: dict[str, ErrorCode] = {
    "invalid_json": ErrorCode(400, "El cuerpo no es JSON válido."),
    "invalid_form": ErrorCode(
        400, "El cuerpo no es un formulario application/x-www-form-urlencoded válido."
    ),
    "unauthorized": ErrorCode(
        401,
        "Falta la clave de API, o es desconocida o fue revocada (Authorization: Bearer), o "
        "la sesión de la consola terminó.",
    ),
    "forbidden": ErrorCode(403, "La clave no tiene el rol que esta operación requiere."),
    "csrf_failed": ErrorCode(
        403,
        "La solicitud de la consola no trae el código de su sesión (X-CSRF-Token): no se "
        "hizo nada.",
    ),
    "district_forbidden": ErrorCode(
        403, "La clave pertenece a la central de otro distrito: no ve ni escribe en este."
    ),
    "invalid_signature": ErrorCode(
        403,
        "La firma del webhook (X-Twilio-Signature) o su secreto "
        "(X-Telegram-Bot-Api-Secret-Token) falta o no es válido: no se guardó nada.",
    ),
    "channel_not_configured": ErrorCode(
        404, "Ese canal (SMS, Telegram) no está configurado en este servicio."
    ),
    "not_found": ErrorCode(404, "No existe lo que se pidió (incidente, ruta, tramo, revisión)."),
    "method_not_allowed": ErrorCode(405, "Esta ruta no admite ese método HTTP."),
    "conflict": ErrorCode(409, "La operación contradice el estado actual del incidente."),
    "illegal_transition": ErrorCode(
        409, "El ciclo de vida del incidente no permite ese cambio de estado."
    ),
    "payload_too_large": ErrorCode(
        413, "El cuerpo supera el tamaño máximo (VOICEBRIDGE_MAX_BODY_BYTES)."
    ),
    "photo_too_large": ErrorCode(
        413,
        "La foto del reporte supera el tamaño máximo que el servicio descarga de Telegram "
        "(VOICEBRIDGE_PHOTO_MAX_BYTES).",
    ),
    "uri_too_long": ErrorCode(414, "La dirección pedida (ruta y parámetros) supera los 8 KiB."),
    "unsupported_media_type": ErrorCode(415, "El cuerpo debe enviarse como application/json."),
    "validation_failed": ErrorCode(
        422, "Uno o más campos no son válidos; «fields» nombra cada uno con su motivo."
    ),
    "idempotency_key_reused": ErrorCode(
        422,
        "La cabecera «Idempotency-Key» ya se usó con otro cuerpo: un pedido distinto lleva "
        "una clave nueva.",
    ),
    "json_too_deep": ErrorCode(422, "El JSON del cuerpo tiene más de 32 niveles de anidamiento."),
    "number_too_long": ErrorCode(422, "El JSON del cuerpo tiene un número de más de 50 cifras."),
    "invalid_routing": ErrorCode(
        422, "El archivo de reglas tiene problemas; las reglas vigentes no cambiaron."
    ),
    "invalid_dialplan": ErrorCode(
        422,
        "La plantilla propuesta tiene problemas (cada uno con su plantilla y línea en "
        "«fields»); no se guardó nada.",
    ),
    "dialplan_conflict": ErrorCode(
        409,
        "Otra persona guardó la plantilla desde la revisión en que se basó la propuesta; "
        "«diff» muestra qué cambió. No se guardó nada.",
    ),
    "dialplan_busy": ErrorCode(
        409,
        "Hay otro envío de planes de marcación a Asterisk en curso; reintente en un momento.",
    ),
    "asterisk_not_configured": ErrorCode(
        404, "Este servicio no tiene un Asterisk configurado (VOICEBRIDGE_AMI_URL)."
    ),
    "asterisk_unavailable": ErrorCode(
        503, "Asterisk no responde o rechazó la orden: no cambió nada en vigor."
    ),
    "headers_too_large": ErrorCode(431, "Una cabecera de la solicitud supera los 8 KiB."),
    "internal_error": ErrorCode(500, "Error interno del servicio; quedó registrado."),
    "log_unavailable": ErrorCode(
        503,
        "La consola aún no puede leer el registro de incidentes (la base de datos no "
        "responde): reintente en unos segundos.",
    ),
    "photo_unavailable": ErrorCode(
        502,
        "Telegram no entregó la foto del reporte: no respondió, falló o ya no la tiene.",
    ),
}


class ApiError(VoicebridgeError):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if code not in CODES:
            raise ValueError(f"error code {code!r} is not in voicebridge.api.errors.CODES")
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = [{"field": f, "message": m} for f, m in self.fields]
        return {"error": error | self.extra}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def error(code: str, message: str | None = None, **kwargs: Any) -> ApiError:
    """The error ``code`` with its registered status; ``message`` defaults to what the
    code means."""
    known = CODES[code]
    return ApiError(known.status, code, message or known.meaning, **kwargs)


def invalid_fields(fields: Sequence[tuple[str, str]]) -> ApiError:
    """One 422 naming every bad field, each with its Spanish reason."""
    if len(fields) == 1:
        field, reason = fields[0]
        summary = f"El campo «{field}» no es válido: {reason}."
    else:
        names = ", ".join(f"«{f}»" for f in dict.fromkeys(f for f, _ in fields))
        summary = f"Hay {len(fields)} problemas en los campos {names}."
    return error("validation_failed", summary, fields=list(fields))


def invalid(field: str, message: str) -> ApiError:
    return invalid_fields([(field, message)])


class Problems:
    """Collects every bad field of a request before answering, so one 422 names them
    all; :meth:`check` answers it if any was found."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.fields.append((field, message))

    def take(self, exc: ApiError) -> None:
        """The fields of a 422 raised by a helper; any other error goes on up."""
        if exc.code != "validation_failed" or not exc.fields:
            raise exc
        self.fields.extend(exc.fields)

    def check(self) -> None:
        if self.fields:
            raise invalid_fields(self.fields)


_AIOHTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    431: "headers_too_large",
}


def from_domain(exc: RoutingError) -> ApiError:
    if isinstance(exc, NotFound):
        return error("not_found", str(exc))
    if isinstance(exc, IllegalTransition):
        return error("illegal_transition", str(exc))
    if isinstance(exc, Conflict):
        return error("conflict", str(exc))
    if isinstance(exc, InvalidValue):
        return invalid(exc.field, exc.message)
    log.error("a domain error with no HTTP mapping: %s: %s", type(exc).__name__, exc)
    return error("internal_error")


def _oversize(request: web.Request) -> ApiError | None:
    if len(request.raw_path) > MAX_URL_BYTES:
        return error(
            "uri_too_long",
            "La dirección pedida (ruta y parámetros) supera los 8 KiB: "
            "envíe menos filtros o use el cursor.",
        )
    for name, value in request.raw_headers:
        if len(name) + len(value) > MAX_HEADER_BYTES:
            return error(
                "headers_too_large",
                f"La cabecera {name.decode('latin-1')[:40]} supera los 8 KiB.",
            )
    return None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if (too_big := _oversize(request)) is not None:
            raise too_big
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except RoutingError as exc:
        return from_domain(exc).response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
        code = _AIOHTTP_CODES.get(exc.status)
        if code is None:
            log.error("aiohttp answered %s %s with no error code", exc.status, exc.reason)
            return error("internal_error").response()
        return error(code, headers=headers).response()
    except Exception:
        log.exception("unhandled error answering %s %s", request.method, request.path)
        return error("internal_error").response()
