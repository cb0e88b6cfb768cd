"""Credentials and tokens: argon2-hashed client secrets, HS256 JWT access tokens, roles."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from offtake.errors import OfftakeError


class Role(StrEnum):
    GRID_OPERATOR = "grid_operator"
    SITE_OPERATOR = "site_operator"
    REGULATOR = "regulator"
    ADMIN = "admin"


#: roles that may change grid state (sites, signals, setpoints, invoices)
WRITERS = frozenset({Role.GRID_OPERATOR, Role.ADMIN})
#: roles that may read every site's data
READERS_ALL = frozenset({Role.GRID_OPERATOR, Role.REGULATOR, Role.ADMIN})


class AuthError(OfftakeError):
    """Missing, expired, forged or otherwise invalid credentials (HTTP 401)."""

    exit_code = 2
    http_status = 401


class ForbiddenError(OfftakeError):
    """Valid credentials without the right (HTTP 403)."""

    exit_code = 2
    http_status = 403


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    client_id: str
    roles: frozenset[Role]
    scopes: frozenset[str] = frozenset()
    expires_at: float | None = None  # token expiry, UNIX seconds
    token_gen: int = 0               # the client's token generation the token carries

    def has_any(self, roles: frozenset[Role] | set[Role]) -> bool:
        return bool(self.roles & roles)

    @property
    def reads_all(self) -> bool:
        return self.has_any(READERS_ALL)

    @property
    def writes(self) -> bool:
        return self.has_any(WRITERS)


_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)


def set_hash_cost(*, time_cost: int, memory_cost_kib: int) -> None:
    """Change argon2 cost for new hashes (tests lower it; never lower it in production)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-secret")  # same cost as real ones (timing)


def new_secret() -> str:
    """A fresh client secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the client id is unknown, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("not-a-real-secret")


def verify_or_dummy(secret_hash: str | None, secret: str) -> bool:
    if secret_hash is None:
        verify_secret(_DUMMY_HASH, secret)
        return False
    return verify_secret(secret_hash, secret)


def parse_roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


def issue_token(*, client_id: str, roles: frozenset[Role] | set[Role], key: str,
                ttl_s: int, issuer: str = "offtake", now: datetime | None = None,
                scope: str = "", gen: int = 0) -> str:
    """Sign an access token for ``client_id`` valid ``ttl_s`` seconds.

    ``scope`` (space-separated, as requested at the token endpoint) is carried as the
    ``scope`` claim for layers that use OAuth2 scopes (OpenADR 3); roles decide rights.
    ``gen`` is the client's token generation (``clients.token_gen``); a token whose
    generation is not the client's current one is refused (revocation).
    """
    now = now or datetime.now(UTC)
    claims = {"sub": client_id, "roles": sorted(str(r) for r in roles), "iss": issuer,
              "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
              "jti": uuid.uuid4().hex, "gen": int(gen)}
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, key, algorithm="HS256")


#: clock difference tolerated between the token's issuer and this process [s]
CLOCK_LEEWAY_S = 60


def decode_token(token: str, *, key: str, issuer: str = "offtake",
                 max_ttl_s: int | None = None, now: float | None = None) -> Principal:
    """Verify signature, expiry, issuer and lifetime; raise :class:`AuthError` otherwise.

    ``max_ttl_s``: a token whose ``exp - iat`` exceeds it, or whose ``iat`` lies in the
    future, is refused even when correctly signed (a leaked key or a forged long-lived
    token cannot outlive the configured lifetime).
    """
    t = time.time() if now is None else now
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], issuer=issuer,
                            options={"require": ["exp", "sub", "iat", "iss"], "verify_iat": False,
                                     "verify_exp": False})
    except jwt.PyJWTError:
        raise AuthError("invalid access token") from None
    try:
        exp, iat, gen = float(claims["exp"]), float(claims["iat"]), int(claims.get("gen", -1))
    except (TypeError, ValueError):
        raise AuthError("invalid access token") from None
    if exp <= t:
        raise AuthError("access token expired: request a new one at /auth/token")
    if iat > t + CLOCK_LEEWAY_S:
        raise AuthError("invalid access token: issued in the future")
    if max_ttl_s is not None and exp - iat > max_ttl_s + CLOCK_LEEWAY_S:
        raise AuthError(f"invalid access token: lifetime {exp - iat:.0f} s exceeds the "
                        f"service's {max_ttl_s} s")
    try:
        roles = frozenset(Role(r) for r in claims.get("roles", []))
    except ValueError:
        raise AuthError("invalid access token: unknown role") from None
    scopes = frozenset(str(claims.get("scope", "")).split())
    return Principal(client_id=str(claims["sub"]), roles=roles, scopes=scopes,
                     expires_at=exp, token_gen=gen)
