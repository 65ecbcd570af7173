"""``generationConfig`` ↔ canonical sampling, output, JSON-mode and reasoning settings.

Canonical: ``temperature``, ``topP``, ``topK``, ``maxOutputTokens``, ``stopSequences``,
``responseMimeType`` + ``responseSchema``/``responseJsonSchema`` (`ResponseFormat`),
``thinkingConfig`` (`Reasoning`). Every other knob (``candidateCount``, ``seed``, penalties,
``responseModalities``, ``speechConfig``…) stays verbatim in ``Request.extras["gemini"]
["generationConfig"]``. JSON Schemas go out as ``responseJsonSchema`` (protocols.md §4.2); a
response schema that arrived in the OpenAPI dialect (``responseSchema``) is kept under
``extras["gemini"]["responseSchema"]`` and sent back unchanged while the schema is unchanged.
Gemini takes at most five stop sequences: the first five are sent and ``stop`` is reported
dropped (a 400 under ``X-ByteSpike-Strict``), since a stop sequence is a knob, not content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.request import Reasoning, Request, ResponseFormat
from bytespike.errors import invalid_request
from bytespike.protocols.gemini.casing import camel_keys
from bytespike.protocols.gemini.schema import openapi_to_json_schema

MAX_STOP_SEQUENCES = 5
"""``generationConfig.stopSequences`` takes at most 5 (protocols.md §4.2)."""

THINKING_LEVEL_FROM_EFFORT = {
    "minimal": "MINIMAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "xhigh": "XHIGH",
    "max": "XHIGH",
}
"""Canonical effort → ``thinkingConfig.thinkingLevel`` (Gemini's top level is XHIGH). ``none``
is ``thinkingBudget: 0``."""

JSON_MIME = "application/json"
TEXT_MIME = "text/plain"

_CANONICAL_KEYS = (
    "temperature",
    "topP",
    "topK",
    "maxOutputTokens",
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "thinkingConfig",
)
_PATH = "generationConfig"


@dataclass(slots=True)
class GenerationSettings:
    """The canonical fields a ``generationConfig`` carries, and what is left of it."""

    temperature: float | None = None
    """``temperature``; likewise ``top_p`` (``topP``), ``top_k`` (``topK``), ``max_tokens``
    (``maxOutputTokens``) and ``stop`` (``stopSequences``)."""
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    response_format: ResponseFormat | None = None
    """From ``responseMimeType`` + ``responseSchema``/``responseJsonSchema``."""
    reasoning: Reasoning | None = None
    """From ``thinkingConfig``."""
    openapi_response_schema: dict[str, Any] | None = None
    """The ``responseSchema`` as sent, when it was in the OpenAPI dialect."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields with no canonical slot, verbatim (camelCase names)."""


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_request(f"{path}: must be a number", path)
    return float(value)


def _integer(value: Any, path: str) -> int:
    # The SDK sends int fields as floats (``"topK": 3.0``).
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise invalid_request(f"{path}: must be an integer", path)
    return int(value)


def decode_generation_config(raw: Any) -> GenerationSettings:
    if not isinstance(raw, dict):
        raise invalid_request(f"{_PATH}: must be an object", _PATH)
    raw = camel_keys(raw)
    out = GenerationSettings(extra={k: v for k, v in raw.items() if k not in _CANONICAL_KEYS})
    if raw.get("temperature") is not None:
        out.temperature = _number(raw["temperature"], f"{_PATH}.temperature")
    if raw.get("topP") is not None:
        out.top_p = _number(raw["topP"], f"{_PATH}.topP")
    if raw.get("topK") is not None:
        out.top_k = _integer(raw["topK"], f"{_PATH}.topK")
    if raw.get("maxOutputTokens") is not None:
        out.max_tokens = _integer(raw["maxOutputTokens"], f"{_PATH}.maxOutputTokens")
    stop = raw.get("stopSequences")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            path = f"{_PATH}.stopSequences"
            raise invalid_request(f"{path}: must be an array of strings", path)
        out.stop = tuple(stop)
    _decode_response_format(raw, out)
    if raw.get("thinkingConfig") is not None:
        out.reasoning, rest = _decode_thinking(raw["thinkingConfig"])
        if rest:
            out.extra["thinkingConfig"] = rest
    return out


def _decode_response_format(raw: dict[str, Any], out: GenerationSettings) -> None:
    mime = raw.get("responseMimeType")
    openapi, json_schema = raw.get("responseSchema"), raw.get("responseJsonSchema")
    if openapi is not None and json_schema is not None:
        path = f"{_PATH}.responseJsonSchema"
        raise invalid_request(f"{path}: set only one of responseSchema and responseJsonSchema", path)
    has_schema = openapi is not None or json_schema is not None
    if mime not in (None, JSON_MIME) and (mime != TEXT_MIME or has_schema):
        # text/x.enum and other output types have no canonical form: keep them as they are.
        out.extra.update(
            {k: raw[k] for k in ("responseMimeType", "responseSchema", "responseJsonSchema") if k in raw}
        )
        return
    for key, value in (("responseSchema", openapi), ("responseJsonSchema", json_schema)):
        if value is not None and not isinstance(value, dict):
            raise invalid_request(f"{_PATH}.{key}: must be an object", f"{_PATH}.{key}")
    if has_schema:
        schema = json_schema if json_schema is not None else openapi_to_json_schema(openapi)
        out.response_format = ResponseFormat("json_schema", schema=schema)
        out.openapi_response_schema = openapi
    elif mime == JSON_MIME:
        out.response_format = ResponseFormat("json_object")
    elif mime == TEXT_MIME:
        out.response_format = ResponseFormat("text")


def _decode_thinking(raw: Any) -> tuple[Reasoning, dict[str, Any]]:
    path = f"{_PATH}.thinkingConfig"
    if not isinstance(raw, dict):
        raise invalid_request(f"{path}: must be an object", path)
    raw = camel_keys(raw)
    enabled: bool | None = None
    budget_tokens: int | None = None
    if raw.get("thinkingBudget") is not None:
        budget = _integer(raw["thinkingBudget"], f"{path}.thinkingBudget")
        if budget < -1:
            bad = f"{path}.thinkingBudget"
            raise invalid_request(f"{bad}: must be -1 (dynamic), 0 (off) or positive", bad)
        # 0 turns thinking off, -1 lets the model decide (protocols.md §4.2).
        enabled = budget != 0
        budget_tokens = budget if budget > 0 else None
    level = raw.get("thinkingLevel")
    if level is not None and not isinstance(level, str):
        raise invalid_request(f"{path}.thinkingLevel: must be a string", f"{path}.thinkingLevel")
    include = raw.get("includeThoughts")
    if include is not None and not isinstance(include, bool):
        raise invalid_request(f"{path}.includeThoughts: must be a boolean", f"{path}.includeThoughts")
    reasoning = Reasoning(enabled, level.lower() if level else None, budget_tokens, include)
    rest = {k: v for k, v in raw.items() if k not in ("thinkingBudget", "thinkingLevel", "includeThoughts")}
    return reasoning, rest


def encode_generation_config(
    req: Request, gemini_extras: dict[str, Any], deg: Degradations
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if req.temperature is not None:
        out["temperature"] = req.temperature
    if req.top_p is not None:
        out["topP"] = req.top_p
    if req.top_k is not None:
        out["topK"] = req.top_k
    if req.max_tokens is not None:
        out["maxOutputTokens"] = req.max_tokens
    if req.stop:
        if len(req.stop) > MAX_STOP_SEQUENCES:
            deg.drop("stop", f"Gemini takes at most {MAX_STOP_SEQUENCES} stop sequences; sent the first 5")
        out["stopSequences"] = list(req.stop[:MAX_STOP_SEQUENCES])
    out.update(_encode_response_format(req.response_format, gemini_extras.get("responseSchema"), deg))
    if req.reasoning is not None:
        out["thinkingConfig"] = _encode_thinking(req.reasoning)
    for key, value in (gemini_extras.get("generationConfig") or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _encode_response_format(
    response_format: ResponseFormat | None, openapi_original: Any, deg: Degradations
) -> dict[str, Any]:
    if response_format is None:
        return {}
    if response_format.name is not None:
        deg.drop("response_format.name", "Gemini response schemas have no name")
    match response_format.kind:
        case "text":
            return {"responseMimeType": TEXT_MIME}
        case "json_object":
            return {"responseMimeType": JSON_MIME}
        case "json_schema":
            out: dict[str, Any] = {"responseMimeType": JSON_MIME}
            schema = response_format.schema
            if schema is None:
                return out
            if openapi_original is not None and openapi_to_json_schema(openapi_original) == schema:
                out["responseSchema"] = openapi_original
            else:
                out["responseJsonSchema"] = schema
            return out
        case _:
            assert_never(response_format.kind)


def _encode_thinking(reasoning: Reasoning) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if reasoning.include_thoughts is not None:
        out["includeThoughts"] = reasoning.include_thoughts
    if reasoning.enabled is False or reasoning.effort == "none":
        out["thinkingBudget"] = 0
    elif reasoning.budget_tokens is not None:
        out["thinkingBudget"] = reasoning.budget_tokens
    elif reasoning.enabled is True and reasoning.effort is None:
        out["thinkingBudget"] = -1
    if reasoning.effort not in (None, "none"):
        effort = reasoning.effort
        out["thinkingLevel"] = THINKING_LEVEL_FROM_EFFORT.get(effort) or effort.upper()
    return out
