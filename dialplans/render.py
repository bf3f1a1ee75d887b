"""Rendering of the Asterisk contexts voicebridge needs, and the AMI UpdateConfig that
installs them.

The templates (``dialplans/templates/*.conf.j2``) are rendered by a Jinja2 environment
with ``StrictUndefined`` (an undefined variable is an error, never an empty string) and a
``finalize`` hook that refuses any interpolated value that is not a
:class:`~dialplans.escape.DialplanText`, i.e. that did not pass the escaper. Every value
comes from :class:`DialplanParams`, validated when the params are built. The output is
checked once more by :func:`~dialplans.escape.check_extensions_conf`.

Nothing here does I/O: :func:`to_update_config` builds the header pairs of the AMI
UpdateConfig actions, and the caller sends them, one after the other.
"""

import reprlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Final

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dialplans import escape
from dialplans.citizen import MENU, OPERATOR_KEY, Option, district_ubigeo
from dialplans.errors import InvalidParameter, TemplateProblem
from dialplans.prompts import (
    CATEGORY_PREFIX,
    DIGITS_DIR,
    DISTRICT_PREFIX,
    LANGUAGE,
    MENU_PROMPT,
    PAUSE_DIR,
    PAUSE_PROMPT,
    PROMPT_DIR,
    PROMPTS,
    SERVICES_PROMPT,
)
from routing.districts import DISTRICTS

ACK_TEMPLATE: Final = "vb-ack.conf.j2"
ROOM_TEMPLATE: Final = "vb-room.conf.j2"
CHECK_TEMPLATE: Final = "vb-check.conf.j2"
CITIZEN_TEMPLATE: Final = "vb-citizen.conf.j2"
MENU_TEMPLATE: Final = "vb-citizen-menu.conf.j2"
CONFIG_FILE: Final = "extensions.conf"
DIALPLAN_MODULE: Final = "pbx_config"
MESSAGE_SECONDS: Final = 25
"""About how long one play of the ack message lasts: the pause (1 s), the intro (4.3 s),
six to nine digits (0.67 to 0.9 s each), the category (up to 2.6 s), the menu (7.9 s),
and Read()'s 50 ms between two files; at most 24.4 s."""
CLOSING_SECONDS: Final = 10
"""About how long the closing prompt lasts, with margin."""
CHECK_PLAYS: Final = 2
"""How many times the line check's message plays in all when no key is pressed."""
CHECK_MESSAGE_SECONDS: Final = 6
"""About how long one play of the line check's message lasts: the pause (1 s), the
prompt (4.4 s) and Read()'s 50 ms between the two, with margin."""
MAX_DIGITS: Final = 9
"""The most digits the ack message speaks: the number of an incident id has six to nine
(:mod:`routing.ids`), and the message's file list stays short whatever VB_DIGITS holds."""
AMI_MAX_HEADERS: Final = 128
"""Asterisk's limit on the header lines of one AMI action (``AST_MAX_MANHEADERS``), counting
``Action`` and ``ActionID``: it refuses a longer action whole, with ``Response: Error`` /
``Too many lines in message or allocation failure`` (seen on Asterisk 22.10.1)."""
AMI_MAX_LINE: Final = 1024
"""The bytes one AMI header line may take with its CRLF (Asterisk's input buffer); a longer
line makes Asterisk answer ``Failed to parse message: line too long``."""
STAGING_SUFFIX: Final = "-staging"
"""Appended to a context's name for the category that receives its new text before the
last UpdateConfig action renames it into place (see :func:`to_update_config`)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CitizenLine:
    """A number citizens call, as the trunk passes it (the dialled extension), and the
    district it serves: the last two digits of its UBIGEO, or None when the caller keys
    the district in (a number that serves several)."""

    number: str
    district: str | None = None

    @classmethod
    def from_routing(cls, lines: Mapping[str, str | None]) -> tuple["CitizenLine", ...]:
        """The lines of :meth:`routing.config.RoutingConfig.citizen_lines`."""
        return tuple(
            cls(number=n, district=None if d is None else d[-2:]) for n, d in lines.items()
        )


UpdateConfigAction = list[tuple[str, str]]
"""The headers of one AMI UpdateConfig action, after ``Action`` and ``ActionID``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DialplanParams:
    """Everything the templates take. Validated on construction; times in seconds."""

    read_timeout: int = 10
    """How long Read() waits for the responder's key after the menu."""
    max_repeats: int = 3
    """How many times the message plays in all (9 repeats it)."""
    absolute_timeout: int = 180
    """TIMEOUT(absolute) of the prompt phase of a responder's leg."""
    conference_timeout: int = 14400
    """TIMEOUT(absolute) once a leg is in the conference (4 h)."""
    max_members: int = 16
    """The bridge profile's max_members: about 10 expected, with headroom."""
    prompt_dir: str = PROMPT_DIR
    language: str = LANGUAGE
    room_prefix: str = "LIM"
    """The prefix of incident ids, which are the room names."""
    ack_context: str = "vb-ack"
    room_context: str = "vb-room"
    check_context: str = "vb-check"
    """The responder line check: the message, a key, UserEvent LineCheck."""
    citizen_context: str = "vb-citizen"
    """The citizen IVR; its menus are ``<citizen_context>-menu`` and
    ``<citizen_context>-menu-<key>``."""
    citizen_lines: tuple[CitizenLine, ...] = ()
    """The citizens' numbers of the routing file (:meth:`CitizenLine.from_routing`)."""
    menu_timeout: int = 6
    """How long WaitExten() and the district code's Read() wait after their prompt."""
    menu_tries: int = 3
    """How many times a menu plays (or the district code is asked) before the operator."""
    citizen_wait: int = 20
    """How long the caller waits, after the report left, for voicebridge to take the
    call on before hearing an apology."""
    ivr_timeout: int = 600
    """TIMEOUT(absolute) of the IVR, until the caller joins a conference."""

    def __post_init__(self) -> None:
        template_values(self)  # raises InvalidParameter naming the first bad field
        self._check_distinct_contexts()
        # the ack prompt and the line check share TIMEOUT(absolute): the longer one counts
        needed, plays, seconds, message = max(
            (plays * (seconds + self.read_timeout) + CLOSING_SECONDS, plays, seconds, message)
            for plays, seconds, message in (
                (self.max_repeats, MESSAGE_SECONDS, "message"),
                (CHECK_PLAYS, CHECK_MESSAGE_SECONDS, "line check's message"),
            )
        )
        if self.absolute_timeout < needed:
            raise InvalidParameter(
                "absolute_timeout",
                f"must be at least {needed} s ({plays} plays of the ~{seconds} s {message}, "
                f"each followed by the {self.read_timeout} s read, then the closing prompt) "
                f"or it would cut the last answer off",
            )

    def _check_distinct_contexts(self) -> None:
        """Every context name differs from the others (the citizen IVR's menus included);
        else InvalidParameter naming the later field."""
        owners: dict[str, str] = {}
        fields = [
            ("ack_context", [self.ack_context]),
            ("room_context", [self.room_context]),
            ("check_context", [self.check_context]),
            ("citizen_context", menu_contexts(self.citizen_context)),
        ]
        for field, names in fields:
            for name in names:
                if name in owners:
                    own = "" if name == names[0] else f"its menu {name} "
                    raise InvalidParameter(field, f"{own}must differ from {owners[name]}")
                owners[name] = field


BOUNDS: Final[Mapping[str, tuple[int, int]]] = {
    "read_timeout": (1, 60),
    "max_repeats": (1, 5),
    "absolute_timeout": (30, 900),
    "conference_timeout": (300, 86400),
    "max_members": (2, 100),
    "menu_timeout": (2, 30),
    "menu_tries": (1, 5),
    "citizen_wait": (5, 120),
    "ivr_timeout": (120, 3600),
}
"""The bounds of each timing parameter (the admins' parameters document shows them)."""


def bounded(params: DialplanParams, name: str) -> escape.DialplanText:
    """A timing parameter through the escaper, within its :data:`BOUNDS`."""
    low, high = BOUNDS[name]
    return escape.integer(getattr(params, name), name=name, minimum=low, maximum=high)


def template_values(params: DialplanParams) -> dict[str, object]:
    """The values the templates see, each one passed through the escaper under the name
    of its parameter."""
    text = escape.integer
    folder = escape.identifier(params.prompt_dir, name="prompt_dir", kind="prompt")
    prompts = {name: escape.prompt_path(folder, name, name=f"prompt {name}") for name in PROMPTS}
    return {
        "read_timeout": bounded(params, "read_timeout"),
        "max_repeats": bounded(params, "max_repeats"),
        "absolute_timeout": bounded(params, "absolute_timeout"),
        "conference_timeout": bounded(params, "conference_timeout"),
        "max_members": bounded(params, "max_members"),
        "language": escape.identifier(params.language, name="language", kind="language"),
        "room_prefix": escape.room_prefix(params.room_prefix, name="room_prefix"),
        "ack_context": escape.identifier(params.ack_context, name="ack_context", kind="context"),
        "room_context": escape.identifier(params.room_context, name="room_context", kind="context"),
        "check_context": escape.identifier(
            params.check_context, name="check_context", kind="context"
        ),
        "check_plays": text(CHECK_PLAYS, name="check_plays", minimum=1, maximum=5),
        "prompts": prompts,
        # the dialplan appends the category code to it, after FILTER(a-z_)
        "category_prompt": escape.prompt_path(folder, CATEGORY_PREFIX, name="category prompts"),
        # Asterisk's core sounds: the dialplan appends /<digit> (after FILTER(0-9))
        "digit_dir": escape.identifier(DIGITS_DIR, name="digit prompts", kind="prompt"),
        "pause_prompt": escape.prompt_path(PAUSE_DIR, PAUSE_PROMPT, name="pause prompt"),
        "max_digits": text(MAX_DIGITS, name="max_digits", minimum=1, maximum=9),
        **_citizen_values(params, folder),
    }


def menu_contexts(citizen_context: str) -> list[str]:
    """The citizen IVR's contexts: itself, its menu, and each sub-menu's."""
    menu = f"{citizen_context}-menu"
    return [citizen_context, menu, *(f"{menu}-{o.key}" for o in MENU if o.options)]


def _citizen_values(params: DialplanParams, folder: escape.DialplanText) -> dict[str, object]:
    text = escape.integer
    context = escape.identifier(params.citizen_context, name="citizen_context", kind="context")
    seen: set[str] = set()
    lines = []
    for n, line in enumerate(params.citizen_lines):
        name = f"citizen_lines[{n}]"
        number = escape.digits(line.number, name=f"{name}.number", minimum=3, maximum=15)
        if number in seen:
            raise InvalidParameter(f"{name}.number", f"{number} is listed twice")
        seen.add(number)
        district = "" if line.district is None else line.district
        if district and district_ubigeo(district) is None:
            raise InvalidParameter(f"{name}.district", f"is not 01 to {len(DISTRICTS)}")
        code = (
            escape.digits(district, name=f"{name}.district", minimum=2, maximum=2)
            if district
            else escape.DialplanText("")
        )
        lines.append({"number": number, "district": code})
    return {
        "citizen_context": context,
        "citizen_lines": lines,
        "menu_timeout": bounded(params, "menu_timeout"),
        "menu_tries": bounded(params, "menu_tries"),
        "citizen_wait": bounded(params, "citizen_wait"),
        "ivr_timeout": bounded(params, "ivr_timeout"),
        "districts": text(len(DISTRICTS), name="districts", minimum=1, maximum=99),
        "district_prompt": escape.prompt_path(folder, DISTRICT_PREFIX, name="district prompts"),
        "operator_key": escape.digits(OPERATOR_KEY, name="operator key", minimum=1, maximum=1),
    }


def _menu_values(
    values: Mapping[str, object],
    context: str,
    options: tuple[Option, ...],
    *,
    prompt: str,
    counter: str,
    parent: str = "",
) -> dict[str, object]:
    """The values of one menu's template: the shared ones, and its own. A choice is the
    key pressed after its ``parent``'s (a sub-menu's ``61``)."""
    folder = escape.identifier(PROMPT_DIR, name="prompt_dir", kind="prompt")
    own = escape.identifier(context, name="menu context", kind="context")
    rendered: list[dict[str, object]] = []
    for option in options:
        key = escape.digits(option.key, name=f"{context} key", minimum=1, maximum=1)
        if option.options:
            sub = escape.identifier(f"{context}-{option.key}", name="sub-menu", kind="context")
            rendered.append({"key": key, "submenu": sub})
        else:
            choice = escape.digits(
                parent + option.key, name=f"{context} choice", minimum=1, maximum=2
            )
            rendered.append({"key": key, "submenu": None, "choice": choice})
    return {
        **values,
        "menu_context": own,
        "options": rendered,
        "menu_prompt": escape.prompt_path(folder, prompt, name="menu prompt"),
        "counter": escape.identifier(counter, name="menu counter", kind="variable"),
    }


class _Unescaped(Exception):
    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value


def _quoted(value: object) -> str:
    """A value a template printed, as a problem shows it: at most 60 characters."""
    text = reprlib.repr(value) if not isinstance(value, str) else repr(value[:60])
    return text[:60]


def _finalize(value: object) -> object:
    if isinstance(value, escape.DialplanText):
        return value
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError here
    raise _Unescaped(value)


SAFE_FILTERS: Final = frozenset({"default", "first", "last", "length"})
"""The only filters a template may use (the values it prints pass the escaper anyway)."""


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox as the templates need it: undefined variables are
    errors, every printed value must have passed the escaper, no globals (no ``range``,
    ``lipsum``, ``cycler``...), only :data:`SAFE_FILTERS`."""

    def __init__(self, loader: jinja2.BaseLoader) -> None:
        super().__init__(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # not HTML: every value passes dialplans.escape
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.globals = {}
        self.filters = {name: f for name, f in self.filters.items() if name in SAFE_FILTERS}


def _environment(sources: Mapping[str, str] | None = None) -> jinja2.Environment:
    """The templates' environment: the shipped templates, or ``sources`` (file name ->
    text) instead."""
    if sources is None:
        return TemplateEnvironment(jinja2.PackageLoader("dialplans", "templates"))
    files = dict(sources)

    def load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        text = files.get(name)
        return None if text is None else (text, name, lambda: True)

    return TemplateEnvironment(jinja2.FunctionLoader(load))


def _said(error: Exception) -> tuple[str, str]:
    """What went wrong in a render, in English and in Spanish."""
    if isinstance(error, jinja2.UndefinedError):
        return f"undefined variable: {error.message}", f"variable no definida: {error.message}"
    if isinstance(error, _Unescaped):
        shown = _quoted(error.value)
        return (
            f"interpolates {shown}, which did not pass dialplans.escape",
            f"imprime {shown}, que no pasó por el escapador de valores",
        )
    if isinstance(error, SecurityError):
        return f"the sandbox forbids it: {error}", f"el entorno aislado no lo permite: {error}"
    return str(error), f"error de plantilla: {error}"


def _where(error: BaseException) -> tuple[str | None, int | None]:
    """The template file and line an error of a render was raised at."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        return error.filename or error.name, error.lineno
    found: tuple[str | None, int | None] = (None, None)
    tb = error.__traceback__
    while tb is not None:
        file = tb.tb_frame.f_code.co_filename
        if file.endswith(".j2"):
            found = (file.rsplit("/", 1)[-1], tb.tb_lineno)
        tb = tb.tb_next
    return found


def render_template(
    name: str,
    values: Mapping[str, object],
    *,
    env: jinja2.Environment | None = None,
    max_output: int | None = None,
    check: bool = True,
) -> str:
    """Render one template with ``values`` and check the output is plausible
    extensions.conf. Raises :class:`TemplateProblem` (naming the template and, when
    known, its line) for a syntax error, an undefined variable, a value that did not pass
    the escaper, something the sandbox forbids, output over ``max_output`` characters,
    or implausible output (unless ``check`` is false: :func:`dialplans.lint.lint` checks an
    admin's rendering line by line, naming the template lines)."""
    env = env or _environment()
    try:
        parts: list[str] = []
        size = 0
        for part in env.get_template(name).generate(values):
            size += len(part)
            if max_output is not None and size > max_output:
                raise TemplateProblem(
                    name,
                    f"renders more than {max_output} characters",
                    es=f"genera más de {max_output} caracteres",
                )
            parts.append(part)
        text = "".join(parts)
    except TemplateProblem:
        raise
    except (jinja2.TemplateError, _Unescaped) as error:
        file, line = _where(error)
        en, es = _said(error)
        raise TemplateProblem(file or name, en, line=line, es=es) from error
    if not check:
        return text
    try:
        escape.check_extensions_conf(text, source=name)
    except InvalidParameter as error:
        raise TemplateProblem(
            name, str(error), es=f"no es un plan de marcación válido: {error}"
        ) from error
    return text


def render_contexts(
    params: DialplanParams,
    *,
    sources: Mapping[str, str] | None = None,
    max_output: int | None = None,
) -> dict[str, str]:
    """Context name -> extensions.conf text of that context (its comments, its
    ``[header]`` and its lines), in the order they are installed: from the shipped
    templates, or from ``sources`` (file name -> text, an admin's revisions) with all the
    output at most ``max_output`` characters."""
    env = _environment(sources)
    budget = [max_output]

    def render(name: str, values: Mapping[str, object]) -> str:
        text = render_template(name, values, env=env, max_output=budget[0], check=sources is None)
        if budget[0] is not None:
            budget[0] -= len(text)
        return text

    return each_context(params, render)


Renderer = Callable[[str, Mapping[str, object]], str]
"""Renders one template (its file name) with its values."""


def each_context(params: DialplanParams, render: Renderer) -> dict[str, str]:
    """Context name -> its text, each rendered by ``render`` with its template's values,
    in the order they are installed."""
    values = template_values(params)
    citizen, menu, *subs = menu_contexts(params.citizen_context)
    contexts = {
        params.ack_context: render(ACK_TEMPLATE, values),
        params.room_context: render(ROOM_TEMPLATE, values),
        params.check_context: render(CHECK_TEMPLATE, values),
        citizen: render(CITIZEN_TEMPLATE, values),
        menu: render(
            MENU_TEMPLATE,
            _menu_values(values, menu, MENU, prompt=MENU_PROMPT, counter="VB_TRIES"),
        ),
    }
    for option, sub in zip((o for o in MENU if o.options), subs, strict=True):
        sub_values = _menu_values(
            values,
            sub,
            option.options,
            prompt=f"{SERVICES_PROMPT}{option.key}",
            counter="VB_SUBTRIES",
            parent=option.key,
        )
        contexts[sub] = render(MENU_TEMPLATE, sub_values)
    return contexts


def _version() -> str:
    try:
        return metadata.version("voicebridge")
    except metadata.PackageNotFoundError:
        return "unknown"


def render_file(params: DialplanParams, *, version: str | None = None) -> str:
    """All contexts as one extensions.conf text, after a header comment naming voicebridge
    and its version (the installed distribution's unless ``version`` is given)."""
    shown = escape.comment(_version() if version is None else version, name="version")
    header = (
        f"; Asterisk contexts of voicebridge {shown}, rendered from its dialplan templates.\n"
        "; Do not edit by hand: the next push replaces these contexts.\n"
    )
    text = header + "".join(f"\n{body}" for body in render_contexts(params).values())
    escape.check_extensions_conf(text, source="extensions.conf")
    return text


def to_remove(names: Sequence[str], *, filename: str = CONFIG_FILE) -> UpdateConfigAction:
    """The one UpdateConfig action (headers after ``Action`` and ``ActionID``) that deletes
    the contexts ``names`` (those missing are no error) and reloads the dialplan."""
    file = escape.config_filename(filename, name="filename")
    changes: list[_Change] = [
        [
            ("Action", "DelCat"),
            ("Cat", escape.identifier(n, name="context", kind="context")),
            ("Options", "ignoreerror"),
        ]
        for n in names
    ]
    head = [("SrcFilename", file), ("DstFilename", file), ("Reload", DIALPLAN_MODULE)]
    return [*head, *_numbered(changes)]


def _appends(name: str, body: str) -> Iterator[tuple[str, str]]:
    """(var, value) of each dialplan line of one rendered context."""
    seen_header = False
    for number, raw in enumerate(body.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            if line != f"[{name}]" or seen_header:
                raise InvalidParameter(
                    f"context {name}, line {number}", f"unexpected header {line!r}"
                )
            seen_header = True
            continue
        var, arrow, value = line.partition(" => ")
        if not seen_header or var not in ("exten", "same") or not arrow:
            raise InvalidParameter(
                f"context {name}, line {number}", f"is not a dialplan line: {line!r}"
            )
        yield var, value
    if not seen_header:
        raise InvalidParameter(f"context {name}", "has no [header]")


_Change = list[tuple[str, str]]
"""The fields of one UpdateConfig change (``Action``, ``Cat``, ...), not yet numbered."""


def _numbered(changes: list[_Change]) -> UpdateConfigAction:
    """The changes as ``<Field>-<counter>`` headers, the counter restarting at 000000 (as
    Asterisk reads them in each action: it stops at the first missing ``Action-``)."""
    return [
        (f"{field}-{n:06d}", value) for n, change in enumerate(changes) for field, value in change
    ]


def _packed(changes: list[_Change], *, budget: int) -> Iterator[list[_Change]]:
    """Consecutive groups of ``changes``, each of at most ``budget`` header lines."""
    group: list[_Change] = []
    size = 0
    for change in changes:
        if group and size + len(change) > budget:
            yield group
            group, size = [], 0
        group.append(change)
        size += len(change)
    if group:
        yield group


def to_update_config(
    contexts: Mapping[str, str],
    *,
    filename: str = CONFIG_FILE,
    reload: bool = True,
) -> list[UpdateConfigAction]:
    """The AMI UpdateConfig actions that (re)create ``contexts`` (as returned by
    :func:`render_contexts`) in ``filename``: for each action, the headers after
    ``Action: UpdateConfig`` and ``ActionID``, in the order they must be sent.

    Asterisk refuses a whole action of more than :data:`AMI_MAX_HEADERS` header lines, and
    the contexts take a few hundred (one ``Append`` of four headers per dialplan line), so
    they travel in several actions. Asterisk applies each action all or nothing, but not a
    sequence of them, so the new text is first written to staging categories,
    ``<context>-staging`` (each deleted first with ``Options: ignoreerror``, so a leftover of
    an interrupted push is replaced), with no reload: ``DelCat``, ``NewCat``, then one
    ``Append`` per line with ``Value: >...`` so Asterisk writes ``exten => ...``/
    ``same => ...``. The last action swaps them all in at once: ``DelCat`` of each live
    context (``ignoreerror``, so the first push, when it does not exist yet, succeeds too)
    and ``RenameCat`` of its staging category to it, with ``Reload: pbx_config`` so the new
    dialplan is live at once. Comments are not sent (UpdateConfig cannot carry them).

    Send the actions in order, each after the previous one answered ``Response: Success``,
    and stop at the first error: until the last action succeeds, the live contexts (in the
    file and in the running dialplan) are unchanged. Two pushes must not interleave."""
    file = escape.config_filename(filename, name="filename")
    head: UpdateConfigAction = [("SrcFilename", file), ("DstFilename", file)]
    names = [escape.identifier(name, name="context", kind="context") for name in contexts]
    staging: dict[str, str] = {
        name: escape.identifier(f"{name}{STAGING_SUFFIX}", name=f"context {name}", kind="context")
        for name in names
    }
    clash = set(names) & set(staging.values())
    if clash:
        raise InvalidParameter("context", f"{sorted(clash)[0]} is also another one's staging name")
    fill: list[_Change] = []
    for name, body in contexts.items():
        stage = staging[name]
        fill.append([("Action", "DelCat"), ("Cat", stage), ("Options", "ignoreerror")])
        fill.append([("Action", "NewCat"), ("Cat", stage)])
        for var, value in _appends(name, body):
            line = escape.header_value(value, name=f"context {name}")
            size = len(f"Value-000000: >{line}\r\n".encode())
            if size > AMI_MAX_LINE:
                raise InvalidParameter(
                    f"context {name}",
                    f"{line[:40]!r}... makes a {size}-byte AMI header line (max {AMI_MAX_LINE})",
                )
            fill.append([("Action", "Append"), ("Cat", stage), ("Var", var), ("Value", f">{line}")])
    swap: list[_Change] = []
    for name in names:
        swap.append([("Action", "DelCat"), ("Cat", name), ("Options", "ignoreerror")])
        swap.append([("Action", "RenameCat"), ("Cat", staging[name]), ("Value", name)])
    last = head + ([("Reload", DIALPLAN_MODULE)] if reload else []) + _numbered(swap)
    if 2 + len(last) > AMI_MAX_HEADERS:
        raise InvalidParameter("contexts", f"too many to swap in one action ({len(names)})")
    budget = AMI_MAX_HEADERS - 2 - len(head)  # Action and ActionID are the caller's
    return [head + _numbered(group) for group in _packed(fill, budget=budget)] + [last]
