"""The fake Twilio as a server of its own, until stopped: for the demo of ``make run``
(the integrator's ``voicebridge fake-twilio``) or ``python -m channels.twilio.simrun``."""

import argparse
import asyncio
import signal
from collections.abc import Callable, Iterable, Sequence

from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER, FakeTwilio

__all__ = ["main", "run_fake_twilio"]


async def run_fake_twilio(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str | None = None,
    public_url: str | None = None,
    account_sid: str = DEMO_ACCOUNT_SID,
    auth_token: str = DEMO_AUTH_TOKEN,
    numbers: Iterable[str] = (DEMO_NUMBER,),
    callback_delay: float = 1.0,
    stop: asyncio.Event | None = None,
    ready: Callable[[FakeTwilio], None] | None = None,
) -> None:
    """Serve a fake Twilio until ``stop`` is set (or the task is cancelled); ``ready`` is
    called once it listens (to print its URL)."""
    fake = FakeTwilio(
        account_sid,
        auth_token,
        numbers,
        webhook_url=webhook_url,
        public_url=public_url,
        callback_delay=callback_delay,
    )
    await fake.start(host, port)
    try:
        if ready is not None:
            ready(fake)
        await (stop or asyncio.Event()).wait()
    finally:
        await fake.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m channels.twilio.simrun``: serve the fake until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="fake-twilio", description="The fake Twilio (REST API, webhooks, citizens)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--webhook-url", help="the app's SMS webhook on loopback")
    parser.add_argument("--public-url", help="the app's public base URL (signatures)")
    parser.add_argument("--account-sid", default=DEMO_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEMO_AUTH_TOKEN)
    parser.add_argument("--number", action="append", dest="numbers")
    parser.add_argument("--callback-delay", type=float, default=1.0)
    args = parser.parse_args(argv)

    def ready(fake: FakeTwilio) -> None:
        print(
            f"fake Twilio on {fake.url}: account {fake.account_sid}, numbers "
            f"{', '.join(fake.numbers)}; citizens write with POST {fake.url}/_fake/inbound",
            flush=True,
        )

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_fake_twilio(
            host=args.host,
            port=args.port,
            webhook_url=args.webhook_url,
            public_url=args.public_url,
            account_sid=args.account_sid,
            auth_token=args.auth_token,
            numbers=args.numbers or (DEMO_NUMBER,),
            callback_delay=args.callback_delay,
            stop=stop,
            ready=ready,
        )

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
