"""Lines an operator may bring into an incident's room by hand: a line of the directory
(by target id), or a phone number dialled through the centre's trunk."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

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


# ------------------------------------------------------------------------ names


@dataclass(frozen=True, kw_only=True, slots=True)
class Names:
    """How people call what the configuration names by code: an agency by its name
    ("Policía Nacional del Perú"), a line by its label and station ("Guardia de
    prevención" of "Comisaría PNP Zárate"). A code the directory does not know (a
    configuration since changed) is shown as it is."""

    agencies: Mapping[str, str]  # agency code -> name
    lines: Mapping[str, tuple[str, str]]  # target id -> (label, station or central name)

    @classmethod
    def of(cls, config: RoutingConfig) -> "Names":
        lines: dict[str, tuple[str, str]] = {}
        for agency in config.agencies.values():
            for station in agency.stations:
                for t in station.targets:
                    lines[t.id] = (t.label or t.id, station.name)
        centre = config.centre
        for t in (*centre.supervisor, *((centre.operator,) if centre.operator else ())):
            lines[t.id] = (t.label or t.id, centre.name)
        for central in config.centrals.values():
            lines[central.operator.id] = (
                central.operator.label or central.operator.id,
                central.name,
            )
        return cls(agencies={code: a.name for code, a in config.agencies.items()}, lines=lines)

    def agency(self, code: str) -> str:
        return self.agencies.get(code, code)

    def line(self, target_id: str) -> tuple[str, str] | None:
        return self.lines.get(target_id)


def phone_shown(dial: str | None) -> str | None:
    """The phone number a dial string calls (``PJSIP/987654321@epr-trunk``), as people
    in Peru write it (``987 654 321``, ``(01) 2089201``); None if it holds none."""
    found = _DIALLED.search(dial or "")
    if found is None:
        return None
    digits = found.group(1)
    try:
        number = phonenumbers.parse(digits, "PE")
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_valid_number(number):
        return digits
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))


_DIALLED = re.compile(r"/\+?(\d{3,15})(?:@|$)")
