"""The application's error base class."""


class VoicebridgeError(Exception):
    """Base class of errors raised by :mod:`voicebridge`."""


class SettingsError(VoicebridgeError):
    """A setting is missing, malformed or unknown; the message names it."""
