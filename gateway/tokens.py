"""Minting tokens for people and systems trying Goumai: `goumai token --role … --org … [--region …]`.

The CLI calls `mint_cli(argv)` with the arguments after `token`; it prints the token and returns 0.
Keys are the embedded default's (Settings.jwt_public_keys_dir, `var/keys`); a key pair is made there
if none exists yet."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.chassis.auth import ROLES, KeyRing, generate_keypair, mint_token
from services.chassis.settings import get_settings

NEEDS_ORG = ("finance", "purchaser", "supplier", "assessor", "service")


def mint(role: str, *, org: str | None = None, region: str | None = None, subject: str | None = None,
         name: str | None = None, ttl_seconds: int = 8 * 3600, keys_dir: Path | None = None) -> str:
    """A signed token for `role` (and its organisation), by the newest private key in `keys_dir`."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role in NEEDS_ORG and not org:
        raise ValueError(f"a {role} token needs --org (its organisation code)")
    if role == "finance" and not region:
        raise ValueError("a finance token needs --region (the region it governs)")
    settings = get_settings()
    folder = keys_dir or settings.jwt_public_keys_dir
    if not folder.exists() or not any(folder.glob("*.key.pem")):
        generate_keypair(folder)
    return mint_token(KeyRing(folder), role=role, org=org, region=region, subject=subject, name=name,
                      ttl_seconds=ttl_seconds, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def parser(prog: str = "goumai token") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Mint a bearer token (ES256 JWT) for the gateway.")
    p.add_argument("--role", required=True, choices=[r for r in ROLES if r != "public"])
    p.add_argument("--org", help="department code, supplier credit code, assessor or finance bureau")
    p.add_argument("--region", help="region code (finance)")
    p.add_argument("--subject", help="who (default: role:org)")
    p.add_argument("--name", help="display name")
    p.add_argument("--ttl", type=int, default=8 * 3600, help="seconds the token is valid (default 8 h)")
    p.add_argument("--keys", type=Path, help="key folder (default: GOUMAI_JWT_PUBLIC_KEYS_DIR, var/keys)")
    return p


def mint_cli(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        token = mint(args.role, org=args.org, region=args.region, subject=args.subject, name=args.name,
                     ttl_seconds=args.ttl, keys_dir=args.keys)
    except ValueError as exc:
        print(f"goumai token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0
