"""A fake Telegram Bot API on 127.0.0.1 for the tests and the demo: faithful enough that
python-telegram-bot's own ``Bot`` talks to it unchanged, and it plays the citizens.

What it reproduces is listed in CHANNELS.md, "Telegram Bot API fake"; where each part is:

- :mod:`~channels.telegram.sim.server`: the HTTP routes, token checks, body parsing,
  ``getUpdates`` (long poll, offset, 409 conflicts);
- :mod:`~channels.telegram.sim.wire`: parameters (JSON, urlencoded, multipart, JSON
  fields inside forms) and Telegram's answer envelopes;
- :mod:`~channels.telegram.sim.methods`: ``getMe``, ``sendMessage``, ``sendLocation``,
  ``sendPhoto``, ``sendChatAction``, ``editMessageText``, ``editMessageReplyMarkup``,
  ``answerCallbackQuery``, ``getFile``, ``setWebhook``, ``deleteWebhook``,
  ``getWebhookInfo``, with Telegram's limits and error descriptions;
- :mod:`~channels.telegram.sim.state`, :mod:`~channels.telegram.sim.model`: chats, ids,
  files, presses, scripted errors, the recorder;
- :mod:`~channels.telegram.sim.citizens`: what a citizen does, as updates;
- :mod:`~channels.telegram.sim.delivery`: webhook POSTs (secret header, retries,
  duplicates, ``max_connections``, ``allowed_updates``) or the ``getUpdates`` queue;
- :mod:`~channels.telegram.sim.control`, :mod:`~channels.telegram.sim.remote`,
  :mod:`~channels.telegram.sim.runner`: the same from another process.

Known differences from Telegram: webhooks may be plain http on any port; a failing
webhook is given up after a few attempts instead of hours; the automatic flood limit is
off unless asked for; ``chat_id`` as ``@username`` is not known.
"""

from channels.telegram.sim.citizens import Citizen
from channels.telegram.sim.model import (
    Attempt,
    Delivery,
    Recorded,
    Sent,
    SimulationError,
    Webhook,
)
from channels.telegram.sim.remote import FakeTelegramRemote, RemoteError
from channels.telegram.sim.runner import run_fake_telegram, serve
from channels.telegram.sim.server import FakeTelegram
from channels.telegram.webhook import SECRET_HEADER

__all__ = [
    "SECRET_HEADER",
    "Attempt",
    "Citizen",
    "Delivery",
    "FakeTelegram",
    "FakeTelegramRemote",
    "Recorded",
    "RemoteError",
    "Sent",
    "SimulationError",
    "Webhook",
    "run_fake_telegram",
    "serve",
]
