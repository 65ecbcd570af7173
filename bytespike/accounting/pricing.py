"""Exact cost of a request from normalized usage and the model's price (spec §4.5).

Prices are USD per 1M tokens, which is the same number as micro-USD per token, so the cost in
micro-USD is Σ tokens × price, computed in Decimal and rounded half-up once (spec §4.1 [I]).
Cache reads and writes are carved out of ``input_tokens`` (which includes them, DESIGN.md §2)
and priced at their own rates; reasoning tokens are billed at the output or input rate per the
model's ``reasoning_billed_as`` (spec §9 #13).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from bytespike.canonical.usage import Usage
from bytespike.routing.catalogue import ModelEntry, Price


@lru_cache(maxsize=1024)
def _rates(price: Price) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return (
        Decimal(str(price.input)),
        Decimal(str(price.output)),
        Decimal(str(price.cache_read)),
        Decimal(str(price.cache_write)),
    )


def cost_micros(usage: Usage, model: ModelEntry) -> int:
    """Micro-USD charged for ``usage`` on ``model``."""
    rate_in, rate_out, rate_read, rate_write = _rates(model.price)
    reasoning = min(usage.reasoning_tokens, usage.output_tokens)
    if model.reasoning_billed_as == "input":
        output_part = (usage.output_tokens - reasoning) * rate_out + reasoning * rate_in
    else:
        output_part = usage.output_tokens * rate_out
    total = (
        usage.uncached_input_tokens * rate_in
        + usage.cache_read_tokens * rate_read
        + usage.cache_write_tokens * rate_write
        + output_part
    )
    return int(total.to_integral_value(rounding=ROUND_HALF_UP))


def estimate_micros(input_tokens: int, max_output_tokens: int, model: ModelEntry) -> int:
    """Worst case before the call: every input token uncached, every output token at the dearer rate."""
    rate_in, rate_out, _, rate_write = _rates(model.price)
    worst_in = max(rate_in, rate_write)
    worst_out = max(rate_out, rate_in)
    total = input_tokens * worst_in + max_output_tokens * worst_out
    return int(total.to_integral_value(rounding=ROUND_HALF_UP))
