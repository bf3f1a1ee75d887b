"""Dialplan administration: (1) the whole validation of the shipped template set against
a plain Jinja2 render of the same templates, and (2) the time from "switch" to the new
revision answering calls on the fake Asterisk.

(1) The validation is what a save runs (:func:`dialplans.validate.validate`): the
parameters read, the templates rendered in the sandbox's child process (CPU, memory,
time and output limits), the rendering parsed back, every jump, prompt and the contract
with the bridge checked. The baseline renders the same templates with the same values
in a plain ``jinja2.Environment`` in this process, compiled each time as a new text
must be (a fresh environment per render). Both with the shipped routing file's
43 citizens' numbers. The in-process part of the validation (the sandboxed render and
the parse-back) is reported too, to show what the child process costs. Best of
``ROUNDS`` rounds each, alternated.

(2) A fake Asterisk (in this process), a scratch SQLite database and a private Redis.
Each of ``SWITCHES`` rounds saves a revision of ``vb-check`` whose first NoOp names the
round, then times from the switch's start (:meth:`voicebridge.dialplan_push.Pusher.switch`:
the trial, the live push, both read back, the pointer moved) to the first call into
``vb-check`` that runs that NoOp (its ``Newexten``), a call placed as soon as the switch
returns. The p50 and p99 are reported; the baseline is one UpdateConfig with the same
contexts and no checks (what a push with no trial and no read-back would take), timed
to the same call.
"""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2

from bench.common import LocalRedis
from dialplans.lint import lint
from dialplans.render import (
    CitizenLine,
    DialplanParams,
    each_context,
    render_contexts,
    to_update_config,
)
from dialplans.templateset import TEMPLATES, file_of, shipped
from dialplans.validate import validate

ROUNDS = 5
SWITCHES = 50


def citizen_lines() -> tuple[CitizenLine, ...]:
    from routing.config import parse_config
    from voicebridge.rules import read_rules_file

    content, source = read_rules_file(None)
    return CitizenLine.from_routing(parse_config(content, source).citizen_lines())


def plain_render(env: jinja2.Environment, params: DialplanParams) -> dict[str, str]:
    return each_context(params, lambda name, values: env.get_template(name).render(values))


def validation() -> dict[str, Any]:
    lines = citizen_lines()
    sources = shipped()
    params = DialplanParams(citizen_lines=lines)
    files = {file_of(name): sources[name] for name in TEMPLATES}
    templates = {name: sources[name] for name in TEMPLATES}

    def whole() -> None:
        assert validate(sources, lines).ok

    def in_process() -> None:
        contexts = render_contexts(params, sources=files)
        assert not lint(contexts, params, templates).problems

    def plain() -> None:  # compiled each time too, as a new text must be
        env = jinja2.Environment(  # noqa: S701 - the baseline: plain Jinja2, no escaping
            loader=jinja2.DictLoader(files),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        plain_render(env, params)

    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, run, times in (
            ("plain", plain, 50),
            ("in_process", in_process, 10),
            ("whole", whole, 3),
        ):
            started = time.perf_counter()
            for _ in range(times):
                run()
            elapsed = (time.perf_counter() - started) / times
            best[name] = min(best.get(name, elapsed), elapsed)
    return best


async def switching() -> dict[str, list[float]]:
    from voicebridge.ami.session import AmiSession, AmiTarget
    from voicebridge.ami.sim import FakeAsterisk
    from voicebridge.blocking import Blocking
    from voicebridge.dialplan_admin import checker
    from voicebridge.dialplan_push import Pusher, wait_connected
    from voicebridge.migrate import upgrade
    from voicebridge.runtime import build_runtime
    from voicebridge.settings import load_settings

    redis = LocalRedis()
    folder = tempfile.TemporaryDirectory(prefix="vb-bench-dialplan-")
    url = f"sqlite:///{Path(folder.name) / 'vb.sqlite3'}"
    upgrade(url)
    settings = load_settings({"VOICEBRIDGE_DATABASE_URL": url, "VOICEBRIDGE_REDIS_URL": redis.url})
    runtime = build_runtime(settings, migrate_schema=False)
    runtime.dialplans.seed()
    lines = citizen_lines()
    fake = FakeAsterisk(citizen_lines=lines)
    await fake.start()
    target = AmiTarget.parse(f"ami://voicebridge:voicebridge@127.0.0.1:{fake.port}")
    session = AmiSession(target)
    blocking = Blocking(2)
    heard: dict[str, asyncio.Future[float]] = {}
    loop = asyncio.get_running_loop()

    def newexten(message: Any) -> None:
        data = str(message.fields.get("AppData", ""))
        found = heard.get(data)
        if message.fields.get("Context") == "vb-check" and found is not None and not found.done():
            found.set_result(loop.time())

    session.on("Newexten", newexten)
    session.start()
    times: dict[str, list[float]] = {"voicebridge": [], "bare": []}
    try:
        await wait_connected(session)
        pusher = Pusher(runtime.dialplans, session, blocking, runtime.redis, citizen_lines=lines)
        check = checker(lines)
        for n in range(SWITCHES * 2):
            marker = f"ronda {n}"
            base = runtime.dialplans.latest("vb-check")
            text = shipped()["vb-check"].replace("NoOp(responder line check)", f"NoOp({marker})")
            revision, _ = runtime.dialplans.propose(
                "vb-check", text, base=base.id, comment=marker, author="bench", check=check
            )
            heard[marker] = loop.create_future()
            bare = n % 2 == 1
            started = loop.time()
            if bare:  # one UpdateConfig of the same contexts, no trial, no read-back
                sources = runtime.dialplans.sources({"vb-check": revision.id})
                params = DialplanParams(citizen_lines=lines)
                contexts = render_contexts(
                    params, sources={file_of(t): sources[t] for t in TEMPLATES}
                )
                for headers in to_update_config(contexts):
                    await session.send("UpdateConfig", headers)
            else:
                outcome = await pusher.switch(revision.id, "bench")
                assert outcome.ok, outcome.problems
            await session.send(
                "Originate",
                [
                    ("Channel", "Local/s@vb-check"),
                    ("Application", "Wait"),
                    ("Data", "1"),
                    ("Async", "true"),
                ],
            )
            done = await asyncio.wait_for(heard[marker], 10)
            times["bare" if bare else "voicebridge"].append(done - started)
    finally:
        await session.stop()
        await fake.stop()
        blocking.shutdown()
        runtime.close()
        redis.close()
        folder.cleanup()
    return times


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def main() -> None:
    best = validation()
    print(
        "dialplan_validation: the shipped template set with the 43 citizens' numbers, "
        f"best of {ROUNDS} rounds\n"
        f"  a plain Jinja2 render (baseline)                 {best['plain'] * 1000:>9.2f} ms\n"
        f"  sandboxed render + parse-back, in this process   {best['in_process'] * 1000:>9.2f} ms"
        f"   ({best['in_process'] / best['plain']:.1f}x)\n"
        f"  the whole validation (child process with limits) {best['whole'] * 1000:>9.2f} ms"
        f"   ({best['whole'] / best['plain']:.1f}x)",
        flush=True,
    )
    times = asyncio.run(switching())
    v, b = times["voicebridge"], times["bare"]
    p50, p99 = _quantile(v, 0.5) * 1000, _quantile(v, 0.99) * 1000
    b50, b99 = _quantile(b, 0.5) * 1000, _quantile(b, 0.99) * 1000
    print(
        f"dialplan_switch: {len(v)} switches of vb-check on the fake Asterisk, from the "
        "switch to the first call running the new revision\n"
        f"  one UpdateConfig, no trial, no read-back (baseline)  p50 {b50:>7.1f} ms  "
        f"p99 {b99:>7.1f} ms\n"
        f"  voicebridge's switch (trial, push, read-backs)       p50 {p50:>7.1f} ms  "
        f"p99 {p99:>7.1f} ms   ({p50 / b50:.1f}x at p50)",
        flush=True,
    )


if __name__ == "__main__":
    main()
