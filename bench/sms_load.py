"""What the citizens' benchmarks send, and how: an earthquake evening's Spanish messages,
Twilio's signed inbound SMS (the fake Twilio's full field set, each with its own
MessageSid), Telegram's updates, the environment of a ``serve`` with both channels
configured, and wrk driven through a file of requests that are each different.

wrk cannot sign (its Lua has no HMAC): the requests are signed here beforehand, one line
each (``signature<TAB>form``), and the Lua script hands them out in order; past the end
it starts again (then the requests are repeats, which the benchmarks check did not
happen where they matter).
"""

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.common import run_wrk
from channels.twilio.signature import sign
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER
from channels.twilio.simstate import inbound_params

PUBLIC_URL = "https://vb.example.pe"  # what Twilio signs; no proxy in front here
SMS_PATH = "/webhooks/twilio/sms"
TELEGRAM_PATH = "/webhooks/telegram"
TELEGRAM_TOKEN = "123456789:AAbenchbenchbenchbenchbenchbench"  # noqa: S105 - a fake bot
TELEGRAM_SECRET = "bench-secret-token"  # noqa: S105 - loopback only
FORM_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"

# an earthquake evening in Lima: what, where (with a house number drawn per message)
REPORTS = (
    "se cayo una pared en jr. huallaga {n} cercado, hay heridos",
    "fuga de gas en av. brasil {n} jesus maria",
    "incendio en av. arequipa {n} lince",
    "choque de combi en la av. javier prado este {n} san isidro",
    "hay un herido en av. abancay {n} cercado",
    "me robaron el celular en av. larco {n} miraflores",
    "se cayo un poste de luz en av. tupac amaru {n} independencia",
    "huele a gas en jr. ucayali {n} cercado",
    "temblor fuerte, se rajo la pared de mi casa en calle los pinos {n} surco",
    "hay gente atrapada en el edificio de av. grau {n} la victoria",
    "se cayo el techo de una casa en jr. cuzco {n} rimac",
    "emergencia medica en av. peru {n} san martin de porres",
    "corto circuito y fuego en mercado de av. aviacion {n} la victoria",
    "se sale el agua del buzon en av. colonial {n} cercado",
    "derrumbe de muro en av. san juan {n} san juan de miraflores",
    "niño herido por vidrios rotos en jr. junin {n} cercado",
)
# what a citizen writes next: it completes the report, or it is a report without place
FOLLOW_UPS = (
    "hay heridos, apurense",
    "ayuda por favor",
    "sigue saliendo humo",
    "gracias",
    "ya llegaron los bomberos?",
)


def report_text(rng: random.Random) -> str:
    return rng.choice(REPORTS).format(n=rng.randrange(100, 2000, 10))


def phone(n: int) -> str:
    """The n-th citizen's Peruvian mobile number, E.164."""
    return f"+519{n % 100_000_000:08d}"


def sms_sid(tag: int, n: int) -> str:
    """A MessageSid (SM and 32 hex digits) unique per ``tag`` and ``n``."""
    return f"SM{tag:08x}{n:024x}"


def signed_sms(sid: str, from_: str, body: str) -> tuple[str, str]:
    """Twilio's inbound SMS webhook: its X-Twilio-Signature and its form body."""
    params = inbound_params(
        account_sid=DEMO_ACCOUNT_SID, message_sid=sid, from_=from_, to=DEMO_NUMBER, body=body
    )
    signature = sign(DEMO_AUTH_TOKEN, PUBLIC_URL + SMS_PATH, params)
    return signature, urlencode([(k, v) for k, vs in params.items() for v in vs])


def sms_env(
    database_url: str, redis_url: str, port: int, *, telegram: bool = False
) -> dict[str, str]:
    """The VOICEBRIDGE_* variables of a ``serve`` taking SMS (and Telegram's webhook)."""
    env = {
        "VOICEBRIDGE_DATABASE_URL": database_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_HTTP_PORT": str(port),
        "VOICEBRIDGE_LOG_LEVEL": "WARNING",
        "VOICEBRIDGE_PUBLIC_URL": PUBLIC_URL,
        "VOICEBRIDGE_TWILIO_ACCOUNT_SID": DEMO_ACCOUNT_SID,
        "VOICEBRIDGE_TWILIO_AUTH_TOKEN": DEMO_AUTH_TOKEN,
        "VOICEBRIDGE_TWILIO_NUMBER": DEMO_NUMBER,
        "VOICEBRIDGE_TWILIO_API_URL": "http://127.0.0.1:9",  # nothing is sent: no worker
    }
    if telegram:
        env |= {
            "VOICEBRIDGE_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "VOICEBRIDGE_TELEGRAM_SECRET": TELEGRAM_SECRET,
            "VOICEBRIDGE_TELEGRAM_API_URL": "http://127.0.0.1:9",
            "VOICEBRIDGE_TELEGRAM_MODE": "webhook",
        }
    return env


def sms_requests(tag: int, count: int, *, citizens: int, seed: int) -> Iterator[tuple[str, str]]:
    """``count`` signed SMS, each with its own MessageSid, from ``citizens`` numbers in
    turn (so a number writes again now and then): a report, or now and then a follow-up."""
    rng = random.Random(seed)
    for n in range(count):
        text = rng.choice(FOLLOW_UPS) if rng.random() < 0.1 else report_text(rng)
        yield signed_sms(sms_sid(tag, n), phone(tag * 1_000_003 + n % citizens), text)


def write_requests(path: Path, requests: Iterator[tuple[str, str]]) -> int:
    count = 0
    with path.open("w", encoding="ascii") as out:
        for signature, body in requests:
            out.write(f"{signature}\t{body}\n")
            count += 1
    return count


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    requests: int
    non_2xx: int
    errors: int  # sockets that failed (connect, read, write, timeout)
    latency_p50_ms: float
    latency_p99_ms: float


WRK_SCRIPT = """
local requests, n, i = {}, 0, 0
init = function(args)
  for line in io.lines(args[1]) do
    local signature, body = line:match("^([^\\t]*)\\t(.*)$")
    n = n + 1
    requests[n] = wrk.format("POST", args[2], {
      ["Content-Type"] = "%(form_type)s",
      ["X-Twilio-Signature"] = signature,
    }, body)
  end
end
request = function()
  i = i %% n + 1
  return requests[i]
end
done = function(summary, latency, requests)
  local p50, p99 = latency:percentile(50) / 1000, latency:percentile(99) / 1000
  local e = summary.errors
  io.write(string.format("p50=%%f p99=%%f errors=%%d\\n", p50, p99,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_signed(
    base_url: str, path: str, requests: Path, *, seconds: int, connections: int = 32
) -> Load:
    """wrk (1 thread) posting the file's signed forms to ``base_url`` + ``path``."""
    script = WRK_SCRIPT % {"form_type": FORM_TYPE}
    args = [base_url, "--", str(requests), path]
    out = run_wrk(script, args, seconds=seconds, connections=connections)

    def number(pattern: str, default: str | None = None) -> str:
        found = re.search(pattern, out)
        if found is None:
            if default is None:
                raise SystemExit(f"wrk's output lacks {pattern!r}: {out}")
            return default
        return found.group(1)

    return Load(
        requests_per_second=float(number(r"Requests/sec:\s+([\d.]+)")),
        requests=int(number(r"(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)", "0")),
        errors=int(number(r"errors=(\d+)")),
        latency_p50_ms=float(number(r"p50=([\d.]+)")),
        latency_p99_ms=float(number(r"p99=([\d.]+)")),
    )


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
