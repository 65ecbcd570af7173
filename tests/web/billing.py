"""What the gateway billed for the requests a test made, checked against what the SDK reported.

Every successful call must leave exactly one usage row whose cost is the catalogue price of the
usage the official SDK saw (independent arithmetic: `GatewayHarness.expected_cost`), and the
wallet must drop by exactly that cost. The SDKs report usage in their vendor's own sense; the
``from_*`` readers normalize it the way DESIGN.md §2 defines `Usage`: input tokens include cache
reads and writes, output tokens include reasoning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tests.support.gateway import GatewayHarness, TestKey

ANTHROPIC = "anthropic_messages"
OPENAI_CHAT = "openai_chat"
GEMINI = "gemini"


@dataclass(frozen=True, slots=True)
class ReportedUsage:
    """Token counts an SDK reported for one call, normalized (see module docstring)."""

    input_tokens: int
    """All prompt tokens, cached or not."""
    output_tokens: int
    """All generated tokens, reasoning included."""
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0


def from_anthropic(usage: Any) -> ReportedUsage:
    """Anthropic's ``input_tokens`` EXCLUDES cache reads and writes (protocols.md §1.6)."""
    read = usage.cache_read_input_tokens or 0
    write = usage.cache_creation_input_tokens or 0
    details = usage.output_tokens_details
    return ReportedUsage(
        input_tokens=usage.input_tokens + read + write,
        output_tokens=usage.output_tokens,
        cache_read=read,
        cache_write=write,
        reasoning=(details.thinking_tokens or 0) if details is not None else 0,
    )


def from_openai(usage: Any) -> ReportedUsage:
    """OpenAI's ``prompt_tokens`` includes cached tokens, ``completion_tokens`` reasoning (§2.5)."""
    prompt = usage.prompt_tokens_details
    completion = usage.completion_tokens_details
    return ReportedUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cache_read=(prompt.cached_tokens or 0) if prompt is not None else 0,
        cache_write=(prompt.cache_write_tokens or 0) if prompt is not None else 0,
        reasoning=(completion.reasoning_tokens or 0) if completion is not None else 0,
    )


def from_gemini(meta: Any) -> ReportedUsage:
    """Gemini's prompt count includes cached tokens; candidates EXCLUDE thoughts (§4.3)."""
    thoughts = meta.thoughts_token_count or 0
    return ReportedUsage(
        input_tokens=(meta.prompt_token_count or 0) + (meta.tool_use_prompt_token_count or 0),
        output_tokens=(meta.candidates_token_count or 0) + thoughts,
        cache_read=meta.cached_content_token_count or 0,
        reasoning=thoughts,
    )


@dataclass(frozen=True, slots=True)
class Billed:
    """One successful request as the test expects to find it among the key's usage rows."""

    model: str
    caller_protocol: str
    is_stream: bool
    usage: ReportedUsage
    request_id: str | None = None
    """The ``x-request-id`` the caller saw, when the test read the response headers."""
    endpoint: str | None = None
    """Route template the row must name (``/v1beta/models/{model}:generateContent``), if checked."""


async def assert_billed(
    gateway: GatewayHarness, key: TestKey, balance_before: int, *requests: Billed
) -> list[int]:
    """Exactly one usage row per request, in order, each costing the catalogue price of the
    SDK-reported usage; the wallet dropped by exactly their sum. Returns the costs."""
    rows = await gateway.usage_rows(key.key_id)
    assert len(rows) == len(requests), f"expected {len(requests)} usage row(s), found {rows}"
    costs = []
    for row, expected in zip(rows, requests, strict=True):
        u = expected.usage
        assert row["model"] == expected.model
        assert row["caller_protocol"] == expected.caller_protocol
        assert row["is_stream"] is expected.is_stream
        assert row["status"] == 200
        assert (
            row["input_tokens"],
            row["output_tokens"],
            row["cache_read_tokens"],
            row["cache_write_tokens"],
            row["reasoning_tokens"],
        ) == (u.input_tokens, u.output_tokens, u.cache_read, u.cache_write, u.reasoning)
        cost = gateway.expected_cost(
            expected.model,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_read=u.cache_read,
            cache_write=u.cache_write,
            reasoning=u.reasoning,
        )
        assert cost > 0
        assert row["cost_micros"] == cost
        if expected.request_id is not None:
            assert row["request_id"] == expected.request_id
        if expected.endpoint is not None:
            assert row["endpoint"] == expected.endpoint
        costs.append(cost)
    assert balance_before - await gateway.balance(key.wallet_id) == sum(costs)
    return costs


async def assert_not_billed(gateway: GatewayHarness, key: TestKey, balance_before: int) -> None:
    """A failed request is free (spec §4.4): no usage row, no debit."""
    assert await gateway.usage_rows(key.key_id) == []
    assert await gateway.balance(key.wallet_id) == balance_before


def cents_down(micros: int) -> str:
    """USD with 2 decimals, rounded DOWN (a displayed balance never promises more than exists)."""
    return str((Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_DOWN))


def assert_accounting_headers(headers: Mapping[str, str], *, remaining_micros: int) -> str:
    """The accounting headers of one response (spec §4.2) report ``remaining_micros``; returns
    the response's request id."""
    headers = {name.lower(): value for name, value in headers.items()}
    credits = headers.get("x-quota-remaining-credits")
    assert credits is not None, dict(headers)
    assert re.fullmatch(r"\d+\.\d{2}", credits), credits
    assert credits == cents_down(remaining_micros)
    assert int(headers["x-bytespike-quota-remaining-micros"]) == remaining_micros
    assert float(headers["x-bytespike-overhead-ms"]) >= 0
    request_id = headers.get("x-request-id")
    assert request_id, dict(headers)
    return request_id


def quota_micros(headers: Mapping[str, str]) -> int:
    return int({name.lower(): value for name, value in headers.items()}["x-bytespike-quota-remaining-micros"])
