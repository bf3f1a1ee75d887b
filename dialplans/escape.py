"""The pure validation and escaping layer for every value that reaches a dialplan line.

Asterisk reads extensions.conf line by line and then parses application arguments after
substituting variables, so a value can change a dialplan line in several ways:

* a line break (CR, LF, or any other control or separator character) ends the line and
  starts a new one, which can be a whole new priority, context or ``#exec`` directive;
* ``;`` starts a comment and silently cuts the rest of the line;
* ``${`` and ``$[`` start a substitution or an expression that Asterisk evaluates at
  run time;
* ``,`` splits application arguments, ``(`` ``)`` ``[`` ``]`` ``"`` ``\\`` change how
  they are grouped and quoted, and ``&`` joins several files in Playback() and Read();
* ``#exec`` and ``#include`` are configuration directives (never allowed anywhere).

Nothing here escapes by rewriting: a value is either accepted unchanged or refused with
an :class:`~dialplans.errors.InvalidParameter` naming the parameter. Accepted values are
returned as :class:`DialplanText`, the only type the template renderer interpolates.
Identifiers (context, variable, prompt, language names) must match strict patterns.
No I/O, no logging.
"""

import re
from typing import Final, Literal

from dialplans.errors import InvalidParameter
from routing.ids import PREFIX_PATTERN

IdentifierKind = Literal["context", "variable", "prompt", "language"]

MAX_LINE: Final = 500
"""The longest dialplan line we produce (Asterisk itself accepts longer ones)."""

_IDENTIFIERS: Final[dict[str, tuple[re.Pattern[str], str]]] = {
    "context": (
        re.compile(r"[a-z][a-z0-9_-]{0,62}"),
        "a context name: a lower-case letter, then up to 62 of [a-z0-9_-]",
    ),
    "variable": (
        re.compile(r"[A-Z][A-Z0-9_]{0,62}"),
        "a channel variable name: an upper-case letter, then up to 62 of [A-Z0-9_]",
    ),
    "prompt": (
        re.compile(r"[a-z0-9][a-z0-9_-]{0,62}"),
        "a prompt name: a lower-case letter or digit, then up to 62 of [a-z0-9_-]",
    ),
    "language": (
        re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?"),
        "a language code such as es or es_PE",
    ),
}

RESERVED_CONTEXTS: Final = frozenset({"general", "globals"})
"""Categories of extensions.conf that are not dialplan contexts."""

_DIRECTIVES: Final = ("#exec", "#include", "#tryinclude")

_ARGUMENT_FORBIDDEN: Final = (
    ("${", "starts a variable or function substitution"),
    ("$[", "starts an expression"),
    (";", "starts a comment in extensions.conf"),
    (",", "would split the application's arguments"),
    ("(", "would change how the application's arguments are parsed"),
    (")", "would change how the application's arguments are parsed"),
    ("[", "would group the application's arguments"),
    ("]", "would group the application's arguments"),
    ('"', "would quote the application's arguments"),
    ("\\", "would escape the next character"),
    ("&", "would join several files in Playback() or Read()"),
)


class DialplanText(str):
    """A string that passed the escaper and may be interpolated into a dialplan line."""

    __slots__ = ()


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _refuse(name: str, value: str, reason: str) -> InvalidParameter:
    return InvalidParameter(name, f"{reason} (got {_shown(value)})")


def check_line(value: object, *, name: str) -> str:
    """``value`` as a string that fits on one line: no line break, no control or
    separator character, no configuration directive. The base of every other check."""
    if not isinstance(value, str):
        raise InvalidParameter(name, f"must be a string, not {type(value).__name__}")
    for char in value:
        if char in "\r\n":
            raise _refuse(name, value, "contains a line break (CR or LF)")
        if not char.isprintable():
            raise _refuse(name, value, f"contains the control character U+{ord(char):04X}")
    folded = value.casefold()
    for directive in _DIRECTIVES:
        if directive in folded:
            raise _refuse(name, value, f"contains the configuration directive {directive}")
    return value


def comment(value: object, *, name: str) -> DialplanText:
    """Text for a ``;`` comment line: one line, no directive."""
    return DialplanText(check_line(value, name=name))


def argument(value: object, *, name: str) -> DialplanText:
    """Text for one argument of a dialplan application (or a function inside one)."""
    text = check_line(value, name=name)
    if not text:
        raise InvalidParameter(name, "must not be empty")
    for sequence, reason in _ARGUMENT_FORBIDDEN:
        if sequence in text:
            raise _refuse(name, text, f"contains {sequence!r}, which {reason}")
    if text != text.strip():
        raise _refuse(name, text, "has leading or trailing spaces")
    return DialplanText(text)


def identifier(value: object, *, name: str, kind: IdentifierKind) -> DialplanText:
    """A context, channel variable, prompt or language name that matches its pattern."""
    text = argument(value, name=name)
    pattern, description = _IDENTIFIERS[kind]
    if pattern.fullmatch(text) is None:
        raise _refuse(name, text, f"is not {description}")
    if kind == "context" and text in RESERVED_CONTEXTS:
        raise _refuse(name, text, "is a reserved category of extensions.conf, not a context")
    return DialplanText(text)


def room_prefix(value: object, *, name: str) -> DialplanText:
    """The prefix of incident ids (``LIM`` in ``LIM-2026-000123``), which are room names."""
    text = argument(value, name=name)
    if PREFIX_PATTERN.fullmatch(text) is None:
        raise _refuse(name, text, "is not an incident id prefix: 2 to 8 of [A-Z]")
    return DialplanText(text)


def integer(value: object, *, name: str, minimum: int, maximum: int) -> DialplanText:
    """A whole number in ``[minimum, maximum]``, as its decimal text."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(name, f"must be an integer, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise InvalidParameter(name, f"must be between {minimum} and {maximum} (got {value})")
    return DialplanText(str(value))


def digits(value: object, *, name: str, minimum: int, maximum: int) -> DialplanText:
    """Decimal digits only, ``minimum`` to ``maximum`` of them (a number dialled, a menu
    key, a district's code), leading zeros kept."""
    text = argument(value, name=name)
    if not (text.isascii() and text.isdigit() and minimum <= len(text) <= maximum):
        raise _refuse(name, text, f"is not {minimum} to {maximum} digits")
    return DialplanText(text)


def prompt_path(directory: object, prompt: object, *, name: str) -> DialplanText:
    """``<directory>/<prompt>``, the file name Playback() and Read() take (no extension:
    Asterisk picks the format, and the language directory from CHANNEL(language))."""
    folder = identifier(directory, name=f"{name} (directory)", kind="prompt")
    file = identifier(prompt, name=name, kind="prompt")
    return DialplanText(f"{folder}/{file}")


_CONFIG_FILE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\.conf")


def config_filename(value: object, *, name: str) -> DialplanText:
    """A file name in Asterisk's configuration directory: no path, ends in ``.conf``."""
    text = argument(value, name=name)
    if _CONFIG_FILE.fullmatch(text) is None:
        raise _refuse(name, text, "is not a file name like extensions.conf (no directory)")
    return DialplanText(text)


def header_value(value: object, *, name: str) -> str:
    """A value for an AMI header: one line (a CR or LF would inject headers or whole
    actions, see the README's "Header injection"), no control character."""
    return check_line(value, name=name)


_COMMENT = re.compile(r";[^\r\n]*")
_HEADER = re.compile(r"\[(?P<name>[a-z][a-z0-9_-]{0,62})\]")
_EXTENSION = r"(?:_[A-Za-z0-9*#+.!\[\]-]+|[A-Za-z0-9*#+-]+)"
_PRIORITY = r"(?:(?P<number>[1-9][0-9]*)|n)(?:\((?P<label>[a-z_][a-z0-9_]*)\))?"
_APPLICATION = r"(?P<app>[A-Z][A-Za-z0-9]*)\((?P<data>.*)\)"
_EXTEN = re.compile(rf"exten => (?P<exten>{_EXTENSION}),{_PRIORITY},{_APPLICATION}")
_SAME = re.compile(rf" same => {_PRIORITY},{_APPLICATION}")
_PAIRS: Final = (("(", ")"), ("[", "]"), ("{", "}"))


def _balanced(data: str) -> bool:
    return all(data.count(opening) == data.count(closing) for opening, closing in _PAIRS)


def check_extensions_conf(text: str, *, source: str) -> None:
    """Refuse text that is not plausible extensions.conf as we write it: every line is a
    ``;`` comment, a ``[context]`` header, an ``exten =>`` line with priority 1 or a
    ``same =>`` line (both with a balanced ``App(...)``), or blank; no line is longer
    than :data:`MAX_LINE`; no directive. Raises :class:`InvalidParameter` naming
    ``source`` and the line number."""
    in_context = False
    in_extension = False
    for number, line in enumerate(text.split("\n"), start=1):
        where = f"{source}, line {number}"
        check_line(line, name=where)
        if len(line) > MAX_LINE:
            raise InvalidParameter(where, f"is {len(line)} characters long (max {MAX_LINE})")
        if not line or _COMMENT.fullmatch(line):
            continue
        if _HEADER.fullmatch(line):
            in_context, in_extension = True, False
            continue
        exten = _EXTEN.fullmatch(line)
        same = None if exten else _SAME.fullmatch(line)
        match = exten or same
        if match is None:
            raise _refuse(where, line, "is not a comment, a [context] or an exten/same line")
        if not in_context:
            raise _refuse(where, line, "comes before any [context] header")
        if exten and exten["number"] != "1":
            raise _refuse(where, line, "starts an extension with a priority other than 1")
        if same and not in_extension:
            raise _refuse(where, line, "is a same => line with no exten => line before it")
        if not _balanced(match["data"]):
            raise _refuse(where, line, "has unbalanced brackets in its application data")
        in_extension = True
