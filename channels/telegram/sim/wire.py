"""The Bot API's wire format as the fake speaks it: parameters in, envelopes out.

Parameters come from the query string, a JSON body, a urlencoded form or a multipart
form (PTB sends forms with every non-string value JSON-encoded: ``reply_markup`` is a
JSON string inside the form, ``telegram/request/_requestdata.py``); object-valued fields
are decoded, numbers and booleans read from their text. Answers are Telegram's envelopes
(CHANNELS.md A7): ``{"ok": true, "result": ...}`` and ``{"ok": false, "error_code": N,
"description": "...", "parameters": {"retry_after": S}}``. Pure: no I/O.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

# fields whose value is a JSON object or array (a string of JSON inside a form)
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "media",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)
_INTEGER = re.compile(r"-?\d+")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


class ApiError(Exception):
    """A Bot API error answer: ``code`` is both the HTTP status and ``error_code``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def too_many_requests(retry_after: int) -> ApiError:
    """Telegram's 429 (courier's recording, CHANNELS.md A7)."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


def forbidden(what: str) -> ApiError:
    return ApiError(403, f"Forbidden: {what}")


def ok(result: object, description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description is not None:
        body["description"] = description
    return body


class Params:
    """A call's parameters, read the way the Bot API reads them. ``files`` holds the
    uploaded parts of a multipart form."""

    def __init__(self, values: Mapping[str, object], files: Mapping[str, bytes]) -> None:
        self.values = decode(values)
        self.files = dict(files)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def chat_id(self) -> int:
        value = self.values.get("chat_id")
        if value in (None, ""):
            raise bad_request("chat_id is empty")
        number = _integer(value)
        if number is None:  # "@channelusername": the fake knows no public usernames
            raise bad_request("chat not found")
        return number

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        number = _integer(value)
        if number is None:
            raise bad_request(f"invalid {name} specified")
        return number

    def number(self, name: str) -> float:
        value = self.values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise bad_request(f"wrong {name}" if value not in (None, "") else f"{name} is empty")

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        return False

    def object(self, name: str) -> Any:
        """A decoded JSON field (``reply_markup``, ``allowed_updates``), or None."""
        return self.values.get(name)


def decode(values: Mapping[str, object]) -> dict[str, object]:
    """JSON-decode the object-valued fields given as text."""
    out = dict(values)
    for name in JSON_FIELDS & out.keys():
        value = out[name]
        if isinstance(value, str):
            try:
                out[name] = json.loads(value) if value else None
            except ValueError:
                if name == "reply_markup":
                    raise bad_request("can't parse reply keyboard markup JSON object") from None
                raise bad_request(f"can't parse {name} JSON object") from None
    return out


def _integer(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return None


def not_found() -> ApiError:
    """An unknown method, or a malformed token: Telegram answers 404 ``Not Found``."""
    return ApiError(404, "Not Found")


def unauthorized() -> ApiError:
    """A well-formed token Telegram does not know: 401 ``Unauthorized``."""
    return ApiError(401, "Unauthorized")
