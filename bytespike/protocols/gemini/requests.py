"""Shape checks of a Gemini ``generateContent`` request before it is relayed (fast path)."""

from __future__ import annotations

from typing import Any

from bytespike.errors import invalid_request


def check_request(body: Any) -> None:
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise invalid_request("contents: field required (non-empty array)", "contents")
    for i, c in enumerate(contents):
        if not isinstance(c, dict):
            raise invalid_request(f"contents[{i}]: must be an object", f"contents[{i}]")
        if "role" in c and c["role"] not in ("user", "model", "function", "tool", None):
            raise invalid_request(f"contents[{i}].role: must be 'user' or 'model'", f"contents[{i}].role")
        parts = c.get("parts")
        if not isinstance(parts, list):
            raise invalid_request(f"contents[{i}].parts: field required (array)", f"contents[{i}].parts")
        for j, p in enumerate(parts):
            if not isinstance(p, dict):
                raise invalid_request(
                    f"contents[{i}].parts[{j}]: must be an object", f"contents[{i}].parts[{j}]"
                )
    gc = body.get("generationConfig")
    if gc is not None:
        if not isinstance(gc, dict):
            raise invalid_request("generationConfig: must be an object", "generationConfig")
        mot = gc.get("maxOutputTokens")
        if mot is not None and (not isinstance(mot, int) or isinstance(mot, bool) or mot < 0):
            raise invalid_request(
                "generationConfig.maxOutputTokens: must be a non-negative integer",
                "generationConfig.maxOutputTokens",
            )
    si = body.get("systemInstruction")
    if si is not None and not isinstance(si, dict | str):
        raise invalid_request("systemInstruction: must be a Content object", "systemInstruction")


def max_output_tokens(body: dict[str, Any]) -> int:
    gc = body.get("generationConfig") or {}
    return int(gc.get("maxOutputTokens") or 0)
