"""``GET /api/v1/incidents/{incident_id}/reports/{report_id}/photo``: the photo a citizen
sent by Telegram with a report, for the operators of the incident's district.

voicebridge keeps a photo as Telegram's file id (the report's ``payload.photo``), never
its bytes: it is fetched from the Bot API when an operator asks, at most
``VOICEBRIDGE_PHOTO_MAX_BYTES`` (refused before downloading when Telegram declares a
larger size, cut off past the cap otherwise: 413 ``photo_too_large``). When Telegram
cannot be reached, fails, or no longer gives the file, the answer is 502
``photo_unavailable``; the reason goes to the log.
"""

import logging

from aiohttp import web
from sqlalchemy import select

from channels.telegram.errors import FileTooLarge, Permanent, Retryable
from channels.telegram.outbound import TelegramSender
from routing import schema as t
from routing.db import Database
from voicebridge.api.auth import require, require_district
from voicebridge.api.errors import error
from voicebridge.api.schemas import incident_id_of, report_id_of
from voicebridge.apikeys import Role
from voicebridge.messaging import bot_api
from voicebridge.web import BLOCKING, RUNTIME

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

PATH = "/api/v1/incidents/{incident_id}/reports/{report_id}/photo"
CONTENT_TYPE = "image/jpeg"  # Telegram sends every photo re-encoded as JPEG


@routes.get(PATH)
async def report_photo(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = incident_id_of(request)
    report_id = report_id_of(request)
    runtime = request.app[RUNTIME]
    blocking = request.app[BLOCKING]
    incident = await blocking(runtime.store.get, incident_id)
    require_district(identity, incident.district)
    found, file_id = await blocking(photo_of, runtime.db, incident_id, report_id)
    if not found:
        raise error("not_found", f"El incidente {incident_id} no tiene el reporte {report_id}.")
    if file_id is None:
        raise error(
            "not_found",
            f"El reporte {report_id} del incidente {incident_id} no trae una foto de Telegram.",
        )
    settings = runtime.settings
    if not settings.telegram_token:
        raise error(
            "channel_not_configured",
            "El canal Telegram no está configurado aquí: no se puede obtener la foto.",
        )
    try:
        async with TelegramSender(
            settings.telegram_token, bot_api(settings.telegram_api_url), check_token=False
        ) as sender:
            data = await sender.get_file(file_id, settings.photo_max_bytes)
    except FileTooLarge as exc:
        size = f"pesa {exc.size} bytes, más que" if exc.size is not None else "supera"
        raise error(
            "photo_too_large",
            f"La foto {size} el máximo de {exc.limit} bytes que este servicio descarga "
            "(VOICEBRIDGE_PHOTO_MAX_BYTES).",
        ) from None
    except Retryable as exc:
        log.warning("%s report %d: photo not fetched: %s", incident_id, report_id, exc.reason)
        headers = {}
        if exc.after_seconds is not None:
            headers["Retry-After"] = str(max(1, round(exc.after_seconds)))
        raise error(
            "photo_unavailable",
            "Telegram no responde ahora y no entregó la foto. Intente de nuevo en unos minutos.",
            headers=headers,
        ) from None
    except Permanent as exc:
        log.warning("%s report %d: photo refused: %s", incident_id, report_id, exc.reason)
        raise error(
            "photo_unavailable",
            "Telegram no entregó la foto de este reporte: la rechazó o ya no la tiene.",
        ) from None
    except Exception:  # an answer nobody foresaw: still not a bare 500
        log.exception("%s report %d: fetching the photo failed", incident_id, report_id)
        raise error(
            "photo_unavailable", "No se pudo obtener la foto de Telegram; quedó registrado."
        ) from None
    return web.Response(
        body=data, content_type=CONTENT_TYPE, headers={"Cache-Control": "private, no-store"}
    )


def photo_of(db: Database, incident_id: str, report_id: int) -> tuple[bool, str | None]:
    """Whether the incident has the report, and the Telegram file id of its photo."""
    r, i = t.reports.c, t.incidents.c
    with db.read() as conn:
        payload = conn.execute(
            select(r.payload)
            .join(t.incidents, i.id == r.incident_id)
            .where(i.public_id == incident_id, r.id == report_id)
        ).first()
    if payload is None:
        return False, None
    photo = (payload[0] or {}).get("photo")
    return True, photo if isinstance(photo, str) and photo else None
