"""The routing configuration file: the shipped Lima defaults, and the errors an admin
sees, with file, line and field."""

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from routing.categories import CATEGORIES
from routing.config import ConfigError, parse_config, read_config_file
from routing.districts import DISTRICTS
from routing.models import AgencyKind, StatusMeaning, TargetKind
from tests.routing.configs import SMALL

LIMA = resources.files("routing").joinpath("data/lima.yaml").read_text(encoding="utf-8")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "routing.yaml")
    return caught.value.lines()


def test_the_lima_defaults_cover_every_district_and_category() -> None:
    config = parse_config(LIMA, "lima.yaml")
    assert {a.kind for a in config.agencies.values()} == set(AgencyKind)
    for name in (
        "pnp",
        "serenazgo",
        "cgbvp",
        "samu",
        "minsa",
        "essalud",
        "sisol",
        "atu",
        "luz-del-sur",
        "enel",
        "sedapal",
        "calidda",
        "defensa-civil",
    ):
        assert name in config.agencies
    for district in DISTRICTS:
        for agency in ("pnp", "serenazgo", "cgbvp", "minsa", "defensa-civil"):
            assert any(s.covers(district.ubigeo) for s in config.agencies[agency].stations), (
                agency,
                district.name,
            )
        serenazgo = [
            s
            for s in config.agencies["serenazgo"].stations
            if s.districts is not None and district.ubigeo in s.districts
        ]
        assert [s.name for s in serenazgo] == [f"Serenazgo de {district.name}"]
    assert len(CATEGORIES) <= len(config.rules)


def test_the_lima_defaults_have_well_formed_unique_numbers() -> None:
    config = parse_config(LIMA, "lima.yaml")
    phones = [
        t.address
        for a in config.agencies.values()
        for s in a.stations
        for t in s.targets
        if t.kind is TargetKind.PHONE
    ]
    assert len(phones) == len(set(phones))
    assert all(p.startswith("01") and len(p) == 9 for p in phones)
    station = config.station("pnp-miraflores")
    assert station.name == "Comisaría PNP Miraflores"
    assert station.targets[0].dial == f"PJSIP/{station.targets[0].address}@epr-trunk"
    assert station.targets[1].kind is TargetKind.TALKGROUP
    assert station.targets[1].dial == f"PJSIP/{station.targets[1].address}@tetra-gw"
    assert station.fallback == "pnp-san-antonio"
    assert [str(limit) for limit in station.targets[0].limits] == ["3/15m", "7/1h"]
    assert config.centre.supervisor[0].limits == ()


def test_the_yaml_trap_of_leading_zeros_and_times() -> None:
    config = parse_config(
        SMALL.replace('"014451111"', "014451111").replace(
            '"lun-vie 08:00-18:00"', "lun-vie 8:00-18:00"
        ),
        "routing.yaml",
    )
    targets = config.station("pnp-miraflores").targets
    assert targets[0].address == "014451111"  # YAML 1.1 would read an octal number
    assert str(config.station("serenazgo-miraflores").targets[0].hours[0]) == "lun-vie 8:00-18:00"


def test_a_line_may_have_its_own_dial_template() -> None:
    own = SMALL.replace(
        "label: Central 105, rate_limit: none}",
        'label: Central 105, rate_limit: none, dial: "PJSIP/{number}@pnp-trunk"}',
    )
    config = parse_config(own, "routing.yaml")
    assert config.station("pnp-105").targets[0].dial == "PJSIP/0105@pnp-trunk"
    assert config.station("pnp-miraflores").targets[0].dial == "Local/014451111@epr-sim"
    bad = SMALL.replace(
        "label: Central 105, rate_limit: none}", 'label: Central 105, dial: "PJSIP/{number}@x,10"}'
    )
    assert any("cadena de marcado con {number} una sola vez" in line for line in problems(bad))


def test_station_districts_may_be_named() -> None:
    config = parse_config(SMALL, "routing.yaml")
    assert config.station("pnp-san-antonio").districts == frozenset({"150122"})
    assert config.station("pnp-105").districts is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("version: 1", "version: 2"), "routing.yaml:1: version: debe ser '1'"),
        (
            ('- {phone: "014451111", label: Guardia}', '- {phone: "01-445", label: Guardia}'),
            "routing.yaml:28: agencies[0].stations[0].targets[0]: «phone»: se esperaba de 3 a 15 "
            "dígitos, tal como se marcan; se recibió '01-445'",
        ),
        (
            (
                '- {phone: "014451111", label: Guardia}',
                '- {phone: "014451111", sms: "+51987654321"}',
            ),
            "routing.yaml:28: agencies[0].stations[0].targets[0]: indique uno solo de «phone», "
            "«talkgroup», «radio», «sms» o «telegram» (hay «phone» y «sms»)",
        ),
        (  # the dial template takes digits as dialled in Peru (issue 8, findings 4)
            ('- {phone: "014451111", label: Guardia}', '- {phone: "0012025550100"}'),
            "routing.yaml:28: agencies[0].stations[0].targets[0]: «phone»: un número del "
            "extranjero (con «00» delante) no se marca: solo números del Perú, tal como se "
            "marcan aquí",
        ),
        (
            ("label: TG Miraflores}", 'label: TG Miraflores, dtmf: "12"}'),
            "«dtmf»: solo en líneas «phone»",
        ),
        (
            ("policy: fast", "policy: rapid"),
            "routing.yaml:22: agencies[0].policy: no hay ninguna política 'rapid'",
        ),
        (
            (
                'districts: ["150122"]\n        targets:\n          - {phone: "014451111"',
                'districts: ["150199"]\n        targets:\n          - {phone: "014451111"',
            ),
            "routing.yaml:26: agencies[0].stations[0].districts[0]: '150199' no es un distrito",
        ),
        (
            (
                "categories: [robo]\n    respond:\n      - agency: pnp\n",
                "categories: [granizo]\n    respond:\n      - agency: pnp\n",
            ),
            "rules[0].categories[0]: 'granizo' no es una categoría",
        ),
        (
            ("fallback: pnp-105", "fallback: pnp-miraflores"),
            "agencies[0].stations[1].fallback: los respaldos (fallback) desde 'pnp-san-antonio' "
            "forman un círculo",
        ),
        (
            ("fallback: pnp-105", "fallback: pnp-999"),
            "agencies[0].stations[1].fallback: la entidad pnp no tiene ninguna sede 'pnp-999'",
        ),
        (
            ('dial: "Local/{number}@epr-sim"', 'dial: "Local/{number}@epr-sim,30"'),
            "centre.dial: una cadena de marcado con {number} una sola vez",
        ),
        (
            ("ring_seconds: 20", "ring_seconds: 2"),
            "policies.fast.ring_seconds: debe ser mayor o igual que 5",
        ),
        (
            ("name: Luz del Sur\n    kind", "nombre: Luz del Sur\n    kind"),
            "agencies[2].nombre: campo desconocido: no se admite aquí",
        ),
        (('["3/15m", "7/1h"]', '["3 per 15 minutes"]'), "se esperaba una cantidad por período"),
        (
            ("- {agency: pnp, policy: slow}", "- {agency: pnp, kind: police}"),
            "indique «agency» (un código) o «kind», uno de los dos",
        ),
    ],
)
def test_each_problem_names_the_file_line_and_field(change: tuple[str, str], expected: str) -> None:
    assert change[0] in SMALL
    found = problems(SMALL.replace(*change))
    assert any(expected in line for line in found), found


def test_a_syntax_error_and_a_repeated_key_say_where() -> None:
    assert problems("version: 1\ncentre: [\n") == [
        "routing.yaml:3: (archivo): columna 1: falta un valor (se encontró el fin del archivo)"
    ]
    assert problems("version: 1\ncentre: {name: x\n") == [
        "routing.yaml:3: (archivo): columna 1: se esperaba «,» o «}» (se encontró el fin del "
        "archivo)"
    ]
    assert problems("version: 1\ncentre:\n\tname: x\n") == [
        "routing.yaml:3: (archivo): columna 1: un tabulador no puede empezar un valor (para "
        "sangrar, use espacios)"
    ]
    assert problems(SMALL.replace("  slow:", "  fast:")) == [
        "routing.yaml:17: policies.fast: la clave 'fast' aparece dos veces"
    ]


def test_coverage_gaps_are_refused() -> None:
    without_catch_all = SMALL[: SMALL.index("  - name: resto")]
    found = problems(without_catch_all)
    assert (
        "routing.yaml:77: rules: ninguna regla cubre la categoría asalto (en toda prioridad); "
        "agregue una, o una regla general con «categories: ['*']»" in found
    )
    assert not any("categoría robo" in line for line in found)
    only_one = without_catch_all.replace(
        "categories: [corte_energia, cable_caido]",
        "categories: [corte_energia, cable_caido, asalto]",
    )
    only_one = only_one.replace("  - name: luz\n", "  - name: luz\n    districts: [Miraflores]\n")
    assert (
        "routing.yaml:77: rules: ninguna regla cubre la categoría asalto (en toda prioridad) en "
        "Lima (150101), Ancón (150102), Ate (150103), Barranco (150104), Breña (150105), "
        "Carabayllo (150106) y 36 más"
    ) in problems(only_one)
    only_miraflores = SMALL.replace(
        "      - code: pnp-105\n        name: Central 105\n        districts: all",
        '      - code: pnp-105\n        name: Central 105\n        districts: ["150122"]',
    )
    found = problems(only_miraflores)
    assert any(
        "rules[0].respond[0]: pnp no tiene ninguna sede que atienda 150101, 150102" in line
        for line in found
    ), found


def test_many_problems_are_all_reported() -> None:
    """Every problem of the file's form at once; then every problem across sections."""
    form = SMALL.replace('"014451111"', '"1"').replace("ring_seconds: 40", "ring_secs: 40")
    assert len(problems(form)) == 2
    across = SMALL.replace("policy: fast", "policy: rapid").replace(
        "fallback: pnp-105", "fallback: pnp-999"
    )
    assert len(problems(across)) == 2


def test_the_shipped_file_is_what_its_generator_writes() -> None:
    script = Path(__file__).parents[2] / "scripts" / "lima_defaults.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_every_district_needs_a_central_or_the_centre_s_operator() -> None:
    without = SMALL.replace(
        '  operator: {phone: "014270001", label: Operador de turno del centro}\n', ""
    )
    assert any(
        "no hay central (ni «centre.operator») para Lima, Ancón, Ate" in line
        for line in problems(without)
    )
    twice = SMALL.replace(
        "centrals:\n",
        'centrals:\n  - {district: Miraflores, name: Otra, operator: {phone: "016171999"}}\n',
    )
    assert any(
        "centrals[1].district: Miraflores tiene dos centrales" in line for line in problems(twice)
    )
    sms = SMALL.replace(
        'operator: {phone: "016171000", label: Consola}', 'operator: {sms: "+51987654321"}'
    )
    assert any(
        "al operador se le llama por «phone» o por «talkgroup»" in line for line in problems(sms)
    )


# what a careless or hostile file holds: each is one problem, never an exception
HOSTILE: dict[str, tuple[bytes, str]] = {
    "not UTF-8": (
        b"version: 1\ncentre: \xff\xfe\n",
        ":2: (archivo): el archivo no está en UTF-8: el byte 0xff no es válido",
    ),
    "a recursive alias": (
        b"a: &a [*a]\n",
        ":1: (archivo): no se admiten alias YAML (*nombre)",
    ),
    "a billion laughs": (
        b"a: &a [x, x, x, x, x, x, x, x, x]\n"
        + b"".join(
            f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n".encode()
            for n in range(8)
        ),
        ":2: (archivo): no se admiten alias YAML (*nombre)",
    ),
    "10,000 [": (b"[" * 10_000, ":1: (archivo): el documento tiene más de 32 niveles"),
    "10,000 levels of blocks": (
        b"- " * 10_000 + b"x\n",
        ":1: (archivo): el documento tiene más de 32 niveles",
    ),
    "larger than 1 MiB": (
        b"version: 1\n# " + b"x" * (1 << 20) + b"\n",
        ": (archivo): el archivo pasa de 1 MiB",
    ),
    "a list": (b"- version: 1\n", ":1: (documento): el archivo debe ser un mapeo YAML"),
    "a scalar": (b"hola\n", ":1: (documento): el archivo debe ser un mapeo YAML"),
    "a control character": (
        b"version: 1\nname: \x01\n",
        ":2: (archivo): el carácter U+0001 no se admite en el archivo",
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_is_one_problem(name: str, tmp_path: Path) -> None:
    content, expected = HOSTILE[name]
    path = tmp_path / "routing.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        parse_config(read_config_file(path), str(path))
    lines = caught.value.lines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}{expected}"), lines


def test_a_file_that_cannot_be_read_is_one_problem(tmp_path: Path) -> None:
    for path, expected in (
        (tmp_path / "absent.yaml", "no existe el archivo"),
        (tmp_path, "es una carpeta, no un archivo"),
        (tmp_path / "absent" / "routing.yaml", "no existe el archivo"),
    ):
        with pytest.raises(ConfigError) as caught:
            read_config_file(path)
        assert caught.value.lines() == [f"{path}: (archivo): {expected}"]


def test_citizens_inbound_numbers_give_the_district_or_ask_for_it() -> None:
    lima = parse_config(LIMA, "lima.yaml").citizen_lines()
    assert lima["018001000"] == "150101"  # the central of Lima (Cercado)
    assert lima["018043000"] == "150143"
    assert lima["018990000"] is None  # the centre's: every district, the code asked
    assert len(lima) == len(DISTRICTS) + 1
    shared = SMALL.replace(
        "centrals:\n",
        'centrals:\n  - {district: Lima, name: Lima, operator: {phone: "016171998"}, '
        'inbound: ["017000000", "017000001"]}\n'
        '  - {district: Ate, name: Ate, operator: {phone: "016171997"}, '
        'inbound: ["017000001"]}\n',
    )
    lines = parse_config(shared).citizen_lines()
    assert lines["017000000"] == "150101"
    assert lines["017000001"] is None  # two centrals answer it: the caller says which
    bad = SMALL.replace(
        "centrals:\n",
        'centrals:\n  - {district: Ate, name: Ate, operator: {phone: "016171997"}, '
        'inbound: ["01 700,0000"]}\n',
    )
    assert any("centrals[0].inbound[0]" in line for line in problems(bad))


# ------------------------------------------------------------------ TETRA registry

PLANS = """\
status_plans:
  epr:
    32769: {means: received, label: recibido}
    32770: {means: en_route, label: en camino}
    32771: {means: on_scene, label: en la escena}
"""


def with_radio_and_plan(radio: str = '"2001"', plan: str = PLANS, network: bool = True) -> str:
    tetra = "  tetra: {mcc: 716, mnc: 1}\n" if network else ""
    return (
        SMALL.replace("policies:", plan + "policies:", 1)
        .replace("  supervisor:\n", tetra + "  supervisor:\n", 1)
        .replace("    policy: fast\n", "    policy: fast\n    status_plan: epr\n", 1)
        .replace(
            '          - {talkgroup: "11022", label: TG Miraflores}\n',
            '          - {talkgroup: "11022", label: TG Miraflores}\n'
            f"          - {{radio: {radio}, label: Radio del jefe}}\n",
            1,
        )
    )


def test_the_lima_defaults_name_the_network_and_the_meaning_of_statuses() -> None:
    config = parse_config(
        (resources.files("routing") / "data" / "lima.yaml").read_text("utf-8"), "lima.yaml"
    )
    assert (config.centre.tetra.mcc, config.centre.tetra.mnc) == (716, 1)
    plan = config.status_plan_of("pnp")
    assert plan is not None
    assert plan.reply is not None
    assert (plan.reply.code, plan.reply.label) == (32769, "recibido")
    assert [(s.code, s.means) for s in plan.statuses.values()][:3] == [
        (32769, StatusMeaning.RECEIVED),
        (32770, StatusMeaning.EN_ROUTE),
        (32771, StatusMeaning.ON_SCENE),
    ]
    radios = [
        t
        for a in config.agencies.values()
        for s in a.stations
        for t in s.targets
        if t.kind is TargetKind.RADIO
    ]
    assert len(radios) == len(DISTRICTS)  # each district's serenazgo chief
    assert config.status_plan_of("sedapal") is None


@pytest.mark.parametrize("radio", ['"2001"', '"716000100002001"', '"07160000100002001"'])
def test_a_radio_is_written_as_an_issi_or_a_tsi_of_the_network(radio: str) -> None:
    config = parse_config(with_radio_and_plan(radio), "routing.yaml")
    [target] = [t for t in config.station("pnp-miraflores").targets if t.kind is TargetKind.RADIO]
    assert target.address == radio.strip('"')


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('radio: "2001"', 'radio: "262000100002001"'),
         "agencies[0].stations[0].targets[2].radio: 262000100002001 es de otra red (MCC 262, "
         "MNC 1); la de la central es MCC 716, MNC 1"),
        (('radio: "2001"', 'radio: "716000200002001"'),
         "agencies[0].stations[0].targets[2].radio: 716000200002001 es de otra red (MCC 716, "
         "MNC 2); la de la central es MCC 716, MNC 1"),
        (('radio: "2001"', 'radio: "16777216"'),
         "agencies[0].stations[0].targets[2].radio: el SSI 16777216 no es de 1 a 16777215 "
         "(24 bits)"),
        (('radio: "2001"', 'radio: "0"'),
         "agencies[0].stations[0].targets[2].radio: el SSI 0 no es de 1 a 16777215 (24 bits)"),
        (('radio: "2001"', 'radio: "1234567890"'),
         "agencies[0].stations[0].targets[2]: «radio»: se esperaba un ISSI (hasta 8 dígitos) o un "
         "TSI (15 dígitos: MCC 3, MNC 4, SSI 8; o 17: 4, 5, 8); se recibió '1234567890'"),
        (("    32769:", "    100:"),
         "status_plans.epr[100]: el estado 100 no es de la red: se usan los de 32768 a 65535"),
        (("means: received", "means: info"),
         "status_plans.epr: ningún estado significa «received»: la radio no tendría cómo "
         "confirmar"),
        (("means: received", "means: accepted"),
         "status_plans.epr.32769.means: debe ser 'received', 'en_route', 'on_scene', "
         "'unavailable' o 'info'"),
        (("status_plan: epr", "status_plan: bomberos"),
         "agencies[0].status_plan: no hay ningún plan de estados 'bomberos'"),
    ],
)  # fmt: skip
def test_what_the_registry_refuses(change: tuple[str, str], expected: str) -> None:
    text = with_radio_and_plan()
    assert change[0] in text
    found = problems(text.replace(*change))
    assert [p.split(": ", 1)[1] for p in found] == [expected]


def test_a_file_with_radios_names_their_network() -> None:
    assert problems(with_radio_and_plan(network=False)) == [
        "routing.yaml:3: centre.tetra: hay radios (p. ej. en "
        "agencies[0].stations[0].targets[2]): indique la red TETRA, p. ej. "
        "«tetra: {mcc: 716, mnc: 1}»"
    ]
