"""The dialplan templates an admin may edit, and their parameters as a YAML document.

The set is fixed: the four contexts voicebridge needs (:data:`TEMPLATES`, one file of
``dialplans/templates`` each, plus the citizen IVR's menu and the two partials they
include) and ``parameters``, the timeouts and repeats the templates take. Context names,
the prompts' folder and language, the incident prefix and the citizens' numbers are not
parameters an admin edits here: the bridge, the prompts and the routing file own them.
"""

import re
import reprlib
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from typing import Any, Final

import yaml

from dialplans.errors import InvalidParameter
from dialplans.problems import Problem
from dialplans.render import BOUNDS, DialplanParams

TEMPLATES: Final = (
    "vb-ack",
    "vb-room",
    "vb-check",
    "vb-citizen",
    "vb-citizen-menu",
    "_room",
    "_conference",
)
"""The templates, each ``dialplans/templates/<name>.conf.j2``."""
PARAMETERS: Final = "parameters"
EDITABLE: Final = (*TEMPLATES, PARAMETERS)
SUFFIX: Final = ".conf.j2"
MAX_SOURCE: Final = 64 * 1024
"""The most characters one template (or the parameters) may have."""

_MEANING: Final[Mapping[str, str]] = {
    "read_timeout": "espera de la tecla del respondedor tras el menú",
    "max_repeats": "veces que suena el mensaje al respondedor en total; 9 lo repite",
    "absolute_timeout": "duración máxima del aviso al respondedor",
    "conference_timeout": "duración máxima de una pierna en la conferencia",
    "max_members": "participantes como máximo en una sala",
    "menu_timeout": "espera de una opción del menú ciudadano",
    "menu_tries": "veces que suena un menú ciudadano antes de pasar al operador",
    "citizen_wait": "espera del ciudadano a que se registre su reporte",
    "ivr_timeout": "duración máxima del menú ciudadano",
}
PARAMETER_HELP: Final[Mapping[str, tuple[int, int, str]]] = {
    name: (*BOUNDS[name], meaning) for name, meaning in _MEANING.items()
}
"""The parameters an admin edits: their bounds (:data:`dialplans.render.BOUNDS`, the
ones the render enforces) and what each means (Spanish, as the document shows it)."""

_KEY = re.compile(r"^([a-z_]+)\s*:", re.MULTILINE)


def file_of(name: str) -> str:
    return f"{name}{SUFFIX}"


def name_of(file: str) -> str:
    return file.removesuffix(SUFFIX)


def shipped() -> dict[str, str]:
    """The set as voicebridge ships it: name -> source."""
    folder = resources.files("dialplans") / "templates"
    found = {name: (folder / file_of(name)).read_text(encoding="utf-8") for name in TEMPLATES}
    return found | {PARAMETERS: parameters_text(DialplanParams())}


def parameters_text(params: DialplanParams) -> str:
    """The editable parameters of ``params`` as the YAML document an admin edits."""
    lines = [
        "# Parámetros de los planes de marcación de voicebridge (tiempos en segundos).",
    ]
    for name, (low, high, meaning) in PARAMETER_HELP.items():
        lines.append(f"{name}: {getattr(params, name)}  # {meaning} ({low} a {high})")
    return "\n".join(lines) + "\n"


def parse_parameters(
    text: str, base: DialplanParams
) -> tuple[DialplanParams | None, list[Problem]]:
    """``base`` with the values of the parameters document ``text``, or the problems."""
    lines = {m.group(1): text.count("\n", 0, m.start()) + 1 for m in _KEY.finditer(text)}

    def problem(key: str | None, en: str, es: str) -> Problem:
        return Problem(PARAMETERS, None if key is None else lines.get(key), en, es)

    if len(text) > MAX_SOURCE:
        n = len(text)
        return None, [
            problem(
                None,
                f"has {n} characters (at most {MAX_SOURCE})",
                f"tiene {n} caracteres (como máximo {MAX_SOURCE})",
            )
        ]
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.events.NodeEvent) and event.anchor:  # & or *
                line = None if event.start_mark is None else event.start_mark.line + 1
                return None, [
                    Problem(
                        PARAMETERS,
                        line,
                        "anchors and aliases (&, *) are not allowed here",
                        "no se admiten anclas ni alias (&, *) aquí",
                    )
                ]
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        why = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(PARAMETERS, line, f"not YAML: {why}", f"no es YAML válido: {why}")]
    if not isinstance(data, dict):
        return None, [problem(None, "must be a mapping of name: value", "debe ser nombre: valor")]
    problems: list[Problem] = []
    values: dict[str, Any] = {}  # whole numbers within their bounds
    for key, value in data.items():
        if key not in PARAMETER_HELP:
            known = ", ".join(PARAMETER_HELP)
            shown = _short(key)
            problems.append(
                problem(
                    str(key)[:40],
                    f"unknown parameter {shown} (known: {known})",
                    f"parámetro desconocido «{shown}» (se conocen: {known})",
                )
            )
        elif isinstance(value, bool) or not isinstance(value, int):
            shown = _short(value)  # an alias bomb's value is never written out whole
            problems.append(
                problem(
                    key,
                    f"{key} must be a whole number, not {shown}",
                    f"{key} debe ser un número entero, no «{shown}»",
                )
            )
        elif not PARAMETER_HELP[key][0] <= value <= PARAMETER_HELP[key][1]:
            low, high, _ = PARAMETER_HELP[key]
            problems.append(
                problem(
                    key,
                    f"{key} must be {low} to {high}, not {value}",
                    f"{key} debe estar entre {low} y {high}, no {value}",
                )
            )
        else:
            values[key] = value
    if problems:
        return None, problems
    try:
        return replace(base, **values), []
    except InvalidParameter as exc:
        key = exc.parameter if exc.parameter in PARAMETER_HELP else None
        es = f"{exc.parameter}: valor no admitido con los demás ({exc.message})"
        return None, [problem(key, f"{exc.parameter}: {exc.message}", es)]


def _short(value: object) -> str:
    """A value as a problem quotes it: a few items of a few levels, 40 characters."""
    if isinstance(value, str):
        return value[:40]
    return reprlib.repr(value)[:40]
