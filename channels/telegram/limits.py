"""How long to wait before the next message, so that the bot stays within Telegram's
flood limits (``telegram.constants.FloodLimit``; CHANNELS.md A6): one message per second
in a chat, 20 per minute in a group, 30 per second overall.

Pure: the caller keeps the timestamps of recent sends (the integrator in Redis, the fake
Bot API in memory) and asks :func:`send_delay` before each send. PTB's own
``AIORateLimiter`` has no per-private-chat limit and keeps its state in one process,
hence this.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from telegram.constants import FloodLimit


@dataclass(frozen=True, kw_only=True, slots=True)
class FloodLimits:
    per_chat: int = int(FloodLimit.MESSAGES_PER_SECOND_PER_CHAT)
    per_chat_window: float = 1.0
    per_group: int = int(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP)
    per_group_window: float = 60.0
    overall: int = int(FloodLimit.MESSAGES_PER_SECOND)
    overall_window: float = 1.0

    @property
    def chat_history(self) -> float:
        """Seconds of a chat's sends the caller must keep."""
        return max(self.per_chat_window, self.per_group_window)

    @property
    def overall_history(self) -> float:
        """Seconds of all sends the caller must keep."""
        return self.overall_window


TELEGRAM = FloodLimits()


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; users positive ones."""
    return chat_id < 0


def send_delay(
    *,
    now: float,
    chat_id: int,
    chat_sends: Iterable[float],
    all_sends: Iterable[float],
    limits: FloodLimits = TELEGRAM,
) -> float:
    """Seconds to wait before sending to ``chat_id`` at ``now`` (0.0: send now), given
    the times (seconds, one clock) of the recent sends to that chat and of all sends.
    Times after ``now`` count too: a caller that records each send at the time it was
    told to wait for (``now + delay``) reserves that slot for itself."""
    chat = list(chat_sends)
    waits = [
        _window_wait(chat, now, limits.per_chat, limits.per_chat_window),
        _window_wait(all_sends, now, limits.overall, limits.overall_window),
    ]
    if is_group(chat_id):
        waits.append(_window_wait(chat, now, limits.per_group, limits.per_group_window))
    return max(waits)


def _window_wait(sends: Iterable[float], now: float, limit: int, window: float) -> float:
    """The wait until fewer than ``limit`` sends lie in the ``window`` seconds before."""
    recent = sorted(t for t in sends if t > now - window)
    if len(recent) < limit:
        return 0.0
    return recent[-limit] + window - now
