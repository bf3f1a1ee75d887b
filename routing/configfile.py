"""Reading a YAML configuration file into plain values, keeping where each value was.

PyYAML's own loader follows YAML 1.1, where ``014451234`` is an octal number, ``8:30`` is
510 and ``no`` is False: a phone number or a schedule silently becomes something else.
Here every scalar stays the text that was written (quoted or not) and the schema decides
what it means; ``null``, ``~`` and an empty value are None. Each value's line is kept so
that an error can say ``routing.yaml:42``. Repeated keys are an error, not a silent
override.

The file is written by people and read by every process, so what it may hold is
bounded before anything is built from it: at most :data:`MAX_BYTES` of UTF-8, at most
:data:`MAX_DEPTH` levels of nesting (checked while the node tree is composed, so ten
thousand ``[`` never reach Python's recursion limit) and no aliases (``*name``: a
routing file has no need of them, and they are how a "billion laughs" file or a
recursive one, ``a: &a [*a]``, is written). Each refusal is a :class:`Problem` like any
other, in Spanish, for the centre's admins who write the file.
"""

import errno
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path_ = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024  # the shipped Lima file is 76 KB
MAX_DEPTH = 32  # the shipped Lima file nests 9 levels
FILE = "(archivo)"  # the field of a problem of the file as a whole
TOP = "(documento)"  # the field of the document's top level

_NULLS = {"", "~", "null", "Null", "NULL"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    line: int | None  # 1-based
    field: str  # "agencies[2].stations[0].targets[1].phone"
    message: str

    def where(self, source: str) -> str:
        """``routing.yaml:42: agencies[2].code``; without ``:42`` when no line is known."""
        line = f":{self.line}" if self.line is not None else ""
        return f"{source}{line}: {self.field}"


class FileProblems(Exception):
    """The file cannot be read as YAML, or repeats a key."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def field_name(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or TOP


# ----------------------------------------------------------------- the bytes

_OS_ERRORS = {
    errno.ENOENT: "no existe el archivo",
    errno.EACCES: "no hay permiso para leer el archivo",
    errno.EPERM: "no hay permiso para leer el archivo",
    errno.EISDIR: "es una carpeta, no un archivo",
    errno.ENOTDIR: "una parte de la ruta no es una carpeta",
}


def read_file(path: Path) -> str:
    """The text of the file at ``path``: at most :data:`MAX_BYTES` of UTF-8, or
    :class:`FileProblems` saying why not."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, "desconocido")
        message = _OS_ERRORS.get(exc.errno or 0, f"no se puede leer el archivo (error {name})")
        raise FileProblems([Problem(line=None, field=FILE, message=message)]) from None
    if len(data) > MAX_BYTES:
        raise FileProblems(
            [
                Problem(
                    line=None,
                    field=FILE,
                    message=f"el archivo pasa de {MAX_BYTES // 1024 // 1024} MiB, el máximo "
                    "que se admite",
                )
            ]
        )
    return decode(data)


def decode(data: bytes) -> str:
    """``data`` as UTF-8, or :class:`FileProblems` naming the line of the first bad
    byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = (
            f"el archivo no está en UTF-8: el byte 0x{data[exc.start]:02x} no es válido "
            "(guárdelo con la codificación UTF-8)"
        )
        raise FileProblems([Problem(line=line, field=FILE, message=message)]) from None


# ------------------------------------------------------------------- the YAML


class _Refused(yaml.MarkedYAMLError):
    """What :class:`_Loader` will not compose."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses aliases and nesting past :data:`MAX_DEPTH`
    before composing them."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, AliasEvent):
            raise _Refused(
                problem="no se admiten alias YAML (*nombre): escriba el valor completo",
                problem_mark=mark,
            )
        if self._depth >= MAX_DEPTH:
            raise _Refused(
                problem=f"el documento tiene más de {MAX_DEPTH} niveles de anidamiento",
                problem_mark=mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> tuple[Any, dict[Path_, int]]:
    """``(value, lines)``: the document as dicts, lists, strings and None, and the line
    (1-based) of every value by its path."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # PyYAML checks the characters here
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        message = syntax_problem(exc)
        raise FileProblems([Problem(line=line, field=FILE, message=message)]) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"el carácter U+{character:04X} no se admite en el archivo"
        raise FileProblems([Problem(line=line, field=FILE, message=message)]) from None
    except yaml.YAMLError:
        message = "no es un YAML válido"
        raise FileProblems([Problem(line=None, field=FILE, message=message)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path_, int] = {}
    problems: list[Problem] = []
    if node is None:
        return None, lines
    value = _convert(node, (), lines, problems)
    if problems:
        raise FileProblems(problems)
    return value, lines


# PyYAML's problems (English), in Spanish; the token or character found is {found}
_SYNTAX: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (
            r"found character (?P<found>.+) that cannot start any token",
            "{found} no puede empezar un valor (para sangrar, use espacios)",
        ),
        (
            r"mapping values are not allowed here",
            "aquí no cabe «clave: valor» (¿falta sangría, o comillas en un texto con «: »?)",
        ),
        (r"could not find expected ':'", "falta «:» después de la clave"),
        (
            r"expected the node content, but found (?P<found>.+)",
            "falta un valor (se encontró {found})",
        ),
        (
            r"expected ',' or '\]', but got (?P<found>.+)",
            "se esperaba «,» o «]» (se encontró {found})",
        ),
        (
            r"expected ',' or '\}', but got (?P<found>.+)",
            "se esperaba «,» o «}» (se encontró {found})",
        ),
        (
            r"expected <block end>, but found (?P<found>.+)",
            "la sangría no cuadra con la de las líneas anteriores (se encontró {found})",
        ),
        (
            r"found unexpected end of stream",
            "el archivo termina sin cerrar un texto entre comillas",
        ),
        (
            r"found unknown escape character (?P<found>.+)",
            "secuencia de escape desconocida entre comillas dobles (se encontró {found})",
        ),
        (r"but found another document", "el archivo tiene más de un documento YAML (sobra «---»)"),
        (
            r"sequence entries are not allowed here",
            "aquí no cabe un elemento de lista «- » (¿falta sangría?)",
        ),
        (
            r"invalid indentation or unclosed '\[' or '\{'",
            "sangría no válida, o un «[» o «{» sin cerrar",
        ),
        (
            r"expected a comment or a line break, but found (?P<found>.+)",
            "después de esto solo cabe un comentario o el fin de la línea (se encontró {found})",
        ),
        (r"found undefined alias", "no se admiten alias YAML (*nombre): escriba el valor completo"),
    )
)
_TOKENS = {
    "<stream end>": "el fin del archivo",
    "<block end>": "el fin de un bloque",
    "<block mapping start>": "una clave con otra sangría",
    "<block sequence start>": "una lista con otra sangría",
    "<document start>": "un nuevo documento («---»)",
    "<document end>": "el fin del documento («...»)",
    "\\t": "un tabulador",
}


def _found(text: str) -> str:
    inner = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text
    return _TOKENS.get(inner) or f"«{inner}»"


def syntax_problem(exc: yaml.MarkedYAMLError) -> str:
    """What is wrong, in Spanish, with the column where it is."""
    if isinstance(exc, _Refused):
        return str(exc.problem)
    problem = str(exc.problem or exc.context or "")
    mark = exc.problem_mark
    column = f"columna {mark.column + 1}: " if mark is not None else ""
    for pattern, text in _SYNTAX:
        match = pattern.search(problem)
        if match is not None:
            found = match.groupdict().get("found")
            return column + text.replace("{found}", _found(found) if found else "")
    return column + "el YAML no es válido aquí"


def _convert(node: Node, path: Path_, lines: dict[Path_, int], problems: list[Problem]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, ScalarNode):
        if node.style is None and node.value in _NULLS:
            return None
        return node.value
    if isinstance(node, SequenceNode):
        return [_convert(item, (*path, n), lines, problems) for n, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                problems.append(
                    Problem(
                        line=key_node.start_mark.line + 1,
                        field=field_name(path),
                        message="las claves deben ser nombres simples",
                    )
                )
                continue
            key = key_node.value
            if key in out:
                problems.append(
                    Problem(
                        line=key_node.start_mark.line + 1,
                        field=field_name((*path, key)),
                        message=f"la clave {key!r} aparece dos veces",
                    )
                )
                continue
            out[key] = _convert(value_node, (*path, key), lines, problems)
        return out
    raise AssertionError(f"unknown YAML node {node!r}")  # pragma: no cover
