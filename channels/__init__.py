"""Citizen and responder messaging: the Telegram and SMS (Twilio) adapters, their webhook
parsing and verification, conversations and outbound messages. Never imports
``voicebridge`` or ``tetra``."""
