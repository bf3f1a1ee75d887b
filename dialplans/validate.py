"""The whole validation of a dialplan template set: the parameters read, the templates
rendered in the sandbox (:mod:`dialplans.sandbox`), the rendering parsed back and checked
(:mod:`dialplans.lint`). What the dialplan administration runs before a revision is
saved, and again (under trial context names) before it is tried on Asterisk."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from dialplans.problems import Problem
from dialplans.render import CitizenLine, DialplanParams
from dialplans.sandbox import LIMITS, Limits, render_isolated
from dialplans.templateset import PARAMETERS, TEMPLATES, parse_parameters

LIVE: Final = DialplanParams()
"""The live context names (vb-ack, vb-room, vb-check, vb-citizen)."""


@dataclass(frozen=True, slots=True)
class Validated:
    contexts: dict[str, str] = field(default_factory=dict)
    """Context name -> its rendered text, in install order (empty if there are problems)."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def trial_names(revision: int) -> DialplanParams:
    """The context names a trial of ``revision`` renders under: ``vb-t<N>-ack``..."""
    prefix = f"vb-t{revision}"
    return replace(
        LIVE,
        ack_context=f"{prefix}-ack",
        room_context=f"{prefix}-room",
        check_context=f"{prefix}-check",
        citizen_context=f"{prefix}-citizen",
    )


def validate(
    sources: Mapping[str, str],
    citizen_lines: tuple[CitizenLine, ...] = (),
    *,
    names: DialplanParams = LIVE,
    limits: Limits = LIMITS,
    lint: bool = True,
) -> Validated:
    """Validate the set ``sources`` (every template and ``parameters``) for the routing
    file's ``citizen_lines``, rendered under the context names of ``names``
    (``lint=False``: rendered only, not parsed back and checked; for tests of what
    comes after)."""
    base = replace(
        names,
        citizen_lines=citizen_lines,
    )
    if PARAMETERS not in sources:
        return Validated(problems=[Problem(PARAMETERS, None, "missing", "falta")])
    params, problems = parse_parameters(sources[PARAMETERS], base)
    if params is None:
        return Validated(problems=problems)
    templates = {name: sources[name] for name in TEMPLATES if name in sources}
    rendering = render_isolated(templates, params, limits=limits, lint=lint)
    if rendering.problems:
        return Validated(problems=rendering.problems)
    return Validated(contexts=rendering.contexts)
