"""The fake Twilio's control API: what a test, the demo's shell or another process uses to
play citizens, script numbers and read what the fake sent and received. Not Twilio's.

- ``POST /_fake/inbound`` ``{"from": "+51987654321", "body": "robo en ...", "to"?: ...,
  "media"?: [{"url": ..., "content_type": ...}]}``, or ``{"redeliver": "SM..."}``: the
  delivery's result (``message_sid``, ``http_status``, ``error``, ``replies``).
- ``GET /_fake/inbound``: every delivery so far.
- ``GET /_fake/outbox[?to=+51...]``: messages sent (MessageInstance JSON, with
  ``direction`` outbound-api or outbound-reply, and their current ``status``).
- ``GET /_fake/numbers/{number}``, ``POST`` with changes: a number's script
  (``opted_out``, ``landline``, ``unreachable``, ``throttle``, ``first``: outcomes of the
  next sends, ``then``, ``drop_callbacks``; an outcome is ``{"status": "undelivered",
  "error_code": 30003}``).
- ``GET /_fake/requests``: every request received; ``GET /_fake/callbacks``: every
  webhook posted but inbound SMS.
"""

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from channels.twilio.sim import FakeTwilio

__all__ = ["control_routes"]


def _bad(problem: object) -> web.Response:
    return web.json_response({"error": f"bad request: {problem}"}, status=400)


def control_routes(fake: "FakeTwilio") -> list[web.RouteDef]:
    """The control API's routes, on ``fake``."""

    async def inbound(request: web.Request) -> web.Response:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("a JSON object")
            if "redeliver" in data:
                result = await fake.redeliver(str(data["redeliver"]))
            else:
                from_, body, to = data["from"], data["body"], data.get("to")
                if not isinstance(from_, str) or not isinstance(body, str):
                    raise ValueError("from and body are strings")
                if to is not None and not isinstance(to, str):
                    raise ValueError("to is a string")
                media = [(str(m["url"]), str(m["content_type"])) for m in data.get("media", [])]
                result = await fake.send_inbound(from_, body, media=media, to=to)
        except (ValueError, KeyError, TypeError) as exc:
            return _bad(exc)
        except RuntimeError as exc:  # no webhook URL configured
            return web.json_response({"error": str(exc)}, status=409)
        return web.json_response(result.to_json())

    async def inbound_list(request: web.Request) -> web.Response:
        return web.json_response({"inbound": [r.to_json() for r in fake.inbound]})

    async def outbox(request: web.Request) -> web.Response:
        to = request.query.get("to")
        messages = [m.resource() for m in fake.outbox if to is None or m.to == to]
        return web.json_response({"messages": messages})

    async def number(request: web.Request) -> web.Response:
        script = fake.number(request.match_info["number"])
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("a JSON object")
                script.update(changes)
            except ValueError as exc:
                return _bad(exc)
        return web.json_response(script.to_json())

    async def requests(request: web.Request) -> web.Response:
        return web.json_response({"requests": [vars(r) for r in fake.requests]})

    async def callbacks(request: web.Request) -> web.Response:
        return web.json_response({"callbacks": [vars(c) for c in fake.callbacks]})

    return [
        web.post("/_fake/inbound", inbound),
        web.get("/_fake/inbound", inbound_list),
        web.get("/_fake/outbox", outbox),
        web.get("/_fake/numbers/{number}", number),
        web.post("/_fake/numbers/{number}", number),
        web.get("/_fake/requests", requests),
        web.get("/_fake/callbacks", callbacks),
    ]
