"""The domain knows no protocol: Asterisk's vocabulary stays in ``voicebridge/ami/``."""

import re
from pathlib import Path

import pytest

ROUTING = Path(__file__).parents[2] / "routing"

# what only the AMI adapter may speak of: Originate Reasons, Q.850 causes, channels and
# their Uniqueids, channel variables, the PBX's name and its applications
ASTERISK_WORDS = {
    "Originate Reason": re.compile(r"\bReason\b"),
    "Q.850": re.compile(r"Q\.?850"),
    "Uniqueid": re.compile(r"uniqueid", re.IGNORECASE),
    "ChannelId": re.compile(r"channel_?id", re.IGNORECASE),
    "channel variables": re.compile(r"\bVB_[A-Z]+|channel variable", re.IGNORECASE),
    "Hangup causes": re.compile(r"Cause-txt|\bCause\b"),
    "Asterisk": re.compile(r"asterisk|\bAMI\b|originate|confbridge|dialplan", re.IGNORECASE),
}


def _sources() -> list[Path]:
    return sorted(ROUTING.rglob("*.py"))


def test_the_domain_has_sources_to_check() -> None:
    assert len(_sources()) > 10


@pytest.mark.parametrize("word", sorted(ASTERISK_WORDS))
def test_the_domain_does_not_speak_asterisk(word: str) -> None:
    pattern = ASTERISK_WORDS[word]
    found = [
        f"{path.relative_to(ROUTING.parent)}:{n}: {line.strip()}"
        for path in _sources()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == [], f"{word} in the domain:\n" + "\n".join(found)


def test_the_check_would_find_the_words() -> None:
    line = 'REASONS = {3: (Out.NO_ANSWER, "no contestó")}  # Originate Reason, Q.850 Cause'
    assert ASTERISK_WORDS["Originate Reason"].search(line)
    assert ASTERISK_WORDS["Q.850"].search(line)
    assert ASTERISK_WORDS["Hangup causes"].search(line)
    assert ASTERISK_WORDS["Uniqueid"].search("the Uniqueid voicebridge chose")
    assert ASTERISK_WORDS["ChannelId"].search("leg.channel_id")
    assert ASTERISK_WORDS["channel variables"].search('"VB_ROOM": incident.public_id')
