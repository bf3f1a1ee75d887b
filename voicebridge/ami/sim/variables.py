"""Channel variables in the fake Asterisk: ``${...}`` substitution with the channel's
variables, the built-in ones (EXTEN, CHANNEL...), globals, and the dialplan functions
voicebridge's contexts read and write (CALLERID, CHANNEL, CONFBRIDGE, the string
functions of :mod:`~voicebridge.ami.sim.expr`)."""

import time
from typing import TYPE_CHECKING

from voicebridge.ami.sim.expr import split_call, string_function, substitute
from voicebridge.ami.sim.model import SimChannel

if TYPE_CHECKING:
    from voicebridge.ami.sim.pbx import Pbx


class Variables:
    """Reading and setting variables and functions on a channel (``pbx.globals`` for
    the globals)."""

    def __init__(self, pbx: "Pbx") -> None:
        self.pbx = pbx

    def resolve(self, ch: SimChannel, spec: str) -> str | None:
        """``${spec}``: a function call, a built-in variable, the channel's, a global."""
        call = split_call(spec)
        if call is not None:
            return self.read_function(ch, *call)
        builtin = {
            "EXTEN": ch.exten,
            "CONTEXT": ch.context,
            "PRIORITY": str(ch.priority),
            "CHANNEL": ch.name,
            "UNIQUEID": ch.uniqueid,
            "HANGUPCAUSE": str(ch.hangup_cause),
            "EPOCH": str(int(time.time())),  # the wall clock, whatever the speed
        }
        if spec in builtin:
            return builtin[spec]
        return ch.variables.get(spec, self.pbx.globals.get(spec))

    def read_function(self, ch: SimChannel, name: str, args: str) -> str | None:
        upper, arg = name.upper(), args.strip().lower()
        if upper == "CALLERID":
            both = f'"{ch.caller_name}" <{ch.caller_num}>' if ch.caller_name else ch.caller_num
            return {"num": ch.caller_num, "name": ch.caller_name, "all": both}.get(arg)
        if upper == "CHANNEL":
            return {
                "name": ch.name,
                "language": ch.language,
                "uniqueid": ch.uniqueid,
                "linkedid": ch.linkedid,
                "state": ch.state.desc,
            }.get(arg)
        return string_function(name, args)

    def write_function(self, ch: SimChannel, name: str, args: str, value: str) -> None:
        """``Set(FUNC(args)=value)``: no VarSet. CHANNEL(language) changes both halves
        of a Local channel (lab); CONFBRIDGE(user,...) the channel's user profile."""
        upper, parts = name.upper(), [a.strip().lower() for a in args.split(",")]
        if upper == "CHANNEL" and parts == ["language"]:
            for half in (ch, ch.peer):
                if half is not None:
                    half.language = value
        elif upper == "CONFBRIDGE" and len(parts) == 2 and parts[0] == "user":
            ch.conf_user[parts[1]] = value.strip().lower()

    def expand(self, ch: SimChannel, text: str) -> str:
        return substitute(text, lambda spec: self.resolve(ch, spec))

    def setvar(self, ch: SimChannel, name: str, value: str | None) -> None:
        """``pbx_builtin_setvar_helper()``."""
        name = name.strip()
        call = split_call(name) if name.endswith(")") else None
        if call is not None:
            self.write_function(ch, *call, value or "")
        elif value is None:
            self.pbx.unset(ch, name)
        else:
            self.pbx.varset(ch, name, value)
