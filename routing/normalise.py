"""What a citizen's free text says: category, priority, district and street address, read
the same way for every channel (SMS, Telegram, the API's descriptions, the phone IVR's
transcriptions): :func:`read_message`. Pure: no I/O, no logging.

**Category.** Each category has cues: words and phrases people in Lima use for it
(``"me robaron el celular"``, ``"choque de combi"``, ``"huele a gas"``, ``"se sale el
agua del buzon"``, ``"me arrancharon"``), its code, label and aliases in
:mod:`routing.categories` among them. Words are compared folded (no accents, no case)
and by how they sound (:func:`routing.text.sounds`: ``insendio``, ``rovaron``, ``kable
kaido``), without the little words (``de``, ``la``, ``en``, ``hay``); a plural is read
as its singular, and a word of six letters or more that is a cue's word with a letter
left out (two, from ten letters) is taken for it (``asltaron``, ``malogado``); no letter
swapped or put in counts (``juego`` is no ``fuego``, ``calles`` no ``cables``,
``carretera`` no ``cartera``). A cue is a phrase (consecutive words) or words
that must all appear (``tuberia + rota``); its weight is its number of words unless
given: weak cues (``herido``, ``gas``, ``perro``) name a category only when nothing
else does, and the combinations that tell two categories apart weigh more (a robbery
with a weapon is an ``asalto``; the lid of a manhole, stolen, a ``buzon_sin_tapa``). The
heaviest cue wins; between equal ones, the one named first. No cue: the category is
:data:`~routing.reading.UNCLASSIFIED`, never a dropped message.

**Priority.** The category's default, raised by what the text says of the people at
risk: a life at stake right now (a weapon, a shot, blood, fire or flames, someone not
breathing, unconscious, not responding, an explosion) makes it **critical**; an injured
person, a child (``niño``, ``bebé``, ``menor de edad``, ``hijo de 8 años``), an elderly
person (``abuelita``, ``adulto mayor``), a pregnant woman or someone living on oxygen
raises it **one level** (not more, however many). Words denied (``no hay heridos``,
``sin heridos``, ``se armó la bronca``) raise nothing. ``raised_by`` lists the words
that raised it, empty when the priority is the category's default.

**District.** Named in the text (:func:`routing.districts.find_in_text`: names,
nicknames, known places, misspellings), else the central that received the report,
else None.

**Address.** The first street address, tidied: ``"av abancay 123"`` -> ``"Av. Abancay
123"``; ``"la cuadra 3 de la av. brasil"`` -> ``"Av. Brasil cuadra 3"``; ``"mz b lote
12 urb. santa luzmila"`` -> ``"Mz. B Lt. 12, Urb. Santa Luzmila"``; its
:func:`address_key` matches two reports of the same place.
"""

import functools
import re
from dataclasses import dataclass

from rapidfuzz.distance import Indel
from rapidfuzz.process import extractOne

from routing.categories import CATEGORIES, category_by_code
from routing.districts import district_by_code, find_in_text, name_at
from routing.models import Priority
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED, Reading
from routing.resolve import DistrictSource
from routing.text import fold, folded_words, printable, sounds

SUMMARY_MAX = 500  # characters of the text kept for operators
READ_MAX = 4096  # characters read: Telegram's longest message (an SMS through Twilio: 1,600)

# ---------------------------------------------------------------------------- cues


def _list(words: str) -> list[str]:
    return words.split()


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# the little words left out before cues are matched ("no", "sin", "ni" stay)
_LITTLE = _set(
    "de del la las el los lo un una unos unas a al en y e o u mi mis su sus tu te me se le "
    "les nos que hay ay ai ahi aqui esta estan estaba es son muy por para con ha han he"
)

# word groups shared by cues
_ROB = (
    "robo|roba|roban|robar|robando|robaron|robado|robada|robados|robadas|robarle|robarme"
    "|robarnos|hurto|hurtaron"
)
_WEAPON = "arma|armas|armado|armados|pistola*|revolver|cuchillo*|navaja*|machet*|punal|fierro*"
_FORCE = "golpe*|pegaron|violencia|violent*|amenaz*|dispar*|balearon|baleado|acuchill*|fuerza"
_KIN = (
    "esposo|esposa|marido|mujer|pareja|conviviente|ex|padrastro|madrastra|papa|mama|padre"
    "|madre|hijo|hija|hijos|hijas|hijastro|hijastra|novio|novia|enamorado|enamorada"
    "|suegro|suegra|cunado|senora"
)
_HITS = (
    "pega|pegan|pegando|pego|golpea|golpean|golpeando|golpeada|golpeado|maltrat*|agrede"
    "|agreden|agrediendo|agredio|agredida|agresion|amenaza|amenazando|ahorca*|patea*|matar"
)
_VEHICLE = (
    "carro|auto|combi|micro|bus|custer|mototaxi|moto|camion|cisterna|taxi|vehiculo"
    "|trailer|camioneta"
)
_FELL = "cayo|caido|caida|cayendo|cae|cayeron|caer|caerse"
_FAMILY_MEMBER = "nino|nina|hijo|hija|abuel*|papa|mama|persona|senor|senora|menor|hermano|hermana"

# category code -> cues: "a b" consecutive words, "a|b" either, "ab*" a word starting so,
# "x + y" both anywhere; (cue, weight) when the weight is not the number of words
_CUES: dict[str, list[str | tuple[str, float]]] = {
    "robo": [
        _ROB,
        "ladron|ladrones|ratero|rateros|choro|choros|carterista*|cogotero*",
        "llevaron|llevo + celular|celu|cartera|billetera|bici|bicicleta|moto|carro|mochila",
        "sacaron + celular|celu|cartera|billetera|bolsillo",
        "forzaron + puerta|chapa|candado|ventana",
        ("autopartes", 0.5),
    ],
    "asalto": [
        ("asalt*|atraco|atracaron|arrebat*|arranch*|raquete*|bujiazo|cuadraron|marcaje", 3),
        ("mano armada", 3),
        ("punta + pistola|cuchillo|arma|navaja", 3),
        (f"{_ROB}|quitaron + {_WEAPON}", 3),
        (f"{_ROB}|quitaron + {_FORCE}", 3),
        (f"{_WEAPON} + sacaron|saco|amenaz*|apunt*", 2.5),
        ("marcaron", 1),
    ],
    "violencia_familiar": [
        ("violencia familiar|domestica", 3),
        ("violencia + mujer", 3),
        (f"{_KIN} + {_HITS}", 3),
    ],
    "rina": [
        "pelea*|rina|rinas|gresca|bronca|pleito|trompe*|trifulca|pandill*|machetazo*",
        "agarr* + golpe*|pinas|punete*|trompada*",
        ("golpes|pinas|punetes|patadas", 0.8),
    ],
    "disturbio": [
        "disturbio*|saque*|manifestant*|protesta*|barrista*|enfrent*|balacera|hinchas",
        "disparo|disparos|balazo|balazos|dispararon|tiroteo|escandalo|vandal*",
        "barra|barras brava|bravas",
        "toma local",
        "gente violenta",
        ("quema*|queman* + llanta*", 3),
        "rompiendo|rompen lunas",
        ("piedras", 0.5),
    ],
    "persona_desaparecida": [
        "desapare*|extravi*",
        "no aparece",
        "no regresa|regreso|regresado|vuelve|volvio|vuelto",
        "no llega|llego + casa|desde|anoche|ayer",
        "no encontramos|encuentro|ubicamos",
        "no sabemos nada",
        (f"perdio|perdido|perdida|perdieron + {_FAMILY_MEMBER}", 2),
        (f"busco|buscamos|buscando + {_FAMILY_MEMBER}|esposo|esposa", 2),
    ],
    "accidente_transito": [
        "choque|choques|choco|chocaron|chocado|chocada|chocan|chocando|choca",
        "atropell*|volcadura|despist*|derrap*|estrell*|accidente",
        (f"volc*|volte* + {_VEHICLE}", 2),
        "accidente transito|vehicular",
        "triple|multiple choque",
        (f"{_VEHICLE} + {_FELL}|subio", 2.5),
    ],
    "buzon_sin_tapa": [
        ("buzon|alcantarilla sin tapa", 4),
        ("buzon|alcantarilla + tapa|abierto|destapado", 3),
        ("sin tapa", 2.5),
        ("buzon|alcantarilla", 0.8),
    ],
    "fuga_gas": [
        ("fuga|escape gas|glp", 3),
        ("olor|huele|oliendo + gas|glp", 3),
        ("gas|glp + escap*|sale|saliendo|salir|fuga|botando", 3),
        ("tuberia|tubo|manguera|valvula + gas|glp", 4),
        "calidda",
        "gas natural",
        ("gas", 0.5),
    ],
    "incendio": [
        "incendi*|amago|fuego|llamas|humo|quema|quemando|quemandose|quemo|queman|quemado",
        "sale humo",
        "prendio + fuego|llamas",
        (f"prendio + {_VEHICLE}|casa|cerro|techo|lote|almacen|edificio", 2),
        "en llamas",
    ],
    "emergencia_medica": [
        ("ambulancia*", 1.5),
        "desmay*|desvanec*|infarto|convulsi*|inconsciente|parto|intoxic*|sobredosis|asma",
        "mordedura|fiebre",
        ("contracciones", 1.5),
        ("derrame|ataque cerebral", 3),
        ("rompio|fractur* + pierna|brazo|cadera|mano|pie|cabeza|tobillo", 2.5),
        "dolor pecho",
        "no respira|responde|reacciona",
        "no puede respirar|levantar",
        "dando luz",
        "herido|herida bala",
        "ataque + asma|epilepsia|corazon|cardiaco",
        "atora*|atoro|atragant*|fractura*",
        ("trago + moneda|hueso|juguete", 2),
        ("quemadura*", 1.5),
        ("quem* + agua|aceite|hirviendo|olla", 3),
        (f"{_FELL} + andamio|escalera|piso|segundo|tercer|altura|bano|escaleras", 2.5),
        ("tirado + calle|suelo|piso|vereda|pista", 1),
        ("herido|herida|heridos|heridas|lesionad*|sangrando|sangre", 0.5),
        ("ahog*|cayo|doctor|medico", 0.5),
    ],
    "rescate": [
        "rescate|ascensor|banista",
        ("atrapad*|encerrad*", 0.8),
        ("quedo atrapad*", 1.5),
        "no pueden salir",
        ("ahog* + playa|mar|rio|piscina|pozo|laguna|banista", 3),
        (f"{_FELL} + pozo|rio|mar|acequia|zanja|precipicio|canal|quebrada|acantilado", 2.5),
        "lleva corriente",
    ],
    "derrumbe": [
        "derrumb*|colaps*|deslizamiento*|huaico|huayco|desplom*",
        ("vino abajo", 2),
        (f"{_FELL} + roca*|piedra*|pared|muro|techo|fachada|casa|edificio|casona|cerro", 3),
    ],
    "materiales_peligrosos": [
        ("derrame + quimic*|acido|petroleo|combustible|aceite|toxic*|gasolina|diesel", 3),
        "derrame|quimic*|acido|toxic*|cloro",
        ("amoniaco", 1.5),
        "sustancia* + toxic*|peligros*",
    ],
    "corte_energia": [
        ("apagon", 1.5),
        "sin luz|energia|electricidad|corriente",
        "no luz|electricidad|energia|corriente",
        "no tenemos|tengo luz",
        "fue luz",
        "corte|cortaron|corto luz|energia|electricidad",
    ],
    "cable_caido": [
        (f"cable*|alambre* + {_FELL}|colgando|suelto*|bajo*|chispa*|fuego|pista|suelo", 3),
        ("poste* + caido|cayo|cayendo|cae|caer|caerse|derrib*|tumb*|inclinado|chispa*", 3),
        "cortocircuito|chispa*",
        "alta tension",
    ],
    "aniego": [
        "aniego|inund*|rebals*|desbord*|sedapal",
        ("tuberia*|tubo|matriz|caneria + rota|roto|revento|reventada|rompio|rajada|fuga", 3),
        ("fuga + agua", 3),
        ("desague* + rebals*|colaps*|sale|desbord*|atora*|atoro|entra*", 3),
        ("buzon + agua|rebals*|desbord*|sale|colaps*", 3),
        "agua potable",
        ("agua + chorros", 1),
        ("agua + sale|saliendo|brota|brotando", 2),
    ],
    "semaforo_averiado": [
        "semaforo*",
        (
            "semaforo* + malogr*|averiad*|apagad*|funciona|intermitente|cayo|caido|danad*"
            "|roto|rojo|descompuest*|parpade*",
            3,
        ),
    ],
    "arbol_caido": [
        (f"arbol* + {_FELL}|desplom*|tumb*|derrumb*|encima", 3),
        ("vino abajo + arbol*", 3),
        (f"rama* + {_FELL}", 3),
        ("arbol*", 0.8),
    ],
    "otro": [
        "ruido*|bulla|desmonte|abandonad*|ambulante*|droga*|estafa*|sospechoso*|merodea*",
        "estacionad*|cochera",
        ("vend* + alcohol|licor", 3),
        "ruidos molestos",
        "musica alta",
        "tomando licor|alcohol",
        "invad*|informales",
        ("hueco*|bache* + pista|calle|vereda", 2),
        ("construyendo|construccion + licencia|noche", 2),
        ("perro*|gato*|mascota + desapare*|perdi*|extravi*", 3),
        ("vend* + robad*|droga*", 3),
        ("quem* + basura|maleza|pasto|desmonte", 3),
        ("perro*|gato*|caballo*|animal*|mascota|basura|fiesta|reclamo|borrach*", 0.5),
    ],
}


_Word = tuple[str, str]  # a word folded, and as it sounds (its misspelling mended)


@dataclass(frozen=True, slots=True)
class _Slot:
    words: frozenset[str]  # as they sound
    stems: tuple[str, ...]  # "asalt*": any word starting so, folded
    heard_stems: tuple[str, ...]  # and as they sound (before a, o, u and before e, i)

    def __call__(self, word: _Word) -> bool:
        folded, heard = word
        return (
            heard in self.words
            or folded.startswith(self.stems)
            or heard.startswith(self.heard_stems)
        )


@dataclass(frozen=True, slots=True)
class _Cue:
    category: str
    parts: tuple[tuple[int, ...], ...]  # each a phrase of slots (_SLOTS); all must appear
    weight: float


def _slot(text: str) -> _Slot:
    options = [fold(o) for o in text.split("|")]
    stems = tuple(o[:-1] for o in options if o.endswith("*"))
    return _Slot(
        words=frozenset(sounds(o) for o in options if not o.endswith("*")),
        stems=stems,
        heard_stems=tuple({sounds(s + v)[:-1] for s in stems for v in "ae"}),
    )


_SLOTS: list[_Slot] = []
_SLOT_IDS: dict[_Slot, int] = {}


def _slot_id(text: str) -> int:
    slot = _slot(text)
    if slot not in _SLOT_IDS:
        _SLOT_IDS[slot] = len(_SLOTS)
        _SLOTS.append(slot)
    return _SLOT_IDS[slot]


def _compile() -> tuple[_Cue, ...]:
    cues: list[_Cue] = []
    for category in CATEGORIES:
        given = _CUES.get(category.code, [])
        for name in (category.code, category.label, *category.aliases):
            words = [w for w in re.findall(r"[a-z0-9]+", fold(name)) if w not in _LITTLE]
            if words and category.code != UNCLASSIFIED:
                given = [*given, " ".join(words)]
        for cue in given:
            text, weight = (cue, None) if isinstance(cue, str) else cue
            parts = tuple(tuple(_slot_id(s) for s in p.split()) for p in text.split(" + "))
            cues.append(
                _Cue(
                    category=category.code,
                    parts=parts,
                    weight=weight if weight is not None else sum(len(p) for p in parts),
                )
            )
    return tuple(cues)


_CUE_LIST = _compile()
_VOCABULARY = sorted({w for slot in _SLOTS for w in slot.words})
_STEMS = tuple({s for slot in _SLOTS for s in slot.stems})
_HEARD_STEMS = tuple({s for slot in _SLOTS for s in slot.heard_stems})
_SLOTS_BY_WORD: dict[str, set[int]] = {}
for _n, _s in enumerate(_SLOTS):
    for _w in _s.words:
        _SLOTS_BY_WORD.setdefault(_w, set()).add(_n)
_CUE_SLOTS = [frozenset(n for part in cue.parts for n in part) for cue in _CUE_LIST]
_CUES_OF_SLOT: dict[int, list[int]] = {}
for _order, _slots in enumerate(_CUE_SLOTS):
    for _n in _slots:
        _CUES_OF_SLOT.setdefault(_n, []).append(_order)
_SLOTS_BY_STEM: dict[str, set[int]] = {}
_SLOTS_BY_HEARD_STEM: dict[str, set[int]] = {}
for _n, _s in enumerate(_SLOTS):
    for _stem in _s.stems:
        _SLOTS_BY_STEM.setdefault(_stem, set()).add(_n)
    for _stem in _s.heard_stems:
        _SLOTS_BY_HEARD_STEM.setdefault(_stem, set()).add(_n)


# real words a letter short of a cue's word, which are no misspelling of it
_NOT_MISSPELT = frozenset(("familia", "pegado", "perdia"))


@functools.lru_cache(maxsize=8192)
def _heard(word: str) -> str:
    """How a folded word sounds, as the cue's word it stands for: a plural as its
    singular (``mototaxis``, ``celulares``), a word of six letters or more with one
    left out as the whole word (two left out from ten: ``asltaron``, ``malogado``); no
    letter swapped for another, none put in (``carretera`` is no ``cartera``)."""
    sound = sounds(word)
    if _is_cue(word):
        return sound
    for plural in ("es", "s"):
        if sound.endswith(plural) and sound[: -len(plural)] in _VOCABULARY_SET:
            return sound[: -len(plural)]
    if len(sound) < 6 or word in _NOT_MISSPELT:
        return sound
    for missing in (1, 2) if len(sound) >= 8 else (1,):
        whole = _BY_LENGTH.get(len(sound) + missing, [])
        best = extractOne(sound, whole, scorer=Indel.distance, score_cutoff=missing)
        if best is not None:
            return str(best[0])
    return sound


_VOCABULARY_SET = frozenset(_VOCABULARY)
_BY_LENGTH: dict[int, list[str]] = {}
for _w in _VOCABULARY:
    _BY_LENGTH.setdefault(len(_w), []).append(_w)


@functools.lru_cache(maxsize=8192)
def _slots_of(word: str) -> frozenset[int]:
    """The slots (of :data:`_SLOTS`) a folded word fills."""
    heard = _heard(word)
    found = set(_SLOTS_BY_WORD.get(heard, ()))
    for k in range(len(word) + 1):  # the slots of the stems it starts with
        found.update(_SLOTS_BY_STEM.get(word[:k], ()))
    for k in range(len(heard) + 1):
        found.update(_SLOTS_BY_HEARD_STEM.get(heard[:k], ()))
    return frozenset(found)


def _find(phrase: tuple[int, ...], words: tuple[frozenset[int], ...]) -> int | None:
    """Where the phrase first appears in ``words`` (each the slots it fills), or None."""
    first, rest = phrase[0], phrase[1:]
    for start in range(len(words) - len(rest)):
        if first in words[start] and all(
            slot in words[start + i] for i, slot in enumerate(rest, 1)
        ):
            return start
    return None


def _content(words: tuple[str, ...]) -> tuple[frozenset[int], ...]:
    """The slots each word but the little ones fills, in order; a run of words that fill
    none as one (which changes neither where a phrase's words are side by side nor which
    of two phrases comes first)."""
    content: list[frozenset[int]] = []
    for word in words:
        if word in _LITTLE:
            continue
        slots = _slots_of(word)
        if slots or not content or content[-1]:
            content.append(slots)
    return tuple(content)


@functools.lru_cache(maxsize=8192)  # messages of a kind have the same content
def _classify(content: tuple[frozenset[int], ...]) -> str:
    """The category of the heaviest cue in ``content`` (:func:`_content`); between equal
    ones, the one found first, then the one named first."""
    best: tuple[float, int, int] | None = None  # (weight, -position, -order)
    found = UNCLASSIFIED
    present = frozenset().union(*content)
    for order in sorted({n for slot in present for n in _CUES_OF_SLOT.get(slot, ())}):
        if not _CUE_SLOTS[order] <= present:
            continue
        cue = _CUE_LIST[order]
        where = [at for part in cue.parts if (at := _find(part, content)) is not None]
        if len(where) < len(cue.parts):
            continue
        score = (cue.weight, -min(where), -order)
        if best is None or score > best:
            best, found = score, cue.category
    return found


# ------------------------------------------------------------------------ priority

_CRITICAL = (
    "sangre|sangrando|sangra|desangr*|fuego|llamas|arma|armas|armado|armados|armada"
    "|pistola*|revolver|cuchillo*|navaja*|machet*|punal|fierro*|palo|palos|botella|botellas"
    "|botellazo*|dispar*|balacera|balazo*|bala|balas"
    "|balearon|baleado|baleada|acuchill*|inconsciente|explosion|exploto"
)
_CRITICAL_PHRASES = ("no respira", "no puede respirar", "no reacciona", "no responde")
_ONE_UP = (
    "herido|herida|heridos|heridas|lesionad*|nino|nina|ninos|ninas|bebe|bebes|bebito*"
    "|bebita*|hijito*|hijita*|menores|escolar*|anciano*|anciana*|abuelit*|embarazada"
    "|discapacitad*|oxigeno|electrodependiente*"
)
_ONE_UP_PHRASES = ("menor de edad", "adulto mayor", "senor mayor", "senora mayor")
_DENIED = frozenset(("no", "sin", "ni", "ningun", "ninguno", "ninguna", "nadie"))
_CRITICAL_SLOT = _slot(_CRITICAL)
_ONE_UP_SLOT = _slot(_ONE_UP)
# (phrase, its words, where it is): looked for only in a text with all its words
_CRITICAL_PATTERNS = [(p, _set(p), re.compile(rf"\b{p}\b")) for p in _CRITICAL_PHRASES]
_ONE_UP_PATTERNS = [(p, _set(p), re.compile(rf"\b{p}\b")) for p in _ONE_UP_PHRASES]
_PHRASES_FIRST = frozenset(p.split()[0] for p in _CRITICAL_PHRASES + _ONE_UP_PHRASES)
_MINOR = re.compile(r"\b(\d{1,2}) anos\b")
_LEVELS = (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL)


@functools.lru_cache(maxsize=8192)
def _raises(word: str) -> int:
    """2 for a word that makes the priority critical, 1 for one level up, else 0."""
    heard = (word, sounds(word))
    return 2 if _CRITICAL_SLOT(heard) else 1 if _ONE_UP_SLOT(heard) else 0


def _raisers(words: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The words for critical and the words for one level up, in order."""
    critical: list[str] = []
    one_up: list[str] = []
    # the phrases, and the years of a minor ("8 anos"), only in a text with their words
    if not _PHRASES_FIRST.isdisjoint(words) or "anos" in words:
        present = set(words)
        text = " ".join(words)
        for p, needs, pattern in _CRITICAL_PATTERNS:
            if needs <= present and pattern.search(text):
                critical.append(p)
        for p, needs, pattern in _ONE_UP_PATTERNS:
            if needs <= present and pattern.search(text):
                one_up.append(p)
        one_up += [age.group(0) for age in _MINOR.finditer(text) if int(age.group(1)) < 18]
    for n, kind in enumerate(map(_raises, words)):
        if not kind:
            continue
        word = words[n]
        denied = not _DENIED.isdisjoint(words[max(0, n - 2) : n])
        if denied or (n and words[n - 1] == "se" and word.startswith("arm")):
            continue  # "no hay heridos", "sin heridos", "se arma la bronca"
        found = critical if kind == 2 else one_up
        if word not in found:
            found.append(word)
    return critical, one_up


def _priority(default: Priority, words: tuple[str, ...]) -> tuple[Priority, tuple[str, ...]]:
    critical, one_up = _raisers(words)
    level = _LEVELS.index(default)
    if critical:
        raised = _LEVELS.index(Priority.CRITICAL)
    elif one_up:
        raised = min(level + 1, len(_LEVELS) - 1)
    else:
        raised = level
    if raised == level:
        return default, ()
    return _LEVELS[raised], tuple(critical + one_up)


# ------------------------------------------------------------------------- reading


_FROM_ADDRESS = DistrictSource.ADDRESS.value
_FROM_CENTRAL = DistrictSource.CENTRAL.value


def read_message(text: str, *, central: str | None = None) -> Reading:
    """What ``text`` says (see the module's description). ``central`` is the UBIGEO of
    the district central that received the report: the district when the text names
    none. Only the first :data:`READ_MAX` characters are read."""
    text = text[:READ_MAX]
    words = folded_words(text)
    category = _classify(_content(words))
    priority, raised_by = _priority(category_by_code(category).priority, words)
    district: str | None = None
    source: str | None = None  # a DistrictSource's value
    match = find_in_text(text)
    if match is not None:
        district, source = match.district.ubigeo, _FROM_ADDRESS
        if match.misspelt:
            note = f"El texto nombra «{match.words}», que se lee como {match.district.name}."
        else:
            note = f"El texto nombra «{match.words}»: {match.district.name}."
        if central is not None and central != district:
            note += f" Lo recibió la central de {district_by_code(central).name}."
    elif central is not None:
        district, source = central, _FROM_CENTRAL
        note = f"Central distrital que recibió el reporte: {district_by_code(central).name}."
    else:
        note = "No se pudo determinar el distrito."
    # an ASCII text's words include the tokens an address starts with (if it has one)
    address = None if text.isascii() and _STARTS.isdisjoint(words) else find_address(text)
    summary = printable(text)
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1].rstrip() + "…"
    missing = []
    if category == UNCLASSIFIED:
        missing.append(MISSING_CATEGORY)
    if district is None and address is None:
        missing.append(MISSING_PLACE)
    return Reading(
        category=category,
        priority=priority,
        district=district,
        district_source=source,
        district_note=note,
        address=address,
        address_key=None if address is None else fold(address),
        summary=summary,
        raised_by=raised_by,
        missing=tuple(missing),
    )


# ------------------------------------------------------------------------ addresses

# a street's kind as people write it -> as it is written tidy
_ROADS = {
    "av": "Av.", "avenida": "Av.", "avda": "Av.", "jr": "Jr.", "jiron": "Jr.",
    "calle": "Calle", "ca": "Calle", "psje": "Psje.", "pje": "Psje.", "psj": "Psje.",
    "pasaje": "Psje.", "prolongacion": "Prolongación", "prol": "Prolongación",
    "malecon": "Malecón", "ovalo": "Óvalo", "alameda": "Alameda", "carretera": "Carretera",
    "carr": "Carretera",
}  # fmt: skip
# roads known by their name alone
_NAMED_ROADS = {
    ("panamericana", "norte"): "Panamericana Norte",
    ("panamericana", "sur"): "Panamericana Sur",
    ("panamericana",): "Panamericana",
    ("via", "expresa", "sur"): "Vía Expresa Sur",
    ("via", "expresa"): "Vía Expresa",
    ("via", "de", "evitamiento"): "Vía de Evitamiento",
    ("costa", "verde"): "Costa Verde",
}
_SETTLEMENTS = {
    ("urb",): "Urb.", ("urbanizacion",): "Urb.", ("aahh",): "A.H.",
    ("asentamiento", "humano"): "A.H.", ("pueblo", "joven"): "P.J.",
    ("asociacion",): "Asoc.", ("asoc",): "Asoc.", ("cooperativa",): "Coop.",
    ("residencial",): "Res.", ("res",): "Res.", ("conjunto", "habitacional"): "C.H.",
    ("a", "h"): "A.H.", ("p", "j"): "P.J.", ("c", "h"): "C.H.", ("coop",): "Coop.",
}  # fmt: skip
# each by its first word, in order
_NAMED_FIRST = {
    first: [(words, tidy) for words, tidy in _NAMED_ROADS.items() if words[0] == first]
    for first in {words[0] for words in _NAMED_ROADS}
}
_SETTLEMENT_FIRST = {
    first: [(words, tidy) for words, tidy in _SETTLEMENTS.items() if words[0] == first]
    for first in {words[0] for words in _SETTLEMENTS}
}
_BLOCK = {"mz": "Mz.", "mza": "Mz.", "manzana": "Mz.", "lt": "Lt.", "lte": "Lt.", "lote": "Lt."}
_BLOCK_MORE = {"sector": "Sector", "grupo": "Grupo"}
_CUADRA = {"cuadra", "cdra", "cda", "cuadras"}
_COUNTED = _CUADRA | {"km", "kilometro"}  # "cuadra 5", "km 22"
_NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(
        _list(
            "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce "
            "quince dieciseis diecisiete dieciocho diecinueve veinte"
        )
    )
}
_CONNECTORS = {"de", "del", "la", "las", "los", "el", "y"}
_ARTICLES = {"la", "las", "los", "el"}
_BLOCK_VALUE = re.compile(r"[a-z]?\d{0,4}[a-z]?|\d{1,4}-?[a-z]?")
# words that end a street's name
_NAME_ENDS = _set(
    "en hay ay un una unos unas esta estan estaba se por para frente cerca al a con e o u "
    "esquina cruce altura nro numero no n que me le lo les nos donde porque urgente ayuda "
    "favor distrito paradero km kilometro interseccion entre hace desde hasta todo toda "
    "todos mi su sus mis tu ahi aqui alla ya rapido pero como cuando sin sobre bajo tras "
    "es son fue tiene sale junto costado piso dpto departamento interior int block edificio "
    "s/n sn # ° º altura mercado colegio parque puente estacion lleno llena cerca todas "
    "cuadra cuadras cdra cda mz mza manzana lote lt lte sector grupo"
)
_TOKEN = re.compile(r"([^\W_]+(?:/[^\W_]+)?|[#°º])")  # captured: split keeps them
_ASCII_TOKEN = re.compile(r"([a-zA-Z0-9]+(?:/[a-zA-Z0-9]+)?|#)")  # the same, in ASCII text
_CUT = re.compile(r"[,;:!?()\n]")
# an ASCII text without these has for tokens its runs of letters and digits, none cut
_NOT_PLAIN = re.compile(r"[,;:!?()\n/#]")
# an ASCII character -> itself if a letter or a digit, else a space
_PLAIN = "".join(c if c.isalnum() else " " for c in map(chr, range(128)))
_NUMBER = re.compile(r"\d")
_MZ = re.compile(r"\bMz\. ")
_SHORT_WORD = 30  # letters: a word folded once for all its messages, if not longer


class _Tokens(list[str]):
    """A text's words (and its ``#``, ``°``), as written; ``low`` has each folded, and
    ``cut`` whether a comma, a colon... comes before it."""

    def __init__(self, raw: list[str], low: list[str], cut: list[bool]) -> None:
        super().__init__(raw)
        self.low = low
        self.cut = cut


def _tokens(text: str) -> _Tokens:
    if text.isascii():  # quicker found, and an ASCII token folded is in lower case
        if _NOT_PLAIN.search(text) is None:
            raw = text.translate(_PLAIN).split()
            return _Tokens(raw, list(map(str.lower, raw)), [False] * len(raw))
        parts = _ASCII_TOKEN.split(text)  # what is before the first token, the token, ...
        raw = parts[1::2]
        low = list(map(str.lower, raw))
    else:
        parts = _TOKEN.split(text)
        raw = parts[1::2]
        low = [_fold_word(word) if len(word) <= _SHORT_WORD else fold(word) for word in raw]
    if _CUT.search(text) is None:  # no comma, no colon...: nothing cut
        return _Tokens(raw, low, [False] * len(raw))
    return _Tokens(raw, low, list(map(bool, map(_CUT.search, parts[0:-1:2]))))


@functools.lru_cache(maxsize=16384)  # words recur (long ones seldom do: not cached)
def _fold_word(word: str) -> str:
    return fold(word)


def _tidy(raw: str, low: str, first: bool) -> str:
    """``PRÓCERES`` -> ``Próceres``; ``de``, ``del``, ``y`` stay small, and the articles
    too but first: ``Jr. de la Unión``, ``Calle Las Begonias``."""
    if low in _CONNECTORS and (not first or low in ("de", "del", "y")):
        return low
    if raw.isdigit():
        return raw
    lower = raw.lower()
    return lower[:1].upper() + lower[1:]


def _tidy_name(tokens: _Tokens, start: int, end: int) -> str:
    """``tokens[start:end]``, a name, tidy (:func:`_tidy`)."""
    return _tidy_words(tuple(tokens[start:end]))


@functools.lru_cache(maxsize=8192)  # streets recur
def _tidy_words(words: tuple[str, ...]) -> str:
    """A name's words as written, tidy: each by :func:`_tidy`, with its :func:`fold` (what
    its token has for folded)."""
    return " ".join(_tidy(word, fold(word), n == 0) for n, word in enumerate(words))


def _name(tokens: _Tokens, i: int, *, numbered: bool = False) -> int:
    """Where a street's or settlement's name from ``tokens[i]`` ends: ``Los Pinos``,
    ``28 de Julio``, ``Próceres de la Independencia``, and when ``numbered`` a number
    alone (``Calle 5``); ``i`` if none starts there."""
    low, cut = tokens.low, tokens.cut
    j = i
    if j < len(tokens) and tokens[j].isdigit() and not cut[j]:
        if j + 2 < len(tokens) and low[j + 1] == "de" and not cut[j + 2]:
            return j + 3  # "28 de Julio", "9 de Octubre"
        return j + 1 if numbered else i
    while j < len(tokens) and j - i < 6:
        if cut[j] or tokens[j].isdigit() or low[j] in _NAME_ENDS or low[j] in _ROADS:
            break
        # a district's name ends the street's ("calle schell miraflores"), but after "de
        # la" it is the street's ("Av. Próceres de la Independencia")
        of_the = j - i >= 2 and low[j - 2] == "de" and low[j - 1] in _ARTICLES
        if j > i and not of_the and name_at(low, j):
            break
        if j > i and not of_the and _is_cue(low[j]):
            break  # "av. larco choque de combi"
        j += 1
    while j > i and low[j - 1] in _CONNECTORS:
        j -= 1
    return j


@functools.lru_cache(maxsize=8192)
def _is_cue(word: str) -> bool:
    """Whether a folded word is one of the cues' (spelt right or as it sounds)."""
    sound = sounds(word)
    return sound in _VOCABULARY_SET or word.startswith(_STEMS) or sound.startswith(_HEARD_STEMS)


def _number(tokens: _Tokens, i: int) -> tuple[str, int] | None:
    """A number after a street's name: ``123``, ``nro 123``, ``cuadra 5``, ``km 22``."""
    if i >= len(tokens) or tokens.cut[i]:
        return None
    raw, low = tokens[i], tokens.low[i]
    more = i + 1 < len(tokens)
    if raw.isdigit() and len(raw) <= 5:
        return raw, i + 1
    if low == "s/n":
        return "s/n", i + 1
    if more and low in ("nro", "numero", "no", "n", "#"):
        k = i + 1 + (tokens.low[i + 1] in ("°", "º"))
        if k < len(tokens) and tokens[k].isdigit():
            return tokens[k], k + 1
    if more and low in _COUNTED:
        nxt = tokens[i + 1]
        value = nxt if nxt.isdigit() else _NUMBER_WORDS.get(tokens.low[i + 1])
        if value is not None:
            return f"{'km' if low in ('km', 'kilometro') else 'cuadra'} {value}", i + 2
    return None


def _block(tokens: _Tokens, i: int) -> tuple[str, int] | None:
    """``mz. A lote 5`` -> ``Mz. A Lt. 5``; ``sector 3 grupo 1``."""
    low, cut = tokens.low, tokens.cut
    parts: list[str] = []
    while i + 1 < len(tokens) and (parts == [] or not cut[i]):
        kind = _BLOCK.get(low[i]) or _BLOCK_MORE.get(low[i])
        if kind is None:
            break
        value = low[i + 1]
        plausible = _BLOCK_VALUE.fullmatch(value) and value not in _CONNECTORS
        if cut[i + 1] or not plausible:
            break
        parts.append(f"{kind} {tokens[i + 1].upper()}")
        i += 2
    return (" ".join(parts), i) if parts else None


def _skip_altura(tokens: _Tokens, i: int) -> int:
    """Past ``a la altura de la``, ``altura del``."""
    low, cut = tokens.low, tokens.cut
    j = i
    while j < len(tokens) and not cut[j] and low[j] in ("a", "la", "altura"):
        j += 1
    if j > i and j < len(tokens) and low[j - 1] == "altura":
        while j < len(tokens) and low[j] in ("de", "del", "la"):
            j += 1
        return j
    return i


def _street(tokens: _Tokens, i: int) -> tuple[str, int] | None:
    """The street starting at ``tokens[i]`` with its number and crossing, tidy."""
    low = tokens.low
    if low[i] not in _ROADS and low[i] not in _NAMED_FIRST:
        return None
    for words, tidy in _NAMED_FIRST.get(low[i], ()):
        if tuple(low[i : i + len(words)]) == words:
            text, j = tidy, i + len(words)
            break
    else:
        kind = _ROADS.get(low[i])
        if kind is None:
            return None
        j = _name(tokens, i + 1, numbered=kind in ("Calle", "Psje."))
        if j == i + 1:
            return None
        text = f"{kind} {_tidy_name(tokens, i + 1, j)}"
    for _ in range(3):  # "123", "cuadra 5", "mz. A lote 5", "con Jr. Ucayali"
        k = _skip_altura(tokens, j)
        if (found := _number(tokens, k)) is not None or (found := _block(tokens, k)):
            text, j = f"{text} {found[0]}", found[1]
            continue
        if k < len(tokens) and not tokens.cut[k] and low[k] in ("con", "y", "esquina"):
            k += 1
            while k < len(tokens) and low[k] in ("con", "de", "la", "el", "los", "las"):
                k += 1
            if k < len(tokens) and (crossing := _street(tokens, k)) is not None:
                return f"{text} con {crossing[0]}", crossing[1]
            if low[k - 1] == "con" and (end := _name(tokens, k)) > k:
                return f"{text} con {_tidy_name(tokens, k, end)}", end
        break
    return text, j


def _settlement(tokens: _Tokens, i: int) -> tuple[str, int] | None:
    low = tokens.low
    if low[i] not in _SETTLEMENT_FIRST:
        return None
    for words, kind in _SETTLEMENT_FIRST[low[i]]:
        if tuple(low[i : i + len(words)]) == words:
            start = i + len(words)
            if (end := _name(tokens, start)) > start:
                return f"{kind} {_tidy_name(tokens, start, end)}", end
    return None


# the words a street, a block, a settlement or "cuadra 3 de la av. brasil" start with
_STARTS = frozenset((*_ROADS, *_NAMED_FIRST, *_CUADRA, *_BLOCK, *_BLOCK_MORE, *_SETTLEMENT_FIRST))


def find_address(text: str) -> str | None:
    """The first street address in ``text``, tidy: ``"robo en av abancay 123 cercado"``
    -> ``"Av. Abancay 123"``; ``"jr. huallaga 450"`` -> ``"Jr. Huallaga 450"``; ``"la
    cuadra 3 de la av. brasil"`` -> ``"Av. Brasil cuadra 3"``; ``"calle las begonias
    230"``; ``"psje. 3 de octubre"``; ``"prolongación"``; ``"av. arequipa con jr.
    ucayali"`` -> ``"Av. Arequipa con Jr. Ucayali"``; ``"mz b lote 12 urb. santa
    luzmila"`` -> ``"Mz. B Lt. 12, Urb. Santa Luzmila"``. None when it gives none."""
    tokens = _tokens(text)
    low = tokens.low
    street: str | None = None
    block: str | None = None
    settlement: str | None = None
    i = 0  # where the words not read yet start
    for start, word in enumerate(low):
        if start < i or word not in _STARTS:
            continue  # in a part read, or no part starts with it
        i = start
        found: tuple[str, int] | None
        if street is None and (found := _street(tokens, i)) is not None:
            street, i = found
            if block is None and "Mz. " in street and _MZ.search(street):
                block = ""
            continue
        if street is None and low[i] in _CUADRA and (found := _number(tokens, i)) is not None:
            k = found[1]  # "la cuadra 3 de (la) Av. Brasil"
            while k < len(tokens) and low[k] in ("de", "del", "la") and not tokens.cut[k]:
                k += 1
            if k > found[1] and k < len(tokens) and (road := _street(tokens, k)) is not None:
                street = road[0] if _NUMBER.search(road[0]) else f"{road[0]} {found[0]}"
                i = road[1]
                continue
        if block is None and (found := _block(tokens, i)) is not None:
            block, i = found
            continue
        if settlement is None and (found := _settlement(tokens, i)) is not None:
            settlement, i = found
    parts = [p for p in (street, block, settlement) if p]
    return ", ".join(parts) if parts else None


def address_key(address: str) -> str:
    """The key two reports of the same place share: the tidy address (:func:`find_address`,
    else ``address`` itself) folded: ``"Av. Abancay 123, Cercado"`` and ``"robo en av
    abancay 123"`` -> ``"av abancay 123"``."""
    return fold(find_address(address) or address)
