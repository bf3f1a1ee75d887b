"""Make sure the services the test suite needs are here, installing or starting them when
they are missing: a ``redis-server`` binary (the tests start their own Redis servers) and
a PostgreSQL server with a ``voicebridge`` role that may create databases; Debian's
chromium for the console's browser tests; and, if it can, espeak-ng and sox for the IVR
prompts' tests.

Runs before pytest in ``make test`` (and before ``make run``, with ``--redis-only``). It
installs Debian packages with apt-get when it runs as root (or with password-less sudo).
Set VOICEBRIDGE_TEST_POSTGRES_URL to use a PostgreSQL of your own instead; then nothing is
installed or started for it.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import psycopg

DEFAULT_PG = "postgresql://voicebridge:voicebridge@127.0.0.1:5432/voicebridge_test"
ROLE_SQL = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'voicebridge') THEN
    CREATE ROLE voicebridge LOGIN CREATEDB PASSWORD 'voicebridge';
  END IF;
END $$;
"""


def say(message: str) -> None:
    print(f"ensure-services: {message}", file=sys.stderr, flush=True)


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def apt_install(*packages: str, required: bool = True) -> None:
    """Install Debian packages; when they are not ``required``, a failure is only said."""
    what = " ".join(packages)

    def fail(message: str) -> None:
        if required:
            sys.exit(f"ensure-services: {message}")
        say(f"{message}; the tests that need {what} are skipped")

    if shutil.which("apt-get") is None:
        return fail(f"install {what} (no apt-get here)")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None or run(["sudo", "-n", "true"]).returncode != 0:
            return fail(f"install {what} (needs root)")
        prefix = ["sudo", "-n"]
    say(f"installing {what} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run([*prefix, "apt-get", "update", "-qq"], env=env)
    done = run([*prefix, "apt-get", "install", "-y", "-qq", *packages], env=env)
    if done.returncode != 0:
        return fail(f"apt-get install {what} failed:\n{done.stderr}")
    return None


def ensure_prompt_tools() -> None:
    """espeak-ng and sox: ``voicebridge prompts build`` and its tests synthesise the IVR
    prompts with them (optional: without them those tests are skipped)."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        apt_install(*missing, required=False)


def ensure_browser() -> None:
    """Debian's chromium (and chromium-driver, version-matched): the console's browser
    tests drive it headless through Playwright; Playwright's own download is never used.
    Required: without a browser the console's end-to-end tests could not run."""
    missing = [p for p, binary in (("chromium", "chromium"), ("chromium-driver", "chromedriver"))
               if shutil.which(binary) is None]  # fmt: skip
    if missing:
        apt_install(*missing)
    say("chromium is installed")


def ensure_redis() -> None:
    if shutil.which("redis-server") is None:
        apt_install("redis-server")
    if shutil.which("redis-server") is None:
        sys.exit("ensure-services: redis-server is still missing")
    # the Debian package starts a system Redis; the tests do not need it
    say("redis-server is installed")


def _connects(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return str(exc).strip()


def _as_superuser(sql: str) -> bool:
    attempts = [["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"]]
    if os.geteuid() == 0 and shutil.which("runuser"):
        attempts.append(["runuser", "-u", "postgres", "--", "psql", "-d", "postgres"])
    for psql in attempts:
        if (
            run(
                [*psql, "-v", "ON_ERROR_STOP=1", "-c", sql],
                env={**os.environ, "PGCONNECT_TIMEOUT": "3"},
            ).returncode
            == 0
        ):
            return True
    return False


def _start_postgres() -> None:
    if shutil.which("pg_ctlcluster") is None:
        apt_install("postgresql")
    clusters = run(["pg_lsclusters", "--no-header"]).stdout.split("\n")
    for line in filter(None, clusters):
        version, name = line.split()[:2]
        if "online" not in line:
            say(f"starting PostgreSQL cluster {version}/{name}")
            run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"])
    for _ in range(60):
        if run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
            return
        time.sleep(0.5)
    sys.exit("ensure-services: PostgreSQL does not accept connections on 127.0.0.1:5432")


def ensure_postgres() -> None:
    url = os.environ.get("VOICEBRIDGE_TEST_POSTGRES_URL", "").replace("+psycopg", "")
    if url:
        problem = _connects(url)
        if problem:
            sys.exit(f"ensure-services: VOICEBRIDGE_TEST_POSTGRES_URL does not connect: {problem}")
        say("PostgreSQL from VOICEBRIDGE_TEST_POSTGRES_URL answers")
        return
    if _connects(DEFAULT_PG) is None:
        say("PostgreSQL answers")
        return
    if run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        _start_postgres()
    if not _as_superuser(ROLE_SQL):
        sys.exit("ensure-services: cannot create the voicebridge role (no superuser access)")
    _as_superuser("CREATE DATABASE voicebridge_test OWNER voicebridge")
    problem = _connects(DEFAULT_PG)
    if problem:
        sys.exit(f"ensure-services: PostgreSQL still refuses {DEFAULT_PG}: {problem}")
    say("PostgreSQL is ready (role voicebridge, database voicebridge_test)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--wrk", action="store_true", help="also the HTTP load generator wrk")
    args = parser.parse_args()
    ensure_redis()
    if args.wrk and shutil.which("wrk") is None:
        apt_install("wrk")
    if not args.redis_only:
        ensure_postgres()
        ensure_prompt_tools()
        ensure_browser()


if __name__ == "__main__":
    main()
