"""JWT authentication (asymmetric keys, rotated by kid) and role checks, for every service.

A key pair lives in a folder as `{kid}.key.pem` (private, only where tokens are minted) and
`{kid}.pub.pem` (public, wherever tokens are verified). The newest private key signs; every public
key in the folder verifies, so keys rotate by adding a new pair and later removing the old.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, Request

from services.chassis.context import Actor, actor_var
from services.chassis.errors import Forbidden, Unauthorized

ALGORITHM = "ES256"
ROLES = ("finance", "purchaser", "supplier", "assessor", "auditor", "ops", "public", "service")


@dataclass(frozen=True)
class Principal:
    """Who is calling. `org` is the department code (purchaser), the supplier's credit code
    (supplier), the assessor's organisation, or the finance bureau; `region` scopes finance."""

    subject: str
    role: str
    org: str | None = None
    region: str | None = None
    name: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(subject=self.subject, role=self.role, org=self.org, region=self.region)

    def is_(self, *roles: str) -> bool:
        return self.role in roles


ANONYMOUS = Principal(subject="anonymous", role="public")


def generate_keypair(folder: Path, kid: str | None = None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    kid = kid or time.strftime("k%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]
    key = ec.generate_private_key(ec.SECP256R1())
    (folder / f"{kid}.key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    (folder / f"{kid}.pub.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return kid


class KeyRing:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._public: dict[str, Any] = {}
        self._loaded_at = 0.0

    def _load(self) -> None:
        # Re-read at most every 30 s so a rotated key is picked up without a restart.
        if self._public and time.monotonic() - self._loaded_at < 30:
            return
        keys = {}
        if self.folder.exists():
            for p in self.folder.glob("*.pub.pem"):
                keys[p.name.removesuffix(".pub.pem")] = serialization.load_pem_public_key(p.read_bytes())
        self._public = keys
        self._loaded_at = time.monotonic()

    def public_key(self, kid: str) -> Any:
        self._load()
        if kid not in self._public:
            self._loaded_at = 0.0
            self._load()
        return self._public.get(kid)

    def signing_key(self) -> tuple[str, Any]:
        keys = sorted(self.folder.glob("*.key.pem"), key=lambda p: p.stat().st_mtime)
        if not keys:
            raise RuntimeError(f"no private key in {self.folder}; run `goumai keys`")
        p = keys[-1]
        return p.name.removesuffix(".key.pem"), serialization.load_pem_private_key(p.read_bytes(), None)


def mint_token(
    ring: KeyRing,
    *,
    role: str,
    subject: str | None = None,
    org: str | None = None,
    region: str | None = None,
    name: str | None = None,
    issuer: str = "goumai",
    audience: str = "goumai",
    ttl_seconds: int = 8 * 3600,
    now: float | None = None,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    kid, key = ring.signing_key()
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": subject or f"{role}:{org or 'any'}",
        "role": role,
        "org": org,
        "region": region,
        "name": name,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})


def verify_token(ring: KeyRing, token: str, *, issuer: str = "goumai", audience: str = "goumai") -> Principal:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("auth.token.malformed", f"the bearer token is not a JWT: {exc}") from exc
    kid = header.get("kid")
    key = ring.public_key(kid) if kid else None
    if key is None:
        raise Unauthorized("auth.token.unknown_key", f"the token's key id {kid!r} is not trusted here")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                            options={"require": ["exp", "iat", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("auth.token.expired", "the bearer token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("auth.token.invalid", f"the bearer token is not valid: {exc}") from exc
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthorized("auth.token.role", f"the token names no known role ({role!r})")
    return Principal(subject=claims["sub"], role=role, org=claims.get("org"),
                     region=claims.get("region"), name=claims.get("name"))


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(request: Request) -> Principal:
    """The caller, verified here again even behind the gateway. No token: the anonymous public."""
    token = bearer(request)
    if token is None:
        principal = ANONYMOUS
    else:
        ring: KeyRing = request.app.state.keyring
        s = request.app.state.settings
        principal = verify_token(ring, token, issuer=s.jwt_issuer, audience=s.jwt_audience)
    actor_var.set(principal.actor)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def allow(*roles: str) -> Callable[..., Any]:
    """A route dependency: only these roles may call. Every route declares one."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            if principal.role == "public":
                raise Unauthorized("auth.required", "this resource needs a bearer token")
            raise Forbidden(
                "auth.role.forbidden",
                f"role {principal.role!r} may not do this; allowed: {', '.join(roles)}",
            )
        return principal

    check.allowed_roles = roles  # type: ignore[attr-defined]  # read by the route × role test
    return check


def Allow(*roles: str) -> Any:  # noqa: N802 - reads like a type in route signatures
    """`principal: Annotated[Principal, Allow("finance", "auditor")]`."""
    return Depends(allow(*roles))
