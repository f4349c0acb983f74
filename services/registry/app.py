"""Wires the registry service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.chassis.app import ServiceSpec, create_service_app
from services.chassis.settings import Settings
from services.registry import api, clients, handlers

SPEC = ServiceSpec(
    name="registry",
    title="Goumai registry — 承接主体库、黑名单、资格",
    routers=[api.router],
    handlers=handlers.handlers,
    build_clients=clients.build_clients,
)


def create_app(settings: Settings | None = None, **kwargs: Any) -> FastAPI:
    return create_service_app(SPEC, settings, **kwargs)
