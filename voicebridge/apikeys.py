"""API keys: who may write, in which role, for which district.

A key reads ``vb_<key id>_<secret>``. Only a SHA-256 digest of the secret is stored: the
secret is 256 random bits, so a fast digest cannot be brute-forced and checking it costs
microseconds (a password hash such as bcrypt protects low-entropy secrets, at
milliseconds per request). The key is shown once, when it is created.

A looked-up key is remembered for :data:`CACHE_SECONDS`, under the current value of the
revocation counter in Redis (:data:`REVOCATIONS`, bumped by every revocation and read on
every request): a key revoked by any process is refused by every replica from the next
request on. When that counter cannot be read, nothing is remembered: every request
asks the database.
"""

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from sqlalchemy import insert, select, update

from routing.db import Database
from routing.districts import district_by_code
from routing.ports import Clock, SystemClock
from voicebridge.errors import VoicebridgeError
from voicebridge.schema import api_keys

CACHE_SECONDS = 10.0  # how long a looked-up key is remembered (while nothing is revoked)
REVOCATIONS = "voicebridge:apikeys:revocations"  # the Redis counter every revocation bumps
UNKNOWN = object()  # the counter could not be read


class RevocationNotShared(VoicebridgeError):
    """The key is revoked in the database, but Redis could not be told: replicas that
    remembered it accept it until their memory of it expires."""


class Role(StrEnum):
    OPERATOR = "operator"  # a district central's operator
    SUPERVISOR = "supervisor"  # the centre's supervisors: every district, manual acks
    ADMIN = "admin"  # everything, including keys, dialplans and rules


@dataclass(frozen=True, kw_only=True, slots=True)
class Identity:
    key_id: str
    role: Role
    district: str | None  # an operator bound to one district central
    label: str
    person: bool = False  # a person signed in to the console (key_id: the username)

    @property
    def actor(self) -> str:
        """How the event log names this identity: a key by its id, a person by their
        username and name (``operator:ana.perez (Ana Pérez)``)."""
        if self.person:
            return f"{self.role.value}:{self.key_id} ({self.label})"
        return f"{self.role.value}:{self.key_id}"

    def may(self, role: Role) -> bool:
        order = (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN)
        return order.index(self.role) >= order.index(role)

    def sees_district(self, district: str | None) -> bool:
        return self.district is None or district == self.district


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyInfo:
    identity: Identity
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(token: str) -> tuple[str, str] | None:
    """``(key id, secret)``, or None when ``token`` cannot be a key. A key is ASCII (hex
    id, URL-safe base64 secret): anything else, such as the lone surrogates aiohttp
    decodes bytes past 0x7f of a header into, is unknown before anything encodes it."""
    if not token.isascii():
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "vb" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class ApiKeys:
    def __init__(self, db: Database, redis: "Redis", *, clock: Clock | None = None) -> None:
        self.db = db
        self.redis = redis
        self.clock: Clock = clock or SystemClock()
        self._cache: dict[str, tuple[float, str, Identity | None]] = {}
        self._epoch: object = UNKNOWN  # the revocation counter the cache was filled under

    def current(self, epoch: object) -> object:
        """Tell the cache the revocation counter just read (:data:`UNKNOWN` if it could
        not be): a different value forgets every key remembered. The epoch to give
        :meth:`verify`."""
        if epoch is UNKNOWN or epoch != self._epoch:
            self._cache.clear()
            self._epoch = epoch
        return epoch

    def create(
        self, role: Role, *, district: str | None = None, label: str = ""
    ) -> tuple[str, Identity]:
        """A new key: ``(token, identity)``. The token is not stored anywhere. Only an
        operator key belongs to a district: admin and supervisor keys see every one."""
        if district is not None:
            if role is not Role.OPERATOR:
                raise ValueError(f"a {role.value} key sees every district: give no district")
            district_by_code(district)
        key_id = secrets.token_hex(5)
        secret = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute(
                insert(api_keys).values(
                    key_id=key_id,
                    secret_hash=_digest(secret),
                    role=role.value,
                    district=district,
                    label=label,
                    created_at=self.clock.now(),
                )
            )
        identity = Identity(key_id=key_id, role=role, district=district, label=label)
        return f"vb_{key_id}_{secret}", identity

    def cached(self, token: str) -> tuple[bool, Identity | None]:
        """``(True, identity or None)`` when the token's key was looked up in the last
        seconds; ``(False, None)`` when :meth:`verify` must ask the database."""
        split = _split(token)
        if split is None:
            return True, None
        entry = self._cache.get(split[0])
        if entry is None or entry[0] < time.monotonic():
            return False, None
        _, digest, identity = entry
        if identity is None or not hmac.compare_digest(digest, _digest(split[1])):
            return True, None
        return True, identity

    def verify(self, token: str, epoch: object = UNKNOWN) -> Identity | None:
        """The key's identity, from the database; remembered if the revocation counter
        is still ``epoch`` (a lookup that began before a revocation is not)."""
        split = _split(token)
        if split is None:
            return None
        key_id, secret = split
        with self.db.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        identity: Identity | None = None
        digest = ""
        if row is not None and row.revoked_at is None:
            digest = row.secret_hash
            identity = Identity(
                key_id=key_id, role=Role(row.role), district=row.district, label=row.label
            )
        if epoch is not UNKNOWN and epoch == self._epoch:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (time.monotonic() + CACHE_SECONDS, digest, identity)
        if identity is None or not hmac.compare_digest(digest, _digest(secret)):
            return None
        return identity

    def revoke(self, key_id: str) -> bool:
        with self.db.write() as conn:
            done = conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            ).rowcount
        self._cache.pop(key_id, None)
        if done:
            try:
                self.redis.incr(REVOCATIONS)
            except RedisError as exc:
                raise RevocationNotShared(
                    f"key {key_id} is revoked in the database, but Redis could not be told "
                    f"({exc}): replicas may accept it for up to {CACHE_SECONDS:.0f} s"
                ) from exc
        return done > 0

    def list(self) -> list[KeyInfo]:
        with self.db.read() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).all()
        return [
            KeyInfo(
                identity=Identity(
                    key_id=r.key_id, role=Role(r.role), district=r.district, label=r.label
                ),
                created_at=r.created_at,
                revoked_at=r.revoked_at,
            )
            for r in rows
        ]


WATCH_TIMEOUT = 0.25  # seconds a request waits for the revocation counter
WATCH_BACKOFF = 1.0  # after a failure, requests ask the database without trying Redis


class RevocationWatch:
    """Reads the revocation counter (:data:`voicebridge.apikeys.REVOCATIONS`) for each
    request; :data:`UNKNOWN` while Redis does not answer (then the database decides)."""

    def __init__(self, redis_url: str) -> None:
        self.client = AsyncRedis.from_url(
            redis_url, socket_timeout=WATCH_TIMEOUT, socket_connect_timeout=WATCH_TIMEOUT
        )
        self._failed_at = -WATCH_BACKOFF

    async def epoch(self) -> object:
        if time.monotonic() - self._failed_at < WATCH_BACKOFF:
            return UNKNOWN
        try:
            async with asyncio.timeout(WATCH_TIMEOUT):  # not wait_for (see AmiSession.send)
                value = await self.client.get(REVOCATIONS)
        except (RedisError, OSError, TimeoutError):
            self._failed_at = time.monotonic()
            return UNKNOWN
        return value or b"0"

    async def close(self) -> None:
        # a Redis slow to close (its 0.25 s timeout) holds no shutdown up, and fails none
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()
