"""A small reader of citizens' text for the conversations' tests, standing in for
``routing.normalise.read_message``: a few category words, an "Av./Jr./Calle <name>
<number>" address and a district named in the text."""

import re

from routing.districts import find_in_text
from routing.models import Priority
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED, Reading
from routing.text import fold

WORDS = {
    "robo": ("robo", Priority.HIGH),
    "robaron": ("robo", Priority.HIGH),
    "incendio": ("incendio", Priority.CRITICAL),
    "gas": ("fuga_gas", Priority.CRITICAL),
    "choque": ("accidente_transito", Priority.CRITICAL),
    "buzon": ("buzon_sin_tapa", Priority.MEDIUM),
    "arbol": ("arbol_caido", Priority.MEDIUM),
}
RAISE = {"herido", "sangre", "arma"}
ADDRESS = re.compile(r"\b(av|jr|calle)\.? ([a-z ]+?) (\d+)\b")


def read(text: str) -> Reading:
    folded = fold(text)
    words = folded.split()
    category, priority = next(
        (WORDS[w] for w in words if w in WORDS), (UNCLASSIFIED, Priority.MEDIUM)
    )
    raised = tuple(w for w in words if w in RAISE)
    if raised:
        priority = Priority.CRITICAL
    found = ADDRESS.search(folded)
    address = f"{found[1].capitalize()}. {found[2].title()} {found[3]}" if found else None
    match = find_in_text(text)
    district = match.district.ubigeo if match else None
    missing: tuple[str, ...] = (MISSING_CATEGORY,) if category == UNCLASSIFIED else ()
    missing += () if address or district else (MISSING_PLACE,)
    return Reading(
        category=category,
        priority=priority,
        district=district,
        district_source="address" if district else None,
        district_note=f"Distrito en el texto: {match.district.name}." if match else "",
        address=address,
        address_key=fold(address) if address else None,
        summary=" ".join(text.split()),
        raised_by=raised,
        missing=missing,
    )
