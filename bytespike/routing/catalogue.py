"""The model catalogue and routing groups, loaded from catalogue.toml plus the operator's config.

A model is resolved once per request (`Catalogue.resolve`): aliases map to canonical slugs,
retired names raise the spec's error with a hint, unknown names raise ``model_not_found``.
Group membership is a list of slugs or ``fnmatch`` patterns (``claude-*``), expanded once at
load time into a frozen set per group, so the per-request check is one set lookup.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from bytespike.errors import GatewayError, model_not_found, model_not_in_group

PROTOCOL_OF_PROVIDER = {
    "anthropic": "anthropic_messages",
    "openai": "openai_chat",
    "gemini": "gemini",
    "deepseek": "openai_chat",
    # OpenAI-compatible vendors (settings.OPENAI_COMPATIBLE_VENDORS); an operator's own
    # [upstreams.<name>] is used by model rows that say protocol = "openai_chat".
    "doubao": "openai_chat",
    "minimax": "openai_chat",
    "zhipu": "openai_chat",
    "moonshot": "openai_chat",
}


MAX_TOKENS_FIELD_OF_PROVIDER = {
    "openai": "max_completion_tokens",  # max_tokens is deprecated there and refused by reasoning models
    # https://api-docs.deepseek.com/api/create-chat-completion documents max_tokens only.
    "deepseek": "max_tokens",
    # Volcengine Ark: max_completion_tokens bounds answer + reasoning like OpenAI's; its
    # max_tokens leaves the reasoning out (https://docs.byteplus.com/docs/ModelArk/1494384).
    "doubao": "max_completion_tokens",
    # MiniMax and Moonshot deprecate max_tokens for max_completion_tokens
    # (https://platform.minimax.io/docs/api-reference/text-chat, https://platform.kimi.ai/docs/api/chat).
    "minimax": "max_completion_tokens",
    "moonshot": "max_completion_tokens",
    # https://docs.bigmodel.cn/api-reference documents max_tokens only.
    "zhipu": "max_tokens",
}
"""Which field an OpenAI Chat vendor reads the output-token limit from; a model row's
``max_tokens_field`` overrides it. Vendors not listed (an operator's ``[upstreams.<name>]``) get
``max_tokens``, the field every OpenAI-compatible server has read from the start."""
DEFAULT_MAX_TOKENS_FIELD = "max_tokens"
MAX_TOKENS_FIELDS = frozenset({"max_completion_tokens", "max_tokens"})

UPSTREAM_STREAM_MODES = frozenset({"both", "never", "only"})
"""Values of a model's ``upstream_stream``: which call modes its vendor serves."""


class CatalogueError(ValueError):
    """The catalogue data (built-in or from the config file) is malformed."""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens; equivalently micro-USD per token."""

    input: float
    output: float
    cache_read: float
    cache_write: float


@dataclass(frozen=True, slots=True)
class ModelEntry:
    slug: str
    family: str
    provider: str
    """Which configured vendor serves it: anthropic, openai, gemini, deepseek."""
    protocol: str
    """Wire format spoken to that vendor for this model."""
    upstream_model: str
    context_window: int
    max_output_tokens: int
    capabilities: tuple[str, ...]
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    price: Price
    reasoning_billed_as: str
    price_source: str
    created: int
    upstream_stream: str = "both"
    """Which call modes the vendor serves for this model: ``both``; ``never`` (it cannot stream,
    so a streaming caller gets a stream the relay synthesizes from the whole answer); ``only`` (it
    only streams, so a non-streaming caller gets the answer assembled from the stream)."""

    max_tokens_field: str = "max_completion_tokens"
    """Where an OpenAI Chat body for this model carries the token limit: ``max_completion_tokens``
    or ``max_tokens`` (the row's ``max_tokens_field``, else its vendor's,
    `MAX_TOKENS_FIELD_OF_PROVIDER`); translated and fast-path bodies alike (docs/translation.md §1)."""

    def streams_upstream(self, caller_streams: bool) -> bool:
        """Whether the vendor is called streaming, for a caller that does or does not stream."""
        if self.upstream_stream == "both":
            return caller_streams
        return self.upstream_stream == "only"


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    description: str
    public: bool
    models: frozenset[str]


@dataclass(frozen=True, slots=True)
class Catalogue:
    models: Mapping[str, ModelEntry]
    groups: Mapping[str, Group]
    aliases: Mapping[str, str] = field(default_factory=dict)
    retired: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    def resolve(self, slug: object) -> ModelEntry:
        """The entry for a requested model name; raises the spec's error for bad names."""
        if not isinstance(slug, str) or not slug:
            raise GatewayError(400, "invalid_param", "model must be a non-empty string", "model")
        entry = self.models.get(slug)
        if entry is not None:
            return entry
        canonical = self.aliases.get(slug)
        if canonical is not None:
            return self.models[canonical]
        for name, (status, hint) in self.retired.items():
            if slug == name or (name.endswith("v2") and slug.startswith(name)):
                return _raise_retired(status, hint)
        raise model_not_found(slug)

    def check_group(self, entry: ModelEntry, group: str, allowed: frozenset[str] | None) -> None:
        members = self.groups.get(group)
        if members is None or entry.slug not in members.models:
            raise model_not_in_group(entry.slug, group)
        if allowed is not None and entry.slug not in allowed:
            raise GatewayError(
                403,
                "model_not_in_group",
                f"model {entry.slug!r} is not in this key's model allow-list",
                "model",
            )

    def models_for_group(self, group: str) -> list[ModelEntry]:
        members = self.groups.get(group)
        if members is None:
            return []
        return sorted((self.models[s] for s in members.models), key=lambda m: m.slug)


def _raise_retired(status: int, hint: str) -> ModelEntry:
    code = "model_not_found" if status == 404 else "invalid_param"
    raise GatewayError(status, code, hint, "model")


def _model(raw: Mapping[str, Any]) -> ModelEntry:
    try:
        provider = str(raw["provider"])
        price = raw["price"]
        return ModelEntry(
            slug=str(raw["slug"]),
            family=str(raw["family"]),
            provider=provider,
            protocol=str(raw.get("protocol") or PROTOCOL_OF_PROVIDER[provider]),
            upstream_model=str(raw.get("upstream_model") or raw["slug"]),
            context_window=int(raw.get("context_window", 0)),
            max_output_tokens=int(raw.get("max_output_tokens", 4096)),
            capabilities=tuple(raw.get("capabilities", ("text",))),
            input_modalities=tuple(raw.get("input_modalities", ("text",))),
            output_modalities=tuple(raw.get("output_modalities", ("text",))),
            price=Price(
                input=float(price["input"]),
                output=float(price["output"]),
                cache_read=float(price.get("cache_read", price["input"])),
                cache_write=float(price.get("cache_write", price["input"])),
            ),
            reasoning_billed_as=str(raw.get("reasoning_billed_as", "output")),
            price_source=str(raw.get("price_source", "config")),
            created=int(raw.get("created", 0)),
            upstream_stream=_upstream_stream(raw.get("upstream_stream", "both")),
            max_tokens_field=_max_tokens_field(raw.get("max_tokens_field"), provider),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"model entry {raw.get('slug', '?')!r} is invalid: {exc!r}") from exc


def _upstream_stream(value: Any) -> str:
    if value not in UPSTREAM_STREAM_MODES:
        raise ValueError(f"upstream_stream must be one of {sorted(UPSTREAM_STREAM_MODES)}, got {value!r}")
    return str(value)


def _max_tokens_field(value: Any, provider: str) -> str:
    if value is None:
        if provider in MAX_TOKENS_FIELD_OF_PROVIDER:
            return MAX_TOKENS_FIELD_OF_PROVIDER[provider]
        # Anthropic and Gemini models meet a Chat host only in the demo, standing in for OpenAI.
        return "max_completion_tokens" if provider in PROTOCOL_OF_PROVIDER else DEFAULT_MAX_TOKENS_FIELD
    if value not in MAX_TOKENS_FIELDS:
        raise ValueError(f"max_tokens_field must be one of {sorted(MAX_TOKENS_FIELDS)}, got {value!r}")
    return str(value)


def build_catalogue(base: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Catalogue:
    """Merge ``extra`` (the config file's ``[[models]]``/``[groups]``) over ``base``."""
    raw_models: dict[str, Mapping[str, Any]] = {m["slug"]: m for m in base.get("models", [])}
    raw_groups: dict[str, Mapping[str, Any]] = dict(base.get("groups", {}))
    if extra:
        for m in extra.get("models", []):
            merged = {**raw_models.get(m.get("slug", ""), {}), **m}
            raw_models[str(m.get("slug"))] = merged
        raw_groups.update(extra.get("groups", {}))
    models = {slug: _model(m) for slug, m in raw_models.items()}
    for m in models.values():
        if m.provider not in PROTOCOL_OF_PROVIDER and m.protocol != "openai_chat":
            raise CatalogueError(
                f"model {m.slug!r}: unknown provider {m.provider!r} (an OpenAI-compatible vendor of "
                'your own needs protocol = "openai_chat" and an [upstreams.<provider>] block)'
            )
    groups = {}
    for name, g in raw_groups.items():
        patterns = list(g.get("models", []))
        members = frozenset(s for s in models for p in patterns if fnmatch.fnmatchcase(s, p))
        groups[name] = Group(name, str(g.get("description", "")), bool(g.get("public", True)), members)
    retired = {name: (int(r["status"]), str(r["hint"])) for name, r in base.get("retired", {}).items()}
    aliases = {a: t for a, t in base.get("aliases", {}).items() if t in models}
    return Catalogue(models=models, groups=groups, aliases=aliases, retired=retired)


def load_catalogue(extra: Mapping[str, Any] | None = None) -> Catalogue:
    """The built-in catalogue merged with the operator's additions."""
    text = resources.files("bytespike.routing").joinpath("catalogue.toml").read_text()
    return build_catalogue(tomllib.loads(text), extra)
