"""Money: integer fen inside, decimal yuan strings outside, never a float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_YUAN = re.compile(r"^-?\d{1,15}(\.\d{1,2})?$")
FEN_PER_YUAN = 100
FEN_PER_WAN = 1_000_000  # 1万元 = 10,000 yuan = 1,000,000 fen


class MoneyError(ValueError):
    """A money value that is not an exact yuan amount with at most two decimals."""


def yuan_to_fen(value: str | int | Decimal) -> int:
    """Parse "1234.56" (or an int of whole yuan, or a Decimal) into fen; floats are refused."""
    if isinstance(value, (bool, float)):
        raise MoneyError("money must be a decimal string of yuan such as \"1234.56\", not a float")
    if isinstance(value, int):
        return value * FEN_PER_YUAN
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise MoneyError(f"money must be a decimal string of yuan, got {type(value).__name__}")
    if not _YUAN.match(text):
        raise MoneyError(f"\"{value}\" is not a yuan amount with at most two decimals")
    return int((Decimal(text) * FEN_PER_YUAN).to_integral_exact())


def fen_to_yuan(fen: int) -> str:
    """Format fen as a yuan string with exactly two decimals: 123456 → "1234.56"."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise MoneyError("fen must be an integer")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def wan_to_fen(wan: str | int | Decimal) -> int:
    """万元 (as the seeds state amounts) to fen: "8856.22" 万 → 88,562,200,00 fen."""
    if isinstance(wan, float):
        raise MoneyError("amounts in 万元 must be decimal strings, not floats")
    return int((Decimal(str(wan)) * FEN_PER_WAN).to_integral_exact())


def fen_to_wan(fen: int, places: int = 2) -> str:
    """Fen to 万元 rounded half-up to `places` decimals, as the seeds' tables print it."""
    q = Decimal(1).scaleb(-places)
    return str((Decimal(fen) / FEN_PER_WAN).quantize(q, rounding=ROUND_HALF_UP))


def apply_rate(fen: int, numerator: int, denominator: int) -> int:
    """fen × numerator/denominator, rounded half-up to the fen (exact integer arithmetic)."""
    if denominator <= 0:
        raise MoneyError("denominator must be positive")
    q, r = divmod(fen * numerator, denominator)
    return q + (1 if 2 * r >= denominator else 0)


def apply_percent(fen: int, percent: Decimal | str | int) -> int:
    """fen × percent/100, half-up to the fen; percent like "90" or "92.5"."""
    p = Decimal(str(percent))
    num, den = p.as_integer_ratio()
    return apply_rate(fen, num, den * 100)


def split_evenly(total_fen: int, parts: int) -> list[int]:
    """Split into `parts` instalments that add up to the total to the fen; the remainder goes first."""
    if parts <= 0:
        raise MoneyError("parts must be positive")
    base, rest = divmod(total_fen, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def _parse(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        # ints reaching the model from our own code are already fen; the API boundary sends strings
        return value
    return yuan_to_fen(value)


# A pydantic field type: fen inside, "1234.56" yuan in JSON, floats refused.
Money = Annotated[
    int,
    BeforeValidator(_parse),
    PlainSerializer(fen_to_yuan, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d{1,15}(\.\d{1,2})?$", "examples": ["1234.56"]}),
]


def _parse_strict(value: Any) -> int:
    if isinstance(value, str):
        return yuan_to_fen(value)
    raise MoneyError("money must be a decimal string of yuan such as \"1234.56\"")


# For request bodies: only strings are accepted, so an integer can never be mistaken for fen or yuan.
YuanIn = Annotated[
    int,
    BeforeValidator(_parse_strict),
    PlainSerializer(fen_to_yuan, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d{1,15}(\.\d{1,2})?$", "examples": ["1234.56"]}),
]
