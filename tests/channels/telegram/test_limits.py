"""How long to wait to stay within Telegram's flood limits (1/s per chat, 20/min per
group, 30/s overall)."""

import pytest

from channels.telegram.limits import TELEGRAM, FloodLimits, send_delay

NOW = 1_000.0


def delay(chat_id: int, chat: list[float], overall: list[float] | None = None) -> float:
    return send_delay(
        now=NOW, chat_id=chat_id, chat_sends=chat, all_sends=overall if overall else chat
    )


@pytest.mark.parametrize(
    ("chat", "expected"),
    [
        ([], 0.0),
        ([NOW - 1.0], 0.0),  # a second ago: free
        ([NOW - 0.25], 0.75),
        ([NOW], 1.0),
        ([NOW + 0.5], 1.5),  # a slot already reserved in the future
        ([NOW - 5, NOW - 0.5], 0.5),
    ],
)
def test_one_message_per_second_in_a_private_chat(chat: list[float], expected: float) -> None:
    assert delay(51987, chat) == pytest.approx(expected)


def test_twenty_per_minute_in_a_group() -> None:
    minute = [NOW - 59.5 + 3 * i for i in range(20)]  # 20 sends, the newest 2.5 s ago
    assert delay(-100777, minute) == pytest.approx(0.5)  # until the oldest leaves the minute
    assert delay(-100777, minute[1:]) == 0.0
    assert delay(51987, minute) == 0.0  # a private chat has no per-minute limit


def test_thirty_per_second_overall() -> None:
    overall = [NOW - 0.9 + 0.03 * i for i in range(30)]
    assert delay(51987, [], overall) == pytest.approx(0.1)
    assert delay(51987, [], overall[1:]) == 0.0


def test_the_longest_wait_wins() -> None:
    overall = [NOW - 0.2] * 30
    assert delay(51987, [NOW - 0.5], overall) == pytest.approx(0.8)


def test_limits_are_configurable() -> None:
    relaxed = FloodLimits(per_chat=3)
    assert send_delay(now=NOW, chat_id=1, chat_sends=[NOW] * 2, all_sends=[], limits=relaxed) == 0
    assert TELEGRAM.chat_history == 60.0
    assert TELEGRAM.overall_history == 1.0
