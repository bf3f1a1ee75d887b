"""The ``voicebridge`` command."""

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DatabaseError, DBAPIError, InterfaceError, OperationalError

from routing.errors import RoutingError
from voicebridge import (
    cli_analytics,
    cli_asterisk,
    cli_channels,
    cli_dialplan,
    cli_lines,
    cli_routing,
    cli_tetra,
    cli_users,
    migrate,
)
from voicebridge.errors import SettingsError, StdoutFailed, VoicebridgeError
from voicebridge.settings import (
    DEFAULT,
    ENVIRONMENT,
    RUN_FILE,
    Resolved,
    Settings,
    published,
    resolve_settings,
)

DATABASE_VARIABLE = "VOICEBRIDGE_DATABASE_URL"
REDIS_VARIABLE = "VOICEBRIDGE_REDIS_URL"

log = logging.getLogger("voicebridge")


class _Formatter(logging.Formatter):
    """Adds the incident id that log calls pass in ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        incident = getattr(record, "incident", None)
        return f"{text} [incident={incident}]" if incident else text


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # httpx (python-telegram-bot's transport) logs every request's URL at INFO, and a Bot
    # API URL carries the bot's token
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line and exit 2, pointing at ``--help`` (not the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _Parser(
        prog="voicebridge",
        description="Telephony and messaging platform of the emergency-coordination centre.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP API, webhooks and bridges")
    worker = sub.add_parser("worker", help="run an RQ worker with the scheduler")
    worker.add_argument("--burst", action="store_true", help="quit when the queues are empty")
    sub.add_parser("run", help="development: a local Redis if needed, serve and a worker")
    sub.add_parser(
        "settings", help="print the effective settings and where each came from (secrets masked)"
    )

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="create the database or upgrade its schema to the newest")
    db.add_parser("current", help="print the schema revision")

    keys = sub.add_parser("apikey", help="API keys").add_subparsers(
        dest="key_command", required=True
    )
    create = keys.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--role", required=True, choices=["operator", "supervisor", "admin"])
    create.add_argument("--district", help="UBIGEO code of the operator's district central")
    create.add_argument("--label", default="", help="who or what uses the key")
    create.set_defaults(refuse=create.error)  # checks across arguments, in _check_arguments
    keys.add_parser("list", help="list keys (never their secrets)")
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id")
    cli_routing.add_parsers(sub)
    cli_asterisk.add_parsers(sub)
    cli_channels.add_parsers(sub)
    cli_lines.add_parsers(sub)
    cli_users.add_parsers(sub)
    cli_tetra.add_parsers(sub)
    cli_analytics.add_parsers(sub)
    return parser


# The commands that are the service, or start it: they never read the settings a
# running ``voicebridge run`` published (the others do, to act on its database).
SERVICE_COMMANDS = (
    frozenset({"serve", "worker", "run", "fake-asterisk", "fake-radio"})
    | cli_channels.SERVICE_COMMANDS
)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The ``voicebridge`` command. An expected failure (a bad setting, a database or
    Redis out of reach, a file that is not there, a standard output that cannot be
    written) is one line on standard error and a non-zero exit; anything else is a bug
    and shows its traceback."""
    try:
        try:
            code = _main(argv, environ)
            sys.stdout.flush()
        except OSError as exc:
            if not _stdout_refused(exc):
                raise  # not the standard output's: a bug to show
            raise StdoutFailed(exc) from None  # > /dev/full, a closed pipe
    except StdoutFailed as exc:
        # what is left in the buffer goes nowhere, rather than fail again at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"voicebridge: {exc}", file=sys.stderr)
        return 1
    return code


def _stdout_refused(exc: OSError) -> bool:
    """Whether ``exc`` is the standard output refusing a write: a full device or a
    closed pipe, on no named file (the commands' own files are named in theirs; the
    database's and Redis's errors are their libraries' own)."""
    return exc.filename is None and exc.errno in (errno.ENOSPC, errno.EPIPE)


def _main(argv: Sequence[str] | None, environ: Mapping[str, str] | None) -> int:
    args = _parser().parse_args(argv)
    _check_arguments(args)
    env = os.environ if environ is None else environ
    try:
        service = None if args.command in SERVICE_COMMANDS else published(RUN_FILE)
        resolved = resolve_settings(env, service=service)
    except SettingsError as exc:
        print(f"voicebridge: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(resolved.settings.log_level)
    try:
        return _dispatch(args, resolved, env)
    except StdoutFailed:
        raise  # told by main, once the buffer is let go
    except (RoutingError, VoicebridgeError) as exc:
        print(f"voicebridge: {exc}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
        if not _unusable(exc):
            raise
        url = migrate.shown(resolved.settings.database_url)
        print(f"voicebridge: cannot use the database {url}: {_first_line(exc)}", file=sys.stderr)
        return 1
    except InterfaceError as exc:
        url = migrate.shown(resolved.settings.database_url)
        print(f"voicebridge: cannot use the database {url}: {_first_line(exc)}", file=sys.stderr)
        return 1
    except (RedisConnectionError, RedisTimeoutError) as exc:
        url = resolved.settings.redacted()["redis_url"]
        print(f"voicebridge: Redis at {url} does not answer: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _check_arguments(args: argparse.Namespace) -> None:
    """What argparse cannot check alone: one line and exit 2, like its own refusals."""
    creating = args.command == "apikey" and args.key_command == "create"
    if creating and args.district is not None and args.role != "operator":
        args.refuse(
            "argument --district: only an operator key belongs to a district "
            "(admin and supervisor keys see every district)"
        )


def _unusable(exc: DatabaseError) -> bool:
    """The database cannot be used as it is (out of reach, locked, read-only, a file
    that is not an SQLite database or is damaged): the driver says
    ``OperationalError``, or SQLite its generic ``DatabaseError`` ("file is not a
    database", "database disk image is malformed"). Its subclasses (an integrity or a
    programming error) are bugs."""
    return isinstance(exc, OperationalError) or type(exc) is DatabaseError


def _first_line(exc: DBAPIError) -> str:
    """The driver's own message, first line (psycopg adds hints below it)."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return (text.strip().splitlines() or ["unknown error"])[0]


def _origin(source: str) -> str:
    """Where the database URL came from, for messages."""
    if source == DEFAULT:
        return "the default, under the working directory"
    return DATABASE_VARIABLE if source == ENVIRONMENT else source


def _database(resolved: Resolved) -> str:
    """The database and where its URL came from, for messages."""
    url = migrate.shown(resolved.settings.database_url)
    return f"{url} ({_origin(resolved.sources[DATABASE_VARIABLE])})"


def _dispatch(args: argparse.Namespace, resolved: Resolved, environ: Mapping[str, str]) -> int:
    settings = resolved.settings
    origin = _origin(resolved.sources[DATABASE_VARIABLE])
    if args.command in ("serve", "worker"):
        # with auto_migrate they upgrade the schema, but never create an SQLite file
        migrate.require(settings.database_url, schema=not settings.auto_migrate, origin=origin)
    if args.command == "serve":
        try:
            asyncio.run(serve(settings))
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                raise
            where = f"{settings.http_host}:{settings.http_port}"
            raise VoicebridgeError(f"cannot listen on {where}: {exc.strerror}") from exc
        return 0
    if args.command == "worker":
        from voicebridge.runtime import build_runtime
        from voicebridge.worker import run_worker

        runtime = build_runtime(settings)
        try:
            return run_worker(runtime, burst=args.burst)
        finally:
            runtime.close()
    if args.command == "run":
        from voicebridge.devrun import run

        return run(environ)
    if args.command == "settings":
        if resolved.service is not None:
            print(
                f"# the settings of voicebridge run, pid {resolved.service.pid} "
                f"({resolved.service.path}), beneath this environment"
            )
        print("\n".join(resolved.lines()))
        return 0
    if args.command == "db":
        url = settings.database_url
        if args.db_command == "upgrade":
            migrate.upgrade(url)
        else:
            migrate.require(url, schema=False, origin=origin)
        revision = migrate.current(url)
        print(revision or "(empty database)")
        newest = "the newest" if revision == migrate.head() else f"the newest is {migrate.head()}"
        print(
            f"database {_database(resolved)}: schema {revision or 'none'} ({newest})",
            file=sys.stderr,
        )
        return 0
    if args.command == "apikey":
        return _apikey(args, resolved)
    if args.command in ("routing", "route", "districts"):
        return cli_routing.run(args, settings, origin=origin)
    if args.command == "dialplan" and args.dialplan_command in cli_dialplan.COMMANDS:
        return cli_dialplan.run(args, settings, origin=origin)
    if args.command in ("dialplan", "prompts", "fake-asterisk"):
        return cli_asterisk.run(args, settings)
    if args.command in cli_channels.COMMANDS:
        return cli_channels.run(args, settings)
    if args.command in cli_lines.COMMANDS:
        return cli_lines.run(args, settings, origin=origin)
    if args.command in cli_users.COMMANDS:
        return cli_users.run(args, settings, origin=origin)
    if args.command in cli_tetra.COMMANDS:
        return cli_tetra.run(args, settings)
    if args.command in cli_analytics.COMMANDS:
        return cli_analytics.run(args, settings, origin=origin)
    raise AssertionError(args.command)  # pragma: no cover


def _apikey(args: argparse.Namespace, resolved: Resolved) -> int:
    from voicebridge.apikeys import ApiKeys, RevocationNotShared, Role
    from voicebridge.runtime import open_runtime

    runtime = open_runtime(resolved.settings, origin=_origin(resolved.sources[DATABASE_VARIABLE]))
    database = _database(resolved)
    try:
        keys: ApiKeys = runtime.apikeys
        if args.key_command == "create":
            token, identity = keys.create(Role(args.role), district=args.district, label=args.label)
            print(token)
            print(
                f"key {identity.key_id}, role {identity.role.value}"
                + (f", district {identity.district}" if identity.district else "")
                + f", created in {database}: store it now, it is not shown again",
                file=sys.stderr,
            )
        elif args.key_command == "list":
            print(f"keys in {database}", file=sys.stderr)
            for info in keys.list():
                i = info.identity
                state = (
                    f"revoked {info.revoked_at:%Y-%m-%d %H:%M}Z" if info.revoked_at else "active"
                )
                print(f"{i.key_id}\t{i.role.value}\t{i.district or '-'}\t{state}\t{i.label}")
        elif args.key_command == "revoke":
            try:
                if not keys.revoke(args.key_id):
                    print(
                        f"voicebridge: no active key {args.key_id} in {database}", file=sys.stderr
                    )
                    return 1
            except RevocationNotShared as exc:
                print(f"voicebridge: {exc}", file=sys.stderr)
                return 1
            redis = resolved.settings.redacted()["redis_url"]
            source = resolved.sources[REDIS_VARIABLE]
            told = (
                "the default"
                if source == DEFAULT
                else (REDIS_VARIABLE if source == ENVIRONMENT else source)
            )
            print(
                f"key {args.key_id} revoked in {database}; replicas told through {redis} ({told})"
            )
        return 0
    finally:
        runtime.close()


async def serve(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM."""
    from voicebridge.app import make_app

    runner = web.AppRunner(make_app(settings), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    try:
        await site.start()
    except BaseException:  # the port taken: what setup started (the AMI session) is closed
        await runner.cleanup()
        raise
    for address in runner.addresses:
        host, port = address[0], address[1]
        log.info(
            "voicebridge serves on http://%s:%d (public URL %s)", host, port, settings.public_url
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloading: set[asyncio.Task[None]] = set()

    def on_hup() -> None:
        task = loop.create_task(_reload_rules(runner.app))
        reloading.add(task)
        task.add_done_callback(reloading.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    try:
        await stop.wait()
    finally:
        log.info("voicebridge stops")
        await runner.cleanup()


async def _reload_rules(app: web.Application) -> None:
    """SIGHUP: read the routing file again; a file with problems changes nothing."""
    from routing.config import ConfigError
    from voicebridge.web import RUNTIME

    try:
        revision, changed = await asyncio.to_thread(
            app[RUNTIME].rules.load_file, actor="system:sighup"
        )
    except ConfigError as exc:
        for line in exc.lines():
            log.error("routing file refused: %s", line)
        return
    log.info(
        "routing rules: revision %d in force%s", revision.id, "" if changed else " (unchanged)"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
