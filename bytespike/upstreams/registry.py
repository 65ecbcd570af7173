"""Which `Target` serves a model: configured vendors, or the simulator in demo mode."""

from __future__ import annotations

from collections.abc import Mapping

from bytespike.errors import GatewayError
from bytespike.upstreams.targets import Target


class UpstreamRegistry:
    """Maps providers (and DeepSeek's Anthropic-shape route) to targets: the four core vendors
    and any configured OpenAI-compatible one (doubao, minimax, zhipu, moonshot, or an operator's
    ``[upstreams.<name>]``), each under the catalogue's ``provider`` name."""

    def __init__(self, targets: Mapping[str, Target]) -> None:
        self._targets = dict(targets)

    def target_for(self, slug: str, provider: str, protocol: str) -> Target:
        """The target serving model ``slug`` of ``provider`` over ``protocol``; 503 if unconfigured."""
        key = provider
        if provider == "deepseek" and protocol == "anthropic_messages":
            key = "deepseek_anthropic"
        target = self._targets.get(key)
        if target is None:
            raise GatewayError(
                503,
                "provider_not_configured",
                f"model {slug!r} is served by {provider}, which this gateway has no credentials for",
            )
        return target

    @property
    def providers(self) -> list[str]:
        return sorted(self._targets)
