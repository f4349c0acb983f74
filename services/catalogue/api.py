"""HTTP routes of the catalogue service. Thin: parse, authorise, call service.py, shape the answer."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalogue"])
