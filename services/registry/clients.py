"""HTTP calls from the registry service to others (only where an answer is needed now)."""

from __future__ import annotations

from typing import Any

from services.chassis.app import ServiceContext


def build_clients(ctx: ServiceContext) -> Any:
    return None
