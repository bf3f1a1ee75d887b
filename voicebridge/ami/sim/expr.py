"""Dialplan text as the fake Asterisk evaluates it: ``${...}`` and ``$[...]``
substitution, the few dialplan functions voicebridge's contexts use, the ``$[...]``
expression language, and application argument splitting. Pure functions, no channel.

Followed from Asterisk 22.10.1's sources (``main/pbx_variables.c``
``ast_str_substitute_variables_full2()``, ``main/ast_expr2.y``/``.fl``,
``funcs/func_strings.c``, ``main/app.c``) and checked against the lab traces
(the lab's ``voicebridge-bad-room`` trace):

- substitution is innermost first, and a substituted value is never substituted again:
  VB_ROOM ``LIM-2026-000123${EXTEN}`` went through ``${FILTER(0-9A-Z-,${VB_ROOM})}`` as
  ``LIM-2026-000123EXTEN``, and ``x;Hangup`` as ``H``;
- ``${VAR:offset:length}`` takes a substring (negative values count from the end);
- ``FILTER(allowed,string)``: ``a-z`` ranges, any other character (a trailing ``-``)
  itself; ``REGEX("re" string)``: 1 if POSIX ``re`` matches anywhere in ``string``;
- in ``$[...]`` a quoted operand compares as text, two numbers as numbers; ``&`` and
  ``|`` give their operand or 0; an expression that does not parse gives ``""``.
"""

import re
from collections.abc import Callable

Resolve = Callable[[str], str | None]
"""A variable's value, or a function call's (``NAME(args)``) result; None if unset."""

# ---------------------------------------------------------------- substitution


def _closing(text: str, start: int, opening: str, closing: str) -> tuple[int, bool]:
    """Index after the bracket closing the one opened before ``start``, and whether the
    contents need substituting first (they hold ``${`` or ``$[``)."""
    other = "[" if opening == "{" else "{"
    depth, needsub, i = 1, False, start
    while depth and i < len(text):
        if text[i] == "$" and text[i + 1 : i + 2] == opening:
            needsub, depth = True, depth + 1
            i += 1
        elif text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
        elif text[i] == "$" and text[i + 1 : i + 2] == other:
            needsub = True
            i += 1
        i += 1
    return i, needsub


def substitute(text: str, resolve: Resolve) -> str:
    """``ast_str_substitute_variables_full2()``: ``${...}`` and ``$[...]`` replaced."""
    out: list[str] = []
    i = 0
    while i < len(text):
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        kind = text[j + 1 : j + 2]
        if kind not in ("{", "["):
            out.append(text[i : j + 1])
            i = j + 1
            continue
        out.append(text[i:j])
        closing = "}" if kind == "{" else "]"
        end, needsub = _closing(text, j + 2, kind, closing)
        closed = end <= len(text) and text[end - 1 : end] == closing
        inner = text[j + 2 : end - 1 if closed else end]
        i = end
        if needsub:
            inner = substitute(inner, resolve)
        if kind == "{":
            out.append(_variable(inner, resolve))
        else:
            out.append(evaluate(inner))
    return "".join(out)


def _variable(spec: str, resolve: Resolve) -> str:
    """A variable or function, with its ``:offset:length`` (``parse_variable_name()``)."""
    depth = 0
    for k, c in enumerate(spec):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == ":" and depth == 0:
            value = resolve(spec[:k])
            return "" if value is None else substring(value, spec[k + 1 :])
    value = resolve(spec)
    return "" if value is None else value


def _int_prefix(text: str) -> int | None:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def substring(value: str, spec: str) -> str:
    """``${VAR:offset:length}`` (``substring()`` of pbx_variables.c)."""
    first, _, second = spec.partition(":")
    offset = _int_prefix(first) or 0
    length = _int_prefix(second) if second else None
    n = len(value)
    if offset < 0:
        offset = max(n + offset, 0)
    if offset >= n:
        return ""
    rest = value[offset:]
    if length is None or length >= len(rest):
        return rest
    if length >= 0:
        return rest[:length]
    return rest[:length] if len(rest) > -length else ""


# ---------------------------------------------------------------- arguments


def split_args(data: str, limit: int = 0, delim: str = ",") -> list[str]:
    """``AST_STANDARD_APP_ARGS``: split on ``delim`` outside quotes and brackets, quotes
    and backslashes removed; with ``limit``, the last argument keeps the rest."""
    args: list[str] = []
    current: list[str] = []
    depth, quoted, i = 0, False, 0
    while i < len(data):
        c = data[i]
        if limit and len(args) == limit - 1:
            current.append(data[i:])
            break
        if c == "\\" and i + 1 < len(data):
            current.append(data[i + 1])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "([":
            depth += 1
            current.append(c)
        elif not quoted and c in ")]" and depth:
            depth -= 1
            current.append(c)
        elif not quoted and not depth and c == delim:
            args.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    args.append("".join(current))
    return args


def raw_args(data: str, limit: int) -> list[str]:
    """``AST_STANDARD_RAW_ARGS``: split on commas only, the last keeping the rest."""
    return data.split(",", limit - 1)


# ---------------------------------------------------------------- functions


def _filter_set(allowed: str) -> set[str]:
    """FILTER's allowed characters: ``a-z`` ranges, ``\\x`` escapes, others as they are."""
    chars: list[str] = []
    i = 0
    while i < len(allowed):
        if allowed[i] == "\\" and i + 1 < len(allowed):
            chars.append(allowed[i + 1])
            i += 2
            continue
        chars.append(allowed[i])
        i += 1
    found: set[str] = set()
    k = 0
    while k < len(chars):
        if k + 2 < len(chars) and chars[k + 1] == "-":
            found.update(chr(n) for n in range(ord(chars[k]), ord(chars[k + 2]) + 1))
            k += 3
        else:
            found.add(chars[k])
            k += 1
    return found


def string_function(name: str, args: str) -> str | None:
    """The string functions that need no channel: LEN, FILTER, REGEX, TOUPPER, TOLOWER,
    ISNULL, EXISTS, IF; None for any other name."""
    match name.upper():
        case "LEN":
            return str(len(args))
        case "FILTER":
            parts = raw_args(args, 2)
            if len(parts) < 2:
                return ""
            allowed = _filter_set(parts[0])
            return "".join(c for c in parts[1] if c in allowed)
        case "REGEX":
            parts = args.split('"', 2)
            if len(parts) != 3:
                return ""
            subject = parts[2][1:] if parts[2][:1] in (" ", "\t") else parts[2]
            try:
                return "1" if re.search(parts[1], subject) else "0"
            except re.error:
                return ""
        case "TOUPPER":
            return args.upper()
        case "TOLOWER":
            return args.lower()
        case "ISNULL":
            return "1" if not args else "0"
        case "EXISTS":
            return "1" if args else "0"
        case "IF":
            cond, _, branches = args.partition("?")
            yes, _, no = branches.partition(":")
            return yes if is_true_condition(cond) else no
    return None


def split_call(spec: str) -> tuple[str, str] | None:
    """``NAME(args)`` -> (NAME, args); None if ``spec`` is not a function call."""
    name, paren, rest = spec.partition("(")
    if not paren:
        return None
    return name.strip(), rest[: rest.rfind(")")] if ")" in rest else rest


def is_true_condition(text: str) -> bool:
    """``pbx_checkcondition()``: empty is false, a number is its value, text is true."""
    text = text.strip()
    if not text:
        return False
    number = _int_prefix(text)
    if number is not None and re.fullmatch(r"\s*[+-]?\d+\s*", text):
        return number != 0
    return True


# ---------------------------------------------------------------- $[ ] expressions

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"[^"]*")
    |(?P<op>\|\||&&|==|=~|~~|>=|<=|!=|::|[|&=<>+\-*/%?!:(),])
    |(?P<word>(?:[A-Za-z0-9.';\\_^#@\x80-\U0010ffff]|\$(?!\{))+)
    )""",
    re.VERBOSE,
)
_BINARY = {  # precedence, lowest first (ast_expr2.y)
    "?": 1, "|": 2, "||": 2, "&": 3, "&&": 3,
    "=": 4, "==": 4, "!=": 4, "<": 4, ">": 4, "<=": 4, ">=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, ":": 8, "=~": 8,
}  # fmt: skip


class _Value:
    """An operand: ``num`` (a number, or digits as written) or ``str`` (a word, or a
    quoted string *with* its quotes, as ast_expr2 keeps them)."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str = "num") -> None:
        self.text, self.kind = text, kind

    def number(self) -> float | None:
        if self.kind != "num":
            return None
        try:
            return float(self.text)
        except ValueError:
            return None

    def null(self) -> bool:
        """``is_zero_or_null()``: empty text, or a number that is 0."""
        return self.text == "" or self.number() == 0


def _num(v: float) -> _Value:
    return _Value(str(int(v)) if v == int(v) else f"{v:g}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise ValueError(text[pos:])
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ValueError("end of expression")
        self.i += 1
        return tok

    def parse(self, level: int = 0) -> _Value:
        left = self.unary()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in _BINARY:
            op = tok[1]
            prec = _BINARY[op]
            if prec < level:
                break
            self.take()
            if op == "?":
                yes = self.parse(prec + 1)
                if self.take() != ("op", "::"):
                    raise ValueError("?: without ::")
                no = self.parse(prec)
                left = yes if not left.null() else no
                continue
            left = _binary(op, left, self.parse(prec + 1))
        return left

    def unary(self) -> _Value:
        kind, text = self.take()
        if kind == "str":
            return _Value(text, "str")
        if kind == "word":
            numeric = re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) is not None
            return _Value(text, "num" if numeric else "str")
        if text == "(":
            inner = self.parse()
            if self.take() != ("op", ")"):
                raise ValueError("missing )")
            return inner
        if text == "!":
            return _Value("1" if self.unary().null() else "0")
        if text == "-":
            n = self.unary().number()
            return _num(-(n or 0))
        raise ValueError(text)


def _compare(op: str, a: _Value, b: _Value) -> _Value:
    """``op_eq()`` and the others: as text if either is text, else as numbers."""
    x, y = a.number(), b.number()
    if x is not None and y is not None:
        c = (x > y) - (x < y)
    else:
        c = (a.text > b.text) - (a.text < b.text)
    ok = {"=": c == 0, "==": c == 0, "!=": c != 0, "<": c < 0, ">": c > 0, "<=": c <= 0}
    return _Value("1" if ok.get(op, c >= 0) else "0")


def _binary(op: str, a: _Value, b: _Value) -> _Value:
    if op in ("|", "||"):
        return b if a.null() else a
    if op in ("&", "&&"):
        return _Value("0") if a.null() or b.null() else a
    if op in ("=", "==", "!=", "<", ">", "<=", ">="):
        return _compare(op, a, b)
    if op in (":", "=~"):
        subject, pattern = a.text.replace('"', ""), b.text.replace('"', "")
        m = (re.match if op == ":" else re.search)(pattern, subject)
        if m is None:
            return _Value("" if re.compile(pattern).groups else "0")
        return _Value(m.group(1), "str") if m.re.groups else _num(float(len(m.group(0))))
    x, y = a.number() or 0.0, b.number() or 0.0
    if op in ("/", "%") and y == 0:
        return _Value("0")
    if op == "/":
        return _num(float(int(x / y)) if x == int(x) and y == int(y) else x / y)
    return _num({"+": x + y, "-": x - y, "*": x * y, "%": x % y}[op])


def evaluate(expression: str) -> str:
    """``$[expression]`` -> its value; ``""`` when it does not parse."""
    try:
        parser = _Parser(expression)
        if not parser.tokens:
            return ""
        value = parser.parse()
        if parser.peek() is not None:
            return ""
    except (ValueError, re.error):
        return ""
    return value.text
