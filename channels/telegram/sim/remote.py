"""A synchronous client of the fake's control API, for a command in another process
(``voicebridge fake-telegram say 51987654321 "/start"``)."""

import json
import urllib.error
import urllib.request
from typing import Any, cast


class RemoteError(Exception):
    """The control API refused (``status``, its ``error`` text) or was unreachable."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"{status or 'no answer'}: {message}")
        self.status = status
        self.message = message


class FakeTelegramRemote:
    """The control API of a fake at ``url`` (``http://127.0.0.1:8081``)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http URL: {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def act(self, chat_id: int, action: str, **fields: Any) -> dict[str, Any]:
        """A citizen's action (``says``, ``presses``, ``location``...: see
        :mod:`channels.telegram.sim.control`); the delivery's JSON."""
        return cast(dict[str, Any], self._call("POST", f"/_fake/chats/{chat_id}/{action}", fields))

    def chat(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("POST", f"/_fake/chats/{chat_id}", fields))

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", f"/_fake/chats/{chat_id}/sent"))

    def overview(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", "/_fake"))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = str(json.loads(exc.read()).get("error"))
            except ValueError:
                message = exc.reason
            raise RemoteError(exc.code, message) from exc
        except OSError as exc:
            raise RemoteError(None, str(exc)) from exc
