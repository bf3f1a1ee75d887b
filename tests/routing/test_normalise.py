"""A citizen's free text read: what is shown to operators, the category and priority,
the district and the address; measured against the table of tests.routing.messages."""

import re
import unicodedata
from importlib import resources

import pytest

from routing.categories import CATEGORIES, category_by_code
from routing.config import parse_config
from routing.districts import find_in_text
from routing.models import Priority
from routing.normalise import READ_MAX, SUMMARY_MAX, address_key, find_address, read_message
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED, Reading
from routing.resolve import DistrictSource
from routing.text import fold, folded_words, printable
from tests.routing.messages import LATER, MESSAGES, Message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("robo en av abancay 123", "robo en av abancay 123"),
        ("  robo\r\nen\tLince  ", "robo en Lince"),
        ("Ana\r\nAction: Originate", "Ana Action: Originate"),
        ("robo\x00 en\x07 Lince\x7f", "robo en Lince"),  # C0 and DEL
        ("a\x85b", "a b"),  # NEL: a line break
        ("a\x9bc", "ac"),  # another C1 control
        ("\x1b[31mrojo\x1b[0m", "[31mrojo[0m"),  # a terminal's escape: harmless once ESC goes
        ("robo en \u202eodicerp\u202c Lince", "robo en odicerp Lince"),  # bidi override
        ("\u2066aislado\u2069", "aislado"),  # bidi isolate
        ("x\u200by\u200cz\u200dw\u2060v", "xyzwv"),  # zero-width characters
        ("\ufeffhola", "hola"),  # byte order mark
        ("ni\u00ado", "nio"),  # soft hyphen
        ("línea\u2028otra\u2029párrafo", "línea otra párrafo"),
        ("no\u00a0break\u3000ideográfico", "no break ideográfico"),
        ("\ud800suelto", "suelto"),  # a lone surrogate
        ("Jesús María, Breña, ¡auxilio! ¿dónde?", "Jesús María, Breña, ¡auxilio! ¿dónde?"),
        ("🔥 incendio 🚒", "🔥 incendio 🚒"),
        ("", ""),
        (" \n\t ", ""),
    ],
)
def test_what_operators_are_shown(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_no_control_or_format_character_survives() -> None:
    """Unassigned code points are kept: an emoji newer than Python's Unicode tables is
    one, and is no control."""
    text = "".join(chr(c) for c in range(0x3100)) + "\u202e\u2066\ufeff\U000e0041"
    shown = printable(text)
    assert not [c for c in shown if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert [c for c in shown if c.isspace()] == [" "] * shown.count(" ")
    assert "  " not in shown
    assert shown == shown.strip()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Av. Próceres 1250, S.J.L.", ("av", "proceres", "1250", "s", "j", "l")),
        ("ROBO en  av_abancay-123", ("robo", "en", "av", "abancay", "123")),
        ("Niño herido, ¡AYUDA!", ("nino", "herido", "ayuda")),
        ("ﬁesta ½ ²", ("fiesta", "1", "2", "2")),  # NFKD: ligature, fraction, superscript
        ("🔥 incendio\n", ("incendio",)),
        ("", ()),
    ],
)
def test_the_words_of_a_folded_text(text: str, words: tuple[str, ...]) -> None:
    assert folded_words(text) == words


def test_folded_words_are_those_of_fold() -> None:
    text = "".join(chr(c) for c in range(0x3100)) + " Ärger Straße İstanbul"
    for chunk in (text, text.encode("ascii", "ignore").decode(), "Jesús María 12-B"):
        assert list(folded_words(chunk)) == re.findall("[a-z0-9]+", fold(chunk))


# ------------------------------------------------------------ districts in free text


@pytest.mark.parametrize(
    ("text", "ubigeo", "words", "misspelt"),
    [
        ("robo en sjl", "150132", "sjl", False),
        ("robo en S.J.L.", "150132", "sjl", False),
        ("choque en s.m.p", "150135", "smp", False),
        ("pelea en el cercado", "150101", "cercado", False),
        ("robo en jesus maria", "150113", "jesus maria", False),
        ("asalto en surco", "150140", "surco", False),
        ("incendio en chorrillos", "150108", "chorrillos", False),
        ("huaico en lurigancho chosica", "150118", "lurigancho chosica", False),
        ("losa de villa maria", "150143", "villa maria", False),
        ("robo en miraflres", "150122", "miraflres", True),
        ("choque en san borga", "150130", "san borga", True),
        ("asalto en chorrilos", "150108", "chorrilos", True),
        ("buzon en surquiyo", "150141", "surquiyo", True),
        ("herido en independecia", "150112", "independecia", True),
        ("no hay luz en la vitoria", "150115", "la vitoria", True),
        ("incendio en los olibos", "150117", "los olibos", True),
        ("arbol en villa el salvado", "150142", "villa el salvado", True),
        ("pelea en carabayo", "150106", "carabayo", True),
        ("me robaron en sanjuan de lurigancho", "150132", "sanjuan de lurigancho", True),
        ("incendio en el mercado de la parada", "150115", "la parada", False),
        ("me robaron en gamarra", "150115", "gamarra", False),
        ("se cayo una pared en barrios altos", "150101", "barrios altos", False),
        ("pelea en huaycan", "150103", "huaycan", False),
        ("el parque de pueblo libre", "150121", "pueblo libre", False),  # a place's, not a road's
        ("el malecon de barranco", "150104", "barranco", False),
    ],
)
def test_districts_as_people_write_them(text: str, ubigeo: str, words: str, misspelt: bool) -> None:
    match = find_in_text(text)
    assert match is not None
    assert (match.district.ubigeo, match.words, match.misspelt) == (ubigeo, words, misspelt)


@pytest.mark.parametrize(
    "text",
    [
        "choque en la av. proceres de la independencia",  # the avenue's name
        "Av. de la Marina 2000",
        "choque en barranca",  # a province north of Lima, not Barranco
        "esta en coma",  # not Comas: short names are never guessed
        "juego en la calle",
        "robo en la av. san luis",
        "en san martin",
        "Jr. Gamarra 700",  # the street, not the emporium
    ],
)
def test_no_district_guessed(text: str) -> None:
    assert find_in_text(text) is None


# ------------------------------------------------------------------ the examples


def test_a_robbery_in_the_cercado() -> None:
    reading = read_message("robo en av abancay 123 cercado")
    assert reading == Reading(
        category="robo",
        priority=Priority.HIGH,
        district="150101",
        district_source="address",
        district_note="El texto nombra «cercado»: Lima.",
        address="Av. Abancay 123",
        address_key="av abancay 123",
        summary="robo en av abancay 123 cercado",
    )


def test_a_gas_leak_with_a_street_and_no_district() -> None:
    reading = read_message("fuga de gas jr. huallaga 450")
    assert (reading.category, reading.priority) == ("fuga_gas", Priority.CRITICAL)
    assert (reading.district, reading.district_source) == (None, None)
    assert reading.district_note == "No se pudo determinar el distrito."
    assert (reading.address, reading.address_key) == ("Jr. Huallaga 450", "jr huallaga 450")
    assert reading.missing == ()  # the street is a place: the operator finds its district


def test_a_manhole_without_its_lid_in_jesus_maria() -> None:
    reading = read_message("hay un buzon sin tapa en la av. brasil cuadra 5 jesus maria")
    assert (reading.category, reading.priority) == ("buzon_sin_tapa", Priority.MEDIUM)
    assert (reading.district, reading.district_source) == ("150113", DistrictSource.ADDRESS)
    assert reading.address == "Av. Brasil cuadra 5"
    assert reading.address_key == "av brasil cuadra 5"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("me robaron el celular", "robo"),
        ("choque de combi", "accidente_transito"),
        ("huele a gas", "fuga_gas"),
        ("se sale el agua del buzon", "aniego"),
        ("hay un herido", "emergencia_medica"),
        ("buzon sin tapa", "buzon_sin_tapa"),
        ("fuga de gas", "fuga_gas"),
        ("incendio", "incendio"),
        ("asalto", "asalto"),
        ("pelea", "rina"),
        ("arrebato", "asalto"),
        ("me arrancharon el celu", "asalto"),
        ("cable caido", "cable_caido"),
        ("arbol caido", "arbol_caido"),
        ("semaforo malogrado", "semaforo_averiado"),
        ("no hay luz", "corte_energia"),
        ("ROBO", "robo"),
        ("Incendió", "incendio"),
        ("insendio", "incendio"),  # as it sounds
        ("rovaron mi moto", "robo"),
        ("kable kaido", "cable_caido"),
        ("asltaron la bodega", "asalto"),  # a letter left out
        ("semaforo malogado", "semaforo_averiado"),
        ("me robaron con pistola", "asalto"),  # a robbery with a weapon
        ("se robaron la tapa del buzon", "buzon_sin_tapa"),  # the lid, stolen
        ("robaron un balon de gas", "robo"),  # a gas cylinder, no leak
        ("el balon de gas se prendio en llamas", "incendio"),
        ("se quemo la mano con aceite", "emergencia_medica"),
        ("estan quemando basura", "otro"),
        ("desaparecio mi perro", "otro"),
        ("un herido de bala", "emergencia_medica"),
        ("choque en la av. arequipa, hay un herido", "accidente_transito"),
    ],
)
def test_categories_in_lima_s_words(text: str, category: str) -> None:
    assert read_message(text).category == category


@pytest.mark.parametrize(
    "text",
    [
        "juego en la calle con mis amigos",  # no fuego
        "las calles de mi barrio",  # no cables
        "salto la cerca",  # no asalto
        "la carretera central",  # no cartera
        "mi familia esta bien",  # no violencia familiar
        "gracias",
    ],
)
def test_near_words_are_not_taken_for_cues(text: str) -> None:
    assert read_message(text).category == UNCLASSIFIED


# ------------------------------------------------------------------------ priority


@pytest.mark.parametrize(
    ("text", "priority", "raised_by"),
    [
        ("pelea en la calle", Priority.MEDIUM, ()),
        ("pelea en la calle, hay un herido", Priority.HIGH, ("herido",)),
        ("pelea en la calle, hay un herido y un niño", Priority.HIGH, ("herido", "nino")),
        ("pelea con cuchillo", Priority.CRITICAL, ("cuchillo",)),
        ("pelea con cuchillo, hay un herido", Priority.CRITICAL, ("cuchillo", "herido")),
        ("pelea, hay sangre", Priority.CRITICAL, ("sangre",)),
        ("pelea, no hay heridos", Priority.MEDIUM, ()),
        ("pelea en la calle, sin heridos", Priority.MEDIUM, ()),
        ("se armo una bronca", Priority.MEDIUM, ()),
        ("semaforo malogrado, casi atropellan a un niño", Priority.HIGH, ("nino",)),
        ("arbol caido sobre una señora embarazada", Priority.HIGH, ("embarazada",)),
        ("buzon sin tapa, pasa un adulto mayor", Priority.HIGH, ("adulto mayor",)),
        ("mi hijo de 8 años no aparece", Priority.CRITICAL, ("8 anos",)),
        ("mi hermano de 30 años no aparece", Priority.HIGH, ()),
        ("no hay luz y mi papa usa oxigeno", Priority.HIGH, ("oxigeno",)),
        ("cable caido botando fuego", Priority.CRITICAL, ("fuego",)),
        ("mi papa se desmayo y no respira", Priority.CRITICAL, ()),  # critical already
        ("choque, hay heridos", Priority.CRITICAL, ()),
        ("robo, el ladron tenia un arma", Priority.CRITICAL, ()),  # an asalto: critical
        ("hola", Priority.MEDIUM, ()),
        ("hay un niño herido", Priority.CRITICAL, ()),  # a medical emergency
    ],
)
def test_words_that_raise_the_priority(
    text: str, priority: Priority, raised_by: tuple[str, ...]
) -> None:
    reading = read_message(text)
    assert (reading.priority, reading.raised_by) == (priority, raised_by)


# ------------------------------------------------------------------------ district


def test_the_district_named_in_the_text() -> None:
    reading = read_message("robo en miraflres, calle berlin 350")
    assert (reading.district, reading.district_source) == ("150122", "address")
    assert reading.district_note == "El texto nombra «miraflres», que se lee como Miraflores."


def test_the_central_s_district_when_the_text_names_none() -> None:
    reading = read_message("me robaron el celular", central="150122")
    assert (reading.district, reading.district_source) == ("150122", DistrictSource.CENTRAL)
    assert reading.district_note == "Central distrital que recibió el reporte: Miraflores."
    assert reading.missing == ()


def test_the_text_wins_over_the_central() -> None:
    reading = read_message("me robaron el celular en surco", central="150122")
    assert (reading.district, reading.district_source) == ("150140", "address")
    assert reading.district_note == (
        "El texto nombra «surco»: Santiago de Surco. Lo recibió la central de Miraflores."
    )


# ----------------------------------------------------------------- never dropped


def test_a_message_nobody_can_classify_asks_for_what_is_missing() -> None:
    reading = read_message("hola, buenas noches")
    assert reading.category == UNCLASSIFIED
    assert reading.priority is Priority.MEDIUM
    assert reading.missing == (MISSING_CATEGORY, MISSING_PLACE)
    reading = read_message("vengan rapido a jr. cuzco 300, cercado")
    assert (reading.category, reading.missing) == (UNCLASSIFIED, (MISSING_CATEGORY,))
    assert read_message("me robaron el celular").missing == (MISSING_PLACE,)


def test_the_unclassified_category_is_dispatched_to_the_serenazgo() -> None:
    category = category_by_code(UNCLASSIFIED)
    assert (category.label, category.priority) == ("Sin clasificar", Priority.MEDIUM)
    config = parse_config(
        resources.files("routing").joinpath("data/lima.yaml").read_text(encoding="utf-8")
    )
    for district in ("150101", "150122", "150143"):
        rules = [r for r in config.rules if r.matches(UNCLASSIFIED, district, Priority.MEDIUM)]
        rule = max(rules, key=lambda r: (r.specificity, -r.order))
        assert rule.respond[0].agency == "serenazgo"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00\x01\x02",
        "🚨🚨🚨",
        "?" * 5000,
        "a" * 10_000,
        "".join(chr(c) for c in range(0x20, 0x600)),
        "av av av av av",
        "mz mz lote lote cuadra",
        "calle",
        "la cuadra 3 de",
        "con con con av",
    ],
)
def test_whatever_arrives_is_read(text: str) -> None:
    reading = read_message(text)
    assert category_by_code(reading.category)
    assert len(reading.summary) <= SUMMARY_MAX
    assert reading.summary == reading.summary.strip()
    assert reading.summary.isprintable()


def test_a_long_text_is_read_as_far_as_the_longest_message_goes() -> None:
    text = " ".join(m.text for m in MESSAGES)
    assert len(text) > 4 * READ_MAX
    reading = read_message(text)
    assert reading == read_message(text[:READ_MAX])


def test_the_summary_is_one_clean_line_of_at_most_500_characters() -> None:
    reading = read_message("robo\r\nen  Lince\u202e\x00 ")
    assert reading.summary == "robo en Lince"
    long = read_message("incendio " * 100)
    assert len(long.summary) == SUMMARY_MAX
    assert long.summary.startswith("incendio incendio")
    assert long.summary.endswith("…")


# ----------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("robo en av abancay 123 cercado", "Av. Abancay 123"),
        ("fuga de gas jr. huallaga 450", "Jr. Huallaga 450"),
        ("en la av. brasil cuadra 5 jesus maria", "Av. Brasil cuadra 5"),
        ("AV. ARENALES CDRA. 12, LINCE", "Av. Arenales cuadra 12"),
        ("calle las begonias 230 san isidro", "Calle Las Begonias 230"),
        ("avenida javier prado este 2465", "Av. Javier Prado Este 2465"),
        ("jiron de la union 500", "Jr. de la Union 500"),
        ("psje. 3 de octubre", "Psje. 3 de Octubre"),
        ("pasaje los olivos, comas", "Psje. Los Olivos"),
        ("prolongación iquitos 1050", "Prolongación Iquitos 1050"),
        ("prol. lucanas 230", "Prolongación Lucanas 230"),
        ("av. 28 de julio 1050", "Av. 28 de Julio 1050"),
        ("calle 5, mz. b lote 3", "Calle 5 Mz. B Lt. 3"),
        ("jr. los pinos mz. c lote 4", "Jr. Los Pinos Mz. C Lt. 4"),
        ("mz. A lote 5", "Mz. A Lt. 5"),
        ("mz b lt 12 urb. santa luzmila comas", "Mz. B Lt. 12, Urb. Santa Luzmila"),
        ("mz. d lote 8 del aahh villa hermosa", "Mz. D Lt. 8, A.H. Villa Hermosa"),
        ("asentamiento humano 9 de octubre", "A.H. 9 de Octubre"),
        ("sector 3 grupo 1, ves", "Sector 3 Grupo 1"),
        ("a la altura de la cuadra 3 de la av. brasil", "Av. Brasil cuadra 3"),
        ("en la cuadra 4 de jr. pachitea", "Jr. Pachitea cuadra 4"),
        ("av. grau altura de la cuadra 7", "Av. Grau cuadra 7"),
        ("av. tacna con av. colmena", "Av. Tacna con Av. Colmena"),
        ("esquina de jr. camana y jr. moquegua", "Jr. Camana con Jr. Moquegua"),
        ("av. arequipa con angamos", "Av. Arequipa con Angamos"),
        ("av. arequipa nro 2500", "Av. Arequipa 2500"),
        ("jr. ica n° 344", "Jr. Ica 344"),
        ("calle los pinos s/n", "Calle Los Pinos s/n"),
        ("av. túpac amaru km 22", "Av. Túpac Amaru km 22"),
        ("panamericana sur km 30", "Panamericana Sur km 30"),
        ("carretera central km 15", "Carretera Central km 15"),
        ("vía expresa altura de la cuadra 20", "Vía Expresa cuadra 20"),
        ("AV. PRÓCERES DE LA INDEPENDENCIA 1250, SJL", "Av. Próceres de la Independencia 1250"),
        ("calle schell miraflores", "Calle Schell"),  # the district is no part of it
        ("av. la molina 123, ate", "Av. La Molina 123"),
        ("ovalo gutierrez", "Óvalo Gutierrez"),
        ("el ovalo de la av. la fontana", "Av. La Fontana"),
        ("malecon cisneros 400", "Malecón Cisneros 400"),
        ("av. larco choque de combi", "Av. Larco"),
    ],
)
def test_addresses_tidied(text: str, address: str) -> None:
    assert find_address(text) == address


@pytest.mark.parametrize(
    "text",
    [
        "me robaron el celular",
        "en la calle, santa anita",  # "la calle": the street, not one's name
        "hay un problema en mi calle",
        "fuego en un lote de cerro",
        "la cuadra 3",
        "av.",
        "",
    ],
)
def test_no_address(text: str) -> None:
    assert find_address(text) is None


def test_a_tidy_address_reads_back_as_itself() -> None:
    for text, _, _, _ in MESSAGES:
        address = find_address(text)
        if address is not None:
            assert find_address(address) == address, text


def test_two_reports_of_one_place_share_the_address_key() -> None:
    sms = read_message("robo en av abancay 123 cercado")
    assert sms.address_key == address_key("Av. Abancay 123, Cercado de Lima")
    assert sms.address_key == address_key("AV. ABANCAY N° 123")
    assert address_key("Av. Abancay 124") != sms.address_key
    assert address_key("cerca del mercado") == "cerca del mercado"  # no street: as written


# ------------------------------------------------------------------- the table


def _accuracy(table: tuple[Message, ...], name: str) -> dict[str, float]:
    right = {"category": 0, "district": 0, "priority": 0}
    for m in table:
        reading = read_message(m.text)
        right["category"] += reading.category == m.category
        right["district"] += reading.district == m.district
        right["priority"] += reading.priority == m.priority
    accuracy = {field: n / len(table) for field, n in right.items()}
    print(
        f"\n{name}: {len(table)} messages; "
        + ", ".join(
            f"{field} {right[field]}/{len(table)} = {accuracy[field]:.3f}" for field in right
        )
    )
    return accuracy


def test_the_table_of_lima_s_messages() -> None:
    """Measured with ``pytest -s``: category 0.997, district 0.992, priority 0.994 when
    written (362 messages)."""
    assert len(MESSAGES) >= 300
    accuracy = _accuracy(MESSAGES, "messages")
    assert accuracy["category"] >= 0.98
    assert accuracy["district"] >= 0.98
    assert accuracy["priority"] >= 0.98


def test_the_messages_written_after_the_reader() -> None:
    """The first run on them, before the vocabulary they showed missing (marcaje, GLP, "a
    la fuerza", "se estrelló", "derrame cerebral") was added: category 0.82, district
    0.98, priority 0.85; now 1.00, 1.00, 0.98. The floors leave room for that kind of gap."""
    accuracy = _accuracy(LATER, "messages written after the reader")
    assert accuracy["category"] >= 0.9
    assert accuracy["district"] >= 0.95
    assert accuracy["priority"] >= 0.9


def test_every_category_has_messages_in_the_table() -> None:
    assert {m.category for m in MESSAGES} == {c.code for c in CATEGORIES}
    assert {m.priority for m in MESSAGES} >= {Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM}
    assert sum(m.district is None for m in MESSAGES) >= 30  # messages naming no district
