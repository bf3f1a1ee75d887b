"""Rendering an admin's templates where they can do no harm.

An admin's template is code: Jinja2 runs it. It renders in Jinja2's immutable sandbox
(no attribute starting with ``_``, no method that changes a value, no globals, a short
allow-list of filters), with undefined variables as errors and every interpolated value
passed through the escaper (:mod:`dialplans.render`). The sandbox does not bound time or
memory (a loop of loops, a string doubled thirty times), so the render runs in a child
process (``python -m dialplans.sandbox``) with an address-space and a CPU-time limit
(``setrlimit``), a wall-clock timeout and a cap on what it writes: a template that loops
forever or renders megabytes is refused with a clear problem and the parent is never at
risk.

:func:`render_isolated` is what the dialplan administration calls; the child's side is
:func:`_child`.
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from dialplans.errors import TemplateProblem
from dialplans.lint import lint
from dialplans.problems import Problem
from dialplans.render import CitizenLine, DialplanParams, render_contexts
from dialplans.templateset import MAX_SOURCE, TEMPLATES, name_of


@dataclass(frozen=True, slots=True)
class Limits:
    seconds: float = 5.0
    """Wall-clock time the whole render may take (the child is killed after it)."""
    cpu_seconds: int = 4
    """CPU time the child may use (the kernel stops it after it)."""
    memory: int = 512 * 1024 * 1024
    """Address space of the child, in bytes."""
    output: int = 512 * 1024
    """Characters the rendering of all contexts may have."""


LIMITS: Final = Limits()


MAX_PROBLEMS: Final = 50
"""The most problems a validation reports (the first ones, in template order)."""
MAX_TEXT: Final = 600
"""The most characters of one problem's text."""


@dataclass(frozen=True, slots=True)
class Rendering:
    contexts: dict[str, str] = field(default_factory=dict)
    """Context name -> its extensions.conf text (empty when there are problems)."""
    problems: list[Problem] = field(default_factory=list)


def check_sources(sources: Mapping[str, str]) -> list[Problem]:
    """What makes a set of template sources unfit to render at all."""
    problems = []
    for name in TEMPLATES:
        if name not in sources:
            problems.append(Problem(name, None, "the template is missing", "falta la plantilla"))
    for name, text in sources.items():
        if name not in TEMPLATES:
            problems.append(
                Problem(name, None, "is not a template of the set", "no es una plantilla del juego")
            )
        elif len(text) > MAX_SOURCE:
            problems.append(
                Problem(
                    name,
                    None,
                    f"has {len(text)} characters (at most {MAX_SOURCE})",
                    f"tiene {len(text)} caracteres (como máximo {MAX_SOURCE})",
                )
            )
        elif "\x00" in text:
            problems.append(
                Problem(name, None, "holds a NUL character", "contiene un carácter NUL")
            )
    return problems


def render_isolated(
    sources: Mapping[str, str],
    params: DialplanParams,
    *,
    limits: Limits = LIMITS,
    lint: bool = True,
) -> Rendering:
    """Render ``sources`` (template name -> source) with ``params`` in a child process
    bounded by ``limits``, and there parse the rendering back and check it
    (:func:`dialplans.lint.lint`, unless ``lint`` is false): the contexts, or the
    problems. Nothing an admin wrote runs in this process: not the templates, not the
    checks on what they rendered (a regular expression made to backtrack would hold
    the whole process, GIL and all)."""
    problems = check_sources(sources)
    if problems:
        return Rendering(problems=problems)
    request = {
        "sources": {name: sources[name] for name in TEMPLATES},
        "params": _params_json(params),
        "limits": asdict(limits),
        "lint": lint,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dialplans.sandbox"],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=limits.seconds,
            check=False,
            env=_child_env(),
        )
    except subprocess.TimeoutExpired:
        return Rendering(problems=[_whole(_TIMEOUT, limits)])
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):  # its CPU time ran out
        return Rendering(problems=[_whole(_TIMEOUT, limits)])
    if done.returncode != 0 or len(done.stdout) > 4 * limits.output + 65536:
        return Rendering(problems=[_whole(_CRASHED, limits, done.stderr)])
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        return Rendering(problems=[_whole(_CRASHED, limits, done.stderr)])
    found = [Problem.from_json(p) for p in answer.get("problems", [])]
    if found:
        return Rendering(problems=found)
    return Rendering(contexts={str(k): str(v) for k, v in answer["contexts"].items()})


_TIMEOUT, _CRASHED = "timeout", "crashed"


def _whole(kind: str, limits: Limits, stderr: bytes = b"") -> Problem:
    if kind == _TIMEOUT:
        return Problem(
            "(render)",
            None,
            f"the render took more than {limits.cpu_seconds:g} s (a loop that does not end?)",
            f"la plantilla tardó más de {limits.cpu_seconds:g} s en generarse "
            "(¿un bucle que no termina?)",
        )
    if b"MemoryError" in stderr:
        mib = limits.memory // (1024 * 1024)
        return Problem(
            "(render)",
            None,
            f"the render needed more than {mib} MiB of memory",
            f"la plantilla necesitó más de {mib} MiB de memoria",
        )
    return Problem(
        "(render)",
        None,
        "the render stopped (its time or memory ran out)",
        "la generación se detuvo (se agotó su tiempo o su memoria)",
    )


def _child_env() -> dict[str, str]:
    keep = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "SYSTEMROOT", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k in keep}


def _params_json(params: DialplanParams) -> dict[str, Any]:
    out = asdict(params)
    out["citizen_lines"] = [[line.number, line.district] for line in params.citizen_lines]
    return out


def _params_from(data: dict[str, Any]) -> DialplanParams:
    lines = tuple(CitizenLine(number=n, district=d) for n, d in data.pop("citizen_lines"))
    return DialplanParams(**data, citizen_lines=lines)


def _child() -> None:
    """Read a request on stdin, render it under the limits, write the answer."""
    import resource

    request = json.loads(sys.stdin.buffer.read())
    limits = Limits(**request["limits"])
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    answer: dict[str, Any]
    problems: list[Problem] = []
    try:
        params = _params_from(request["params"])
        files = {f"{name}.conf.j2": text for name, text in request["sources"].items()}
        contexts = render_contexts(params, sources=files, max_output=limits.output)
        answer = {"contexts": contexts}
        if request["lint"]:
            problems = lint(contexts, params, request["sources"]).problems
    except TemplateProblem as exc:
        problems = [Problem(name_of(exc.template), exc.line, exc.message, exc.es)]
    except RecursionError:
        problems = [
            Problem(
                "(render)",
                None,
                "the templates call themselves without end",
                "las plantillas se llaman a sí mismas sin fin",
            )
        ]
    if problems:
        shown = [_capped(p).json() for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            shown.append(
                Problem(
                    "(render)", None, f"and {more} problems more", f"y {more} problemas más"
                ).json()
            )
        answer = {"problems": shown}
    sys.stdout.write(json.dumps(answer))


def _capped(p: Problem) -> Problem:
    return Problem(p.template, p.line, p.en[:MAX_TEXT], p.es[:MAX_TEXT])


if __name__ == "__main__":
    _child()
