"""The operators' console: Spanish pages served by ``voicebridge serve`` (no front-end
server, no build step), for people signed in with an account
(:mod:`voicebridge.accounts`)."""
