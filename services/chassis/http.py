"""HTTP calls to other services: request id and caller's token passed on, clear 503 when down,
the other service's refusal passed back as the same problem, retries only for idempotent calls."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from services.chassis.context import authorization_var, request_id_var
from services.chassis.errors import PROBLEM_JSON, Problem, Unavailable


class RemoteProblem(Problem):
    """Another service refused; carries its problem body."""


class ServiceClient:
    def __init__(self, service: str, base_url: str, http: httpx.AsyncClient, *, retries: int = 2) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.retries = retries

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(extra or {})
        rid = request_id_var.get()
        if rid:
            h.setdefault("X-Request-ID", rid)
        auth = authorization_var.get()
        if auth:
            h.setdefault("Authorization", auth)
        return h

    async def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None, idempotent: bool | None = None) -> Any:
        hdrs = self._headers(headers)
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE") or "Idempotency-Key" in hdrs
        attempts = 1 + (self.retries if idempotent else 0)
        last: Exception | None = None
        for attempt in range(attempts):
            try:
                resp = await self.http.request(method, f"{self.base_url}{path}", json=json, params=params,
                                               headers=hdrs)
            except httpx.TransportError as exc:
                last = exc
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.1 * 2**attempt)
                continue
            if resp.status_code >= 500 and attempt + 1 < attempts:
                last = None
                await asyncio.sleep(0.1 * 2**attempt)
                continue
            return self._answer(resp)
        raise Unavailable("dependency.unavailable", f"the {self.service} service cannot be reached: {last}",
                          service=self.service)

    def _answer(self, resp: httpx.Response) -> Any:
        if resp.status_code < 400:
            return resp.json() if resp.content else None
        body: dict[str, Any] = {}
        if resp.headers.get("content-type", "").startswith((PROBLEM_JSON, "application/json")):
            try:
                body = resp.json()
            except ValueError:
                body = {}
        if resp.status_code >= 500:
            detail = body.get("detail", resp.text[:200])
            raise Unavailable("dependency.failed", f"the {self.service} service failed: {detail}",
                              service=self.service)
        raise RemoteProblem(
            str(body.get("code", f"{self.service}.refused")),
            str(body.get("detail", resp.text[:500])),
            status=resp.status_code if resp.status_code in (400, 401, 403, 404, 409, 422) else 422,
            field=body.get("field"),
            rule=body.get("rule"),
            service=self.service,
        )

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Any:
        return await self.request("POST", path, **kw)
