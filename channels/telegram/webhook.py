"""The webhook's secret: the header Telegram sends it in, its allowed form, and the
constant-time check (CHANNELS.md A2). Pure."""

import hmac
import re

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name
# setWebhook's secret_token: 1-256 characters, only A-Z, a-z, 0-9, _ and -
# (telegram/constants.py MIN/MAX_SECRET_TOKEN_LENGTH; _bot.py set_webhook)
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def valid_secret(secret: str) -> bool:
    """Whether Telegram accepts ``secret`` as a webhook's ``secret_token``."""
    return _SECRET.fullmatch(secret) is not None


def secret_matches(expected: str, received: str | None) -> bool:
    """Whether a webhook request carries the secret, compared in constant time. A
    missing header, or an empty configured secret, never matches."""
    if not expected or received is None:
        return False
    return hmac.compare_digest(expected.encode(), received.encode())
