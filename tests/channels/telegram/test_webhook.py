"""The webhook's secret."""

import pytest

from channels.telegram.webhook import secret_matches, valid_secret


@pytest.mark.parametrize(
    ("secret", "valid"),
    [
        ("S3cret_-token", True),
        ("a" * 256, True),
        ("", False),
        ("a" * 257, False),
        ("ñandú", False),
        ("a b", False),
    ],
)
def test_the_secrets_telegram_accepts(secret: str, valid: bool) -> None:
    assert valid_secret(secret) is valid


def test_the_secret_must_match_exactly() -> None:
    assert secret_matches("S3cret", "S3cret")
    assert not secret_matches("S3cret", "s3cret")
    assert not secret_matches("S3cret", None)
    assert not secret_matches("", "")
    assert not secret_matches("S3cret", "S3cret ")
    assert not secret_matches("S3cret", "ñ")  # not ASCII: no error, no match
