"""The fake Asterisk of ``dispatch_latency`` in a process of its own:
``python -m bench.fake_server PORT OUT``. Every line answers and its responder presses 1
after a second. On SIGTERM it writes each Originate it received to OUT, one JSON object
per line: its ChannelId, its VB_INCIDENT and when it arrived (``time.monotonic()``, the
clock every process of this machine shares)."""

import asyncio
import json
import signal
import sys
from pathlib import Path

from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk


async def serve(port: int, out: Path) -> None:
    fake = FakeAsterisk(default=Endpoint(behaviour=Behaviour.PRESS, after=1.0))
    await fake.start(port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    lines = []
    for received in fake.actions("Originate"):
        headers = dict(received.headers)
        variables = dict(
            v.split("=", 1) for k, v in received.headers if k == "Variable" and "=" in v
        )
        lines.append(
            json.dumps(
                {
                    "channel_id": headers.get("ChannelId", ""),
                    "incident": variables.get("VB_INCIDENT", ""),
                    "at": received.at,  # the loop's clock is time.monotonic()
                }
            )
        )
    await fake.stop()
    await asyncio.to_thread(out.write_text, "\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2])))


if __name__ == "__main__":
    main()
