"""The fake Asterisk's list actions: CoreShowChannels, Status, ConfBridgeListRooms,
ConfBridgeList, ShowDialPlan.

Each answers ``Response: Success``, ``EventList: start``, then one item per entry
carrying the ActionID, then ``<Name>Complete`` (``EventList: Complete``, ``ListItems``),
with ``Privilege`` on none of them but ``Status`` (``Privilege: Call``); an empty or
unknown list is an Error (04, 08a). ShowDialPlan follows main/pbx.c of Asterisk 22.10.1
(``manager_show_dialplan()``; no trace has it)."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from voicebridge.ami.sim.dialplan import PRIORITY_HINT, REGISTRAR, list_dialplan
from voicebridge.ami.sim.wire import Field, Request, response

if TYPE_CHECKING:
    from voicebridge.ami.sim.session import Session


def _list_start(req: Request, message: str) -> list[Field]:
    fields: list[Field] = [("Response", "Success")]
    if req.action_id:
        fields.append(("ActionID", req.action_id))
    return [*fields, ("EventList", "start"), ("Message", message)]


def _item(req: Request, event: str, *fields: Field) -> list[Field]:
    head: list[Field] = [("Event", event)]
    if req.action_id:
        head.append(("ActionID", req.action_id))
    return [*head, *fields]


def _send_list(
    s: "Session",
    req: Request,
    message: str,
    name: str,
    items: list[list[Field]],
    *extra: Field,
) -> None:
    """The list: its start, ``items``, then ``<name>Complete`` with ``extra`` after
    ``ListItems`` (``astman_send_list_complete_start()``/``_end()``)."""
    s.respond(_list_start(req, message))
    for item in items:
        s.respond(item)
    s.respond(
        _item(
            req,
            f"{name}Complete",
            ("EventList", "Complete"),
            ("ListItems", str(len(items))),
            *extra,
        )
    )


def _hms(seconds: float) -> str:
    n = int(seconds)
    return f"{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}"


async def core_show_channels(s: "Session", req: Request) -> None:
    """CoreShowChannels (08a): newest channel first; ``Duration`` HH:MM:SS, ``BridgeId``."""
    pbx = s.host.pbx
    items = []
    for ch in reversed(list(pbx.channels.values())):
        conf = pbx.confs.get(ch.room or "")
        items.append(
            _item(
                req,
                "CoreShowChannel",
                *ch.snapshot(),
                ("Application", ch.app),
                ("ApplicationData", ch.appdata),
                ("Duration", _hms((pbx.now() - ch.created) / pbx.speed)),
                ("BridgeId", conf.bridge_id if conf else ""),
            )
        )
    _send_list(s, req, "Channels will follow", "CoreShowChannels", items)


async def status(s: "Session", req: Request) -> None:
    """Status (08a): ``Privilege: Call``, the ActionID last; StatusComplete adds Items."""
    pbx = s.host.pbx
    chans = list(reversed(list(pbx.channels.values())))
    if name := req.get("Channel").strip():
        found = pbx.find(name)
        if found is None:
            s.respond(response(req, "Error", "No such channel"))
            return
        chans = [found]
    s.respond(_list_start(req, "Channel status will follow"))
    for ch in chans:
        conf = pbx.confs.get(ch.room or "")
        fields: list[Field] = [
            ("Event", "Status"),
            ("Privilege", "Call"),
            *ch.snapshot(),
            ("Type", ch.tech),
            ("DNID", ""),
            ("EffectiveConnectedLineNum", ch.connected_num or "<unknown>"),
            ("EffectiveConnectedLineName", ch.connected_name or "<unknown>"),
            ("TimeToHangup", "0"),
            ("BridgeID", conf.bridge_id if conf else ""),
            ("Application", ch.app),
            ("Data", ch.appdata),
            ("Nativeformats", "(slin)"),
            ("Readformat", "slin"),
            ("Readtrans", ""),
            ("Writeformat", "slin"),
            ("Writetrans", ""),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", str(int((pbx.now() - ch.created) / pbx.speed))),
        ]
        if req.action_id:
            fields.append(("ActionID", req.action_id))
        s.respond(fields)
    n = str(len(chans))
    s.respond(
        _item(req, "StatusComplete", ("EventList", "Complete"), ("ListItems", n), ("Items", n))
    )


async def confbridge_list_rooms(s: "Session", req: Request) -> None:
    """ConfBridgeListRooms; no room at all is ``No active conferences.`` (04)."""
    confs = s.host.pbx.confs
    if not confs:
        s.respond(response(req, "Error", "No active conferences."))
        return
    items = [
        _item(
            req,
            "ConfbridgeListRooms",
            ("Conference", c.name),
            ("Parties", str(len(c.members))),
            ("Marked", "0"),
            ("Locked", "No"),
            ("Muted", "No"),
        )
        for c in confs.values()
    ]
    _send_list(s, req, "Confbridge conferences will follow", "ConfbridgeListRooms", items)


async def confbridge_list(s: "Session", req: Request) -> None:
    """ConfBridgeList: the users in join order (04)."""
    pbx, room = s.host.pbx, req.get("Conference").strip()
    if not room:
        s.respond(response(req, "Error", "No Conference name provided."))
        return
    conf = pbx.confs.get(room)
    if conf is None:
        s.respond(response(req, "Error", "No Conference by that name found."))
        return
    items = []
    for m in conf.members:
        answered = int((pbx.now() - (m.answered or m.created)) / pbx.speed)
        flags = ("Admin", "MarkedUser", "WaitMarked", "EndMarked", "EndMarkedAny", "Waiting")
        items.append(
            _item(
                req,
                "ConfbridgeList",
                ("Conference", room),
                *((f, "No") for f in flags),
                ("Muted", "Yes" if m.muted else "No"),
                ("Talking", "No"),
                ("AnsweredTime", str(answered)),
                *m.snapshot(),
            )
        )
    _send_list(s, req, "Confbridge user list will follow", "ConfbridgeList", items)


async def show_dialplan(s: "Session", req: Request) -> None:
    """ShowDialPlan (``manager_show_dialplan()``): the optional ``Context`` and
    ``Extension`` headers, as sent (not trimmed), filter (see
    :func:`~voicebridge.ami.sim.dialplan.list_dialplan`); one ``ListDialplan`` per
    priority (``ExtensionLabel`` when it has one; a hint has ``Priority: hint`` and no
    ``AppData``); ``ShowDialPlanComplete`` adds ``ListExtensions``, ``ListPriorities``,
    ``ListContexts``. Nothing found is a plain Error: ``Did not find context C``,
    ``Did not find extension E@C``, ``Did not find extension E in any context``.

    What it lists is the dialplan the fake *loaded* (extensions.conf at the last
    ``dialplan reload``, UpdateConfig ``Reload`` or restart), the same one ``dialplan
    show`` prints: not the built-in copies of voicebridge's contexts
    (:func:`~voicebridge.ami.sim.dialplan.builtin_contexts`) that the fake runs for a
    context its loaded dialplan lacks. Those are a convenience of the tests' calls,
    standing in for a push; a real Asterisk would not have them, ``dialplan show``
    already says ``There is no existence of 'vb-ack' context`` before a push, and a
    check of the push through ShowDialPlan must see what was really loaded (``Did not
    find context vb-ack`` until the push, then the pushed lines that loaded)."""
    found = list_dialplan(s.host.pbx.dialplan, req.get("Context"), req.get("Extension"))
    if found.error:
        s.respond(response(req, "Error", found.error))
        return
    items = []
    for entry in found.entries:
        p = entry.priority
        fields: list[Field] = [("Context", entry.context), ("Extension", entry.extension)]
        if p.label:
            fields.append(("ExtensionLabel", p.label))
        if p.number == PRIORITY_HINT:
            fields += [("Priority", "hint"), ("Application", p.app)]
        else:
            fields += [("Priority", str(p.number)), ("Application", p.app), ("AppData", p.data)]
        items.append(_item(req, "ListDialplan", *fields, ("Registrar", REGISTRAR)))
    _send_list(
        s,
        req,
        "DialPlan list will follow",
        "ShowDialPlan",
        items,
        ("ListExtensions", str(found.extensions)),
        ("ListPriorities", str(found.priorities)),
        ("ListContexts", str(found.contexts)),
    )


HANDLERS: dict[str, Callable[["Session", Request], Awaitable[None]]] = {
    "coreshowchannels": core_show_channels,
    "status": status,
    "confbridgelistrooms": confbridge_list_rooms,
    "confbridgelist": confbridge_list,
    "showdialplan": show_dialplan,
}
