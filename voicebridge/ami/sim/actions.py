"""The fake Asterisk's actions on calls, rooms, variables, configs and the CLI (the
list actions are :mod:`~voicebridge.ami.sim.lists`').

Responses are written before the events an action causes (README, "Responses vs
events")."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from voicebridge.ami.sim import cli, lists
from voicebridge.ami.sim.model import (
    Conference,
    OriginateRequest,
    SimChannel,
    parse_callerid,
)
from voicebridge.ami.sim.wire import Request, is_true, response

if TYPE_CHECKING:
    from voicebridge.ami.sim.session import Session

NOT_BOOTED = "Extension does not exist."
"""An Originate into a context before the dialplan is loaded (README, "Restart (08b)":
seen 0.6 s before FullyBooted on a loaded machine)."""


# ---------------------------------------------------------------- calls


async def originate(s: "Session", req: Request) -> None:
    """Originate (02a, 03). Async: ``Originate successfully queued`` at once, the call
    follows. Synchronous: the session blocks (its events wait) until the call is
    answered (``Originate successfully queued``) or fails (``Originate failed``).
    Before the boot's end, one into a Context is ``Extension does not exist.`` (README,
    "Restart (08b)"; a real one checks the extension exists, which none does then; one
    with an Application is taken, as no trace shows otherwise)."""
    dial = req.get("Channel").strip()
    if not dial:
        s.respond(response(req, "Error", "Channel not specified"))
        return
    if "/" not in dial:
        s.respond(response(req, "Error", "Invalid channel"))
        return
    timeout = 30.0
    if text := req.get("Timeout").strip():
        if not text.isdigit():
            s.respond(response(req, "Error", "Invalid timeout"))
            return
        timeout = int(text) / 1000
    priority = 1
    if text := req.get("Priority").strip():
        if not text.isdigit():
            s.respond(response(req, "Error", "Invalid priority"))
            return
        priority = int(text)
    num, name = parse_callerid(req.get("CallerID")) if req.get("CallerID") else ("", "")
    variables: list[tuple[str, str]] = []
    for header in req.all("Variable"):
        for part in header.split(","):  # a comma splits a Variable header (codec.py)
            key, sep, value = part.partition("=")
            if sep and key.strip():
                variables.append((key.strip(), value))
    oreq = OriginateRequest(
        dial=dial,
        action_id=req.action_id,
        application=req.get("Application"),
        data=req.get("Data"),
        context=req.get("Context"),
        exten=req.get("Exten"),
        priority=priority,
        timeout=timeout,
        caller_num=num,
        caller_name=name,
        variables=tuple(variables),
        channel_id=req.get("ChannelId"),
        other_channel_id=req.get("OtherChannelId"),
        asynchronous=is_true(req.get("Async")),
    )
    if oreq.context and s.host.booting:  # the dialplan is not loaded yet (README, 08b)
        s.respond(response(req, "Error", NOT_BOOTED))
        return
    pbx = s.host.pbx
    if oreq.asynchronous:
        s.respond(response(req, "Success", "Originate successfully queued"))
        pbx.placer.originate(oreq)
        return
    s.paused = True
    try:
        ok = await pbx.placer.originate(oreq).result
        if ok:
            s.respond(response(req, "Success", "Originate successfully queued"))
        else:
            s.respond(response(req, "Error", "Originate failed"))
    finally:
        s.resume()


async def playdtmf(s: "Session", req: Request) -> None:
    """PlayDTMF: ``DTMF successfully queued`` for a channel that exists (manager.c's
    action_playdtmf), ``Channel not found`` otherwise, ``No digit specified`` without
    one. The digits played are what the fake records of the action."""
    ch = s.host.pbx.find(req.get("Channel").strip())
    if ch is None:
        s.respond(response(req, "Error", "Channel not found"))
    elif not req.get("Digit").strip():
        s.respond(response(req, "Error", "No digit specified"))
    else:
        s.respond(response(req, "Success", "DTMF successfully queued"))


async def hangup(s: "Session", req: Request) -> None:
    """Hangup: ``Channel Hungup``; without Cause the events say ``Cause: 0`` /
    ``Unknown`` (08a); an unknown channel is ``No such channel`` (04)."""
    pbx, name = s.host.pbx, req.get("Channel").strip()
    if not name:
        s.respond(response(req, "Error", "No channel specified"))
        return
    ch = pbx.find(name)
    if ch is None:
        s.respond(response(req, "Error", "No such channel"))
        return
    text = req.get("Cause").strip()
    cause = int(text) if text.isdigit() and int(text) <= 127 else 0
    s.respond(response(req, "Success", "Channel Hungup"))
    if ch.half == 2 and ch.call is not None:
        pbx.hangups.far(ch.call, cause)
    else:
        pbx.hangups.near(ch, cause)


async def redirect(s: "Session", req: Request) -> None:
    """Redirect (Asterisk's action_redirect; not in the traces)."""
    pbx = s.host.pbx
    name, context = req.get("Channel").strip(), req.get("Context").strip()
    exten, priority = req.get("Exten").strip(), req.get("Priority").strip()
    missing = next(
        (
            f"{k} not specified"
            for k, v in (
                ("Channel", name),
                ("Context", context),
                ("Exten", exten),
                ("Priority", priority),
            )
            if not v
        ),
        None,
    )
    if missing is not None:
        s.respond(response(req, "Error", missing))
        return
    if not priority.isdigit() or int(priority) < 1:
        s.respond(response(req, "Error", "Priority is invalid"))
        return
    ch = pbx.find(name)
    if ch is None:
        s.respond(response(req, "Error", f"Channel does not exist: {name}"))
        return
    extra = pbx.find(req.get("ExtraChannel").strip()) if req.get("ExtraChannel").strip() else None
    s.respond(response(req, "Success", "Redirect successful"))
    pbx.placer.redirect(ch, context, exten, int(priority))
    if extra is not None:
        pbx.placer.redirect(
            extra,
            req.get("ExtraContext").strip() or context,
            req.get("ExtraExten").strip() or exten,
            int(p) if (p := req.get("ExtraPriority").strip()).isdigit() else int(priority),
        )


# ---------------------------------------------------------------- ConfBridge


def _conf_target(s: "Session", req: Request) -> tuple[Conference, list[SimChannel]] | None:
    """The room and the users a Mute/Unmute/Kick names, or None after an Error (04)."""
    room, name = req.get("Conference").strip(), req.get("Channel").strip()
    if not room:
        s.respond(response(req, "Error", "No Conference name provided."))
        return None
    if not name:
        s.respond(response(req, "Error", "No channel name provided."))
        return None
    conf = s.host.pbx.confs.get(room)
    if conf is None:
        s.respond(response(req, "Error", "No Conference by that name found."))
        return None
    if name.lower() in ("all", "participants"):
        users = list(conf.members)
    else:
        users = [m for m in conf.members if m.name.lower() == name.lower()]
    if not users:
        s.respond(response(req, "Error", "No Channel by that name found in Conference."))
        return None
    return conf, users


async def confbridge_mute(s: "Session", req: Request) -> None:
    await _mute(s, req, True)


async def confbridge_unmute(s: "Session", req: Request) -> None:
    await _mute(s, req, False)


async def _mute(s: "Session", req: Request, muted: bool) -> None:
    target = _conf_target(s, req)
    if target is None:
        return
    conf, users = target
    s.respond(response(req, "Success", "User muted" if muted else "User unmuted"))
    for ch in users:
        s.host.pbx.rooms.mute(conf, ch, muted)


async def confbridge_kick(s: "Session", req: Request) -> None:
    """ConfBridgeKick: ``User kicked``; the user leaves and hangs up (04)."""
    target = _conf_target(s, req)
    if target is None:
        return
    s.respond(response(req, "Success", "User kicked"))
    for ch in target[1]:
        s.host.pbx.hangups.kick(ch)


# ---------------------------------------------------------------- variables, UserEvent


async def setvar(s: "Session", req: Request) -> None:
    """Setvar: ``Variable Set`` (07); a global without Channel."""
    pbx, var = s.host.pbx, req.get("Variable")
    if not var:
        s.respond(response(req, "Error", "No variable specified"))
        return
    ch = None
    if name := req.get("Channel").strip():
        ch = pbx.find(name)
        if ch is None:
            s.respond(response(req, "Error", "No such channel"))
            return
    s.respond(response(req, "Success", "Variable Set"))
    if ch is None:
        pbx.globals[var] = req.get("Value")
    else:
        pbx.varset(ch, var, req.get("Value"))


async def getvar(s: "Session", req: Request) -> None:
    """Getvar: ``Variable``, ``Value`` (empty when unset) (07)."""
    pbx, var = s.host.pbx, req.get("Variable")
    if not var:
        s.respond(response(req, "Error", "No variable specified"))
        return
    if name := req.get("Channel").strip():
        ch = pbx.find(name)
        if ch is None:
            s.respond(response(req, "Error", "No such channel"))
            return
        value = pbx.variables.expand(ch, "${" + var + "}")
    elif var.endswith(")"):
        s.respond(response(req, "Error", "No channel specified"))
        return
    else:
        value = pbx.globals.get(var, "")
    s.respond(response(req, "Success", None, ("Variable", var), ("Value", value)))


async def user_event(s: "Session", req: Request) -> None:
    """UserEvent: ``Event Sent``; the event carries every header but Action and
    UserEvent (the ActionID included) (07e)."""
    s.respond(response(req, "Success", "Event Sent"))
    body = [(k, v) for k, v in req.fields if k.lower() not in ("action", "userevent")]
    s.host.broadcast(
        [
            ("Event", "UserEvent"),
            ("Privilege", "user,all"),
            ("UserEvent", req.get("UserEvent")),
            *body,
        ]
    )


# ---------------------------------------------------------------- configs, CLI


async def get_config(s: "Session", req: Request) -> None:
    s.respond(s.host.pbx.config.get_config(req))


async def get_config_json(s: "Session", req: Request) -> None:
    s.respond(s.host.pbx.config.get_config_json(req))


async def update_config(s: "Session", req: Request) -> None:
    """UpdateConfig (06): the ``Reload:`` header reloads the dialplan; ``Reload:
    pbx_config`` is then followed by an ``Event: Reload`` to every session that hears
    ``system`` (as a real Asterisk 22.10.1 sends it, right after the response)."""
    fields, reload = s.host.pbx.config.update_config(req)
    s.respond(fields)
    if reload:
        s.host.pbx.reload_dialplan()
        s.host.dialplan_reloaded()
        module = req.get("Reload").strip().removesuffix(".so")
        if module == "pbx_config":  # ast_module_reload() publishes it (main/loader.c)
            s.host.broadcast(
                [
                    ("Event", "Reload"),
                    ("Privilege", "system,all"),
                    ("Module", "pbx_config"),
                    ("Status", "0"),
                ]
            )


async def command(s: "Session", req: Request) -> None:
    """Command: ``Command output follows`` and one ``Output:`` per line, ``Response:
    Error`` when the CLI command fails (06); ``core restart now`` gets no Response (08b)."""
    text = req.get("Command").strip()
    if not text:
        s.respond(response(req, "Error", "No command provided"))
        return
    result = cli.run(s.host, text)
    if result is None:
        return
    ok, lines = result
    status_ = "Success" if ok else "Error"
    s.respond(
        response(req, status_, "Command output follows", *(("Output", line) for line in lines))
    )


AUTHORITY: dict[str, frozenset[str]] = {
    name: frozenset(classes.split())
    for name, classes in {
        "originate": "originate",
        "hangup": "system call",
        "playdtmf": "call",
        "redirect": "call",
        "confbridgemute": "call",
        "confbridgeunmute": "call",
        "confbridgekick": "call",
        "setvar": "call",
        "getvar": "call reporting",
        "userevent": "user",
        "getconfig": "system config",
        "getconfigjson": "system config",
        "updateconfig": "config",
        "command": "command",
        "coreshowchannels": "system reporting",
        "status": "system call reporting",
        "confbridgelistrooms": "reporting",
        "confbridgelist": "reporting",
        "showdialplan": "config reporting",
    }.items()
}
"""The classes an action needs, any one of them, in the account's ``write`` (the
``authority`` each registers with: ``ast_manager_register_xml_core()`` in main/manager.c
and main/pbx.c, ``ast_manager_register_xml()`` in apps/app_confbridge.c and
apps/app_senddtmf.c of Asterisk 22.10.1). Login, Logoff, Challenge, Ping and Events
need none."""

HANDLERS: dict[str, Callable[["Session", Request], Awaitable[None]]] = {
    "originate": originate,
    "hangup": hangup,
    "playdtmf": playdtmf,
    "redirect": redirect,
    "confbridgemute": confbridge_mute,
    "confbridgeunmute": confbridge_unmute,
    "confbridgekick": confbridge_kick,
    "setvar": setvar,
    "getvar": getvar,
    "userevent": user_event,
    "getconfig": get_config,
    "getconfigjson": get_config_json,
    "updateconfig": update_config,
    "command": command,
    **lists.HANDLERS,
}
