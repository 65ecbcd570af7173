"""Exact cost of a request from normalized usage and the model's price (spec §4.5).

Prices are USD per 1M tokens, which is the same number as micro-USD per token, so the cost in
micro-USD is Σ tokens × price, computed exactly (integers over the prices' decimal scale) and
rounded half-up once (spec §4.1 [I]).
Cache reads and writes are carved out of ``input_tokens`` (which includes them, DESIGN.md §2)
and priced at their own rates; reasoning tokens are billed at the output or input rate per the
model's ``reasoning_billed_as`` (spec §9 #13).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from bytespike.canonical.usage import Usage
from bytespike.routing.catalogue import ModelEntry, Price


@lru_cache(maxsize=1024)
def _rates(price: Price) -> tuple[int, int, int, int, int]:
    """``(scale, input, output, cache_read, cache_write)``: each rate exactly ``rate / scale``
    micro-USD per token, so costs are integer arithmetic (a Decimal sum per request was a
    measurable share of the hot path; catalogue prices have a few decimals at most)."""
    rates = [Decimal(str(r)) for r in (price.input, price.output, price.cache_read, price.cache_write)]
    digits = max(0, *(-int(r.as_tuple().exponent) for r in rates))
    scale = 10**digits
    return (scale, *(int(r * scale) for r in rates))  # type: ignore[return-value]


def _round_half_up(total: int, scale: int) -> int:
    return (2 * total + scale) // (2 * scale)


def cost_micros(usage: Usage, model: ModelEntry) -> int:
    """Micro-USD charged for ``usage`` on ``model``."""
    scale, rate_in, rate_out, rate_read, rate_write = _rates(model.price)
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
    return _round_half_up(total, scale)


def estimate_micros(input_tokens: int, max_output_tokens: int, model: ModelEntry) -> int:
    """Worst case before the call: every input token uncached, every output token at the dearer rate."""
    scale, rate_in, rate_out, _, rate_write = _rates(model.price)
    worst_in = max(rate_in, rate_write)
    worst_out = max(rate_out, rate_in)
    return _round_half_up(input_tokens * worst_in + max_output_tokens * worst_out, scale)
