"""Reading a YAML configuration file into plain values, keeping where each value was.

PyYAML's own loader follows YAML 1.1, where ``014451234`` is an octal number, ``8:30`` is
510 and ``no`` is False: a phone number or a schedule silently becomes something else.
Here every scalar stays the text that was written (quoted or not) and the schema decides
what it means; ``null``, ``~`` and an empty value are None. Each value's line is kept so
that an error can say ``routing.yaml:42``. Repeated keys are an error, not a silent
override.
"""

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path_ = tuple[str | int, ...]

_NULLS = {"", "~", "null", "Null", "NULL"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    line: int | None  # 1-based
    field: str  # "agencies[2].stations[0].targets[1].phone"
    message: str


class FileProblems(Exception):
    """The file cannot be read as YAML, or repeats a key."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def field_name(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def load_yaml(text: str) -> tuple[Any, dict[Path_, int]]:
    """``(value, lines)``: the document as dicts, lists, strings and None, and the line
    (1-based) of every value by its path."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise FileProblems([Problem(line=line, field="(file)", message=str(exc.problem))]) from None
    except yaml.YAMLError as exc:
        raise FileProblems([Problem(line=None, field="(file)", message=str(exc))]) from None
    lines: dict[Path_, int] = {}
    problems: list[Problem] = []
    if node is None:
        return None, lines
    value = _convert(node, (), lines, problems)
    if problems:
        raise FileProblems(problems)
    return value, lines


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
                        message="keys must be plain names",
                    )
                )
                continue
            key = key_node.value
            if key in out:
                problems.append(
                    Problem(
                        line=key_node.start_mark.line + 1,
                        field=field_name((*path, key)),
                        message=f"{key!r} is given twice",
                    )
                )
                continue
            out[key] = _convert(value_node, (*path, key), lines, problems)
        return out
    raise AssertionError(f"unknown YAML node {node!r}")  # pragma: no cover
