"""Who is acting and under which request: read by the audit trail, logs and outgoing HTTP calls."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    subject: str
    role: str
    org: str | None = None
    region: str | None = None


SYSTEM = Actor(subject="system", role="system")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
actor_var: ContextVar[Actor] = ContextVar("actor", default=SYSTEM)
authorization_var: ContextVar[str | None] = ContextVar("authorization", default=None)
