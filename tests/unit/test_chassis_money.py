"""Money is integer fen inside and decimal yuan strings outside, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.chassis.money import (
    Money,
    MoneyError,
    YuanIn,
    apply_percent,
    fen_to_wan,
    fen_to_yuan,
    split_evenly,
    wan_to_fen,
    yuan_to_fen,
)


def test_yuan_strings_round_trip_to_fen() -> None:
    assert yuan_to_fen("1234.56") == 123456
    assert yuan_to_fen("0.5") == 50
    assert yuan_to_fen("-3") == -300
    assert fen_to_yuan(123456) == "1234.56"
    assert fen_to_yuan(-5) == "-0.05"


@pytest.mark.parametrize("bad", [1.5, "1.234", "abc", "", "1e3", True])
def test_floats_and_sub_fen_amounts_are_refused(bad: object) -> None:
    with pytest.raises(MoneyError):
        yuan_to_fen(bad)  # type: ignore[arg-type]


def test_wan_as_the_seeds_state_it() -> None:
    """000_3596027388defe7e.txt states amounts in 万元: 8856.22万 = 88,562,200.00 yuan."""
    assert wan_to_fen("8856.22") == 8_856_220_000
    assert fen_to_wan(8_856_220_000) == "8856.22"
    assert fen_to_wan(2_700_000) == "2.70"  # the audit project: 2.7万


def test_percent_is_half_up_to_the_fen() -> None:
    assert apply_percent(100_001, 90) == 90_001  # 90000.9 → 90001
    assert apply_percent(333, "50") == 167  # 166.5 → 167


@given(st.integers(min_value=0, max_value=10**13), st.integers(min_value=1, max_value=36))
def test_instalments_add_up_to_the_fen(total: int, parts: int) -> None:
    shares = split_evenly(total, parts)
    assert sum(shares) == total and len(shares) == parts
    assert max(shares) - min(shares) <= 1


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_then_parse_is_identity(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


class Body(BaseModel):
    amount: YuanIn


class Out(BaseModel):
    amount: Money


def test_request_bodies_take_yuan_strings_only() -> None:
    assert Body.model_validate({"amount": "10.00"}).amount == 1000
    for bad in (10, 10.0, "10.001"):
        with pytest.raises(ValidationError):
            Body.model_validate({"amount": bad})
    assert Out(amount=1000).model_dump(mode="json") == {"amount": "10.00"}
    assert Decimal(Out(amount=1).model_dump(mode="json")["amount"]) == Decimal("0.01")
