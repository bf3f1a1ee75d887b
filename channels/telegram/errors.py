"""The Telegram channel's errors, and what a failed Bot API call means for the sender.

Every error of :mod:`channels.telegram` derives from :class:`TelegramChannelError` and
carries a stable ``code``. A failed call is classified by :func:`classify` into one of
two outcomes the send jobs act on (issue 9, point 4):

- :class:`Retryable`: try again, after ``after_seconds`` when Telegram said how long
  (429 ``retry_after``), else after the job's own backoff (5xx, network, timeouts);
- :class:`Permanent`: never retry; ``blocked`` tells that the chat cannot be reached any
  more (403: the citizen blocked the bot, deleted the account, never started it; the bot
  left the group), which marks the citizen unreachable.

``reason`` is Spanish: it goes to the incident's log as it is.

PTB's exception classes, and the response that raises each, are in
``telegram/request/_baserequest.py`` (22.8): ``parameters.retry_after`` gives
``RetryAfter`` whatever the status; 403 ``Forbidden``; 400 ``BadRequest``; 401/404
``InvalidToken``; 409 ``Conflict``; any other status (5xx) ``NetworkError``. ``BadRequest``
and ``TimedOut`` are subclasses of ``NetworkError``: the order of the checks matters.
"""

import datetime as dtm
import warnings

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from channels.telegram.transport import FloodWait


class TelegramChannelError(Exception):
    """Base class of the Telegram channel's errors."""

    code = "telegram_error"


class BadUpdate(TelegramChannelError):
    """An update that cannot be read: not a JSON object, no ``update_id``, a field PTB
    needs missing or of the wrong type. ``field`` is its dotted path in the update
    (``message.chat.id``); ``message_es`` says what is wrong, in Spanish."""

    code = "bad_update"

    def __init__(self, field: str, message_es: str) -> None:
        super().__init__(f"{field}: {message_es}")
        self.field = field
        self.message_es = message_es


class BadKeyboard(TelegramChannelError, ValueError):
    """A keyboard Telegram would refuse (``callback_data`` over 64 bytes, no label...),
    caught before sending. ``message_es`` is Spanish."""

    code = "bad_keyboard"

    def __init__(self, message_es: str) -> None:
        super().__init__(message_es)
        self.message_es = message_es


class SendFailed(TelegramChannelError):
    """A Bot API call that did not do what was asked. ``reason`` is Spanish."""

    code = "send_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Retryable(SendFailed):
    """Try again: after ``after_seconds`` when Telegram named the wait (429), else
    (``None``) after the caller's own backoff (see :func:`retry_delay`)."""

    code = "retryable"

    def __init__(self, reason: str, *, after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.after_seconds = after_seconds


class Permanent(SendFailed):
    """Do not try again. ``blocked``: the chat cannot be reached by this bot any more
    (mark the citizen unreachable). ``new_chat_id``: a group became a supergroup; send
    there instead."""

    code = "permanent"

    def __init__(
        self, reason: str, *, blocked: bool = False, new_chat_id: int | None = None
    ) -> None:
        super().__init__(reason)
        self.blocked = blocked
        self.new_chat_id = new_chat_id


class FileTooLarge(Permanent):
    """A file above the caller's cap: refused before download when Telegram declared its
    size (``size``), or cut off once the download passed the cap (``size`` is None)."""

    code = "file_too_large"

    def __init__(self, *, limit: int, size: int | None) -> None:
        if size is None:
            reason = f"el archivo supera el máximo de {limit} bytes; descarga interrumpida"
        else:
            reason = f"el archivo pesa {size} bytes, más que el máximo de {limit} bytes"
        super().__init__(reason)
        self.limit = limit
        self.size = size


# 403 descriptions Telegram answers (courier's recordings, tg-mock's catalogue), in Spanish
_FORBIDDEN = (
    ("bot was blocked by the user", "el ciudadano bloqueó el bot"),
    ("user is deactivated", "la cuenta de Telegram del destinatario está desactivada"),
    ("bot can't initiate conversation", "el destinatario nunca inició una conversación con el bot"),
    ("bot was kicked", "el bot fue expulsado del grupo"),
    ("bot is not a member", "el bot no es miembro del chat"),
    ("bots can't send messages to bots", "Telegram no deja a un bot escribir a otro bot"),
)
_BAD_REQUEST = (
    ("chat not found", "el chat no existe para este bot"),
    ("message is too long", "el mensaje supera los 4096 caracteres de Telegram"),
    ("message text is empty", "el mensaje está vacío"),
    ("message to edit not found", "el mensaje a editar no existe"),
    ("message is not modified", "el mensaje ya tenía ese contenido"),
    ("query is too old", "la pulsación del botón ya expiró"),
    ("button_data_invalid", "los datos de un botón superan los 64 bytes"),
    ("file is too big", "el archivo supera los 20 MB que Telegram deja descargar a un bot"),
    ("invalid file_id", "el identificador del archivo no es válido"),
)


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait of a PTB ``RetryAfter`` raised by a transport other than
    :class:`~channels.telegram.transport.FloodAwareRequest` (which raises
    :class:`~channels.telegram.transport.FloodWait` instead: see there why).

    PTB 22.2+ answers ``RetryAfter.retry_after`` with an int and a
    ``PTBDeprecationWarning`` unless the environment sets ``PTB_TIMEDELTA=1``, then a
    ``timedelta`` (``telegram/_utils/datetime.py``, ``get_timedelta_value``). This reads
    it under both settings, silencing only that category for this one synchronous read.
    (PTB's constructor has already warned once, unless ``PTB_TIMEDELTA=1``.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def classify(error: BaseException, *, secret: str | None = None) -> Retryable | Permanent:
    """What ``error``, raised by a PTB ``Bot`` call, means for the sender. ``secret`` (the
    bot token) is blanked out of the reason if Telegram's text carried it."""
    if isinstance(error, Retryable | Permanent):
        return error
    if isinstance(error, FloodWait | RetryAfter):
        after = error.seconds if isinstance(error, FloodWait) else retry_after_seconds(error)
        return Retryable(
            f"Telegram limitó los envíos (429): reintentar en {after:g} s", after_seconds=after
        )
    description = _scrub(error.message if isinstance(error, TelegramError) else str(error), secret)
    if isinstance(error, Forbidden):
        return Permanent(_matching(_FORBIDDEN, description, "403"), blocked=True)
    if isinstance(error, BadRequest):
        return Permanent(_matching(_BAD_REQUEST, description, "400"))
    if isinstance(error, ChatMigrated):
        return Permanent(
            f"el grupo pasó a ser el supergrupo {error.new_chat_id}",
            new_chat_id=error.new_chat_id,
        )
    if isinstance(error, TimedOut):
        return Retryable("Telegram no respondió a tiempo")
    if isinstance(error, NetworkError):
        return Retryable(f"sin conexión con Telegram o error del servidor: {description}")
    if isinstance(error, InvalidToken):
        return Permanent("Telegram rechazó el token del bot (401/404)")
    if isinstance(error, Conflict):
        return Permanent(f"conflicto con otro cliente del bot (409): {description}")
    if isinstance(error, TelegramError):
        return Permanent(f"Telegram rechazó la solicitud: {description}")
    if isinstance(error, OSError | TimeoutError):
        return Retryable(f"sin conexión con Telegram: {type(error).__name__}")
    return Permanent(f"error inesperado al llamar a Telegram: {type(error).__name__}")


def _matching(table: tuple[tuple[str, str], ...], description: str, status: str) -> str:
    lowered = description.lower()
    for needle, reason in table:
        if needle in lowered:
            return reason
    return f"Telegram rechazó la solicitud ({status}): {description}"


def retry_delay(error: Retryable, attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Seconds before attempt ``attempt + 1`` (``attempt`` counts from 1): what Telegram
    asked for, else ``base * 2**(attempt-1)`` up to ``cap``."""
    if error.after_seconds is not None:
        return error.after_seconds
    return float(min(cap, base * 2 ** max(0, attempt - 1)))
