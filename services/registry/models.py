"""Tables of the registry service's own database."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.chassis.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
