"""Who responds and how, on the small configuration: every rule path, with reasons."""

from datetime import UTC, datetime

import pytest

from routing.config import RoutingConfig, parse_config
from routing.decide import Decision, Facts, decide, decision_from_json, decision_to_json
from routing.errors import InvalidValue
from routing.models import AgencyKind, Priority
from tests.routing.configs import SMALL

# a Wednesday, 10:00 in Lima (office hours) and 22:00 in Lima (not)
DAY = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return parse_config(SMALL, "routing.yaml")


def run(
    config: RoutingConfig,
    category: str,
    district: str,
    priority: Priority = Priority.HIGH,
    at: datetime = DAY,
) -> Decision:
    return decide(config, Facts(category=category, district=district, priority=priority, at=at))


def targets(decision: Decision, agency: str) -> list[str]:
    return [t.target.id for t in decision.plan(agency).targets]


def test_the_general_rule(config: RoutingConfig) -> None:
    d = run(config, "robo", "150141")  # Surquillo
    assert d.rule == "robo"
    assert [p.agency for p in d.plans] == ["pnp", "serenazgo"]
    assert targets(d, "pnp") == ["pnp-105/1"]  # only the central covers Surquillo
    assert "Se aplica «robo»: es la regla más específica que coincide." in d.reasons
    assert d.reasons[-1] == "El operador de «Centro de prueba» se une a la sala de conferencia."
    assert d.operator is not None
    assert d.operator.target.address == "014270001"  # Surquillo has no central: the centre's


def test_a_district_rule_overrides_the_general_one(config: RoutingConfig) -> None:
    d = run(config, "robo", "150122")
    assert d.rule == "robo en Miraflores"
    assert [(p.agency, p.priority) for p in d.plans] == [("serenazgo", 1), ("pnp", 2)]
    assert d.plan("pnp").policy.name == "slow"  # the rule sets it
    assert any("(la regla la fija)" in r for r in d.plan("pnp").reasons)
    assert d.reasons[:2] == (
        "La regla «robo» (línea 77) coincide: categoría Robo, todo distrito.",
        "La regla «robo en Miraflores» (línea 82) coincide: categoría Robo, distrito Miraflores.",
    )


def test_a_priority_rule_applies_only_at_that_priority(config: RoutingConfig) -> None:
    assert run(config, "robo", "150141", Priority.CRITICAL).rule == "robo grave"
    assert run(config, "robo", "150141", Priority.MEDIUM).rule == "robo"
    # the district rule is more specific than the priority rule
    assert run(config, "robo", "150122", Priority.CRITICAL).rule == "robo en Miraflores"


def test_the_catch_all(config: RoutingConfig) -> None:
    d = run(config, "incendio", "150101")
    assert d.rule == "resto"
    assert [p.agency for p in d.plans] == ["serenazgo"]
    assert targets(d, "serenazgo") == ["serenazgo-otros/1"]


def test_a_kind_reaches_the_agency_that_covers_the_district(config: RoutingConfig) -> None:
    in_miraflores = run(config, "corte_energia", "150122")
    assert [p.agency for p in in_miraflores.plans] == ["luz-del-sur", "enel"]
    assert in_miraflores.plan("luz-del-sur").kind is AgencyKind.ELECTRICITY
    assert any(
        "es la entidad de energía eléctrica que atiende el distrito" in r
        for r in in_miraflores.plan("luz-del-sur").reasons
    )
    # in Lima only Enel covers; named twice (by kind and by code), it is planned once
    in_lima = run(config, "corte_energia", "150101")
    assert [p.agency for p in in_lima.plans] == ["enel"]


def test_the_fallback_chain_gives_the_order_of_targets(config: RoutingConfig) -> None:
    d = run(config, "robo", "150141", Priority.CRITICAL)
    assert targets(d, "pnp") == ["pnp-105/1"]
    d = run(config, "robo", "150122")
    assert targets(d, "pnp") == [
        "pnp-miraflores/1",
        "pnp-miraflores/2",
        "pnp-san-antonio/1",
        "pnp-105/1",
    ]
    reasons = d.plan("pnp").reasons
    assert "«Comisaría PNP Miraflores» atiende Miraflores (150122)." in reasons
    assert (
        "Si no responde, sigue «Comisaría PNP San Antonio» (respaldo de "
        "«Comisaría PNP Miraflores»)."
    ) in reasons
    planned = d.plan("pnp").targets
    assert planned[1].target.dial == "Local/11022@tetra-sim"
    assert planned[2].target.dtmf == "ww12#"


def test_targets_out_of_hours_are_left_out(config: RoutingConfig) -> None:
    assert targets(run(config, "robo", "150122"), "serenazgo") == [
        "serenazgo-miraflores/1",
        "serenazgo-miraflores/2",
    ]
    night = run(config, "robo", "150122", at=NIGHT)
    assert targets(night, "serenazgo") == ["serenazgo-miraflores/2"]
    assert (
        "Se omite «Oficina» de «Serenazgo de Miraflores»: fuera de horario (lun-vie 08:00-18:00)."
    ) in night.plan("serenazgo").reasons


def test_the_supervisor_is_every_plan_s_last_resort(config: RoutingConfig) -> None:
    d = run(config, "robo", "150122")
    for plan in d.plans:
        assert [t.target.id for t in plan.supervisor] == ["centre/supervisor/1"]


def test_no_district_no_dispatch(config: RoutingConfig) -> None:
    with pytest.raises(InvalidValue, match="necesita su distrito para ser despachado"):
        decide(config, Facts(category="robo", district=None, priority=Priority.HIGH, at=DAY))


def test_the_decision_survives_json(config: RoutingConfig) -> None:
    d = run(config, "robo", "150122", at=NIGHT)
    assert decision_from_json(decision_to_json(d)) == d


def test_the_district_s_own_central_joins_the_room(config: RoutingConfig) -> None:
    d = run(config, "robo", "150122")
    assert d.operator is not None
    assert (d.operator.station_name, d.operator.target.address) == (
        "Central de emergencias de Miraflores",
        "016171000",
    )
    assert d.operator.target.limits == ()  # an operator's line is never held back


def test_an_agency_the_rule_names_is_told_by_name_not_code(config: RoutingConfig) -> None:
    d = run(config, "robo", "150122")
    first = d.plan("pnp").reasons[0]
    assert first == "Policía Nacional del Perú: la regla nombra a esta entidad (prioridad 2)."
