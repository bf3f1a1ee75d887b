"""Who must respond to an incident and how to reach them: a pure function of the
incident's facts and the routing configuration, with the reasons for every choice.

The :class:`Decision` is what dispatch freezes on the incident (as JSON, see
:func:`decision_to_json`): later edits of the rules never change a running escalation.
Reasons are Spanish sentences for the operators and admins who read them.
"""

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from routing.categories import category_by_code
from routing.config import Response, RoutingConfig, Rule
from routing.districts import district_by_code
from routing.errors import InvalidValue
from routing.models import Agency, AgencyKind, Policy, Priority, Station, Target, TargetKind
from routing.ratelimits import parse_limit
from routing.schedule import active, parse_window

# the shipped policies' names in Spanish, as an adjective of "Política"; a policy the
# centre names itself is shown quoted, as named
POLICY_LABELS = {
    "critical": "crítica",
    "standard": "estándar",
    "utilities": "de servicios públicos",
}


def policy_label(name: str) -> str:
    """``crítica`` for ``critical``: "Política crítica"; ``«nocturna»`` otherwise."""
    return POLICY_LABELS.get(name, f"«{name}»")


@dataclass(frozen=True, kw_only=True, slots=True)
class Facts:
    category: str
    district: str | None
    priority: Priority
    at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedTarget:
    target: Target
    station: str  # station code
    station_name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AgencyPlan:
    agency: str
    agency_name: str
    kind: AgencyKind
    priority: int  # 1 is called first
    policy: Policy
    targets: tuple[PlannedTarget, ...]  # in the order they are tried
    supervisor: tuple[PlannedTarget, ...]  # the last resort
    reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    facts: Facts
    rule: str
    rule_line: int | None
    reasons: tuple[str, ...]  # which rules matched and why this one applies
    plans: tuple[AgencyPlan, ...]
    operator: PlannedTarget | None = None  # the district operator's line, into the room

    def plan(self, agency: str) -> AgencyPlan:
        for plan in self.plans:
            if plan.agency == agency:
                return plan
        raise KeyError(agency)


def decide(
    config: RoutingConfig, facts: Facts, *, failing: Mapping[str, str] | None = None
) -> Decision:
    """``failing``: the lines that failed their last two checks (target id -> what
    they did), marked in the reasons (they are called all the same)."""
    if facts.district is None:
        raise InvalidValue("district", "el incidente necesita su distrito para ser despachado")
    district = district_by_code(facts.district)
    category = category_by_code(facts.category)
    matching = [
        r for r in config.rules if r.matches(category.code, district.ubigeo, facts.priority)
    ]
    if not matching:  # the configuration's coverage check makes this unreachable
        raise InvalidValue(
            "rules", f"ninguna regla corresponde a {category.label} en {district.name}"
        )
    rule = max(matching, key=lambda r: (r.specificity, -r.order))
    reasons = [_why(r, category.label, district.name) for r in matching]
    reasons.append(
        f"Se aplica «{rule.name}»"
        + (": es la regla más específica que coincide" if len(matching) > 1 else "")
        + "."
    )
    operator = None
    who = config.operator_of(district.ubigeo)
    if who is None:
        reasons.append(
            "No hay central ni operador configurado para el distrito: la sala de "
            "conferencia no tendrá operador."
        )
    else:
        operator = PlannedTarget(target=who[1], station="central", station_name=who[0])
        reasons.append(f"El operador de «{who[0]}» se une a la sala de conferencia.")
    plans: list[AgencyPlan] = []
    for response in sorted(rule.respond, key=lambda r: r.priority):
        for agency, via in _agencies(config, response, district.ubigeo):
            if any(p.agency == agency.code for p in plans):
                continue
            plans.append(
                _plan(config, agency, via, response, district.ubigeo, facts.at, failing or {})
            )
    return Decision(
        facts=facts,
        rule=rule.name,
        rule_line=rule.line,
        reasons=tuple(reasons),
        plans=tuple(plans),
        operator=operator,
    )


def _why(rule: Rule, category: str, district: str) -> str:
    parts = [f"categoría {category}" if rule.categories is not None else "toda categoría"]
    parts.append(f"distrito {district}" if rule.districts is not None else "todo distrito")
    if rule.priorities is not None:
        parts.append("prioridad " + ", ".join(sorted(p.label for p in rule.priorities)))
    where = f" (línea {rule.line})" if rule.line else ""
    return f"La regla «{rule.name}»{where} coincide: {', '.join(parts)}."


def _agencies(config: RoutingConfig, response: Response, district: str) -> list[tuple[Agency, str]]:
    if response.agency is not None:
        return [(config.agencies[response.agency], "la regla nombra a esta entidad")]
    kind = response.kind
    if kind is None:  # a response names an agency or a kind (the schema checks)
        raise InvalidValue("respond", "la respuesta no nombra entidad ni tipo de entidad")
    return [
        (a, f"es la entidad de {kind.label} que atiende el distrito")
        for a in config.agencies_of_kind(kind)
        if any(s.covers(district) for s in a.stations)
    ]


def _plan(
    config: RoutingConfig,
    agency: Agency,
    via: str,
    response: Response,
    district: str,
    at: datetime,
    failing: Mapping[str, str],
) -> AgencyPlan:
    reasons = [f"{agency.name}: {via} (prioridad {response.priority})."]
    covering = [s for s in agency.stations if s.covers(district)]
    primary = covering[0]
    where = (
        "toda Lima Metropolitana"
        if primary.districts is None
        else f"{district_by_code(district).name} ({district})"
    )
    reasons.append(f"«{primary.name}» atiende {where}.")
    chain = _chain(agency, primary)
    for previous, station in itertools.pairwise(chain):
        reasons.append(f"Si no responde, sigue «{station.name}» (respaldo de «{previous.name}»).")
    targets: list[PlannedTarget] = []
    for station in chain:
        for target in station.targets:
            if not active(target.hours, at):
                hours = ", ".join(str(w) for w in target.hours)
                reasons.append(
                    f"Se omite «{target.label or target.id}» de «{station.name}»: "
                    f"fuera de horario ({hours})."
                )
                continue
            if target.id in failing:
                reasons.append(
                    f"Atención: «{target.label or target.id}» de «{station.name}» falló sus "
                    f"dos últimas pruebas de línea ({failing[target.id]}); se llama igual, "
                    "y si no responde sigue el próximo destino."
                )
            targets.append(
                PlannedTarget(target=target, station=station.code, station_name=station.name)
            )
    if not targets:
        reasons.append("Ningún destino está disponible ahora: se escala a la supervisión.")
    policy = config.policies[response.policy or agency.policy]
    reasons.append(
        f"Política {policy_label(policy.name)}: {policy.attempts_per_target} intento(s) "
        "por destino, "
        f"timbrado de {policy.ring_seconds} s, reintento tras "
        f"{', '.join(str(s) for s in policy.retry_after)} s; al final, la supervisión del centro."
        + (" (la regla la fija)" if response.policy else "")
    )
    supervisor = tuple(
        PlannedTarget(target=t, station="centre", station_name=config.centre.name)
        for t in config.centre.supervisor
        if active(t.hours, at)
    )
    return AgencyPlan(
        agency=agency.code,
        agency_name=agency.name,
        kind=agency.kind,
        priority=response.priority,
        policy=policy,
        targets=tuple(targets),
        supervisor=supervisor,
        reasons=tuple(reasons),
    )


def _chain(agency: Agency, first: Station) -> list[Station]:
    by_code = {s.code: s for s in agency.stations}
    chain = [first]
    while (code := chain[-1].fallback) is not None and by_code[code] not in chain:
        chain.append(by_code[code])
    return chain


# ------------------------------------------------------------- JSON, for freezing


def decision_to_json(decision: Decision) -> dict[str, Any]:
    facts = decision.facts
    return {
        "facts": {
            "category": facts.category,
            "district": facts.district,
            "priority": facts.priority.value,
            "at": facts.at.isoformat(),
        },
        "rule": decision.rule,
        "rule_line": decision.rule_line,
        "reasons": list(decision.reasons),
        "plans": [plan_to_json(p) for p in decision.plans],
        "operator": None if decision.operator is None else planned_to_json(decision.operator),
    }


def decision_from_json(data: dict[str, Any]) -> Decision:
    facts = data["facts"]
    return Decision(
        facts=Facts(
            category=facts["category"],
            district=facts["district"],
            priority=Priority(facts["priority"]),
            at=datetime.fromisoformat(facts["at"]),
        ),
        rule=data["rule"],
        rule_line=data["rule_line"],
        reasons=tuple(data["reasons"]),
        plans=tuple(plan_from_json(p) for p in data["plans"]),
        operator=None if data.get("operator") is None else planned_from_json(data["operator"]),
    )


def plan_to_json(plan: AgencyPlan) -> dict[str, Any]:
    return {
        "agency": plan.agency,
        "agency_name": plan.agency_name,
        "kind": plan.kind.value,
        "priority": plan.priority,
        "policy": {
            "name": plan.policy.name,
            "ring_seconds": plan.policy.ring_seconds,
            "attempts_per_target": plan.policy.attempts_per_target,
            "retry_after": list(plan.policy.retry_after),
        },
        "targets": [planned_to_json(t) for t in plan.targets],
        "supervisor": [planned_to_json(t) for t in plan.supervisor],
        "reasons": list(plan.reasons),
    }


def plan_from_json(data: dict[str, Any]) -> AgencyPlan:
    policy = data["policy"]
    return AgencyPlan(
        agency=data["agency"],
        agency_name=data["agency_name"],
        kind=AgencyKind(data["kind"]),
        priority=data["priority"],
        policy=Policy(
            name=policy["name"],
            ring_seconds=policy["ring_seconds"],
            attempts_per_target=policy["attempts_per_target"],
            retry_after=tuple(policy["retry_after"]),
        ),
        targets=tuple(planned_from_json(t) for t in data["targets"]),
        supervisor=tuple(planned_from_json(t) for t in data["supervisor"]),
        reasons=tuple(data["reasons"]),
    )


def planned_to_json(planned: PlannedTarget) -> dict[str, Any]:
    t = planned.target
    return {
        "id": t.id, "kind": t.kind.value, "address": t.address, "label": t.label,
        "dial": t.dial, "dtmf": t.dtmf, "hours": [w.text for w in t.hours],
        "limits": [str(limit) for limit in t.limits],
        "station": planned.station, "station_name": planned.station_name,
    }  # fmt: skip


def planned_from_json(data: dict[str, Any]) -> PlannedTarget:
    target = Target(
        id=data["id"],
        kind=TargetKind(data["kind"]),
        address=data["address"],
        label=data["label"],
        dial=data["dial"],
        dtmf=data["dtmf"],
        hours=tuple(parse_window(h) for h in data["hours"]),
        limits=tuple(parse_limit(x) for x in data["limits"]),
    )
    return PlannedTarget(target=target, station=data["station"], station_name=data["station_name"])
