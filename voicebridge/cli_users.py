"""``voicebridge user ...``: the people who sign in to the console."""

import argparse
import getpass
import sys
from collections.abc import Callable

from voicebridge.accounts import AccountError, check_password
from voicebridge.apikeys import Role
from voicebridge.settings import Settings

COMMANDS = frozenset({"user"})


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    users = sub.add_parser("user", help="console accounts").add_subparsers(
        dest="user_command", required=True
    )
    create = users.add_parser("create", help="create an account (asks for its password)")
    create.add_argument("username", help="lower case, e.g. ana.perez")
    create.add_argument("--name", required=True, help="the person's name, for the log")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--district", help="an operator's district (UBIGEO or name)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    users.add_parser("list", help="the accounts")
    password = users.add_parser("password", help="set a new password (ends every session)")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    for name, what in (
        ("disable", "disable an account (ends every session)"),
        ("enable", "enable an account again"),
        ("revoke", "end every session of an account (a lost computer)"),
    ):
        users.add_parser(name, help=what).add_argument("username")


def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    origin: str = "",
    ask: Callable[[str], str] = getpass.getpass,
) -> int:
    from voicebridge.runtime import open_runtime

    runtime = open_runtime(settings, origin=origin)
    accounts = runtime.accounts
    try:
        command = args.user_command
        if command in ("create", "password"):
            password = _password(args.password_stdin, ask)
            if command == "create":
                user = accounts.create(
                    args.username, name=args.name, role=Role(args.role),
                    district=args.district, password=password,
                )  # fmt: skip
                where = f", district {user.district}" if user.district else ""
                print(f"created {user.username} ({user.name}), {user.role.value}{where}")
            else:
                accounts.set_password(args.username, password)
                print(f"{args.username}: new password; every session ended")
        elif command == "list":
            for u in accounts.all():
                state = "active" if u.active else "disabled"
                print(f"{u.username}\t{u.role.value}\t{u.district or '-'}\t{state}\t{u.name}")
        elif command in ("disable", "enable"):
            accounts.set_active(args.username, command == "enable")
            print(f"{args.username}: {command}d")
        else:
            ended = accounts.revoke_all(args.username)
            print(f"{args.username}: {ended} session(s) ended")
        return 0
    except AccountError as exc:
        print(f"voicebridge user {args.user_command}: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.close()


def _password(stdin: bool, ask: Callable[[str], str]) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first = ask("Contraseña: ")
    check_password(first)
    if ask("Repita la contraseña: ") != first:
        raise AccountError("las contraseñas no coinciden")
    return first
