"""The Spanish incident taxonomy and the kinds of agency each category calls for.

Codes are stable ASCII slugs (they appear in the API, routing rules and analytics);
labels are what operators and citizens read.
"""

from dataclasses import dataclass

from routing.errors import InvalidValue
from routing.models import AgencyKind, Priority
from routing.reading import UNCLASSIFIED
from routing.text import fold

K = AgencyKind


@dataclass(frozen=True, kw_only=True, slots=True)
class Category:
    code: str
    label: str
    priority: Priority  # the default; an operator may raise or lower it
    agency_kinds: tuple[AgencyKind, ...]  # in order of who answers first
    aliases: tuple[str, ...] = ()


CATEGORIES: tuple[Category, ...] = (
    Category(
        code="robo",
        label="Robo",
        priority=Priority.HIGH,
        agency_kinds=(K.POLICE, K.MUNICIPAL),
        aliases=("hurto", "robaron", "robo de celular", "robo a vivienda", "ladrones"),
    ),
    Category(
        code="asalto",
        label="Asalto",
        priority=Priority.CRITICAL,
        agency_kinds=(K.POLICE, K.MUNICIPAL, K.MEDICAL),
        aliases=(
            "robo con violencia",
            "robo a mano armada",
            "arrebato",
            "arranchón",
            "atraco",
            "asaltaron",
            "raqueteo",
            "bujiazo",
        ),
    ),
    Category(
        code="violencia_familiar",
        label="Violencia familiar",
        priority=Priority.CRITICAL,
        agency_kinds=(K.POLICE,),
        aliases=("violencia contra la mujer", "violencia doméstica", "maltrato familiar"),
    ),
    Category(
        code="rina",
        label="Riña o pelea",
        priority=Priority.MEDIUM,
        agency_kinds=(K.POLICE, K.MUNICIPAL),
        aliases=("pelea", "gresca", "bronca", "pleito", "pelea callejera"),
    ),
    Category(
        code="disturbio",
        label="Disturbio en la vía pública",
        priority=Priority.HIGH,
        agency_kinds=(K.POLICE, K.MUNICIPAL),
        aliases=("alteración del orden", "disturbios", "saqueo", "enfrentamiento"),
    ),
    Category(
        code="persona_desaparecida",
        label="Persona desaparecida",
        priority=Priority.HIGH,
        agency_kinds=(K.POLICE,),
        aliases=("desaparecido", "desaparecida", "persona extraviada"),
    ),
    Category(
        code="accidente_transito",
        label="Accidente de tránsito",
        priority=Priority.CRITICAL,
        agency_kinds=(K.POLICE, K.MEDICAL, K.FIRE, K.TRANSIT),
        aliases=(
            "choque",
            "atropello",
            "volcadura",
            "accidente vehicular",
            "accidente de transito",
        ),
    ),
    Category(
        code="buzon_sin_tapa",
        label="Buzón sin tapa",
        priority=Priority.MEDIUM,
        agency_kinds=(K.WATER, K.MUNICIPAL),
        aliases=("buzon abierto", "buzón destapado", "alcantarilla sin tapa"),
    ),
    Category(
        code="fuga_gas",
        label="Fuga de gas",
        priority=Priority.CRITICAL,
        agency_kinds=(K.GAS, K.FIRE),
        aliases=("olor a gas", "huele a gas", "escape de gas", "fuga de gas natural"),
    ),
    Category(
        code="incendio",
        label="Incendio",
        priority=Priority.CRITICAL,
        agency_kinds=(K.FIRE, K.MEDICAL, K.POLICE, K.ELECTRICITY),
        aliases=("fuego", "amago de incendio", "incendio forestal"),
    ),
    Category(
        code="emergencia_medica",
        label="Emergencia médica",
        priority=Priority.CRITICAL,
        agency_kinds=(K.MEDICAL, K.HEALTH),
        aliases=("ambulancia", "herido", "persona herida", "desmayo", "infarto", "urgencia médica"),
    ),
    Category(
        code="rescate",
        label="Rescate de personas",
        priority=Priority.CRITICAL,
        agency_kinds=(K.FIRE, K.MEDICAL, K.POLICE),
        aliases=("persona atrapada", "rescate"),
    ),
    Category(
        code="derrumbe",
        label="Derrumbe o colapso de estructura",
        priority=Priority.CRITICAL,
        agency_kinds=(K.FIRE, K.CIVIL_DEFENSE, K.MEDICAL, K.MUNICIPAL),
        aliases=("derrumbe", "colapso", "deslizamiento", "huaico", "huayco", "caída de rocas"),
    ),
    Category(
        code="materiales_peligrosos",
        label="Materiales peligrosos",
        priority=Priority.CRITICAL,
        agency_kinds=(K.FIRE, K.CIVIL_DEFENSE, K.POLICE),
        aliases=("derrame químico", "sustancia tóxica", "materiales peligrosos"),
    ),
    Category(
        code="corte_energia",
        label="Corte de energía eléctrica",
        priority=Priority.MEDIUM,
        agency_kinds=(K.ELECTRICITY,),
        aliases=("apagón", "sin luz", "no hay luz", "corte de luz"),
    ),
    Category(
        code="cable_caido",
        label="Cable eléctrico caído",
        priority=Priority.HIGH,
        agency_kinds=(K.ELECTRICITY, K.MUNICIPAL),
        aliases=("poste caído", "cables caídos", "cortocircuito"),
    ),
    Category(
        code="aniego",
        label="Aniego o tubería rota",
        priority=Priority.MEDIUM,
        agency_kinds=(K.WATER, K.MUNICIPAL),
        aliases=("aniego", "inundación", "tubería rota", "fuga de agua", "desagüe colapsado"),
    ),
    Category(
        code="semaforo_averiado",
        label="Semáforo averiado",
        priority=Priority.MEDIUM,
        agency_kinds=(K.TRANSIT, K.MUNICIPAL),
        aliases=("semáforo malogrado", "semáforo apagado", "semáforo dañado"),
    ),
    Category(
        code="arbol_caido",
        label="Árbol caído",
        priority=Priority.MEDIUM,
        agency_kinds=(K.MUNICIPAL, K.FIRE),
        aliases=("caída de árbol", "rama caída"),
    ),
    Category(
        code="otro",
        label="Otro",
        priority=Priority.MEDIUM,
        agency_kinds=(K.MUNICIPAL,),
        aliases=("otros",),
    ),
    # a citizen's report nobody could classify yet (routing.normalise): it is never
    # dropped; the municipal serenazgo of its district attends it, as "otro", while an
    # operator triages it
    Category(
        code=UNCLASSIFIED,
        label="Sin clasificar",
        priority=Priority.MEDIUM,
        agency_kinds=(K.MUNICIPAL,),
    ),
)

_BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}
_BY_NAME: dict[str, Category] = {
    fold(name): c for c in CATEGORIES for name in (c.code, c.label, *c.aliases)
}


def category_by_code(code: str) -> Category:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise InvalidValue(
            "category", f"{code!r} is not a category; use one of: {', '.join(_BY_CODE)}"
        ) from None


def find_category(text: str) -> Category | None:
    """The category whose code, label or alias is ``text`` (accents and case ignored)."""
    return _BY_CODE.get(text) or _BY_NAME.get(fold(text))
