"""The application's errors share one hierarchy (STYLE.md: one error base class per
package), so a caller can catch voicebridge's own failures apart from Python's."""

import pytest

from voicebridge.ami.codec import UnsafeAction
from voicebridge.ami.protocol import LinkLost
from voicebridge.ami.session import AmiError
from voicebridge.api.errors import ApiError
from voicebridge.errors import SettingsError, VoicebridgeError


@pytest.mark.parametrize("error", [AmiError, LinkLost, UnsafeAction, ApiError, SettingsError])
def test_every_error_is_a_voicebridge_error(error: type[Exception]) -> None:
    assert issubclass(error, VoicebridgeError)


def test_the_builtin_bases_callers_rely_on_stay() -> None:
    assert issubclass(LinkLost, ConnectionError)  # the link is gone: reconnect
    assert issubclass(UnsafeAction, ValueError)  # the values given are refused
