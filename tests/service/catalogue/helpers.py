"""Small helpers for the catalogue service tests (one catalogue at a time, through the HTTP API)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.cluster import Cluster

REGION = "zhengzhou"
PROBLEM = "application/problem+json"


def dept() -> str:
    """A department code of its own per test (the test databases live for the whole run)."""
    return f"D{uuid.uuid4().hex[:8].upper()}"


@dataclass
class Cat:
    c: Cluster
    department: str
    id: str = ""
    region: str = REGION

    @property
    def http(self) -> httpx.AsyncClient:
        return self.c.clients["catalogue"]

    def purchaser(self, **kw: Any) -> dict[str, str]:
        return self.c.auth("purchaser", org=self.department, **kw)

    def finance(self, **kw: Any) -> dict[str, str]:
        return self.c.auth("finance", org="ZZCZ", region=self.region, **kw)

    async def open(self, year: int = 2025) -> dict[str, Any]:
        r = await self.http.post("/catalogues", json={"fiscal_year": year, "region": self.region},
                                 headers=self.purchaser())
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]
        return r.json()

    async def read(self, **params: Any) -> dict[str, Any]:
        r = await self.http.get(f"/catalogues/{self.id}", params=params, headers=self.purchaser())
        assert r.status_code == 200, r.text
        return r.json()

    async def revision(self) -> int:
        return int((await self.read())["version"]["revision"])

    async def add(self, code: str, name: str, service_type: str = "property", **kw: Any) -> httpx.Response:
        body = {"code": code, "name": name, "service_type": service_type, **kw}
        return await self.http.post(f"/catalogues/{self.id}/items", json=body, headers=self.purchaser())

    async def add_ok(self, code: str, name: str, service_type: str = "property", **kw: Any) -> dict[str, Any]:
        r = await self.add(code, name, service_type, **kw)
        assert r.status_code == 201, r.text
        return r.json()

    async def issue(self, on: str, **kw: Any) -> httpx.Response:
        body = {"revision": await self.revision(), "issued_on": on, **kw}
        return await self.http.post(f"/catalogues/{self.id}/issue", json=body, headers=self.finance())

    async def publish(self, on: str) -> httpx.Response:
        body = {"revision": await self.revision(), "published_on": on}
        return await self.http.post(f"/catalogues/{self.id}/publish", json=body, headers=self.finance())

    async def issue_and_publish(self, issued: str, published: str) -> dict[str, Any]:
        r = await self.issue(issued)
        assert r.status_code == 200, r.text
        r = await self.publish(published)
        assert r.status_code == 200, r.text
        return r.json()

    async def adjust(self, reason: str) -> httpx.Response:
        return await self.http.post(f"/catalogues/{self.id}/adjustments", json={"reason": reason},
                                    headers=self.purchaser())

    async def withdraw(self, code: str, reason: str) -> httpx.Response:
        body = {"revision": await self.revision(), "reason": reason}
        return await self.http.post(f"/catalogues/{self.id}/items/{code}/withdraw", json=body,
                                    headers=self.purchaser())

    async def purchasable(self, code: str, year: int = 2025, headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = await self.http.get(f"/items/{code}/purchasable", params={"department": self.department, "year": year},
                                headers=headers or self.c.auth("service", org="budget", idempotency_key=False))
        assert r.status_code == 200, r.text
        return r.json()


def assert_problem(r: httpx.Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body = r.json()
    assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body
