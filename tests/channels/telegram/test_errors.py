"""What a failed Bot API call means for the sender: retry (when) or never (and whether
the chat is lost)."""

import datetime as dtm

import pytest
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

from channels.telegram.errors import (
    Permanent,
    Retryable,
    classify,
    retry_after_seconds,
    retry_delay,
)
from channels.telegram.transport import FloodWait, flood_wait_in

PERMANENT: list[tuple[BaseException, str, bool]] = [
    (Forbidden("Forbidden: bot was blocked by the user"), "el ciudadano bloqueó el bot", True),
    (
        Forbidden("Forbidden: user is deactivated"),
        "la cuenta de Telegram del destinatario está desactivada",
        True,
    ),
    (
        Forbidden("Forbidden: bot can't initiate conversation with a user"),
        "el destinatario nunca inició una conversación con el bot",
        True,
    ),
    (
        Forbidden("Forbidden: bot was kicked from the group chat"),
        "el bot fue expulsado del grupo",
        True,
    ),
    (
        Forbidden("Forbidden: something new"),
        "Telegram rechazó la solicitud (403): Forbidden: something new",
        True,
    ),
    (BadRequest("Bad Request: chat not found"), "el chat no existe para este bot", False),
    (
        BadRequest("Bad Request: message is too long"),
        "el mensaje supera los 4096 caracteres de Telegram",
        False,
    ),
    (
        BadRequest("Bad Request: BUTTON_DATA_INVALID"),
        "los datos de un botón superan los 64 bytes",
        False,
    ),
    (
        BadRequest("Bad Request: wrong coordinates"),
        "Telegram rechazó la solicitud (400): Wrong coordinates",
        False,
    ),
    (InvalidToken("Unauthorized"), "Telegram rechazó el token del bot (401/404)", False),
    (
        Conflict("Conflict: terminated by other getUpdates request"),
        "conflicto con otro cliente del bot (409): "
        "Conflict: terminated by other getUpdates request",
        False,
    ),
    (
        TelegramError("Invalid server response"),
        "Telegram rechazó la solicitud: Invalid server response",
        False,
    ),
    (ValueError("boom"), "error inesperado al llamar a Telegram: ValueError", False),
]


@pytest.mark.parametrize(("error", "reason", "blocked"), PERMANENT)
def test_permanent_failures(error: BaseException, reason: str, blocked: bool) -> None:
    outcome = classify(error)
    assert isinstance(outcome, Permanent)
    assert (outcome.reason, outcome.blocked, outcome.new_chat_id) == (reason, blocked, None)


RETRYABLE: list[tuple[BaseException, str, float | None]] = [
    (
        FloodWait(30.0, "Too Many Requests: retry after 30"),
        "Telegram limitó los envíos (429): reintentar en 30 s",
        30.0,
    ),
    (TimedOut("Timed out"), "Telegram no respondió a tiempo", None),
    (
        NetworkError("Internal Server Error"),
        "sin conexión con Telegram o error del servidor: Internal Server Error",
        None,
    ),
    (
        NetworkError("Bad Gateway"),
        "sin conexión con Telegram o error del servidor: Bad Gateway",
        None,
    ),
    (
        ConnectionRefusedError(111, "refused"),
        "sin conexión con Telegram: ConnectionRefusedError",
        None,
    ),
    (TimeoutError(), "sin conexión con Telegram: TimeoutError", None),
]


@pytest.mark.parametrize(("error", "reason", "after"), RETRYABLE)
def test_retryable_failures(error: BaseException, reason: str, after: float | None) -> None:
    outcome = classify(error)
    assert isinstance(outcome, Retryable)
    assert (outcome.reason, outcome.after_seconds) == (reason, after)


def test_a_migrated_group_names_the_new_chat() -> None:
    outcome = classify(ChatMigrated(-1001234))
    assert isinstance(outcome, Permanent)
    assert (outcome.new_chat_id, outcome.blocked) == (-1001234, False)
    assert outcome.reason == "el grupo pasó a ser el supergrupo -1001234"


def test_the_token_never_reaches_the_reason() -> None:
    token = "123456789:AAH-secret"
    outcome = classify(NetworkError(f"Unknown error in HTTP implementation: {token}"), secret=token)
    assert token not in outcome.reason
    assert "***" in outcome.reason


def test_ptb_retry_after_read_without_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.warns(PTBDeprecationWarning):
        legacy = RetryAfter(12)  # PTB's constructor warns by itself without PTB_TIMEDELTA
    assert retry_after_seconds(legacy) == 12.0  # reading does not warn again
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    modern = RetryAfter(dtm.timedelta(seconds=2.5))
    assert retry_after_seconds(modern) == 2.5
    outcome = classify(modern)
    assert isinstance(outcome, Retryable)
    assert outcome.after_seconds == 2.5


@pytest.mark.parametrize(
    ("code", "payload", "seconds"),
    [
        (
            429,
            b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 30",'
            b'"parameters":{"retry_after":30}}',
            30.0,
        ),
        (
            400,
            b'{"ok":false,"error_code":400,"description":"x","parameters":{"retry_after":3}}',
            3.0,
        ),
        (429, b'{"ok":false,"error_code":429,"description":"Too Many Requests"}', None),
        (400, b'{"ok":false,"parameters":{"migrate_to_chat_id":-100,"retry_after":3}}', None),
        (200, b'{"ok":true,"result":{},"parameters":{"retry_after":3}}', None),
        (502, b"<html>Bad Gateway</html>", None),
        (429, b'{"parameters":{"retry_after":true}}', None),
    ],
)
def test_a_429_read_at_the_transport(code: int, payload: bytes, seconds: float | None) -> None:
    """As PTB reads it (``parameters.retry_after`` whatever the status; a migration
    first), without constructing PTB's RetryAfter."""
    flood = flood_wait_in(code, payload)
    assert (flood.seconds if flood else None) == seconds


def test_backoff_when_telegram_names_no_wait() -> None:
    named = Retryable("429", after_seconds=30.0)
    unnamed = Retryable("5xx")
    assert [retry_delay(named, n) for n in (1, 5)] == [30.0, 30.0]
    assert [retry_delay(unnamed, n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert retry_delay(unnamed, 20) == 300.0
