"""The official google-genai SDK on both sides of the codec: the requests it really sends decode
and re-encode faithfully, and the responses we encode are what it parses."""

from __future__ import annotations

from typing import Any

from google.genai import types

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import TextPart, ThinkingPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import Reasoning, ResponseFormat, ToolChoice
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.protocols.gemini.requests import decode_request, encode_request
from bytespike.protocols.gemini.responses import encode_response
from tests.protocols.gemini.loopback import CannedGemini
from tests.protocols.gemini.validity import assert_valid_request

REPLY = {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]}


def capture(
    canned: CannedGemini, contents: Any, config: types.GenerateContentConfig | None = None
) -> dict[str, Any]:
    canned.reply_json(REPLY)
    client = canned.client()
    client.models.generate_content(model="gemini-2.5-pro", contents=contents, config=config)
    path, body = canned.requests[-1]
    assert path == "/v1beta/models/gemini-2.5-pro:generateContent"
    return body


def reencode(body: dict[str, Any]) -> dict[str, Any]:
    deg = Degradations(strict=True)
    out = encode_request(decode_request(body), model="gemini-2.5-pro", deg=deg)
    assert_valid_request(out)
    assert decode_request(out) == decode_request(body)
    return out


def test_sdk_request_with_every_config_knob(canned: CannedGemini) -> None:
    config = types.GenerateContentConfig(
        system_instruction="Answer in JSON.",
        temperature=0.4,
        top_p=0.8,
        top_k=20,
        max_output_tokens=256,
        stop_sequences=["END"],
        seed=42,
        response_mime_type="application/json",
        response_schema={"type": "OBJECT", "properties": {"answer": {"type": "STRING"}}},
        thinking_config=types.ThinkingConfig(thinking_budget=1024, include_thoughts=True),
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name="lookup",
                        description="Look something up.",
                        parameters=types.Schema(
                            type=types.Type.OBJECT,
                            properties={"q": types.Schema(type=types.Type.STRING, nullable=True)},
                            required=["q"],
                        ),
                    )
                ]
            ),
            types.Tool(google_search=types.GoogleSearch()),
        ],
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(mode=types.FunctionCallingConfigMode.AUTO)
        ),
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_NONE,
            )
        ],
    )
    body = capture(canned, "What is the answer?", config)
    req = decode_request(body)
    assert req.system == (TextPart("Answer in JSON."),)
    assert (req.temperature, req.top_p, req.top_k, req.max_tokens, req.stop) == (0.4, 0.8, 20, 256, ("END",))
    assert req.reasoning == Reasoning(enabled=True, budget_tokens=1024, include_thoughts=True)
    assert req.response_format == ResponseFormat(
        "json_schema", {"type": "object", "properties": {"answer": {"type": "string"}}}
    )
    assert req.tools[0].parameters == {
        "type": "object",
        "properties": {"q": {"type": ["string", "null"]}},
        "required": ["q"],
    }
    assert req.tool_choice == ToolChoice("auto")
    out = reencode(body)
    # The SDK's snake_case inner names come back camelCase, with nothing else changed.
    assert out["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 1024}
    assert out["generationConfig"]["topK"] == 20 and out["generationConfig"]["seed"] == 42
    # The SDK puts googleSearch first; function declarations are always placed first.
    declarations = next(t for t in body["tools"] if "functionDeclarations" in t)["functionDeclarations"]
    assert out["tools"] == [{"functionDeclarations": declarations}, {"googleSearch": {}}]


def test_sdk_multimodal_and_tool_history(canned: CannedGemini) -> None:
    contents = [
        types.Content(
            role="user",
            parts=[
                types.Part.from_text(text="What is in this image, and the weather there?"),
                types.Part.from_bytes(data=b"\x89PNG\r\n\x1a\n fake", mime_type="image/png"),
                types.Part.from_uri(
                    file_uri="https://generativelanguage.googleapis.com/v1beta/files/f1",
                    mime_type="video/mp4",
                ),
            ],
        ),
        types.Content(
            role="model",
            parts=[
                types.Part(text="Thinking about it.", thought=True, thought_signature=b"\x01\x02gemini-sig"),
                types.Part(
                    function_call=types.FunctionCall(name="weather", args={"city": "Paris"}),
                    thought_signature=b"sig2",
                ),
            ],
        ),
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="weather", response={"output": "sunny"})],
        ),
    ]
    body = capture(canned, contents)
    req = decode_request(body)
    image, video = req.messages[0].parts[1:]
    assert image.media_type == "image/png" and video.file_id is not None  # type: ignore[union-attr]
    thought, call = req.messages[1].parts
    assert isinstance(thought, ThinkingPart) and thought.signature_protocol == "gemini"
    assert isinstance(call, ToolCallPart) and call.arguments == {"city": "Paris"}
    (result,) = req.messages[2].parts
    assert isinstance(result, ToolResultPart) and result.tool_call_id == call.id
    assert result.content == (TextPart("sunny"),)
    out = reencode(body)
    # Signatures go back byte-exact (the SDK's URL-safe base64 is kept as sent).
    assert (
        out["contents"][1]["parts"][0]["thoughtSignature"]
        == body["contents"][1]["parts"][0]["thoughtSignature"]
    )
    assert "id" not in out["contents"][1]["parts"][1]["functionCall"]


def test_sdk_parses_a_translated_non_streamed_response_and_chats_on(canned: CannedGemini) -> None:
    resp = Response(
        id="chatcmpl-9",
        model="gpt-5",
        parts=(
            ThinkingPart("Reasoning summary."),
            TextPart("Let me look that up."),
            ToolCallPart("call_abc", "lookup", {"q": "bytespike"}),
        ),
        finish_reason="tool_use",
        usage=Usage(input_tokens=40, output_tokens=25, cache_read_tokens=8, reasoning_tokens=5),
    )
    canned.reply_json(encode_response(resp, model="gpt-5", request_id="req_42"))
    canned.reply_json(REPLY)
    client = canned.client()
    chat = client.chats.create(model="gpt-5")
    answer = chat.send_message("look up bytespike")
    assert answer.response_id == "req_42" and answer.model_version == "gpt-5"
    assert answer.text == "Let me look that up."
    assert answer.function_calls is not None and answer.function_calls[0].id == "call_abc"
    usage = answer.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.thoughts_token_count) == (40, 20, 5)
    assert usage.cached_content_token_count == 8 and usage.total_token_count == 65
    chat.send_message(types.Part.from_function_response(name="lookup", response={"output": "a gateway"}))
    req = decode_request(canned.requests[-1][1])
    call = req.messages[1].parts[2]
    (result,) = req.messages[2].parts
    assert isinstance(call, ToolCallPart) and call.id == "call_abc"
    assert isinstance(result, ToolResultPart) and result.tool_call_id == "call_abc"
