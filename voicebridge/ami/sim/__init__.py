"""A fake Asterisk 22.10.1 for tests and the demo: an AMI server on asyncio streams that
speaks AMI byte for byte as the real one did in the recordings of
``shared/asterisk/traces`` (see its README) and of the lab that ran voicebridge's own
contexts (a real Asterisk 22.10.1 built by hand; its ``voicebridge-*`` traces are kept
outside the repository), without Asterisk.

What it emulates, and where each fact comes from, is written next to the code:

- :mod:`~voicebridge.ami.sim.wire`: reading actions (CRLF or LF, first header wins, CRLF
  CRLF inside a value starts another action: trace 07; at most 128 lines of at most
  1024 bytes: lab) and writing messages;
- :mod:`~voicebridge.ami.sim.session`: banner, Login, security events, Ping, Logoff (01a,
  01b, 01c, 08a), the account's ``write`` classes (main/manager.c);
- :mod:`~voicebridge.ami.sim.actions`, :mod:`~voicebridge.ami.sim.lists`: Originate,
  Hangup, Redirect, the ConfBridge actions, CoreShowChannels, Status, Setvar/Getvar,
  UserEvent, configs, Command (02a-08a), ShowDialPlan (main/pbx.c);
- :mod:`~voicebridge.ami.sim.pbx`: the channels, rooms and calls and their events, and
  the collaborators it owns: :mod:`~voicebridge.ami.sim.calls` (Originate, Redirect),
  :mod:`~voicebridge.ami.sim.far` (the far ends), :mod:`~voicebridge.ami.sim.hangups`,
  :mod:`~voicebridge.ami.sim.rooms` (ConfBridge) (02a, 02b, 03, 04, 05, the lab's
  voicebridge-*);
- :mod:`~voicebridge.ami.sim.interpreter`, :mod:`~voicebridge.ami.sim.apps`,
  :mod:`~voicebridge.ami.sim.media`, :mod:`~voicebridge.ami.sim.variables`,
  :mod:`~voicebridge.ami.sim.expr`: the dialplan, run as Asterisk runs it (the lab's
  contexts of shared/asterisk/conf, voicebridge's pushed ``vb-ack``/``vb-room``);
- :mod:`~voicebridge.ami.sim.config`, :mod:`~voicebridge.ami.sim.dialplan`,
  :mod:`~voicebridge.ami.sim.cli`: GetConfig, UpdateConfig (06, the lab's staged pushes),
  ``dialplan reload``/``show``, ``core show channels`` (06, 08a); extensions.conf loaded
  as pbx/pbx_config.c loads it, its bad lines skipped with Asterisk's warnings
  (``FakeAsterisk.warnings``);
- :mod:`~voicebridge.ami.sim.server`: the listener, restart (08b), dropped links, held
  links;
- :mod:`~voicebridge.ami.sim.model`: the values they share (channels, calls, rooms).

Every wait is multiplied by ``speed``: ``speed=0.01`` makes the 5 s Read timeout 50 ms
and the 1 s login-failure delay 10 ms.
"""

from voicebridge.ami.sim.media import LAB_SOUNDS, SHARED_SOUNDS
from voicebridge.ami.sim.model import (
    Behaviour,
    ChannelState,
    Endpoint,
    LogMessage,
    Received,
    SimChannel,
)
from voicebridge.ami.sim.server import FakeAsterisk

__all__ = [
    "LAB_SOUNDS",
    "SHARED_SOUNDS",
    "Behaviour",
    "ChannelState",
    "Endpoint",
    "FakeAsterisk",
    "LogMessage",
    "Received",
    "SimChannel",
]
