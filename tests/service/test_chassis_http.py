"""The chassis' HTTP promises on Postgres: Idempotency-Key replays, problem+json for bad input and bad
tokens, request ids end to end, and a refused write leaving nothing behind."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlalchemy import func, select

from services.chassis.app import ServiceSpec, UowDep, create_service_app
from services.chassis.auth import Allow, KeyRing, Principal, generate_keypair, mint_token
from services.chassis.errors import Unprocessable
from services.chassis.idempotency import IdempotencyKey
from services.chassis.money import Money, YuanIn
from services.chassis.schema import audit_log
from tests.support.cluster import settings_for

router = APIRouter()


class ThingIn(BaseModel):
    name: str
    amount: YuanIn


class ThingOut(BaseModel):
    id: str
    name: str
    amount: Money


@router.post("/things", status_code=status.HTTP_201_CREATED)
async def create_thing(body: ThingIn, uow: UowDep, _key: IdempotencyKey,
                       principal: Annotated[Principal, Allow("finance")]) -> ThingOut:
    thing_id = str(uuid.uuid4())
    uow.audit("thing.created", "thing", thing_id, {"name": body.name})
    if body.amount > 100_000_00:
        raise Unprocessable("thing.too_dear", "a thing costs at most 100000.00", field="amount", rule="≤ 100000.00")
    await uow.commit()
    return ThingOut(id=thing_id, name=body.name, amount=body.amount)


@pytest.fixture
async def app_client(pg_urls: dict[str, str], kafka_bootstrap: str, keys_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for("catalogue", database_url=pg_urls["catalogue"], bus="kafka", kafka=kafka_bootstrap,
                            log_path=None, keys=keys_dir, prefix=f"h{uuid.uuid4().hex[:6]}")
    app = create_service_app(ServiceSpec(name="catalogue", title="t", routers=[router]), settings,
                             run_background=False)
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client):
        client.app = app  # type: ignore[attr-defined]
        yield client


def auth(keys: Path, role: str = "finance", subject: str = "finance:F1") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(KeyRing(keys), role=role, subject=subject, org='F1')}"}


async def audited(client: httpx.AsyncClient, name: str) -> int:
    sessions = client.app.state.ctx.sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        q = select(func.count()).select_from(audit_log).where(audit_log.c.detail["name"].as_string() == name)
        return int((await s.execute(q)).scalar_one())


async def test_same_key_same_body_same_answer_other_body_409(app_client: httpx.AsyncClient, keys_dir: Path) -> None:
    key = uuid.uuid4().hex
    name = f"n-{key}"
    h = {**auth(keys_dir), "Idempotency-Key": key}
    first = await app_client.post("/things", json={"name": name, "amount": "12.30"}, headers=h)
    again = await app_client.post("/things", json={"name": name, "amount": "12.30"}, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert first.json()["amount"] == "12.30"
    other = await app_client.post("/things", json={"name": name, "amount": "99.99"}, headers=h)
    assert other.status_code == 409 and other.json()["code"] == "request.idempotency_key.reused"
    assert await audited(app_client, name) == 1, "the create acted once"


async def test_concurrent_requests_with_one_key_act_once(app_client: httpx.AsyncClient, keys_dir: Path) -> None:
    key = uuid.uuid4().hex
    name = f"c-{key}"
    h = {**auth(keys_dir), "Idempotency-Key": key}
    answers = await asyncio.gather(*[
        app_client.post("/things", json={"name": name, "amount": "1.00"}, headers=h) for _ in range(8)])
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}
    assert await audited(app_client, name) == 1


async def test_a_create_without_a_key_is_refused(app_client: httpx.AsyncClient, keys_dir: Path) -> None:
    r = await app_client.post("/things", json={"name": "x", "amount": "1.00"}, headers=auth(keys_dir))
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "Idempotency-Key"


async def test_bad_input_is_a_problem_naming_the_field_and_rule(app_client: httpx.AsyncClient,
                                                               keys_dir: Path) -> None:
    h = {**auth(keys_dir), "Idempotency-Key": uuid.uuid4().hex}
    r = await app_client.post("/things", json={"name": "x", "amount": 12.3}, headers=h)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "amount" and r.json()["code"] == "request.invalid"
    name = f"dear-{uuid.uuid4().hex}"
    r = await app_client.post("/things", json={"name": name, "amount": "100000.01"},
                              headers={**auth(keys_dir), "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 422 and r.json()["code"] == "thing.too_dear" and r.json()["field"] == "amount"
    assert await audited(app_client, name) == 0, "a refused write leaves nothing behind"


async def test_tokens_bad_expired_or_from_an_unknown_key_get_401(app_client: httpx.AsyncClient, keys_dir: Path,
                                                                  tmp_path: Path) -> None:
    body = {"name": "x", "amount": "1.00"}
    stranger = tmp_path / "other-keys"
    generate_keypair(stranger, kid="test-key-1")  # same kid, different key
    expired = mint_token(KeyRing(keys_dir), role="finance", org="F1", now=0)
    for token, code in [("not-a-jwt", "auth.token.malformed"),
                        (expired, "auth.token.expired"),
                        (mint_token(KeyRing(stranger), role="finance", org="F1"), "auth.token.invalid")]:
        r = await app_client.post("/things", json=body,
                                  headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 401, token
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code
    r = await app_client.post("/things", json=body, headers={**auth(keys_dir, role="purchaser"),
                                                             "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 403 and r.json()["code"] == "auth.role.forbidden"
    r = await app_client.post("/things", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 401 and r.json()["code"] == "auth.required"


async def test_request_id_is_kept_or_made(app_client: httpx.AsyncClient) -> None:
    r = await app_client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len((await app_client.get("/healthz")).headers["x-request-id"]) == 32
    metrics = await app_client.get("/metrics")
    assert "goumai_http_requests_total" in metrics.text
