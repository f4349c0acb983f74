"""The append-only audit trail of every write passing the gateway (who, role, organisation, what, when,
request id, status), in the gateway's own database, readable by auditors at GET /api/audit."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.models import gateway_audit
from services.chassis.auth import Allow, Principal

log = logging.getLogger("gateway.audit")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditRecord(BaseModel):
    """One write that passed the gateway: who, role, organisation, what, when, request id, outcome."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    subject: str
    role: str
    org: str | None
    region: str | None
    method: str
    service: str | None
    path: str
    query: str | None
    status: int
    request_id: str | None
    idempotency_key: str | None
    client: str | None
    duration_ms: float | None


class AuditTrail:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(self, rec: AuditRecord) -> None:
        """Append one row. If the database refuses, the record goes to the error log instead (the write
        itself has already happened behind the gateway), so nothing passes unrecorded."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(gateway_audit).values(**rec.model_dump()))
        except Exception:
            log.exception("audit trail write failed; record: %s", rec)

    async def query(self, *, limit: int, offset: int, **where: Any) -> tuple[list[dict[str, Any]], int]:
        conds = []
        for name, value in where.items():
            if value is None:
                continue
            if name == "since":
                conds.append(gateway_audit.c.at >= value)
            elif name == "until":
                conds.append(gateway_audit.c.at < value)
            else:
                conds.append(gateway_audit.c[name] == value)
        async with self.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(gateway_audit).where(*conds))).scalar_one()
            rows = (await conn.execute(
                select(gateway_audit).where(*conds).order_by(gateway_audit.c.id.desc()).limit(limit).offset(offset)
            )).mappings().all()
        return [dict(r) for r in rows], int(total)


class AuditEntry(AuditRecord):
    id: int


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=AuditPage, summary="The audit trail of writes through the gateway (auditors)")
async def read_audit(
    request: Request,
    principal: Annotated[Principal, Allow("auditor")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    subject: str | None = None,
    role: str | None = None,
    org: str | None = None,
    service: str | None = None,
    method: str | None = None,
    request_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    trail: AuditTrail = request.app.state.gateway.audit
    items, total = await trail.query(limit=limit, offset=offset, subject=subject, role=role, org=org,
                                     service=service, method=method.upper() if method else None,
                                     request_id=request_id, since=since, until=until)
    return AuditPage(items=[AuditEntry(**i) for i in items], total=total, limit=limit, offset=offset)
