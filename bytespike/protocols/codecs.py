"""One record per wire protocol bundling its codec functions, so callers dispatch by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.protocols import anthropic_messages as am
from bytespike.protocols import gemini as gm
from bytespike.protocols import openai_chat as oc
from bytespike.protocols import openai_responses as orp
from bytespike.protocols.anthropic_messages import errors as am_errors
from bytespike.protocols.anthropic_messages import usage as am_usage
from bytespike.protocols.gemini import errors as gm_errors
from bytespike.protocols.gemini import usage as gm_usage
from bytespike.protocols.openai_chat import errors as oc_errors
from bytespike.protocols.openai_chat import usage as oc_usage
from bytespike.protocols.openai_responses import errors as orp_errors
from bytespike.protocols.openai_responses import usage as orp_usage


@dataclass(frozen=True, slots=True)
class Codec:
    name: str
    encode_error: Callable[[GatewayError, str | None], bytes]
    encode_stream_error: Callable[[GatewayError], bytes]
    decode_error: Callable[[Any], tuple[str | None, str]]
    is_error_body: Callable[[Any], bool]
    decode_usage: Callable[[Any], Usage]
    usage_of_response: Callable[[dict[str, Any]], Any]
    """Where the usage object sits in a complete (non-streamed) response."""
    error_status: Callable[[GatewayError], int]


CODECS: dict[str, Codec] = {
    am.NAME: Codec(
        am.NAME,
        am_errors.encode_error,
        am_errors.encode_stream_error,
        am_errors.decode_error,
        am_errors.is_error_body,
        am_usage.decode_usage,
        lambda r: r.get("usage"),
        lambda e: e.status,
    ),
    oc.NAME: Codec(
        oc.NAME,
        oc_errors.encode_error,
        oc_errors.encode_stream_error,
        oc_errors.decode_error,
        oc_errors.is_error_body,
        oc_usage.decode_usage,
        lambda r: r.get("usage"),
        lambda e: e.status,
    ),
    orp.NAME: Codec(
        orp.NAME,
        orp_errors.encode_error,
        orp_errors.encode_stream_error,
        orp_errors.decode_error,
        orp_errors.is_error_body,
        orp_usage.decode_usage,
        lambda r: r.get("usage"),
        lambda e: e.status,
    ),
    gm.NAME: Codec(
        gm.NAME,
        gm_errors.encode_error,
        gm_errors.encode_stream_error,
        gm_errors.decode_error,
        gm_errors.is_error_body,
        gm_usage.decode_usage,
        lambda r: r.get("usageMetadata"),
        gm_errors.http_status,
    ),
}
