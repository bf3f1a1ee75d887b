"""Replays the client side of every recorded trace (``../shared/asterisk/traces``)
against the fake Asterisk and compares what comes back with what the real Asterisk
22.10.1 sent, modulo what legitimately varies: values (Uniqueid, SessionID, times,
channel counters), the order of events between channels, OriginateResponse's place.

Compared, per connection:

- the responses, in order: ``Response``, ``Message`` and the field names;
- the events as a multiset of (name, field names in order);
- per channel: the multiset of its event names (but the BRIDGEPEER VarSets, which
  depend on who got into the room first), ``Newchannel`` first, ``Hangup`` last;
- the connection's end (EOF) where the recording has one.

Skipped when the recordings are not there (the suite does not depend on them otherwise);
``VOICEBRIDGE_TEST_AMI_TRACES`` names another directory.
"""

import asyncio
import json
import os
import re
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk

TRACES = Path(
    os.environ.get("VOICEBRIDGE_TEST_AMI_TRACES")
    or Path(__file__).resolve().parents[4].parent / "shared" / "asterisk" / "traces"
)
SPEED = 0.1
"""1 s of the recording is 100 ms here: actions half a second apart in the lab (08a's
CoreShowChannels after its Originate, 01b's Logoff after another session's Login) stay
50 ms apart, which a busy machine's pause does not merge or swap."""
LONG_SPEED = 0.02
"""A trace of over half a minute (01c waits out the 30 s authentication timeout)."""
LONG = 25.0
NAME = re.compile(r"(Local/[^\s;@]*@[^\s;]+)-([0-9a-f]{8});([12])")

pytestmark = pytest.mark.skipif(
    not TRACES.is_dir(),
    reason=f"no recorded traces at {TRACES}: point the replay at them with "
    "VOICEBRIDGE_TEST_AMI_TRACES=/path/to/asterisk/traces (a directory of *.jsonl traces "
    "recorded from Asterisk 22, as shared/asterisk/traces beside the checkout)",
)


@dataclass
class Conn:
    name: str
    connect_at: float | None = None
    sends: list[tuple[float, bytes]] = field(default_factory=list)
    expected: bytes = b""
    eof: bool = False
    eof_at: float = float("inf")
    received: bytearray = field(default_factory=bytearray)
    got_eof: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)


def load(path: Path) -> dict[str, Conn]:
    conns: dict[str, Conn] = {}
    for line in path.read_text().splitlines()[1:]:
        row = json.loads(line)
        name = row["conn"]
        if name == "-":
            continue
        conn = conns.setdefault(name, Conn(name))
        if row["dir"] == "note":
            if row["text"].startswith("connect()") and conn.connect_at is None:
                conn.connect_at = row["t"]
            if "recv returned EOF" in row["text"]:
                conn.eof, conn.eof_at = True, row["t"]
        elif row["dir"] == "send":
            conn.sends.append((row["t"], row["data"].encode("latin-1")))
        else:
            conn.expected += row["data"].encode("latin-1")
    return {k: c for k, c in conns.items() if c.sends or c.expected}


def duration(path: Path) -> float:
    """Seconds from the recording's start to its last line."""
    return max(float(json.loads(line).get("t", 0.0)) for line in path.read_text().splitlines()[1:])


def messages(data: bytes) -> list[list[tuple[str, str]]]:
    """Messages after the banner line: lists of (key, value); bare lines keyed ``~``."""
    text = data.decode("utf-8", "replace")
    _, _, text = text.partition("\r\n")
    out = []
    for block in text.split("\r\n\r\n")[:-1]:
        pairs = []
        for line in block.split("\r\n"):
            key, sep, value = line.partition(": ")
            if not sep and line.endswith(":"):
                key, sep = line[:-1], ":"
            pairs.append((key, value) if sep else ("~", line))
        out.append(pairs)
    return out


def newchannels(data: bytes) -> list[str]:
    return [
        v for m in messages(data) if m[0] == ("Event", "Newchannel") for k, v in m if k == "Channel"
    ]


class Names:
    """Recorded channel names <-> the fake's, by order of Newchannel per dial base."""

    def __init__(self, recorded: list[str]) -> None:
        self.recorded = self._index(recorded)

    @staticmethod
    def _index(names: list[str]) -> dict[str, tuple[str, int, str]]:
        seen: dict[str, list[str]] = {}
        index = {}
        for name in dict.fromkeys(names):
            m = NAME.fullmatch(name)
            if m is None:
                continue
            bases = seen.setdefault(m.group(1), [])
            if m.group(2) not in bases:
                bases.append(m.group(2))
            index[name] = (m.group(1), bases.index(m.group(2)), m.group(3))
        return index

    def translate(self, data: bytes, sim_names: list[str]) -> bytes:
        sim = {v: k for k, v in self._index(sim_names).items()}

        def swap(m: re.Match[str]) -> str:
            key = self.recorded.get(m.group(0))
            return sim.get(key, m.group(0)) if key else m.group(0)

        return NAME.sub(swap, data.decode("latin-1")).encode("latin-1")


def channel_key(name: str, index: dict[str, tuple[str, int, str]]) -> tuple[str, int, str] | None:
    return index.get(name)


async def replay(path: Path, sim: FakeAsterisk) -> dict[str, Conn]:
    conns = load(path)
    speed = sim.speed
    recorded = [n for c in conns.values() for n in newchannels(c.expected)]
    names = Names(recorded)
    loop = asyncio.get_running_loop()
    clock = [loop.time()]
    """When the recording's t=0 is, in loop time; a late (re)connection moves it on, so
    the connections keep their recorded order."""

    async def at(t: float) -> None:
        # the deadline may move while we sleep (a late connection): check it again
        while (delay := clock[0] + t * speed - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def connect(conn: Conn) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """As the recorder did (08b): refused, reset or closed before the banner mean
        "try again"."""
        for _ in range(500):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
                banner = await reader.readuntil(b"\r\n")
            except (OSError, asyncio.IncompleteReadError):
                await asyncio.sleep(0.002)
                continue
            conn.received += banner
            return reader, writer
        raise AssertionError(f"{conn.name}: cannot connect")

    async def run(conn: Conn) -> None:
        connect_at = conn.connect_at or 0.0
        await at(connect_at)
        for other in conns.values():  # a reconnection waits for the old sockets to close
            if other.eof_at < connect_at:
                await asyncio.wait_for(other.closed.wait(), 5.0)
        reader, writer = await connect(conn)
        clock[0] = max(clock[0], loop.time() - connect_at * speed)

        async def read() -> None:
            with suppress(ConnectionError):
                while data := await reader.read(65536):
                    conn.received += data
                conn.got_eof = True
            conn.closed.set()

        reading = asyncio.create_task(read())
        for t, data in conn.sends:
            await at(t)
            sim_names = [n for c in conns.values() for n in newchannels(bytes(c.received))]
            writer.write(names.translate(data, sim_names))
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reading), 2.0)
        reading.cancel()
        writer.close()

    await asyncio.gather(*(run(c) for c in conns.values()))
    return conns


def summary(data: bytes) -> tuple[list[object], Counter[object], dict[object, list[str]]]:
    responses: list[object] = []
    events: Counter[object] = Counter()
    per_channel: dict[object, list[str]] = {}
    index = Names._index(newchannels(data))
    for m in messages(data):
        keys = tuple(k for k, _ in m[1:])
        head, value = m[0]
        if head == "Response":
            message = next((v for k, v in m if k == "Message"), None)
            responses.append((value, message, keys))
            continue
        events[(value, keys)] += 1
        if value == "OriginateResponse" or ("Variable", "BRIDGEPEER") in m:
            continue  # BRIDGEPEER depends on who joined first, which varies
        for k, v in m:
            if k in ("Channel", "DestChannel", "LocalOneChannel") and v in index:
                per_channel.setdefault(index[v], []).append(value)
                break
    return responses, events, per_channel


def compare(trace: str, conns: dict[str, Conn]) -> list[str]:
    problems = []
    for conn in conns.values():
        exp_r, exp_e, exp_c = summary(conn.expected)
        got_r, got_e, got_c = summary(bytes(conn.received))
        if exp_r != got_r:
            problems.append(f"{trace} {conn.name}: responses\n  want {exp_r}\n  got  {got_r}")
        if exp_e != got_e:
            missing, extra = exp_e - got_e, got_e - exp_e
            problems.append(f"{trace} {conn.name}: events\n  missing {missing}\n  extra {extra}")
        for key in exp_c.keys() | got_c.keys():
            want, got = exp_c.get(key, []), got_c.get(key, [])
            if Counter(want) != Counter(got):
                problems.append(f"{trace} {conn.name} {key}:\n  want {want}\n  got  {got}")
            elif got and (got[0] != "Newchannel" or got[-1] != "Hangup"):
                problems.append(f"{trace} {conn.name} {key}: order {got}")
        if conn.eof and not conn.got_eof:
            problems.append(f"{trace} {conn.name}: no EOF")
    return problems


TRACE_FILES = sorted(p.name for p in TRACES.glob("*.jsonl")) if TRACES.is_dir() else []


@pytest.mark.parametrize("trace", TRACE_FILES)
async def test_replay_matches_recording(trace: str) -> None:
    sim = FakeAsterisk(speed=LONG_SPEED if duration(TRACES / trace) > LONG else SPEED)
    sim.script("PJSIP/responder-112", Endpoint(behaviour=Behaviour.UNREACHABLE))
    sim.script("Local/s@no-such-context", Endpoint(behaviour=Behaviour.NO_SUCH_CONTEXT))
    await sim.start()
    try:
        conns = await replay(TRACES / trace, sim)
    finally:
        await sim.stop()
    assert compare(trace, conns) == []
    assert sim.errors == []
