"""The Asterisk contexts voicebridge needs, as Jinja2 templates: rendering, validation,
revisions and push. Never imports ``voicebridge``."""
