"""Money: integer micro-USD inside, USD strings at the edge (DESIGN.md §3 "Money").

1 USD = 1,000,000 credits = 1,000,000 micro-USD. Parsing refuses anything that is not an exact
decimal amount; rendering to 2 decimals rounds DOWN so a displayed balance never promises more
than exists.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MICROS_PER_USD = 1_000_000
_CENT = Decimal("0.01")


def usd_to_micros(value: str | int | float | Decimal, *, field: str = "amount") -> int:
    """Exact USD → micro-USD; raises ValueError naming ``field`` for junk, NaN or > 6 decimals."""
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a number")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{field} must be a number, got {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"{field} must be a finite number")
    micros = amount * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise ValueError(f"{field} has more precision than one micro-USD (6 decimals)")
    return int(micros)


def micros_to_usd(micros: int) -> str:
    """2-decimal USD string, rounded toward zero (``12345678`` → ``"12.34"``, ``-5000`` → ``"-0.00"``).

    Integer arithmetic: it renders every response's quota headers."""
    cents = abs(micros) // 10_000
    return f"{'-' if micros < 0 else ''}{cents // 100}.{cents % 100:02d}"


def micros_to_usd_float(micros: int) -> float:
    """USD as a JSON number for ``*_usd`` fields, rounded half-up to the cent."""
    return float((Decimal(micros) / MICROS_PER_USD).quantize(_CENT, rounding=ROUND_HALF_UP))


def micros_to_usd_exact(micros: int) -> str:
    """Every digit, for messages about small amounts (``123`` → ``"0.000123"``)."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS_PER_USD)
    return f"{sign}{whole}.{frac:06d}".rstrip("0").rstrip(".") if frac else f"{sign}{whole}.00"
