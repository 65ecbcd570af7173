"""Checks that a body we produce is one the Gemini API accepts, using the google-genai SDK's own
pydantic types (``extra="forbid"``, camelCase aliases) as the schema."""

from __future__ import annotations

from typing import Any

from google.genai import types

REQUEST_FIELDS = {
    "contents": None,
    "systemInstruction": types.Content,
    "toolConfig": types.ToolConfig,
    "generationConfig": types.GenerationConfig,
    "cachedContent": None,
    "safetySettings": None,
    "tools": None,
    "serviceTier": None,  # GenerateContentConfig.service_tier, sent top-level by google-genai
}


def assert_valid_request(body: dict[str, Any]) -> None:
    assert "model" not in body, "the model goes in the URL path"
    unknown = set(body) - set(REQUEST_FIELDS)
    assert not unknown, f"unknown request fields {unknown}"
    assert body["contents"], "Gemini rejects empty contents"
    for content in body["contents"]:
        assert content["role"] in ("user", "model")
        assert content["parts"], "Gemini rejects a content without parts"
        types.Content.model_validate(content)
        for part in content["parts"]:
            if "text" in part and "thoughtSignature" not in part:
                assert part["text"], "Gemini rejects empty text parts"
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
        assert len(tool) == 1, "one kind per Tool object"
    for setting in body.get("safetySettings", []):
        types.SafetySetting.model_validate(setting)
    if "toolConfig" in body:
        types.ToolConfig.model_validate(body["toolConfig"])
    if "serviceTier" in body:
        types.ServiceTier(body["serviceTier"])
    if "generationConfig" in body:
        config = body["generationConfig"]
        types.GenerationConfig.model_validate(config)
        assert len(config.get("stopSequences", [])) <= 5
        thinking = config.get("thinkingConfig", {})
        assert set(thinking) <= {"includeThoughts", "thinkingBudget", "thinkingLevel"}


def assert_valid_response(body: dict[str, Any]) -> types.GenerateContentResponse:
    return types.GenerateContentResponse.model_validate(body)
