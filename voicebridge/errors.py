"""The application's error base class."""


class VoicebridgeError(Exception):
    """Base class of errors raised by :mod:`voicebridge`."""


class SettingsError(VoicebridgeError):
    """A setting is missing, malformed or unknown; the message names it."""


class StdoutFailed(VoicebridgeError):
    """The standard output refused a write (``> /dev/full``, a closed pipe)."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(f"cannot write the standard output: {exc.strerror or exc}")
