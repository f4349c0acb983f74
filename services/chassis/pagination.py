"""The one shape of a paginated list answer: `{"items": [...], "total": n, "limit": l, "offset": o}`."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
