"""Run every benchmark: ``python -m bench [name ...]``."""

import sys

from bench import (
    ami_ingest,
    analytics,
    api_create,
    console_board,
    console_sse,
    dialplan_admin,
    dispatch_latency,
    ivr_latency,
    pei_ingest,
    sms_burst,
    sms_intake,
)

BENCHMARKS = {
    "api_create": api_create.main,
    "ami_ingest": ami_ingest.main,
    "dispatch_latency": dispatch_latency.main,
    "ivr_latency": ivr_latency.main,
    "sms_intake": sms_intake.main,
    "sms_burst": sms_burst.main,
    "console_sse": console_sse.main,
    "console_board": console_board.main,
    "pei_ingest": pei_ingest.main,
    "dialplan_admin": dialplan_admin.main,
    "analytics": analytics.main,
}


def main() -> int:
    names = sys.argv[1:] or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        BENCHMARKS[name]()
    return 0


sys.exit(main())
