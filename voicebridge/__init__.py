"""voicebridge: the application. The Asterisk bridge, the composition root, the aiohttp
app (API, webhooks, console, admin), the CLI and the RQ jobs."""

__version__ = "0.1.0"
