"""Authentication at the gateway: a token, when present, must be valid (signature by a trusted kid,
issuer, audience, not expired, a known role); otherwise 401 problem+json. Without a token the caller is
the anonymous public and the service behind decides. Roles and scope are checked again by each service
(`services.chassis.auth.allow`), which verifies the same token with the same key ring."""

from __future__ import annotations

from services.chassis.auth import ANONYMOUS, KeyRing, Principal, verify_token
from services.chassis.errors import Unauthorized
from services.chassis.settings import Settings


def bearer_of(headers: dict[str, str]) -> str | None:
    """The bearer token in the Authorization header; '' if the header is there but is not a bearer."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def authenticate(headers: dict[str, str], ring: KeyRing, settings: Settings) -> Principal:
    """The caller, from lower-cased request headers. Raises `Unauthorized` (401) for a bad token."""
    token = bearer_of(headers)
    if token is None:
        return ANONYMOUS
    if token == "":
        raise Unauthorized("auth.token.malformed", "the Authorization header must be `Bearer <token>`")
    return verify_token(ring, token, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
