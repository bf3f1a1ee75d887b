"""PEI ingestion: the bytes a TETRA radio sends its terminal, through voicebridge's PEI
line discipline (:class:`tetra.pei.Pei`: lines split anywhere, final results, the
two-line ``+CTSDSR``, echo) and the SDS decoding of every SDS received, against a plain
line splitter (a buffer split on CR LF, nothing parsed) on the same stream, measured in
the same run.

The stream is recorded from the radio simulator (:mod:`tetra.sim`): its radios send
statuses and Spanish texts (ISO 8859-1 and UTF-16, some asking for a report, some long
enough for two parts) and it answers the terminal's commands, as a radio with echo off
does. It is fed in the 64-byte reads a serial port gives. Rounds alternate; the best of
each side is reported, as indications (SDS received) per second.
"""

import asyncio
import gc
import time
from typing import Any

from tetra import sds
from tetra.identity import Tsi
from tetra.pei import Indication, Pei
from tetra.sim import RadioSim

CHUNK = 64
INDICATIONS = 20_000
ROUNDS = 5
TEXTS = (
    "Recibido, vamos en camino",
    "¿Confirman la dirección? Av. Abancay 123, Cercado",
    "Unidad 12 en la escena; ¡se necesita ambulancia!",
    "Tránsito detenido en la Vía Expresa, a la altura del puente Villena. " * 5,
    "Ñandú suelto en el Parque de las Leyendas €",  # UTF-16
)


async def record() -> tuple[bytes, int]:
    """The radio's side of a session: statuses, texts and command answers."""
    out: list[bytes] = []
    sim = RadioSim(own=Tsi(716, 1, 100), echo=False)
    feed = sim.attach(out.append)
    for command in ("AT+CTSP=1,2,20", "AT+CTSP=1,3,130", "AT+CTSP=1,3,138"):
        feed(command.encode() + b"\r\n")
    sim.radio(3000)
    indications = 0
    n = 0
    while indications < INDICATIONS:
        radio = 2000 + n % 50
        sim.radio(radio)
        if n % 3:
            sim.status(radio, 32769 + n % 4)
            indications += 1
        else:
            text = TEXTS[n % len(TEXTS)]
            pdus = sds.text_messages(text, n % 256, report=sds.ReportRequest.NONE)
            sim.text(radio, text, report=False, ref=n % 256)
            indications += len(pdus)
        if n % 10 == 0:  # the terminal's alert, answered in between
            pdu = sds.text_messages("INC LIM-2026-000123 ROBO", n % 256)[0]
            feed(f"AT+CMGS=3000,{sds.bits(pdu)}\r\n".encode())
            feed(sds.hexed(sds.encode(pdu)).encode() + b"\x1a")
        n += 1
    return b"".join(out), indications


def chunks(stream: bytes) -> list[bytes]:
    return [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]


def plain_round(parts: list[bytes]) -> tuple[float, int]:
    started = time.perf_counter()
    buffer = b""
    lines = 0
    for part in parts:
        buffer += part
        *whole, buffer = buffer.split(b"\r\n")
        lines += len(whole)
    return time.perf_counter() - started, lines


def voicebridge_round(parts: list[bytes]) -> tuple[float, int]:
    started = time.perf_counter()
    pei = Pei()
    decoded = 0
    for part in parts:
        for event in pei.receive(part):
            if isinstance(event, Indication) and event.name == "+CTSDSR" and event.data:
                service, bits = int(event.params[0]), int(event.params[5])
                sds.decode(service, sds.unhexed(event.data), bits=bits)
                decoded += 1
    return time.perf_counter() - started, decoded


def measure() -> dict[str, Any]:
    stream, indications = asyncio.run(record())
    parts = chunks(stream)
    best: dict[str, float] = {}
    counted: dict[str, int] = {}
    for _ in range(ROUNDS):
        for name, run in (("plain", plain_round), ("voicebridge", voicebridge_round)):
            gc.collect()
            elapsed, count = run(parts)
            best[name] = min(best.get(name, elapsed), elapsed)
            counted[name] = count
    rate = {name: indications / elapsed for name, elapsed in best.items()}
    return {
        "bytes": len(stream),
        "indications": indications,
        "decoded": counted["voicebridge"],
        "lines": counted["plain"],
        "rate": rate,
        "ratio": rate["voicebridge"] / rate["plain"],
    }


def main() -> None:
    result = measure()
    rate = result["rate"]
    print(
        f"pei_ingest: {result['indications']:,} SDS received ({result['bytes']:,} bytes, "
        f"{result['lines']:,} lines) in {CHUNK}-byte reads, best of {ROUNDS} rounds\n"
        f"  a plain CR LF line splitter              {rate['plain']:>12,.0f} indications/s\n"
        f"  voicebridge PEI lines + SDS decoding     {rate['voicebridge']:>12,.0f} indications/s\n"
        f"  ratio to the plain splitter              {result['ratio']:>12.2f}x\n"
        f"  decoded {result['decoded']:,} of {result['indications']:,}",
        flush=True,
    )


if __name__ == "__main__":
    main()
