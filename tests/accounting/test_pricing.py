"""Cost from normalized usage: exact micro-USD, cache tokens priced once at their own rates."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from bytespike.accounting.pricing import cost_micros, estimate_micros
from bytespike.canonical.usage import Usage
from bytespike.routing.catalogue import load_catalogue

CAT = load_catalogue()


def test_spec_prices_for_the_named_models() -> None:
    # Issue 2 §8: the catalogue must hold these prices (USD per 1M = micro-USD per token).
    p = CAT.models["claude-sonnet-4-6"].price
    assert (p.input, p.output, p.cache_read, p.cache_write) == (3.00, 15.00, 0.30, 3.75)
    p = CAT.models["claude-haiku-4-5"].price
    assert (p.input, p.output, p.cache_read, p.cache_write) == (1.00, 5.00, 0.10, 1.25)
    assert (CAT.models["gpt-5-4"].price.input, CAT.models["gpt-5-4"].price.output) == (2.50, 15.00)
    assert CAT.models["gpt-5-4"].price.cache_read == 0.25
    assert (CAT.models["gemini-3-1-pro"].price.input, CAT.models["gemini-3-1-pro"].price.output) == (
        2.00,
        12.00,
    )
    assert CAT.models["gemini-3-1-pro"].price.cache_read == 0.20
    p = CAT.models["deepseek-v4-pro"].price
    assert (p.input, p.output, p.cache_read) == (0.435, 0.87, 0.004)


def test_one_million_tokens_cost_the_list_price() -> None:
    m = CAT.models["claude-sonnet-4-6"]
    assert cost_micros(Usage(input_tokens=1_000_000), m) == 3_000_000
    assert cost_micros(Usage(output_tokens=1_000_000), m) == 15_000_000


def test_cache_tokens_are_carved_out_of_input_not_added() -> None:
    m = CAT.models["claude-sonnet-4-6"]
    u = Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=600, cache_write_tokens=200)
    # 200 plain × 3 + 600 × 0.30 + 200 × 3.75 + 100 × 15 = 600 + 180 + 750 + 1500
    assert cost_micros(u, m) == 3030


def test_fractional_prices_round_half_up_once() -> None:
    m = CAT.models["deepseek-v4-pro"]
    # 3 × 0.435 + 1 × 0.87 = 2.175 → 2 ; 5 × 0.435 = 2.175 → 2 ; 7 × 0.435 = 3.045 → 3
    assert cost_micros(Usage(input_tokens=3, output_tokens=1), m) == 2
    assert cost_micros(Usage(input_tokens=2, output_tokens=1), m) == 2  # 0.87 + 0.87 = 1.74 → 2


def test_reasoning_at_input_rate_when_the_model_says_so() -> None:
    m = CAT.models["gpt-5-5"]
    assert m.reasoning_billed_as == "input"
    u = Usage(input_tokens=0, output_tokens=100, reasoning_tokens=40)
    assert cost_micros(u, m) == 60 * 30 + 40 * 5


@given(
    model=st.sampled_from(sorted(CAT.models)),
    plain=st.integers(0, 10**7),
    read=st.integers(0, 10**7),
    write=st.integers(0, 10**7),
    out=st.integers(0, 10**6),
)
def test_cost_equals_exact_rational_price(model: str, plain: int, read: int, write: int, out: int) -> None:
    m = CAT.models[model]
    u = Usage(
        input_tokens=plain + read + write, output_tokens=out, cache_read_tokens=read, cache_write_tokens=write
    )
    p = m.price
    exact = (
        plain * Fraction(str(p.input))
        + read * Fraction(str(p.cache_read))
        + write * Fraction(str(p.cache_write))
        + out * Fraction(str(p.output))
    )
    assert abs(cost_micros(u, m) - exact) <= Fraction(1, 2)
    assert estimate_micros(u.input_tokens, out, m) >= cost_micros(u, m)
