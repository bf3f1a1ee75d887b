"""TETRA radio: the PEI codec and client, the SDS codec, the talkgroup and radio registry,
gateway dial strings and the radio simulator. Never imports ``voicebridge`` or
``channels``."""
