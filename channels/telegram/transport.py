"""PTB's HTTP transport, wrapped so that Telegram's 429 reaches the channel without
PTB's ``RetryAfter``.

Why: in PTB 22.2+ ``RetryAfter.__init__`` itself reads the deprecated ``retry_after``
attribute (``telegram/error.py`` 22.8, L235), so every 429 emits a
``PTBDeprecationWarning`` inside PTB, before any caller can choose how to read it,
unless the process environment sets ``PTB_TIMEDELTA=1`` (CHANNELS.md A6). Under pytest's
``filterwarnings = error`` that warning is an exception; in production a warning per
429. Rather than change the environment or silence warnings (``warnings.catch_warnings``
is process-global and unsafe across concurrent tasks), :class:`FloodAwareRequest` reads
the error answer at PTB's documented transport seam (``BaseRequest.do_request``) and
raises :class:`FloodWait`, a ``TelegramError`` (which PTB re-raises unchanged,
``telegram/request/_baserequest.py`` ``_request_wrapper``), with the same
``parameters.retry_after`` PTB would have read. Everything else passes through.
"""

import json
from typing import Any

from telegram.error import TelegramError
from telegram.request import BaseRequest, HTTPXRequest, RequestData


class FloodWait(TelegramError):
    """Telegram's "Too Many Requests": wait ``seconds`` before calling again."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float, description: str) -> None:
        super().__init__(description)
        self.seconds = seconds

    def __reduce__(self) -> tuple[type, tuple[float, str]]:  # type: ignore[override]
        return self.__class__, (self.seconds, self.message)


def flood_wait_in(code: int, payload: bytes) -> FloodWait | None:
    """The 429 an error answer carries (``parameters.retry_after``, whatever the status,
    as PTB reads it), or None. A ``migrate_to_chat_id`` answer is left to PTB (it checks
    that first)."""
    if 200 <= code <= 299:
        return None
    try:
        body = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    parameters = body.get("parameters")
    if not isinstance(parameters, dict) or parameters.get("migrate_to_chat_id"):
        return None
    retry_after = parameters.get("retry_after")
    if isinstance(retry_after, bool) or not isinstance(retry_after, int | float) or not retry_after:
        return None
    description = body.get("description")
    return FloodWait(
        float(retry_after),
        description
        if isinstance(description, str)
        else f"Too Many Requests: retry after {retry_after}",
    )


class FloodAwareRequest(BaseRequest):
    """A PTB transport (PTB's httpx one by default) whose 429 answers raise
    :class:`FloodWait`. Hand it to ``Bot(request=...)`` or
    ``ApplicationBuilder().request(...)``."""

    def __init__(self, inner: BaseRequest | None = None) -> None:
        self._inner = inner if inner is not None else HTTPXRequest()

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await self._inner.do_request(
            url,
            method,
            request_data=request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        flood = flood_wait_in(code, payload)
        if flood is not None:
            raise flood
        return code, payload
