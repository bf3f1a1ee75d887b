"""Sending an SMS through Twilio's REST API with the twilio client, and what to do with
each failure.

Synchronous on purpose: sends run in RQ jobs. The client's HTTP client is a
``TwilioHttpClient`` (requests) that sends what the client addresses to
``https://api.twilio.com`` to the configured API base URL instead: the fake Twilio's
``http://127.0.0.1:<port>`` in the tests and in ``make run`` (``edge``/``region`` cannot
point at loopback, CHANNELS.md B8). It retries nothing: the job decides, with
:func:`send_retry` (and :func:`channels.twilio.status.status_retry` for delivery
failures told later by the status callback).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout, RequestException
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from channels.twilio.errors import Permanent, Retryable, SendError, describe
from channels.twilio.status import MessageStatus

__all__ = [
    "PERMANENT_CODES",
    "TWILIO_API",
    "Sent",
    "SmsSender",
    "classify",
    "send_retry",
]

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
PERMANENT_CODES = frozenset({20003, 21211, 21606, 21610, 21612, 21614, 21617, 21635})
"""Codes named permanent by the issue and CHANNELS.md B6; any other 4xx is too."""
RATE_LIMITED = 20429

FIRST_DELAY_RATE_LIMITED = 2.0
FIRST_DELAY_SERVER = 30.0
FIRST_DELAY_CONNECTION = 10.0
MAX_DELAY = 900.0
MAX_SEND_RETRIES = 5


@dataclass(frozen=True, kw_only=True)
class Sent:
    """A message Twilio took: its ``sid`` (``SM`` + 32 hex), its status (``queued``
    when just sent; ``accepted`` through a Messaging Service), its segments, and the
    error code of a failed delivery."""

    sid: str
    status: MessageStatus
    num_segments: int
    error_code: int | None = None


class _BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """``TwilioHttpClient`` sending to ``base_url`` what it would send to
    ``https://api.twilio.com``."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base_url = base_url.rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API + "/"):
            url = self._base_url + url[len(TWILIO_API) :]
        return super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def classify(status: int, code: int | None) -> SendError:
    """The error for Twilio's answer with HTTP ``status`` and error ``code``: 429/20429
    and 5xx :class:`Retryable` (Twilio never processed the request), every other
    :class:`Permanent` (invalid or landline number, opted out, bad credentials...)."""
    if code is not None and code < 10000:  # the client's stand-in: the HTTP status
        code = None
    if status == 429 or code == RATE_LIMITED:
        return Retryable(code, describe(code, status), FIRST_DELAY_RATE_LIMITED)
    if status >= 500:
        return Retryable(code, describe(code, status), FIRST_DELAY_SERVER)
    return Permanent(code, describe(code, status))


def send_retry(error: SendError, attempts_so_far: int) -> float | None:
    """Seconds before sending again after ``error`` when ``attempts_so_far`` retries were
    already made: the error's ``after_seconds`` doubled each time, at most
    :data:`MAX_DELAY`, :data:`MAX_SEND_RETRIES` times; None for a permanent error."""
    if not isinstance(error, Retryable) or not 0 <= attempts_so_far < MAX_SEND_RETRIES:
        return None
    return float(min(error.after_seconds * 2**attempts_so_far, MAX_DELAY))


class SmsSender:
    """Sends SMS from one number of one Twilio account. ``api_base_url``: Twilio's API,
    or the fake's loopback URL. ``timeout``: seconds for each request."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_: str,
        api_base_url: str = TWILIO_API,
        timeout: float = 15.0,
    ) -> None:
        self.from_ = from_
        self._http = _BaseUrlHttpClient(api_base_url, timeout)
        # a non-empty environment: the client reads TWILIO_EDGE/TWILIO_REGION from
        # os.environ when given none, and would then address another host
        self._client = Client(
            account_sid,
            auth_token,
            http_client=self._http,
            environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
        )

    def send(self, to: str, body: str, status_callback: str | None = None) -> Sent:
        """Send ``body`` to ``to`` (E.164); Twilio posts its delivery statuses to
        ``status_callback`` (a public URL). Raises :class:`Retryable` or
        :class:`Permanent`, whose ``reason`` is for the incident log."""
        return self._call(
            lambda: self._client.messages.create(
                to=to, from_=self.from_, body=body, status_callback=status_callback
            ),
        )

    def fetch(self, sid: str) -> Sent:
        """The message ``sid`` as Twilio has it now (for a status callback that never
        came). Raises like :meth:`send`."""
        return self._call(lambda: self._client.messages(sid).fetch())

    def _call(self, call: Callable[[], Any]) -> Sent:
        try:
            message = call()
        except (TwilioRestException, TwilioServiceException) as exc:
            error = classify(int(exc.status), exc.code)
            logger.info("twilio refused a request: %s", error.reason)
            raise error from exc
        except ReadTimeout as exc:
            # the request went: Twilio may have taken it, and a new send may duplicate it
            reason = "Twilio no respondió a tiempo (el SMS pudo haber salido)"
            raise Retryable(None, reason, FIRST_DELAY_CONNECTION) from exc
        except RequestsConnectionError as exc:
            raise Retryable(None, "sin conexión con Twilio", FIRST_DELAY_CONNECTION) from exc
        except RequestException as exc:
            raise Retryable(None, "falla de red con Twilio", FIRST_DELAY_CONNECTION) from exc
        try:
            status = MessageStatus(message.status)
        except ValueError:  # a status newer than this code: taken, at least
            status = MessageStatus.QUEUED
        return Sent(
            sid=str(message.sid),
            status=status,
            num_segments=int(message.num_segments or 1),
            error_code=int(message.error_code) if message.error_code else None,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        if self._http.session is not None:
            self._http.session.close()

    def __enter__(self) -> "SmsSender":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
