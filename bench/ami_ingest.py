"""AMI event ingestion: the bytes Asterisk sends, through the bridge's protocol (our
codec: framing, UTF-8 once a message is whole) and the session's dispatch into the
bridge's real handlers, against panoramisk's own ``AMIProtocol`` dispatching through its
``Manager`` to callbacks registered for the same events, and against the same protocol
with the cheapest possible dispatch (one dict lookup), measured in the same run.

The frames are the server-to-client reads recorded from a real Asterisk 22.10.1 in
``shared/asterisk/traces/*.jsonl`` (credit: the voicebridge reference recordings; the
files stay there), fed chunk by chunk exactly as they were read, one protocol instance
per recorded connection, repeated until about 200,000 events have gone through. Both
sides get the same chunks; rounds alternate; the best round of each is reported.
``VOICEBRIDGE_TEST_AMI_TRACES`` names another trace directory.
"""

import asyncio
import gc
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager

from routing.contacts import ContactPort
from routing.ports import SystemClock
from voicebridge.ami.bridge import Bridge
from voicebridge.ami.protocol import AmiProtocol
from voicebridge.ami.session import AmiSession, AmiTarget
from voicebridge.blocking import Blocking
from voicebridge.wakeup import Wakeup

DEFAULT_TRACES = Path(__file__).resolve().parents[2] / "shared" / "asterisk" / "traces"
EVENTS = (
    "Newchannel",
    "OriginateResponse",
    "UserEvent",
    "Hangup",
    "ConfbridgeJoin",
    "ConfbridgeLeave",
    "Shutdown",
)
TARGET_EVENTS = 200_000
ROUNDS = 5


class _Transport:
    """Enough of an asyncio transport for a protocol that never writes here."""

    def write(self, data: bytes) -> None:  # pragma: no cover - nothing is sent
        pass

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def load_connections(directory: Path) -> list[list[bytes]]:
    """Per recorded connection, the chunks Asterisk sent, in order."""
    conns: list[list[bytes]] = []
    for path in sorted(directory.glob("*.jsonl")):
        by_conn: dict[str, list[bytes]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if item.get("dir") == "recv":
                by_conn.setdefault(item["conn"], []).append(item["data"].encode("latin-1"))
        conns += [chunks for chunks in by_conn.values() if chunks]
    return conns


def _count_events(conns: list[list[bytes]]) -> int:
    return sum(
        1
        for chunks in conns
        for block in b"".join(chunks).split(b"\r\n\r\n")
        if b"Event: " in block and not block.lstrip().startswith(b"Response:")
    )


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager, minus the reconnection a recorded Shutdown would start."""

    def connection_lost(self, exc: Exception | None) -> None:
        pass


def panoramisk_round(conns: list[list[bytes]], repeat: int) -> tuple[float, int]:
    seen = 0

    def callback(manager: Any, event: Any) -> None:
        nonlocal seen
        seen += 1

    manager = _Manager(loop=asyncio.get_running_loop())
    for name in EVENTS:
        manager.register_event(name, callback)
    started = time.perf_counter()
    for _ in range(repeat):
        for chunks in conns:
            protocol = AMIProtocol()
            protocol.connection_made(_Transport())
            protocol.factory = manager
            for chunk in chunks:
                protocol.data_received(chunk)
    return time.perf_counter() - started, seen


class _Factory:
    """The least a factory can do: one dict lookup per event (no pattern matching)."""

    def __init__(self, handlers: dict[str, Callable[[Any], None]]) -> None:
        self.handlers = handlers

    def dispatch(self, event: Any) -> None:
        handler = self.handlers.get(event["Event"])
        if handler is not None:
            handler(event)

    def connection_lost(self, exc: Exception | None) -> None:
        pass


def panoramisk_bare_round(conns: list[list[bytes]], repeat: int) -> tuple[float, int]:
    seen = 0

    def callback(event: Any) -> None:
        nonlocal seen
        seen += 1

    factory = _Factory(dict.fromkeys(EVENTS, callback))
    started = time.perf_counter()
    for _ in range(repeat):
        for chunks in conns:
            protocol = AMIProtocol()
            protocol.connection_made(_Transport())
            protocol.factory = factory
            for chunk in chunks:
                protocol.data_received(chunk)
    return time.perf_counter() - started, seen


def voicebridge_round(conns: list[list[bytes]], repeat: int) -> tuple[float, int]:
    session = AmiSession(AmiTarget(host="127.0.0.1", port=5038, username="b", secret=""))
    bridge = Bridge(
        session,
        cast(ContactPort, None),
        Blocking(1),
        Wakeup(cast(Any, None)),
        SystemClock(),
        owner="bench",
    )
    seen = 0

    def count(message: Any) -> None:
        nonlocal seen
        seen += 1

    for name in EVENTS:
        session.on(name, count)
    recorder = bridge.recorder  # the jobs the handlers queue for the database, dropped here
    started = time.perf_counter()
    for _ in range(repeat):
        for chunks in conns:
            protocol = AmiProtocol(session.dispatch)
            protocol.connection_made(cast(Any, _Transport()))
            for chunk in chunks:
                protocol.data_received(chunk)
            recorder.discard()
    return time.perf_counter() - started, seen


async def measure(conns: list[list[bytes]]) -> dict[str, Any]:
    per_pass = _count_events(conns)
    repeat = max(1, TARGET_EVENTS // max(per_pass, 1))
    sides: dict[str, Callable[[list[list[bytes]], int], tuple[float, int]]] = {
        "panoramisk": panoramisk_round,
        "panoramisk_bare": panoramisk_bare_round,
        "voicebridge": voicebridge_round,
    }
    best: dict[str, tuple[float, int]] = {}
    for _ in range(ROUNDS):
        for name, run in sides.items():
            gc.collect()
            elapsed, seen = run(conns, repeat)
            if name not in best or elapsed < best[name][0]:
                best[name] = (elapsed, seen)
    events = per_pass * repeat
    rate = {name: events / elapsed for name, (elapsed, _) in best.items()}
    return {
        "events": events,
        "dispatched": {name: seen for name, (_, seen) in best.items()},
        "events_per_second": rate,
        "ratio": rate["voicebridge"] / rate["panoramisk"],
        "ratio_bare": rate["voicebridge"] / rate["panoramisk_bare"],
    }


def main() -> None:
    directory = Path(os.environ.get("VOICEBRIDGE_TEST_AMI_TRACES", DEFAULT_TRACES))
    conns = load_connections(directory)
    if not conns:
        print(f"ami_ingest: skipped, no AMI traces in {directory} (VOICEBRIDGE_TEST_AMI_TRACES)")
        return
    logging.disable(logging.CRITICAL)  # the recorded Shutdown events would log per pass
    try:
        result = asyncio.run(measure(conns))
    finally:
        logging.disable(logging.NOTSET)
    rate, calls = result["events_per_second"], result["dispatched"]
    print(
        f"ami_ingest: {result['events']:,} events from {len(conns)} recorded connections, "
        f"best of {ROUNDS} rounds\n"
        f"  panoramisk AMIProtocol + Manager.dispatch  {rate['panoramisk']:>12,.0f} events/s\n"
        f"  panoramisk AMIProtocol + a dict lookup     {rate['panoramisk_bare']:>12,.0f} events/s\n"
        f"  voicebridge codec + session + bridge       {rate['voicebridge']:>12,.0f} events/s\n"
        f"  ratio to panoramisk with its Manager       {result['ratio']:>12.2f}x\n"
        f"  ratio to panoramisk's protocol alone       {result['ratio_bare']:>12.2f}x\n"
        f"  handler calls ({len(EVENTS)} event names): "
        f"panoramisk {calls['panoramisk']:,}, voicebridge {calls['voicebridge']:,}",
        flush=True,
    )
