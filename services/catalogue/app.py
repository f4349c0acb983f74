"""Wires the catalogue service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.catalogue import api, clients, handlers
from services.chassis.app import ServiceSpec, create_service_app
from services.chassis.settings import Settings

SPEC = ServiceSpec(
    name="catalogue",
    title="Goumai catalogue — 指导性目录、负面清单",
    routers=[api.router],
    handlers=handlers.handlers,
    build_clients=clients.build_clients,
)


def create_app(settings: Settings | None = None, **kwargs: Any) -> FastAPI:
    return create_service_app(SPEC, settings, **kwargs)
