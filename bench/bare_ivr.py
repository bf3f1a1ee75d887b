"""The floor of ``ivr_latency``: the least a voicebridge could do with an IVR report. An
AMI client logged in to the fake Asterisk that, for each ``UserEvent(CitizenReport)``,
writes one row (its Uniqueid, in a SQLite table of its own, committed) and one
Originate (the district operator into the room, as voicebridge's first call for a
bridged report): no normalisation, deduplication, routing, contact ledger or thread.
``python -m bench.bare_ivr AMI_PORT DATABASE_PATH``"""

import asyncio
import signal
import sqlite3
import sys

OPERATOR = "PJSIP/017918492@epr-trunk"


async def run(port: int, path: str) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS floor_reports (id INTEGER PRIMARY KEY, uniqueid TEXT)")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()  # the banner
    writer.write(
        b"Action: Login\r\nActionID: login\r\nUsername: voicebridge\r\n"
        b"Secret: voicebridge\r\nEvents: on\r\n\r\n"
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    buffer = b""
    n = 0

    async def read() -> None:
        nonlocal buffer, n
        while data := await reader.read(65536):
            buffer += data
            while b"\r\n\r\n" in buffer:
                message, buffer = buffer.split(b"\r\n\r\n", 1)
                fields = dict(
                    line.split(": ", 1) for line in message.decode().split("\r\n") if ": " in line
                )
                if fields.get("UserEvent") != "CitizenReport" or fields.get("Status") != "CHOSEN":
                    continue
                uniqueid = fields["Uniqueid"]
                db.execute("INSERT INTO floor_reports (uniqueid) VALUES (?)", (uniqueid,))
                n += 1
                writer.write(
                    (
                        f"Action: Originate\r\nActionID: floor-{n}\r\nChannel: {OPERATOR}\r\n"
                        f"Context: vb-room\r\nExten: s\r\nPriority: 1\r\nTimeout: 30000\r\n"
                        f"Async: true\r\nChannelId: floor-{n}\r\n"
                        f"Variable: VB_INCIDENT={uniqueid}\r\n\r\n"
                    ).encode()
                )
                await writer.drain()

    task = asyncio.create_task(read())
    await stop.wait()
    task.cancel()
    writer.close()
    db.close()


def main() -> None:
    asyncio.run(run(int(sys.argv[1]), sys.argv[2]))


if __name__ == "__main__":
    main()
