"""Wires the contract service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.chassis.app import ServiceSpec, create_service_app
from services.chassis.settings import Settings
from services.contract import api, clients, handlers

SPEC = ServiceSpec(
    name="contract",
    title="Goumai contract — 采购方式、合同、备案、结算",
    routers=[api.router],
    handlers=handlers.handlers,
    build_clients=clients.build_clients,
)


def create_app(settings: Settings | None = None, **kwargs: Any) -> FastAPI:
    return create_service_app(SPEC, settings, **kwargs)
