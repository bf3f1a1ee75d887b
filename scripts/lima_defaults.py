"""Write routing/data/lima.yaml, the routing configuration voicebridge ships for Lima.

    python scripts/lima_defaults.py            # rewrite the file
    python scripts/lima_defaults.py --check    # exit 1 if the file is not what this writes

Agency and unit names are those of Lima's institutions (PNP comisarías, CGBVP, SAMU,
MINSA, EsSalud and SISOL hospitals, ATU, Luz del Sur, Enel, Sedapal, Cálidda, the
serenazgo and civil-defence offices of each municipality). Every phone number, talkgroup,
radio and chat below is FICTITIOUS, generated from the unit's code: replace them with the
centre's directory before production. Which electricity company serves a district is
approximate (some districts are split between the two).
"""

import argparse
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing.districts import DISTRICTS

OUT = Path(__file__).resolve().parents[1] / "routing" / "data" / "lima.yaml"
ALL = [d.ubigeo for d in DISTRICTS]
NAME = {d.ubigeo: d.name for d in DISTRICTS}

# PNP comisarías of each district, main one first (it answers first; the others follow)
COMISARIAS: dict[str, list[str]] = {
    "150101": ["Cotabambas", "Alfonso Ugarte", "Monserrate", "Conde de la Vega"],
    "150102": ["Ancón"],
    "150103": ["Ate", "Vitarte", "Salamanca", "Huaycán"],
    "150104": ["Barranco"],
    "150105": ["Breña"],
    "150106": ["Carabayllo", "El Progreso"],
    "150107": ["Chaclacayo"],
    "150108": ["Chorrillos", "Mateo Pumacahua"],
    "150109": ["Cieneguilla"],
    "150110": ["Comas", "Santa Luzmila", "Collique", "La Pascana"],
    "150111": ["El Agustino", "San Cayetano"],
    "150112": ["Independencia", "Payet"],
    "150113": ["Jesús María"],
    "150114": ["La Molina", "Santa Felicia"],
    "150115": ["La Victoria", "Apolo", "San Cosme"],
    "150116": ["Lince"],
    "150117": ["Los Olivos", "Sol de Oro"],
    "150118": ["Chosica", "Santa María de Huachipa"],
    "150119": ["Lurín"],
    "150120": ["Magdalena del Mar"],
    "150121": ["Pueblo Libre"],
    "150122": ["Miraflores", "San Antonio"],
    "150123": ["Pachacámac", "Manchay"],
    "150124": ["Pucusana"],
    "150125": ["Puente Piedra", "Zapallal"],
    "150126": ["Punta Hermosa"],
    "150127": ["Punta Negra"],
    "150128": ["Rímac", "Ciudad y Campo"],
    "150129": ["San Bartolo"],  # also covers Santa María del Mar
    "150130": ["San Borja"],
    "150131": ["San Isidro", "Orrantia"],
    "150132": ["Zárate", "Canto Rey", "Bayóvar", "Mariscal Cáceres", "La Huayrona",
               "Santa Elizabeth", "Caja de Agua"],
    "150133": ["San Juan de Miraflores", "Pamplona Alta"],
    "150134": ["San Luis"],
    "150135": ["San Martín de Porres", "Condevilla", "Barboncito"],
    "150136": ["San Miguel", "Maranga"],
    "150137": ["Santa Anita"],
    "150139": ["Santa Rosa"],
    "150140": ["Santiago de Surco", "Sagitario", "Monterrico"],
    "150141": ["Surquillo"],
    "150142": ["Villa El Salvador", "Laderas de Villa"],
    "150143": ["Villa María del Triunfo", "José Carlos Mariátegui", "Nueva Esperanza",
               "Tablada de Lurín"],
}  # fmt: skip
SHARED_COMISARIA = {"150138": "150129"}  # Santa María del Mar: the San Bartolo comisaría

# CGBVP fire companies and the districts each covers first
BOMBEROS: list[tuple[str, str, list[str]]] = [
    ("roma-2", "Compañía de Bomberos Roma N° 2", ["150101", "150105"]),
    ("salvadora-lima-10", "Compañía de Bomberos Salvadora Lima N° 10", ["150101", "150111"]),
    ("victoria-8", "Compañía de Bomberos Victoria N° 8", ["150115", "150134"]),
    ("miraflores-28", "Compañía de Bomberos Miraflores N° 28", ["150122", "150104", "150141"]),
    ("san-isidro-100", "Compañía de Bomberos San Isidro N° 100", ["150131", "150116", "150130"]),
    ("rimac", "Compañía de Bomberos del Rímac", ["150128"]),
    ("jesus-maria", "Compañía de Bomberos de Jesús María", ["150113", "150121", "150120"]),
    ("san-miguel", "Compañía de Bomberos de San Miguel", ["150136"]),
    ("smp", "Compañía de Bomberos de San Martín de Porres", ["150135", "150117"]),
    ("comas", "Compañía de Bomberos de Comas", ["150110", "150112", "150106"]),
    ("puente-piedra", "Compañía de Bomberos de Puente Piedra", ["150125", "150139", "150102"]),
    ("sjl", "Compañía de Bomberos de San Juan de Lurigancho", ["150132"]),
    ("ate", "Compañía de Bomberos de Ate", ["150103", "150137"]),
    ("chosica", "Compañía de Bomberos de Chosica", ["150118", "150107"]),
    ("la-molina", "Compañía de Bomberos de La Molina", ["150114", "150109"]),
    ("surco", "Compañía de Bomberos de Santiago de Surco", ["150140"]),
    ("chorrillos", "Compañía de Bomberos de Chorrillos", ["150108"]),
    ("sjm", "Compañía de Bomberos de San Juan de Miraflores", ["150133", "150143"]),
    ("villa-el-salvador", "Compañía de Bomberos de Villa El Salvador", ["150142"]),
    ("lurin", "Compañía de Bomberos de Lurín", ["150119", "150123"]),
    ("balnearios", "Compañía de Bomberos de los Balnearios del Sur",
     ["150126", "150127", "150129", "150138", "150124"]),
]  # fmt: skip

# MINSA hospitals with emergency services, by the districts whose ambulances they take
MINSA: list[tuple[str, str, list[str]]] = [
    ("loayza", "Hospital Nacional Arzobispo Loayza",
     ["150101", "150105", "150113", "150121", "150120", "150136", "150116"]),
    ("dos-de-mayo", "Hospital Nacional Dos de Mayo", ["150115", "150128", "150134", "150130"]),
    ("cayetano-heredia", "Hospital Nacional Cayetano Heredia", ["150135", "150117", "150112"]),
    ("sergio-bernales", "Hospital Nacional Sergio E. Bernales",
     ["150110", "150106", "150125", "150102", "150139"]),
    ("hipolito-unanue", "Hospital Nacional Hipólito Unanue",
     ["150111", "150103", "150137", "150114", "150118", "150107", "150109"]),
    ("hospital-sjl", "Hospital San Juan de Lurigancho", ["150132"]),
    ("casimiro-ulloa", "Hospital de Emergencias José Casimiro Ulloa",
     ["150122", "150131", "150141", "150104", "150140"]),
    ("maria-auxiliadora", "Hospital María Auxiliadora",
     ["150133", "150143", "150108", "150119", "150123"]),
    ("emergencias-ves", "Hospital de Emergencias Villa El Salvador",
     ["150142", "150126", "150127", "150129", "150138", "150124"]),
]  # fmt: skip

ESSALUD: list[tuple[str, str, list[str]]] = [
    ("rebagliati", "Hospital Nacional Edgardo Rebagliati Martins", ["150113", "150116", "150120"]),
    ("almenara", "Hospital Nacional Guillermo Almenara Irigoyen", ["150115", "150111"]),
]

ENEL = ["150101", "150102", "150105", "150106", "150110", "150112", "150113", "150117",
        "150120", "150121", "150125", "150128", "150132", "150135", "150136", "150139"]  # fmt: skip
LUZ_DEL_SUR = [d for d in ALL if d not in ENEL]


CENTRE_INBOUND = "018990000"


def inbound(ubigeo: str) -> str:
    """A central's fictitious inbound number: 0180, the UBIGEO's last two digits, 000
    (outside the 01 2000000-7999999 of the lines, so it takes none of their numbers)."""
    return f"0180{ubigeo[-2:]}000"


def _digits(code: str, low: int, high: int) -> int:
    return low + zlib.crc32(code.encode()) % (high - low)


class Numbers:
    """Fictitious, well-formed and unique: Lima landlines 01 + 7 digits."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def landline(self, code: str) -> str:
        n = _digits(code, 2_000_000, 7_999_999)
        while f"01{n}" in self.used:
            n += 1
        self.used.add(f"01{n}")
        return f"01{n}"

    def mobile(self, code: str) -> str:
        n = _digits(code, 900_000_000, 999_999_999)
        while f"+51{n}" in self.used:
            n += 1
        self.used.add(f"+51{n}")
        return f"+51{n}"


def q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.numbers = Numbers()
        self.talkgroups = iter(range(11001, 19999))
        self.radios = iter(range(2001, 9999))

    def __call__(self, line: str = "") -> None:
        self.lines.append(line)

    def station(
        self,
        code: str,
        name: str,
        districts: list[str] | str,
        targets: list[str],
        fallback: str | None = None,
    ) -> None:
        self(f"      - code: {code}")
        self(f"        name: {q(name)}")
        if isinstance(districts, str):
            self(f"        districts: {districts}")
        else:
            shown = ", ".join(q(d) for d in districts)
            self(f"        districts: [{shown}]  # {', '.join(NAME[d] for d in districts)}")
        self("        targets:")
        for target in targets:
            self(f"          - {target}")
        if fallback:
            self(f"        fallback: {fallback}")

    def phone(self, code: str, label: str, hours: str | None = None) -> str:
        extra = f", hours: [{q(hours)}]" if hours else ""
        return f"{{phone: {q(self.numbers.landline(code))}, label: {q(label)}{extra}}}"

    def talkgroup(self, label: str) -> str:
        return f"{{talkgroup: {q(str(next(self.talkgroups)))}, label: {q(label)}}}"

    def radio(self, label: str) -> str:
        return f"{{radio: {q(str(next(self.radios)))}, label: {q(label)}}}"


RADIO_FIRST = frozenset({"150101"})  # Cercado de Lima's serenazgo: its chief's radio first


def _radio_first(ubigeo: str, targets: list[str]) -> list[str]:
    """The targets in order; a district of :data:`RADIO_FIRST` alerts its radio first."""
    return [targets[-1], *targets[:-1]] if ubigeo in RADIO_FIRST else targets


def slug(text: str) -> str:
    from routing.text import fold

    return fold(text).replace(" ", "-")


def render() -> str:
    w = Writer()
    w("# Routing configuration of voicebridge for Lima Metropolitana (the shipped default).")
    w("# Generated by scripts/lima_defaults.py: edit that script, or copy this file and point")
    w("# VOICEBRIDGE_ROUTING_FILE at the copy. Institutions and units are Lima's; EVERY NUMBER,")
    w("# TALKGROUP, RADIO AND CHAT IS FICTITIOUS: replace them with the centre's directory.")
    w("# Which electricity company serves a district is approximate.")
    w("version: 1")
    w()
    w("centre:")
    w(f"  name: {q('Centro Integrado de Coordinación de Seguridad Ciudadana (CIC-SC)')}")
    w('  dial: "PJSIP/{number}@epr-trunk"       # how a phone target is dialled')
    w('  tetra_gateway: "PJSIP/{gssi}@tetra-gw"  # how a talkgroup joins a conference')
    w("  # the TETRA network of every radio (ISSI) and talkgroup (GSSI) below: Peru's MCC,")
    w("  # and the MNC its operator assigned; a talkgroup in a room is keyed by the centre's")
    w("  # radio while someone there talks (ptt: talk; or dtmf, vox, none)")
    w("  tetra: {mcc: 716, mnc: 1, ptt: talk}")
    w("  supervisor:                              # every escalation's last resort")
    w("    # never held back by a rate limit: supervisors must hear of every unanswered agency")
    supervisor = w.phone("cic-supervision", "Mesa de supervisión del CIC-SC")
    w(f"    - {supervisor[:-1]}, rate_limit: none}}")
    mobile = q(w.numbers.mobile("cic-supervision-sms"))
    w(f"    - {{sms: {mobile}, label: {q('Supervisor de turno')}, rate_limit: none}}")
    w("  # a number for every district: the IVR asks the caller for the district's code")
    w(f"  inbound: [{q(CENTRE_INBOUND)}]")
    w()
    w("# per destination, shared by every worker (GoAlert's buckets for voice lines)")
    w("rate_limits:")
    w('  phone: ["3/15m", "7/1h"]')
    w('  sms: ["5/15m", "20/1h"]')
    w('  telegram: ["20/1m"]')
    w('  radio: ["10/1m"]')
    w("  talkgroup: none")
    w()
    w("# each target is tried attempts_per_target times, retry_after[n] s after the previous")
    w("# try ended (the last value repeats); then the supervisor line; then 'unanswered'")
    w("policies:")
    w("  critical: {ring_seconds: 25, attempts_per_target: 2, retry_after: [30, 60]}")
    w("  standard: {ring_seconds: 30, attempts_per_target: 2, retry_after: [60, 120]}")
    w("  utilities: {ring_seconds: 30, attempts_per_target: 3, retry_after: [120, 300]}")
    w()
    w("# what the status messages of an agency's radios mean (32768 to 65535, the network's")
    w("# own): received, en_route and on_scene take the alert (they stop the agency's")
    w("# retries); unavailable sends it to the next target; info is only recorded")
    w("status_plans:")
    w("  epr:")
    w("    32769: {means: received, label: recibido}")
    w("    32770: {means: en_route, label: en camino}")
    w("    32771: {means: on_scene, label: en la escena}")
    w("    32772: {means: unavailable, label: no disponible}")
    w("    32773: {means: info, label: unidad libre}")
    w()
    w("# the district centrals: their operator is conferenced with the agencies; citizens")
    w("# call their inbound numbers (as the trunk passes them on) and the IVR knows the")
    w("# district from the number they dialled")
    w("centrals:")
    for d in DISTRICTS:
        line = w.phone(f"central-{slug(d.name)}", "Consola del operador")
        w(
            f"  - {{district: {q(d.ubigeo)}, name: {q('Central de emergencias de ' + d.name)}, "
            f"operator: {line}, inbound: [{q(inbound(d.ubigeo))}]}}"
        )
    w()
    w("agencies:")

    w("  - code: pnp")
    w(f"    name: {q('Policía Nacional del Perú')}")
    w("    kind: police")
    w("    policy: critical")
    w("    status_plan: epr")
    w("    stations:")
    for district, names in COMISARIAS.items():
        codes = [f"pnp-{slug(n)}" for n in names] + ["pnp-central-105"]
        covered = [district] + [d for d, via in SHARED_COMISARIA.items() if via == district]
        for i, name in enumerate(names):
            w.station(
                codes[i],
                f"Comisaría PNP {name}",
                covered,
                [w.phone(codes[i], "Guardia de prevención"), w.talkgroup(f"TG {name}")],
                fallback=codes[i + 1],
            )
    w.station(
        "pnp-central-105",
        "Central de Emergencias 105 de la PNP",
        "all",
        [w.phone("pnp-105", "Central 105"), w.talkgroup("PNP Central 105")],
    )

    w("  - code: serenazgo")
    w(f"    name: {q('Serenazgo municipal')}")
    w("    kind: municipal")
    w("    policy: standard")
    w("    status_plan: epr")
    w("    stations:")
    for d in DISTRICTS:
        code = f"serenazgo-{slug(d.name)}"
        w.station(
            code,
            f"Serenazgo de {d.name}",
            [d.ubigeo],
            _radio_first(
                d.ubigeo,
                [
                    w.phone(code, "Central de serenazgo"),
                    w.talkgroup(f"Serenazgo {d.name}"),
                    w.radio("Radio del jefe de turno"),
                ],
            ),
        )

    w("  - code: cgbvp")
    w(f"    name: {q('Cuerpo General de Bomberos Voluntarios del Perú')}")
    w("    kind: fire")
    w("    policy: critical")
    w("    status_plan: epr")
    w("    stations:")
    for code, name, districts in BOMBEROS:
        w.station(
            f"cgbvp-{code}",
            name,
            districts,
            [w.phone(f"cgbvp-{code}", "Central de la compañía"), w.talkgroup(name)],
            fallback="cgbvp-central-116",
        )
    w.station(
        "cgbvp-central-116",
        "Central de Emergencias 116 del CGBVP",
        "all",
        [w.phone("cgbvp-116", "Central 116"), w.talkgroup("CGBVP Central")],
    )

    w("  - code: samu")
    w(f"    name: {q('SAMU – Sistema de Atención Móvil de Urgencia (MINSA)')}")
    w("    kind: medical")
    w("    policy: critical")
    w("    status_plan: epr")
    w("    stations:")
    w.station(
        "samu-central-106",
        "Central de regulación SAMU 106",
        "all",
        [
            w.phone("samu-106", "Regulación médica"),
            f"{{sms: {q(w.numbers.mobile('samu-duty'))}, label: {q('Médico regulador de turno')}}}",
        ],
    )

    for agency, name, kind, policy, units in (
        ("minsa", "Ministerio de Salud – hospitales de emergencia", "health", "standard", MINSA),
        ("essalud", "EsSalud – hospitales nacionales", "health", "standard", ESSALUD),
    ):
        w(f"  - code: {agency}")
        w(f"    name: {q(name)}")
        w(f"    kind: {kind}")
        w(f"    policy: {policy}")
        w("    stations:")
        for code, unit, districts in units:
            w.station(
                f"{agency}-{code}",
                unit,
                districts,
                [w.phone(f"{agency}-{code}", "Jefatura de guardia de emergencia")],
            )

    w("  - code: sisol")
    w(f"    name: {q('SISOL – Sistema Metropolitano de la Solidaridad')}")
    w("    kind: health")
    w("    policy: standard")
    w("    stations:")
    w.station(
        "sisol-central",
        "Hospital de la Solidaridad – central de emergencias",
        "all",
        [w.phone("sisol-central", "Central de emergencias")],
    )

    w("  - code: atu")
    w(f"    name: {q('ATU – Autoridad de Transporte Urbano para Lima y Callao')}")
    w("    kind: transit")
    w("    policy: standard")
    w("    stations:")
    w.station(
        "atu-centro-control",
        "Centro de control de la ATU",
        "all",
        [
            w.phone("atu-control", "Centro de control"),
            f"{{telegram: {q('-100' + str(_digits('atu', 1_000_000_000, 9_999_999_999)))}, "
            f"label: {q('Grupo de coordinación ATU')}}}",
        ],
    )

    for agency, name, districts in (
        ("luz-del-sur", "Luz del Sur", LUZ_DEL_SUR),
        ("enel", "Enel Distribución Perú (Pluz Energía)", ENEL),
    ):
        w(f"  - code: {agency}")
        w(f"    name: {q(name)}")
        w("    kind: electricity")
        w("    policy: utilities")
        w("    stations:")
        w.station(
            f"{agency}-emergencias",
            f"{name} – centro de control de emergencias",
            districts,
            [w.phone(f"{agency}-control", "Centro de control (24 h)")],
        )

    for agency, name, kind, unit in (
        (
            "sedapal",
            "Sedapal – Servicio de Agua Potable y Alcantarillado de Lima",
            "water",
            "Sedapal – emergencias",
        ),
        ("calidda", "Cálidda – Gas Natural de Lima y Callao", "gas", "Cálidda – emergencias"),
    ):
        w(f"  - code: {agency}")
        w(f"    name: {q(name)}")
        w(f"    kind: {kind}")
        w("    policy: utilities")
        w("    stations:")
        w.station(
            f"{agency}-emergencias",
            unit,
            "all",
            [
                w.phone(f"{agency}-emergencias", "Centro de emergencias (24 h)"),
                f"{{telegram: {q('-100' + str(_digits(agency, 1_000_000_000, 9_999_999_999)))}, "
                f"label: {q('Grupo de coordinación ' + unit)}}}",
            ],
        )

    w("  - code: defensa-civil")
    w(f"    name: {q('Defensa Civil – gestión del riesgo de desastres de cada municipalidad')}")
    w("    kind: civil_defense")
    w("    policy: standard")
    w("    stations:")
    for d in DISTRICTS:
        code = f"defensa-civil-{slug(d.name)}"
        w.station(
            code,
            f"Defensa Civil de {d.name}",
            [d.ubigeo],
            [
                w.phone(code, "Oficina (horario de oficina)", "lun-vie 08:00-17:00"),
                w.phone(f"{code}-guardia", "Guardia de turno (24 h)"),
            ],
        )

    w()
    w("# rules: category x district -> agencies (1 = called first). A rule for given")
    w("# districts overrides the general rule for the same category there.")
    w("rules:")
    rules: list[tuple[str, list[str], list[str] | None, list[str]]] = [
        ("robo", ["robo"], None, ["pnp", "serenazgo"]),
        ("asalto", ["asalto"], None, ["pnp", "serenazgo", "samu"]),
        ("violencia familiar", ["violencia_familiar"], None, ["pnp"]),
        ("riña y disturbio", ["rina", "disturbio"], None, ["pnp", "serenazgo"]),
        ("persona desaparecida", ["persona_desaparecida"], None, ["pnp"]),
        ("accidente de tránsito", ["accidente_transito"], None, ["pnp", "samu", "cgbvp", "atu"]),
        ("buzón sin tapa", ["buzon_sin_tapa"], None, ["sedapal", "serenazgo"]),
        ("fuga de gas", ["fuga_gas"], None, ["calidda!critical", "cgbvp"]),
        ("incendio", ["incendio"], None, ["cgbvp", "samu", "pnp", "kind:electricity"]),
        ("incendio en zona industrial", ["incendio"], ["150103", "150137"],
         ["cgbvp", "samu", "pnp", "kind:electricity", "defensa-civil"]),
        ("emergencia médica", ["emergencia_medica"], None, ["samu", "minsa"]),
        ("emergencia médica cerca de EsSalud", ["emergencia_medica"], ["150113", "150115", "150116"],
         ["samu", "essalud", "minsa"]),
        ("emergencia médica en el Cercado", ["emergencia_medica"], ["150101"],
         ["samu", "minsa", "sisol"]),
        ("rescate", ["rescate"], None, ["cgbvp", "samu", "pnp"]),
        ("derrumbe", ["derrumbe"], None, ["cgbvp", "defensa-civil", "samu", "serenazgo"]),
        ("materiales peligrosos", ["materiales_peligrosos"], None, ["cgbvp", "defensa-civil", "pnp"]),
        ("corte de energía", ["corte_energia"], None, ["kind:electricity"]),
        ("cable caído", ["cable_caido"], None, ["kind:electricity", "serenazgo"]),
        ("aniego", ["aniego"], None, ["sedapal", "serenazgo"]),
        ("semáforo averiado", ["semaforo_averiado"], None, ["atu", "serenazgo"]),
        ("árbol caído", ["arbol_caido"], None, ["serenazgo", "cgbvp"]),
        ("otros", ["otro"], None, ["serenazgo"]),
        ("sin clasificar (un reporte ciudadano por clasificar)", ["sin_clasificar"], None,
         ["serenazgo"]),
        ("cualquier otra categoría", ["*"], None, ["serenazgo", "pnp"]),
    ]  # fmt: skip
    for name, categories, where, respond in rules:
        w(f"  - name: {q(name)}")
        w(f"    categories: [{', '.join(q(c) for c in categories)}]")
        if where:
            w(
                f"    districts: [{', '.join(q(d) for d in where)}]  "
                f"# {', '.join(NAME[d] for d in where)}"
            )
        w("    respond:")
        for entry in respond:
            if entry.startswith("kind:"):
                w(f"      - kind: {entry.removeprefix('kind:')}")
            elif "!" in entry:
                agency, policy = entry.split("!")
                w(f"      - {{agency: {agency}, policy: {policy}}}")
            else:
                w(f"      - agency: {entry}")
    return "\n".join(w.lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is not what scripts/lima_defaults.py writes", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
