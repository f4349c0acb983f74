"""Authentication at the gateway: a bad, expired or wrong-key token gets 401 problem+json; no token passes
as the public; keys rotate by kid; `goumai token` mints tokens that pass."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt
import pytest

from gateway.tokens import mint, mint_cli
from services.chassis.auth import KeyRing, generate_keypair, mint_token, verify_token
from tests.service.gateway.fakes import echo_app

PROBLEM = "application/problem+json"


def forged_same_kid(tmp_path: Path) -> str:
    """Signed by a key the gateway does not trust, under the kid of one it does."""
    generate_keypair(tmp_path / "other", kid="test-key-1")
    return mint_token(KeyRing(tmp_path / "other"), role="auditor")


def unknown_kid(tmp_path: Path) -> str:
    generate_keypair(tmp_path / "stranger", kid="stranger-1")
    return mint_token(KeyRing(tmp_path / "stranger"), role="auditor")


def bad_tokens(gw, tmp_path: Path) -> dict[str, tuple[str, str]]:
    ring = gw.ring
    good = gw.token("auditor")
    header, _payload, sig = good.split(".")
    tampered_claims = jwt.utils.base64url_encode(b'{"sub":"x","role":"auditor","exp":9999999999,"iat":1}').decode()
    return {
        "garbage": ("Bearer not-a-jwt", "auth.token.malformed"),
        "not bearer": (f"Basic {good}", "auth.token.malformed"),
        "expired": (f"Bearer {mint_token(ring, role='auditor', now=time.time() - 7200, ttl_seconds=60)}",
                    "auth.token.expired"),
        "wrong key, same kid": (f"Bearer {forged_same_kid(tmp_path)}", "auth.token.invalid"),
        "unknown kid": (f"Bearer {unknown_kid(tmp_path)}", "auth.token.unknown_key"),
        "tampered claims": (f"Bearer {header}.{tampered_claims}.{sig}", "auth.token.invalid"),
        "wrong audience": (f"Bearer {mint_token(ring, role='auditor', audience='someone-else')}",
                           "auth.token.invalid"),
        "unsigned": (f"Bearer {jwt.encode({'sub': 'x', 'role': 'auditor'}, key=None, algorithm='none')}",
                     "auth.token.unknown_key"),
    }


@pytest.mark.parametrize("path", ["/api/catalogue/echo/x", "/api/audit", "/api/public/catalogues", "/healthz"])
async def test_bad_tokens_get_401_problem(edge, tmp_path: Path, path: str) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    for case, (value, code) in bad_tokens(gw, tmp_path).items():
        for method in ("GET", "POST"):
            r = await gw.client.request(method, path, headers={"Authorization": value, "Idempotency-Key": "k"})
            assert r.status_code == 401, (case, method, r.status_code, r.text)
            assert r.headers["content-type"].startswith(PROBLEM), case
            assert r.headers["www-authenticate"] == "Bearer"
            body = r.json()
            assert body["code"] == code, (case, body)
            assert body["status"] == 401 and body["detail"]
            assert body["request_id"] == r.headers["x-request-id"]


async def test_no_token_passes_as_public_and_the_service_decides(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    r = await gw.client.get("/api/catalogue/echo/x")
    assert r.status_code == 200
    assert "authorization" not in r.json()["headers"]


async def test_valid_token_passes_and_is_forwarded(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    h = gw.auth("supplier", org="91350100M000100Y43")
    r = await gw.client.get("/api/catalogue/echo/x", headers=h)
    assert r.status_code == 200
    assert r.json()["headers"]["authorization"] == h["Authorization"]


async def test_keys_rotate_by_kid(edge, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    generate_keypair(keys, kid="old")
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())}, keys=keys)
    old = mint_token(KeyRing(keys), role="auditor")
    assert (await gw.client.get("/api/audit", headers={"Authorization": f"Bearer {old}"})).status_code == 200
    # A new pair is added while the gateway runs: tokens by the new kid pass at once, old ones still do.
    generate_keypair(keys, kid="new")
    new = mint_token(KeyRing(keys), role="auditor")
    assert jwt.get_unverified_header(new)["kid"] == "new"
    assert (await gw.client.get("/api/audit", headers={"Authorization": f"Bearer {new}"})).status_code == 200
    assert (await gw.client.get("/api/audit", headers={"Authorization": f"Bearer {old}"})).status_code == 200


def test_mint_cli_prints_a_verifiable_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "k"
    assert mint_cli(["--role", "purchaser", "--org", "D01", "--keys", str(keys)]) == 0  # makes a key pair
    token = capsys.readouterr().out.strip()
    p = verify_token(KeyRing(keys), token)
    assert (p.role, p.org, p.subject) == ("purchaser", "D01", "purchaser:D01")
    assert mint_cli(["--role", "finance", "--org", "F41", "--region", "410100", "--keys", str(keys)]) == 0
    assert verify_token(KeyRing(keys), capsys.readouterr().out.strip()).region == "410100"


def test_mint_refuses_incomplete_tokens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "k"
    assert mint_cli(["--role", "supplier", "--keys", str(keys)]) == 2
    assert "--org" in capsys.readouterr().err
    assert mint_cli(["--role", "finance", "--org", "F41", "--keys", str(keys)]) == 2
    with pytest.raises(ValueError, match="unknown role"):
        mint("king", keys_dir=keys)
    assert verify_token(KeyRing(keys), mint("auditor", keys_dir=keys)).role == "auditor"
