"""Where this protocol keeps what the canonical model has no field for.

Item ids, refusal markers, raw argument strings and other Responses-only details ride on a part's
`ProviderData` tagged ``openai_responses`` (DESIGN.md §2); only this package reads them back, so
they reach an OpenAI Responses wire and nowhere else.
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.parts import ProviderData
from bytespike.protocols.openai_responses import NAME


def own(pd: ProviderData | None) -> dict[str, Any]:
    """The data of ``pd`` when this protocol issued it, else an empty dict."""
    return pd.data if pd is not None and pd.protocol == NAME else {}


def tag(data: dict[str, Any]) -> ProviderData | None:
    """``data`` tagged with this protocol; None when there is nothing to keep."""
    return ProviderData(NAME, data) if data else None
