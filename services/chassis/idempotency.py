"""Idempotency-Key for creates: the same key and body get the same answer; the same key with another
body gets 409. The key is claimed (a `pending` row) before the request runs, so two concurrent
requests with one key cannot both act; a request that fails with 5xx frees its key for a retry; a
request interrupted between its commit and recording its answer keeps the key claimed (409), never
acting twice."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
from fastapi import Depends, Header
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.chassis.db import insert_ignore
from services.chassis.errors import PROBLEM_JSON, Problem
from services.chassis.schema import idempotency_keys

HEADER = "idempotency-key"
_NOT_STORED = {401, 403}


async def require_idempotency_key(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    if not idempotency_key:
        raise Problem("request.idempotency_key.missing",
                      "a create needs an Idempotency-Key header (any unique string, e.g. a UUID)",
                      field="Idempotency-Key", rule="every create takes an Idempotency-Key", status=400)
    if len(idempotency_key) > 200:
        raise Problem("request.idempotency_key.too_long", "Idempotency-Key is at most 200 characters",
                      field="Idempotency-Key", rule="max length 200", status=400)
    return idempotency_key


IdempotencyKey = Annotated[str, Depends(require_idempotency_key)]


def _scope_of(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    token = auth.partition(" ")[2].strip()
    if not token:
        return "anonymous"
    try:
        return str(jwt.decode(token, options={"verify_signature": False}).get("sub", "unknown"))
    except jwt.PyJWTError:
        return "unknown"


async def _problem(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"type": f"https://goumai.example/problems/{code}", "title": code, "status": status,
                       "detail": detail, "code": code, "field": "Idempotency-Key",
                       "rule": "same key, same request"}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        key = headers.get(HEADER)
        ctx = getattr(scope["app"].state, "ctx", None) if "app" in scope else None
        if not key or ctx is None or len(key) > 200:
            await self.app(scope, receive, send)
            return
        sessions: async_sessionmaker[AsyncSession] = ctx.sessions

        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        digest = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"?" + scope.get("query_string", b"")
            + b"\n" + body
        ).hexdigest()
        owner = _scope_of(headers)

        async with sessions() as s:
            claimed = await insert_ignore(s, idempotency_keys, {
                "scope": owner, "key": key, "request_hash": digest, "state": "pending",
                "status_code": None, "response_headers": None, "response_body": None,
                "created_at": datetime.now(UTC)})
            await s.commit()
            if not claimed:
                row = (await s.execute(select(idempotency_keys).where(
                    idempotency_keys.c.scope == owner, idempotency_keys.c.key == key))).one()
        if not claimed:
            if row.request_hash != digest:
                await _problem(send, 409, "request.idempotency_key.reused",
                               "this Idempotency-Key was used with a different request")
                return
            if row.state != "done":
                await _problem(send, 409, "request.idempotency_key.in_progress",
                               "a request with this Idempotency-Key is in progress or was interrupted")
                return
            stored_headers = [(k.encode(), v.encode()) for k, v in row.response_headers or []]
            stored_headers.append((b"idempotent-replayed", b"true"))
            await send({"type": "http.response.start", "status": row.status_code, "headers": stored_headers})
            await send({"type": "http.response.body", "body": (row.response_body or "").encode()})
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        resp_headers: list[tuple[str, str]] = []
        resp_body: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                resp_headers.extend((k.decode(), v.decode()) for k, v in message.get("headers", [])
                                    if k.lower() not in (b"content-length", b"date", b"server"))
            elif message["type"] == "http.response.body":
                resp_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            await self._record(sessions, owner, key, status, resp_headers, b"".join(resp_body))

    async def _record(self, sessions: async_sessionmaker[AsyncSession], owner: str, key: str, status: int,
                      headers: list[tuple[str, str]], body: bytes) -> None:
        where = (idempotency_keys.c.scope == owner, idempotency_keys.c.key == key)
        async with sessions() as s:
            stmt: Any
            if status >= 500 or status in _NOT_STORED:
                stmt = delete(idempotency_keys).where(*where)
            else:
                stmt = update(idempotency_keys).where(*where).values(
                    state="done", status_code=status, response_headers=headers,
                    response_body=body.decode("utf-8", "replace"))
            await s.execute(stmt)
            await s.commit()
