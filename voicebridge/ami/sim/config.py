"""The fake Asterisk's configuration files: GetConfig, GetConfigJSON and UpdateConfig as
trace 06 (``06-config-dialplan``) and the lab's pushes of voicebridge's contexts
(the lab's ``voicebridge-updateconfig-*`` traces) recorded them.

The files live in memory. ``extensions.conf`` starts as the lab's contexts (the
simulation contexts of ``shared/asterisk/conf/extensions.conf``, as GetConfig listed them
in 06), ``confbridge.conf`` as the lab's profiles; there is no other file. The *dialplan*
(:mod:`~voicebridge.ami.sim.dialplan`) is a separate copy: an UpdateConfig changes the
file, and only ``dialplan reload`` (or an UpdateConfig ``Reload:`` header) makes the
change live (06: ``There is no existence of 'district-07-test' context`` before it).

UpdateConfig follows ``handle_updates()`` of Asterisk 22.10.1's manager.c: the changes
``Action-NNNNNN`` (with ``Cat-``, ``Var-``, ``Value-``, ``Match-``, ``Line-``,
``Options-``) run in counter order until the first missing ``Action-``; each verb acts on
*every* category of that name (names compared ignoring case); ``Options: ignoreerror``
makes a missing category of DelCat (and an existing one of NewCat, a missing variable of
Delete) no error, ``allowdups`` lets NewCat add a second category of a name; RenameCat
renames in place. One error and nothing of the action is written (the lab's pushes).
"""

import copy
import json
from dataclasses import dataclass, field

from voicebridge.ami.sim.wire import Field, Request, is_true, response

# The lab's extensions.conf (README, "The simulation dialplan"), written the way
# GetConfig lists it (06): "var=value", "=>" where the file has "=>"; ";N" stands for the
# N comment lines before a category (they only move the line numbers of dialplan show).
_LAB_EXTENSIONS = """
;4
[general]
static=yes
writeprotect=no
clearglobalvars=no
[globals]
;1
[operator-sim]
exten=>s,1,NoOp(operator-sim: district operator answers)
same=>n,Answer()
same=>n,Wait(3600)
same=>n,Hangup()
;1
[epr-ack-sim]
exten=>s,1,NoOp(epr-ack-sim: responder answers and acknowledges)
same=>n,Answer()
same=>n,Wait(1)
same=>n,SendDTMF(1)
same=>n,Wait(3600)
same=>n,Hangup()
;1
[epr-decline-sim]
exten=>s,1,NoOp(epr-decline-sim: responder answers and presses 2)
same=>n,Answer()
same=>n,Wait(1)
same=>n,SendDTMF(2)
same=>n,Wait(3600)
same=>n,Hangup()
;1
[epr-silent-sim]
exten=>s,1,NoOp(epr-silent-sim: responder answers, no key)
same=>n,Answer()
same=>n,Wait(3600)
same=>n,Hangup()
;1
[epr-noanswer-sim]
exten=>s,1,NoOp(epr-noanswer-sim: ringing, never answered)
same=>n,Ringing()
same=>n,Wait(120)
same=>n,Hangup()
;1
[epr-busy-sim]
exten=>s,1,NoOp(epr-busy-sim: busy)
same=>n,Busy(10)
;1
[epr-congestion-sim]
exten=>s,1,NoOp(epr-congestion-sim: congestion)
same=>n,Congestion(10)
;1
[epr-reject-sim]
exten=>s,1,NoOp(epr-reject-sim: rejected)
same=>n,Hangup(21)
;2
[conf]
exten=>_X.,1,NoOp(conf: joining room ${EXTEN})
same=>n,Answer()
same=>n,ConfBridge(${EXTEN},default_bridge,default_user)
same=>n,Hangup()
exten=>s,1,NoOp(conf: joining room ${CONFROOM})
same=>n,Answer()
same=>n,ConfBridge(${CONFROOM},default_bridge,default_user)
same=>n,Hangup()
;3
[ack-prompt]
exten=>s,1,NoOp(ack-prompt for room ${CONFROOM})
same=>n,Answer()
same=>n,Read(ACK,,1,,,5)
same=>n,UserEvent(ResponderAck,Digit: ${ACK},ReadStatus: ${READSTATUS},Room: ${CONFROOM})
same=>n,GotoIf($["${ACK}" = "1"]?join)
same=>n,Hangup()
same=>n(join),ConfBridge(${CONFROOM},default_bridge,default_user)
same=>n,Hangup()
;1
[citizen-ivr]
exten=>s,1,NoOp(citizen-ivr)
same=>n,Answer()
same=>n,Read(DIGIT,beep,1,,,5)
same=>n,UserEvent(IncidentReport,Type: ${DIGIT},CallerID: ${CALLERID(num)})
same=>n,Hangup()
;1
[citizen-sim-3]
exten=>s,1,NoOp(citizen presses 3)
same=>n,Answer()
same=>n,Wait(1)
same=>n,SendDTMF(3)
same=>n,Wait(10)
same=>n,Hangup()
[citizen-sim-silent]
exten=>s,1,NoOp(citizen presses nothing)
same=>n,Answer()
same=>n,Wait(10)
same=>n,Hangup()
"""

# The lab's confbridge.conf profiles (README: default_user announces the only user,
# quiet_user joins at once).
_LAB_CONFBRIDGE = """
[general]
[default_bridge]
type=bridge
max_members=50
mixing_interval=20
internal_sample_rate=auto
[default_user]
type=user
quiet=no
announce_user_count=no
announce_only_user=yes
music_on_hold_when_empty=no
dtmf_passthrough=no
talk_detection_events=no
[quiet_user]
type=user
quiet=yes
announce_only_user=no
music_on_hold_when_empty=no
[default_menu]
type=menu
"""

_HEADER_LINES = 6
"""The ``;! Automatically generated configuration file`` header of a rewritten file
(six lines in the lab's ``extensions.conf`` after a push)."""

_UPDATE_ERRORS = {
    "unknown_action": "Unknown action command",
    "unknown_category": "Given category does not exist",
    "unspecified_category": "Category not specified",
    "unspecified_argument": "Problem with category, value, or line (if required)",
    "newcat": "Create category did not complete successfully",
    "update": "Update did not complete successfully",
}
"""UpdateConfig errors (README table; the texts seen in 06 plus Asterisk's others)."""


@dataclass
class Var:
    name: str
    value: str
    obj: bool = False
    """Written ``name => value`` (an UpdateConfig Value that started with ``>``)."""


@dataclass
class Category:
    name: str
    vars: list[Var] = field(default_factory=list)
    comments: int = 0
    """Comment lines written before it (kept when the file is rewritten, README)."""
    blank: bool = False
    """A blank line before it (the lab file's own categories; Asterisk keeps them when it
    rewrites the file, and writes a NewCat's category with none)."""


@dataclass
class ConfigFile:
    categories: list[Category]
    generated: bool = False
    """Rewritten by UpdateConfig (which adds its header lines)."""

    def find(self, name: str) -> Category | None:
        return next(iter(self.named(name)), None)

    def named(self, name: str) -> list[Category]:
        """Every category of that name, ignoring case (``does_category_match()``)."""
        low = name.lower()
        return [c for c in self.categories if c.name.lower() == low]

    def lines(self) -> dict[int, int]:
        """Line number of each variable (by ``id``) in the file as written."""
        numbers: dict[int, int] = {}
        line = _HEADER_LINES if self.generated else 0
        for cat in self.categories:
            # the lab file opens with its comments and a blank line; its later categories
            # have a blank line, then their comments; a NewCat's has neither (06: the 3
            # lines appended to the 113-line file, under the 6-line header, were numbered
            # 121-123; the lab's pushed [vb-ack] follows the last line of the file)
            line += cat.comments + cat.blank + 1
            for var in cat.vars:
                line += 1
                numbers[id(var)] = line
        return numbers


def parse_config(text: str) -> ConfigFile:
    categories: list[Category] = []
    comments = 0
    for raw in text.strip().splitlines():
        if raw.startswith(";"):
            comments = int(raw[1:])
        elif raw.startswith("[") and raw.endswith("]"):
            blank = bool(categories) or bool(comments)
            categories.append(Category(raw[1:-1], comments=comments, blank=blank))
            comments = 0
        elif "=>" in raw:
            name, _, value = raw.partition("=>")
            categories[-1].vars.append(Var(name, value, obj=True))
        else:
            name, _, value = raw.partition("=")
            categories[-1].vars.append(Var(name, value))
    return ConfigFile(categories)


def lab_files() -> dict[str, ConfigFile]:
    return {
        "extensions.conf": parse_config(_LAB_EXTENSIONS),
        "confbridge.conf": parse_config(_LAB_CONFBRIDGE),
    }


# ---------------------------------------------------------------- the actions


def _restricted(name: str) -> bool:
    """``live_dangerously = no``: nothing outside the config directory."""
    return name.startswith("/") or ".." in name.split("/")


class ConfigStore:
    """The config directory of the fake (``extensions.conf`` and ``confbridge.conf``)."""

    def __init__(self) -> None:
        self.files = lab_files()

    @property
    def extensions(self) -> ConfigFile:
        return self.files["extensions.conf"]

    def _load(self, req: Request) -> ConfigFile | list[Field]:
        name = req.get("Filename").strip()
        if not name:
            return response(req, "Error", "Filename not specified")
        if _restricted(name):
            return response(req, "Error", "File requires escalated privileges")
        cfg = self.files.get(name)
        if cfg is None:
            return response(req, "Error", "Config file not found")
        return cfg

    def get_config(self, req: Request) -> list[Field]:
        """GetConfig: ``Category-000000``, ``Line-000000-000000: var=value`` (06);
        ``No categories found`` as a bare line when the Category filter matches none."""
        cfg = self._load(req)
        if isinstance(cfg, list):
            return cfg
        wanted = req.get("Category")
        out = response(req, "Success")
        shown = [c for c in cfg.categories if not wanted or c.name == wanted]
        for i, cat in enumerate(shown):
            out.append((f"Category-{i:06d}", cat.name))
            out.extend(
                (f"Line-{i:06d}-{j:06d}", f"{v.name}={v.value}") for j, v in enumerate(cat.vars)
            )
        if not shown:
            out.append(("", "No categories found"))
        return out

    def get_config_json(self, req: Request) -> list[Field]:
        """GetConfigJSON: one ``JSON:`` header; duplicate keys (``same``) kept (06)."""
        cfg = self._load(req)
        if isinstance(cfg, list):
            return cfg
        wanted = req.get("Category")
        cats = []
        for cat in cfg.categories:
            if wanted and cat.name != wanted:
                continue
            body = ",".join(f"{json.dumps(v.name)}:{json.dumps(v.value)}" for v in cat.vars)
            cats.append(f"{json.dumps(cat.name)}:{{{body}}}")
        return response(req, "Success", None, ("JSON", "{" + ",".join(cats) + "}"))

    def update_config(self, req: Request) -> tuple[list[Field], bool]:
        """UpdateConfig: (response, whether the dialplan is to be reloaded). All the
        changes apply or none; success is a Response with no Message (06)."""
        src, dst = req.get("SrcFilename").strip(), req.get("DstFilename").strip()
        if not src or not dst:
            return response(req, "Error", "Filename not specified"), False
        for name in (src, dst):
            # Asterisk's is_restricted_file() also refuses a file it cannot resolve (06)
            if _restricted(name) or (name == src and name not in self.files):
                return response(req, "Error", "File requires escalated privileges"), False
        cfg = copy.deepcopy(self.files[src])
        error = _apply_updates(cfg, req)
        if error is not None:
            return response(req, "Error", _UPDATE_ERRORS[error]), False
        cfg.generated = True
        self.files[dst] = cfg
        reload = req.get("Reload").strip()
        wants = bool(reload) and (is_true(reload) or reload.removesuffix(".so") == "pbx_config")
        return response(req, "Success"), wants and dst == "extensions.conf"


def _options(text: str) -> set[str]:
    return {t.strip().lower() for t in text.split(",") if t.strip()}


def _apply_updates(cfg: ConfigFile, req: Request) -> str | None:
    """Asterisk's handle_updates(): Action-NNNNNN, Cat-, Var-, Value-, Match-, Line-,
    Options- (``ignoreerror``, ``allowdups``; ``template``/``inherit``/``catfilter`` are
    not emulated). Returns the error's key, or None."""
    for x in range(100000):
        verb = req.get(f"Action-{x:06d}").strip().lower()
        if not verb:
            return None
        cat_name = req.get(f"Cat-{x:06d}")
        if not cat_name:
            return "unspecified_category"
        var = req.get(f"Var-{x:06d}")
        value = req.get(f"Value-{x:06d}")
        obj = value.startswith(">")
        value = value.removeprefix(">")
        match = req.get(f"Match-{x:06d}")
        line = req.get(f"Line-{x:06d}")
        options = _options(req.get(f"Options-{x:06d}"))
        error = _change(cfg, verb, cat_name, var, value, obj, match, line, options)
        if error is not None:
            return error
    return None


def _change(
    cfg: ConfigFile,
    verb: str,
    cat_name: str,
    var: str,
    value: str,
    obj: bool,
    match: str,
    line: str,
    options: set[str],
) -> str | None:
    ignore = "ignoreerror" in options
    cats = cfg.named(cat_name)
    if verb == "newcat":
        if cats and "allowdups" not in options:
            return None if ignore else "newcat"
        new = Category(cat_name)
        if not match:
            cfg.categories.append(new)
            return None
        before = cfg.named(match)
        if not before:
            return "newcat"
        cfg.categories.insert(cfg.categories.index(before[0]), new)
        return None
    if verb not in {"renamecat", "delcat", "emptycat", "update", "delete", "append", "insert"}:
        return "unknown_action"
    if (
        (verb in {"update", "append"} and not var)
        or (verb == "renamecat" and not value)
        or (verb == "delete" and not var and not line)
        or (verb == "insert" and (not var or not line))
    ):
        return "unspecified_argument"
    if not cats:
        return None if verb == "delcat" and ignore else "unknown_category"
    found = False
    for cat in cats:
        if verb == "renamecat":
            cat.name = value
        elif verb == "delcat":
            cfg.categories.remove(cat)
        elif verb == "emptycat":
            cat.vars.clear()
        elif verb == "append":
            cat.vars.append(Var(var, value, obj or match.lower() == "object"))
        elif verb == "insert":
            at = int(line) if line.strip().isdigit() else 0
            cat.vars.insert(min(at, len(cat.vars)), Var(var, value, obj))
        elif verb == "update":
            found = _update(cat, var, value, match, obj) or found
        else:
            found = _delete(cat, var, match, line) or found
    if verb == "update" and not found:
        return "update"
    if verb == "delete" and not found and not ignore:
        return "update"  # sic: manager.c answers a failed Delete with FAILURE_UPDATE
    return None


def _update(cat: Category, var: str, value: str, match: str, obj: bool) -> bool:
    """ast_variable_update(): the first variable of that name (and value), ignoring case."""
    for v in cat.vars:
        if v.name.lower() == var.lower() and (not match or v.value.lower() == match.lower()):
            v.value, v.obj = value, v.obj or obj
            return True
    return False


def _delete(cat: Category, var: str, match: str, line: str) -> bool:
    """ast_variable_delete(): by item number (``Line``), else every variable of that name
    (and value), ignoring case."""
    if line:
        index = int(line) if line.strip().isdigit() else -1
        if not 0 <= index < len(cat.vars):
            return False
        del cat.vars[index]
        return True
    gone = [
        v
        for v in cat.vars
        if v.name.lower() == var.lower() and (not match or v.value.lower() == match.lower())
    ]
    for v in gone:
        cat.vars.remove(v)
    return bool(gone)
