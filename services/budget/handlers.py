"""Event consumers of the budget service: plain functions in one registry."""

from __future__ import annotations

from services.chassis.inbox import HandlerRegistry

handlers = HandlerRegistry()
