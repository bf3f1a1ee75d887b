"""The response-time analytics through the API (issue 15, point 2): an interval's
figures per period, grouped and filtered, the same before and after the rollup; a
month's KPIs beside the month before; supervisors only; bad input a 422 naming the
field."""

from typing import Any

import pytest

from routing.analytics import BY_CODE, Period
from routing.config import parse_config
from routing.rollups import Analytics, Rollups, days_of
from tests.voicebridge.conftest import Api
from voicebridge.demo_year import YearGenerator, YearPlan, generate
from voicebridge.rules import read_rules_file

FIGURES = "/api/v1/analytics/figures"
SUMMARY = "/api/v1/analytics/summary"


async def get(api: Api, url: str, who: str = "supervisor", **params: str) -> tuple[int, Any]:
    response = await api.client.get(url, params=params, headers=api.auth(who))
    return response.status, await response.json()


def rounded(value: Any) -> Any:
    """``value`` with its floats to nine digits (a sum in another order differs beyond)."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


@pytest.fixture
def year(api: Api) -> YearPlan:
    """August to October 2026 (the runtime's clock is on 25 November)."""
    plan = YearPlan(incidents=900, first_month="2026-08", months=3, seed=5)
    generate(api.runtime.store, plan, parse_config(*read_rules_file(None)))
    return plan


async def test_figures_per_month_by_agency_the_same_rolled_up_or_live(
    api: Api, year: YearPlan
) -> None:
    params = {"interval": "acknowledgement", "from": "2026-08", "to": "2026-10", "by": "agency"}
    status, live = await get(api, FIGURES, **params)
    assert status == 200, live
    assert live["interval"]["code"] == "acknowledgement"
    assert live["interval"]["target"] == 60
    assert "never as zero" in live["interval"]["leaves_out"]
    assert {item["period"] for item in live["items"]} == {"2026-08", "2026-09", "2026-10"}
    pnp = next(i for i in live["items"] if i["group"]["agency"]["code"] == "pnp")
    assert pnp["group"]["agency"]["name"] == "Policía Nacional del Perú"
    runtime = api.runtime
    analytics = Analytics(runtime.db, clock=runtime.clock, targets={"acknowledgement": 60})
    first, last = days_of(Period.MONTH, "2026-08")[0], days_of(Period.MONTH, "2026-10")[1]
    direct = analytics.figures(
        BY_CODE["acknowledgement"], period=Period.MONTH, first=first, last=last, by=["agency"]
    )
    want = direct[(pnp["period"], "pnp")]
    assert (pnp["count"], pnp["p90"], pnp["within"]) == (want.count, want.p90, want.within)
    assert pnp["first_try"] == want.first_try_share

    Rollups(runtime.db, clock=runtime.clock, targets=runtime.settings.analytics_targets).roll()
    status, rolled = await get(api, FIGURES, **params)
    assert status == 200
    assert rounded(rolled["items"]) == rounded(live["items"])

    weeks = {"from": "2026-W40", "to": "2026-W41"}
    status, one = await get(api, FIGURES, interval="response", period="week", **weeks,
                            district="150132")  # fmt: skip
    assert status == 200
    assert [i["period"] for i in one["items"]] == ["2026-W40", "2026-W41"]
    assert one["where"] == {"district": "150132"}


async def test_a_month_s_kpis_beside_the_month_before(api: Api, year: YearPlan) -> None:
    status, kpis = await get(api, SUMMARY, month="2026-10")
    assert status == 200, kpis
    assert (kpis["month"], kpis["previous"]) == ("2026-10", "2026-09")
    response = kpis["response"]
    assert response["now"]["count"] > 0
    assert response["change"] == pytest.approx(
        (response["now"]["mean"] - response["before"]["mean"]) / response["before"]["mean"]
    )
    assert 0 <= kpis["improved"] <= 1
    changed = [d for d in kpis["districts"] if d["change"] is not None]
    assert kpis["improved"] == pytest.approx(
        sum(1 for d in changed if d["change"] < 0) / len(changed)
    )
    pnp = next(a for a in kpis["agencies"] if a["agency"] == "pnp")
    assert 0.6 < pnp["first_try"] <= 1
    assert all(p["per_hour"] > 0 for p in kpis["productivity"])
    generator = YearGenerator(year, parse_config(*read_rules_file(None)))
    october = [n for n, day in enumerate(year.days) if day.month == 10]
    assert sum(p["incidents"] for p in kpis["productivity"]) == sum(
        generator.per_day[n] for n in october
    )
    targets = {t["interval"]: t for t in kpis["targets"]}
    assert targets["acknowledgement"]["target"] == 60
    assert targets["acknowledgement"]["goal"] == 0.9
    assert targets["acknowledgement"]["met"] == (targets["acknowledgement"]["within"] >= 0.9)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "lunch"}, "interval"),
        ({"period": "year"}, "period"),
        ({"from": "2026-13"}, "from"),
        ({"period": "week", "to": "2026-W60"}, "to"),
        ({"from": "2020-01"}, "from"),  # too long a range
        ({"by": "colour"}, "by"),
        ({"by": "district,category,source"}, "by"),
        ({"interval": "total", "by": "agency"}, "by"),
        ({"interval": "total", "agency": "pnp"}, "agency"),
        ({"district": "x" * 65}, "district"),
        ({"district": "\x00"}, "district"),
        ({"category": "robo;drop"}, "category"),
        ({"period": "day", "from": "9999-12-31", "to": "9999-12-31"}, "from"),
        ({"period": "week", "from": "9999-W52"}, "from"),
        ({"from": "+2026-1"}, "from"),
    ],
)
async def test_bad_parameters_are_a_422_naming_the_field(
    api: Api, params: dict[str, str], field: str
) -> None:
    status, body = await get(api, FIGURES, **params)
    assert status == 422, body
    assert field in [f["field"] for f in body["error"]["fields"]]


async def test_only_the_centre_s_supervisors_and_admins_see_them(api: Api) -> None:
    assert (await get(api, FIGURES, who="operator"))[0] == 403
    assert (await get(api, SUMMARY, who="sjl"))[0] == 403
    assert (await get(api, SUMMARY, who="admin"))[0] == 200
    for month in ("noviembre", "0001-01", " 2026-1"):
        status, body = await get(api, SUMMARY, month=month)
        assert status == 422
        assert body["error"]["fields"][0]["field"] == "month"
