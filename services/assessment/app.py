"""Wires the assessment service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.assessment import api, clients, handlers
from services.chassis.app import ServiceSpec, create_service_app
from services.chassis.settings import Settings

SPEC = ServiceSpec(
    name="assessment",
    title="Goumai assessment — 绩效评价、考核、满意度测评",
    routers=[api.router],
    handlers=handlers.handlers,
    build_clients=clients.build_clients,
)


def create_app(settings: Settings | None = None, **kwargs: Any) -> FastAPI:
    return create_service_app(SPEC, settings, **kwargs)
