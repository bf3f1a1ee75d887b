"""The citizen IVR's menu, in one place: which key reports which category, and how the
menu says it. The templates render the menu's extensions from it, the prompts builder
its Spanish prompt, and voicebridge reads a report's ``Choice`` with it.

The first level is the issue's: 1 robbery or assault, 2 traffic accident, 3 fire, 4
medical emergency, 5 gas leak, 6 public services, 0 the operator now. Public services
are three categories that go to different agencies (water, power, the municipality), so
6 opens a second menu whose keys make a two-digit choice (``61``, ``62``, ``63``).
"""

from dataclasses import dataclass
from typing import Final

from routing.categories import find_category
from routing.districts import DISTRICTS


@dataclass(frozen=True, kw_only=True, slots=True)
class Option:
    """One key of a menu: the category it reports (a choice), or a menu of its own."""

    key: str
    """The key pressed, one of 1 to 9."""
    label: str
    """What the menu calls it, in Spanish (after «Marque 1 para»)."""
    category: str | None = None
    """The routing category it reports; None when it opens :attr:`options`."""
    options: tuple["Option", ...] = ()


MENU: Final[tuple[Option, ...]] = (
    Option(key="1", label="robo o asalto", category="asalto"),
    Option(key="2", label="accidente de tránsito", category="accidente_transito"),
    Option(key="3", label="incendio", category="incendio"),
    Option(key="4", label="emergencia médica", category="emergencia_medica"),
    Option(key="5", label="fuga de gas", category="fuga_gas"),
    Option(
        key="6",
        label="agua, luz o buzón sin tapa",
        options=(
            Option(key="1", label="agua o desagüe", category="aniego"),
            Option(key="2", label="un corte de luz", category="corte_energia"),
            Option(key="3", label="cables caídos", category="cable_caido"),
            Option(key="4", label="un buzón sin tapa", category="buzon_sin_tapa"),
        ),
    ),
)
OPERATOR_KEY: Final = "0"
"""Straight to the operator, from either menu."""


def choices() -> dict[str, str]:
    """Every choice a report can carry (``Choice`` of the UserEvent) -> its category:
    a first-level key, or a key followed by its sub-menu's key."""
    out: dict[str, str] = {}
    for option in MENU:
        if option.category is not None:
            out[option.key] = option.category
        for sub in option.options:
            assert sub.category is not None  # noqa: S101 - two levels only
            out[option.key + sub.key] = sub.category
    return out


def district_ubigeo(code: str) -> str | None:
    """The UBIGEO of a district's two-digit code (the last two digits of Lima's
    ``1501NN``, 01 to 43), or None for anything else."""
    if len(code) == 2 and code.isascii() and code.isdigit() and 1 <= int(code) <= len(DISTRICTS):
        return f"1501{code}"
    return None


def menu_text(options: tuple[Option, ...]) -> str:
    """What a menu says, as short as it can be said (a key stops it at once): «Marque 1
    para robo o asalto; 2, accidente de tránsito; …; 0, un operador.»"""
    first, *rest = options
    said = [f"Marque {first.key} para {first.label}"] + [f"{o.key}, {o.label}" for o in rest]
    return "; ".join([*said, f"{OPERATOR_KEY}, un operador."])


def _check() -> None:
    for key, code in choices().items():
        if find_category(code) is None:  # pragma: no cover - caught by the tests
            raise ValueError(f"choice {key}: no category {code!r}")


_check()
