"""The Asterisk Manager Interface: codec, session, bridge and the fake Asterisk."""
