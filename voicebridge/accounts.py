"""People who sign in to the console: user accounts with a role (an operator bound to
one district, a supervisor, an admin), their passwords hashed with Argon2id
(argon2-cffi, OWASP's first choice), and their sessions.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256,
so a copy of the database opens no session. Each session has its own CSRF token, which
every state-changing request of the console sends back. A session ends when it is
signed out, revoked (one, or every session of a person), when its person is disabled,
after :attr:`SessionPolicy.idle` without a request, and :attr:`SessionPolicy.lifetime`
after sign-in whatever the activity. Sign-in attempts are rate-limited per account and
per address (the limiter the calls use, on Redis, shared by every replica).

API keys stay for machines (:mod:`voicebridge.apikeys`); a person acts under an
:class:`~voicebridge.apikeys.Identity` too, whose actor names them in the incident's log:
``operator:ana.perez (Ana Pérez)``.
"""

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from routing.db import Database
from routing.districts import find_district
from routing.ports import Clock, SystemClock
from routing.ratelimits import Limit, Limiter, Taken, give_back
from voicebridge.apikeys import Identity, Role
from voicebridge.schema import user_sessions, users

COOKIE = "vb_session"  # the session's token (on https: "__Host-vb_session")
CSRF_HEADER = "X-CSRF-Token"  # the session's CSRF token, on a state-changing request
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
NAME_MAX = 34  # the actor "<role>:<username> (<name>)" fits the log's 80 characters
PASSWORD_MIN = 12
PASSWORD_MAX = 256
# failed sign-in attempts: an account from one address (a guessed password); an account
# from anywhere, high enough that nobody locks a person out with a few wrong passwords;
# an address (many accounts tried; an IPv6 address by its /64)
LOGIN_LIMITS = {
    "pair": (Limit(count=5, seconds=900), Limit(count=20, seconds=86400)),
    "account": (Limit(count=50, seconds=900),),
    "address": (Limit(count=30, seconds=900),),
}
USER_COLUMNS = ("username", "name", "role", "district", "active", "created_at")
SEEN_EVERY = timedelta(seconds=60)  # a session's last request recorded at most this often
_HASHER = PasswordHasher()  # Argon2id, argon2-cffi's defaults (RFC 9106's second choice)
# verified when the account does not exist, so that the answer takes as long
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user cannot be created or changed as asked (the message says why)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class User:
    id: int
    username: str
    name: str
    role: Role
    district: str | None
    active: bool
    created_at: datetime

    def identity(self) -> Identity:
        return Identity(
            key_id=self.username, role=self.role, district=self.district, label=self.name,
            person=True,
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    id: int
    user: User
    csrf: str
    created_at: datetime
    expires_at: datetime  # the end of its lifetime
    last_seen_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionPolicy:
    lifetime: timedelta = timedelta(hours=12)  # an operator's shift
    idle: timedelta = timedelta(minutes=60)


@dataclass(frozen=True, kw_only=True, slots=True)
class Refusal:
    """Why a sign-in was refused: wrong credentials (one answer for an unknown account,
    a wrong password and a disabled account), or too many attempts."""

    limited: bool
    retry_in: float = 0.0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(
            f"la contraseña debe tener de {PASSWORD_MIN} a {PASSWORD_MAX} caracteres"
        )


class Accounts:
    def __init__(
        self,
        db: Database,
        limiter: Limiter,
        *,
        clock: Clock | None = None,
        policy: SessionPolicy | None = None,
    ) -> None:
        self.db = db
        self.limiter = limiter
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or SessionPolicy()

    # ------------------------------------------------------------- users

    def create(
        self, username: str, *, name: str, role: Role, district: str | None, password: str
    ) -> User:
        """A new account. Only an operator belongs to a district (and must)."""
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise AccountError(
                "el usuario va en minúsculas: una letra y luego letras, dígitos, . _ o - "
                "(de 2 a 32 caracteres)"
            )
        name = " ".join(name.split())
        if not 1 <= len(name) <= NAME_MAX or not name.isprintable():
            raise AccountError(f"el nombre debe tener de 1 a {NAME_MAX} caracteres")
        if role is Role.OPERATOR and district is None:
            raise AccountError("un operador pertenece a la central de un distrito: dé su UBIGEO")
        if role is not Role.OPERATOR and district is not None:
            raise AccountError(f"un {role.value} ve todos los distritos: no dé distrito")
        if district is not None:
            found = find_district(district)
            if found is None:
                raise AccountError(f"{district!r} no es un distrito de Lima Metropolitana")
            district = found.ubigeo
        check_password(password)
        now = self.clock.now()
        try:
            with self.db.write() as conn:
                row = conn.execute(
                    insert(users)
                    .values(username=username, name=name, role=role.value, district=district,
                            password_hash=_HASHER.hash(password), active=True,
                            created_at=now, updated_at=now)
                    .returning(*users.c)
                ).one()  # fmt: skip
        except IntegrityError:
            raise AccountError(f"ya existe el usuario {username}") from None
        return _user(row)

    def get(self, username: str) -> User | None:
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def set_password(self, username: str, password: str) -> None:
        """A new password; every session of the person ends."""
        check_password(password)
        now = self.clock.now()
        with self.db.write() as conn:
            found = conn.execute(
                update(users)
                .where(users.c.username == username)
                .values(password_hash=_HASHER.hash(password), updated_at=now)
                .returning(users.c.id)
            ).scalar()
            if found is None:
                raise AccountError(f"no existe el usuario {username}")
            self._revoke_all(conn, found, now)

    def set_active(self, username: str, active: bool) -> None:
        """Disable (every session ends) or enable an account."""
        now = self.clock.now()
        with self.db.write() as conn:
            found = conn.execute(
                update(users)
                .where(users.c.username == username)
                .values(active=active, updated_at=now)
                .returning(users.c.id)
            ).scalar()
            if found is None:
                raise AccountError(f"no existe el usuario {username}")
            if not active:
                self._revoke_all(conn, found, now)

    # ------------------------------------------------------------- sessions

    def sign_in(
        self, username: str, password: str, *, address: str, agent: str = ""
    ) -> tuple[str, Session] | Refusal:
        """A new session (its token, for the cookie, is not stored), or why not. Every
        attempt counts against the account's and the address's limits."""
        username = username.strip().lower()[:64]
        address = network_of(address)
        grants: Taken = []
        for kind, key in (("pair", f"{username}@{address}"), ("account", username),
                          ("address", address)):  # fmt: skip
            verdict = self.limiter.acquire(f"login-{kind}:{key}", LOGIN_LIMITS[kind])
            if not verdict.allowed:
                give_back(self.limiter, grants)
                return Refusal(limited=True, retry_in=verdict.retry_in)
            grants.append((verdict.grant, LOGIN_LIMITS[kind]))
        row = None
        if USERNAME.match(username):  # (a NUL or other junk never reaches the database)
            with self.db.read() as conn:
                row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            _verify(_DUMMY, password)
            return Refusal(limited=False)
        if not _verify(row.password_hash, password) or not row.active:
            return Refusal(limited=False)
        now = self.clock.now()
        token = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            if _HASHER.check_needs_rehash(row.password_hash):
                conn.execute(
                    update(users).where(users.c.id == row.id)
                    .values(password_hash=_HASHER.hash(password))
                )  # fmt: skip
            conn.execute(update(users).where(users.c.id == row.id).values(last_login_at=now))
            created = conn.execute(
                insert(user_sessions)
                .values(token_hash=_digest(token), user_id=row.id,
                        csrf=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                        expires_at=now + self.policy.lifetime, address=address[:64],
                        agent=agent[:200])
                .returning(*user_sessions.c)
            ).one()  # fmt: skip
        give_back(self.limiter, grants)  # only failures count
        return token, _session(created, _user(row))

    def session(self, token: str, *, touch: bool = True) -> Session | None:
        """The live session of a cookie's token: None once signed out, revoked,
        expired, idle too long, or its person disabled. Records the request (at most
        once a minute) unless ``touch`` is False (a board left open is no activity)."""
        if not token or len(token) > 128:
            return None
        now = self.clock.now()
        s, u = user_sessions.c, users.c
        with self.db.read() as conn:
            found = conn.execute(
                select(user_sessions, *(getattr(u, n).label(f"user_{n}") for n in USER_COLUMNS))
                .join(users, u.id == s.user_id)
                .where(s.token_hash == _digest(token))
            ).first()  # fmt: skip
        if found is None or found.revoked_at is not None or not found.user_active:
            return None
        if now >= found.expires_at or now - found.last_seen_at >= self.policy.idle:
            return None
        user = _user(found, prefix="user_")
        if touch and now - found.last_seen_at >= SEEN_EVERY:
            with self.db.write() as conn:
                conn.execute(update(user_sessions).where(s.id == found.id).values(last_seen_at=now))
        return _session(found, user)

    def sign_out(self, token: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(user_sessions)
                .where(user_sessions.c.token_hash == _digest(token),
                       user_sessions.c.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )  # fmt: skip

    def revoke_all(self, username: str) -> int:
        """End every session of a person (a lost laptop); how many were live."""
        now = self.clock.now()
        with self.db.write() as conn:
            found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
            if found is None:
                raise AccountError(f"no existe el usuario {username}")
            return self._revoke_all(conn, found, now)

    def _revoke_all(self, conn: Any, user_id: int, now: datetime) -> int:
        s = user_sessions.c
        result = conn.execute(
            update(user_sessions)
            .where(s.user_id == user_id, s.revoked_at.is_(None), s.expires_at > now)
            .values(revoked_at=now)
        )
        return int(result.rowcount)


def cookie_name(name: str, secure: bool) -> str:
    """On https a cookie's name carries the ``__Host-`` prefix: the browser then keeps it
    only if it is Secure, for Path=/ and for this host alone, so no other site (nor a
    sibling subdomain) can plant it."""
    return f"__Host-{name}" if secure else name


def network_of(address: str) -> str:
    """What sign-in attempts are counted under: an IPv4 address, or an IPv6 address's
    /64 (one subscriber's; rotating within it gains nothing)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def same_token(given: str | None, expected: str) -> bool:
    """A CSRF token as sent against the session's, in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password[:PASSWORD_MAX])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _user(row: Any, prefix: str = "") -> User:
    """A user from a row of ``users``, or from a session's row with the user's columns
    labelled ``user_<column>`` (``prefix="user_"``; its ``user_id`` is the user's id)."""

    def column(name: str) -> Any:
        return getattr(row, prefix + name)

    return User(
        id=column("id"),
        username=column("username"),
        name=column("name"),
        role=Role(column("role")),
        district=column("district"),
        active=column("active"),
        created_at=column("created_at"),
    )


def _session(row: Any, user: User) -> Session:
    return Session(
        id=row.id,
        user=user,
        csrf=row.csrf,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_seen_at=row.last_seen_at,
    )
