from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bytespike.money import micros_to_usd, micros_to_usd_float, usd_to_micros


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        ("25", 25_000_000),
        ("0.5", 500_000),
        (1.25, 1_250_000),
        ("0.000001", 1),
        (Decimal("3.10"), 3_100_000),
        ("0", 0),
    ],
)
def test_usd_to_micros_is_exact(value, micros: int) -> None:
    assert usd_to_micros(value) == micros


@pytest.mark.parametrize("value", ["abc", "", "NaN", "inf", "0.0000001", True, "1e400x"])
def test_usd_to_micros_rejects_junk_naming_the_field(value) -> None:
    with pytest.raises(ValueError, match="quota"):
        usd_to_micros(value, field="quota")


def test_rendering_rounds_down_to_cents_for_balances() -> None:
    assert micros_to_usd(4_999_999) == "4.99"
    assert micros_to_usd(0) == "0.00"
    assert micros_to_usd(192_400_000) == "192.40"
    assert micros_to_usd_float(4_995_000) == 5.0


@given(st.integers(-(10**15), 10**15))
def test_header_rendering_matches_decimal_rounding_toward_zero(micros: int) -> None:
    expected = str((Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_DOWN))
    assert micros_to_usd(micros) == expected
