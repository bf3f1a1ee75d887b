"""The few CLI commands the fake Asterisk knows (``Action: Command``), with the output
of traces 06, 07 and 08a/08b."""

from typing import TYPE_CHECKING

from voicebridge.ami.sim.dialplan import show_dialplan

if TYPE_CHECKING:
    from voicebridge.ami.sim.session import Host

VERSION = "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-25 01:33:28 UTC"
"""``core show version`` of the lab (06, 07e)."""
_ROW = "{:<64.64} {:<32.32} {:<7.7} {:<30.30}"
"""``core show channels``: the table keeps its trailing spaces (08a)."""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _duration(seconds: int) -> str:
    """``1 minute, 42 seconds`` (Asterisk's print_uptimestr)."""
    parts = []
    for size, word in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            parts.append(_plural(seconds // size, word))
            seconds %= size
    if seconds or not parts:
        parts.append(_plural(seconds, "second"))
    return ", ".join(parts)


def run(host: "Host", text: str) -> tuple[bool, list[str]] | None:
    """(success, output lines) of a CLI command; None for ``core restart ...``, which
    closes every connection before any Response (08b)."""
    words = text.split()
    low = [w.lower() for w in words]
    pbx = host.pbx
    if low[:2] == ["core", "restart"] and len(low) >= 3:
        host.request_restart()
        return None
    if low == ["core", "show", "version"]:
        return True, [VERSION]
    if low == ["core", "show", "channels"]:
        lines = [_ROW.format("Channel", "Location", "State", "Application(Data)")]
        chans = list(reversed(list(pbx.channels.values())))
        for ch in chans:
            where = f"{ch.exten}@{ch.context}:{ch.priority}"
            app = f"{ch.app}({ch.appdata})" if ch.app else "(None)"
            lines.append(_ROW.format(ch.name, where, ch.state.desc, app))
        lines.append(_plural(len(chans), "active channel"))
        lines.append(_plural(len(pbx.calls), "active call"))
        lines.append(_plural(pbx.calls_processed, "call") + " processed")
        return True, lines
    if low[:3] == ["core", "show", "uptime"]:
        up, reload = host.uptime(), host.last_reload()
        if low[3:] == ["seconds"]:
            return True, [f"System uptime: {up}", f"Last reload: {reload}"]
        return True, [f"System uptime: {_duration(up)}", f"Last reload: {_duration(reload)}"]
    if low == ["dialplan", "reload"]:
        pbx.reload_dialplan()
        host.dialplan_reloaded()
        return True, ["Dialplan reloaded."]
    if low[:2] == ["dialplan", "show"] and len(words) <= 3:
        ok, lines = show_dialplan(pbx.dialplan, words[2] if len(words) == 3 else "")
        return ok, lines if ok else [*lines, f"Command '{text}' failed."]
    hint = " ".join(words[:-1] if len(words) > 1 else words)
    return False, [
        f"No such command '{text}' (type 'core show help {hint}' for other possible commands)"
    ]
