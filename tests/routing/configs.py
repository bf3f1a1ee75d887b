"""A small routing configuration for the tests: two districts' worth of units, every
category covered by a catch-all."""

SMALL = """\
version: 1
centre:
  name: Centro de prueba
  dial: "Local/{number}@epr-sim"
  tetra_gateway: "Local/{gssi}@tetra-sim"
  supervisor:
    - {phone: "014270000", label: Supervisión, rate_limit: none}
  operator: {phone: "014270001", label: Operador de turno del centro}
centrals:
  - district: Miraflores
    name: Central de emergencias de Miraflores
    operator: {phone: "016171000", label: Consola}
rate_limits:
  phone: ["3/15m", "7/1h"]
policies:
  fast: {ring_seconds: 20, attempts_per_target: 2, retry_after: [30, 60]}
  slow: {ring_seconds: 40, attempts_per_target: 1, retry_after: [300]}
agencies:
  - code: pnp
    name: Policía Nacional del Perú
    kind: police
    policy: fast
    stations:
      - code: pnp-miraflores
        name: Comisaría PNP Miraflores
        districts: ["150122"]
        targets:
          - {phone: "014451111", label: Guardia}
          - {talkgroup: "11022", label: TG Miraflores}
        fallback: pnp-san-antonio
      - code: pnp-san-antonio
        name: Comisaría PNP San Antonio
        districts: [Miraflores]
        targets:
          - {phone: "014452222", label: Guardia, dtmf: "ww12#"}
        fallback: pnp-105
      - code: pnp-105
        name: Central 105
        districts: all
        targets:
          - {phone: "0105", label: Central 105, rate_limit: none}
  - code: serenazgo
    name: Serenazgo
    kind: municipal
    policy: slow
    stations:
      - code: serenazgo-miraflores
        name: Serenazgo de Miraflores
        districts: ["150122"]
        targets:
          - {phone: "016171111", label: Oficina, hours: ["lun-vie 08:00-18:00"]}
          - {phone: "016172222", label: Central 24 h}
      - code: serenazgo-otros
        name: Serenazgo de los demás distritos
        districts: all
        targets:
          - {phone: "016179999", label: Central}
  - code: luz-del-sur
    name: Luz del Sur
    kind: electricity
    policy: slow
    stations:
      - code: lds
        name: Luz del Sur
        districts: ["150122", "150141"]
        targets: [{phone: "016170000"}]
  - code: enel
    name: Enel
    kind: electricity
    policy: slow
    stations:
      - code: enel
        name: Enel
        districts: all
        targets: [{sms: "+51987000111", label: Guardia Enel}]
rules:
  - name: robo
    categories: [robo]
    respond:
      - agency: pnp
      - agency: serenazgo
  - name: robo en Miraflores
    categories: [robo]
    districts: [Miraflores]
    respond:
      - agency: serenazgo
      - {agency: pnp, policy: slow}
  - name: robo grave
    categories: [robo]
    priorities: [critical]
    respond:
      - agency: pnp
  - name: luz
    categories: [corte_energia, cable_caido]
    respond:
      - kind: electricity
      - agency: enel
  - name: resto
    categories: ["*"]
    respond:
      - agency: serenazgo
"""
