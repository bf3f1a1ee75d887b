"""The Telegram channel's parts, on python-telegram-bot 22 (PTB):

- :mod:`~channels.telegram.updates`: a raw update read into the channel's own values
  (``Text``, ``Command``, ``SharedLocation``, ``Photo``, ``Button``, ``Blocked``...),
  :class:`~channels.telegram.errors.BadUpdate` naming a malformed field;
- :mod:`~channels.telegram.webhook`: the secret header and its constant-time check;
- :mod:`~channels.telegram.outbound`: ``TelegramSender`` (messages, keyboards, button
  answers, capped file downloads, webhook registration, polling) and ``send_text_sync``;
- :mod:`~channels.telegram.errors`: every failure as ``Retryable`` or ``Permanent``;
- :mod:`~channels.telegram.keyboards`, :mod:`~channels.telegram.limits`: keyboards
  checked against Telegram's limits, and the wait that keeps sends within its flood
  limits;
- :mod:`~channels.telegram.transport`: PTB's transport reading 429s itself;
- :mod:`~channels.telegram.sim`: a fake Bot API that plays the citizens.
"""
