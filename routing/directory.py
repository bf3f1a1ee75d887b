"""Lines an operator may bring into an incident's room by hand: a line of the directory
(by target id), or a phone number dialled through the centre's trunk."""

import re

from routing.config import RoutingConfig
from routing.decide import PlannedTarget
from routing.models import Target, TargetKind

DIGITS = re.compile(r"^\d{3,15}$")
HAND = "manual"  # the station code of a line added by hand


def find_target(config: RoutingConfig, target_id: str) -> PlannedTarget | None:
    """The phone line or talkgroup ``target_id`` (``pnp-miraflores/1``,
    ``centre/supervisor/1``) of the configuration, or None (also for SMS, radios and
    chats, which are not called into a room)."""
    found: list[PlannedTarget] = []
    for agency in config.agencies.values():
        for station in agency.stations:
            found += [
                PlannedTarget(target=t, station=station.code, station_name=station.name)
                for t in station.targets
                if t.id == target_id
            ]
    centre = config.centre
    found += [
        PlannedTarget(target=t, station="centre", station_name=centre.name)
        for t in centre.supervisor
        if t.id == target_id
    ]
    if centre.operator is not None and centre.operator.id == target_id:
        found.append(
            PlannedTarget(target=centre.operator, station="centre", station_name=centre.name)
        )
    for central in config.centrals.values():
        if central.operator.id == target_id:
            found.append(
                PlannedTarget(
                    target=central.operator, station=central.district, station_name=central.name
                )
            )
    callable_ = [p for p in found if p.target.dial is not None]
    return callable_[0] if callable_ else None


def phone_target(config: RoutingConfig, digits: str, label: str) -> PlannedTarget:
    """A number as dialled (national digits), through the centre's dial template."""
    if not DIGITS.match(digits):
        raise ValueError("3 to 15 digits, as dialled")
    target = Target(
        id=f"{HAND}/{digits}",
        kind=TargetKind.PHONE,
        address=digits,
        label=label or digits,
        dial=config.centre.dial.replace("{number}", digits),
    )
    return PlannedTarget(target=target, station=HAND, station_name="agregado a mano")
