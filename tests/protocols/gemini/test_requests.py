"""Gemini requests: golden round trips, the canonical form they decode to, and encoding canonical
requests that came from other protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.parts import (
    CacheControl,
    MediaPart,
    OpaquePart,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import (
    Message,
    Reasoning,
    Request,
    ResponseFormat,
    ToolChoice,
    ToolDefinition,
)
from bytespike.errors import GatewayError
from bytespike.protocols.gemini.ids import DERIVED_ID_PREFIX
from bytespike.protocols.gemini.requests import (
    check_request,
    decode_request,
    encode_request,
    max_output_tokens,
)
from bytespike.protocols.gemini.signatures import SKIP_SIGNATURE_SENTINEL, wrap_foreign_signature
from tests.protocols.gemini.conftest import FIXTURES, load
from tests.protocols.gemini.validity import assert_valid_request

REQUEST_FIXTURES = sorted(p.name for p in Path(FIXTURES).glob("request_*.json"))
SIG = "CiQBVKhc7yOq0d3Dy7gHqJ3oV5d4kz5nKc1mQ2x9vYw5o8PKjJ0SaQFUqFzvX0yq"


def encode(req: Request, deg: Degradations | None = None) -> dict[str, Any]:
    return encode_request(req, model="gemini-3-pro-preview", deg=deg if deg is not None else Degradations())


def user(*parts: Any) -> Message:
    return Message("user", tuple(parts))


def assistant(*parts: Any) -> Message:
    return Message("assistant", tuple(parts))


# ------------------------------------------------------------------ golden round trips


@pytest.mark.parametrize("name", REQUEST_FIXTURES)
def test_golden_request_round_trips_exactly(name: str) -> None:
    body = load(name)
    deg = Degradations(strict=True)  # a Gemini request loses nothing on its way back to Gemini
    assert encode_request(decode_request(body), model="gemini-3-pro-preview", deg=deg) == body
    assert deg.dropped == []


@pytest.mark.parametrize("name", REQUEST_FIXTURES)
def test_golden_requests_are_valid_for_the_sdk_types(name: str) -> None:
    assert_valid_request(encode(decode_request(load(name))))


def test_text_request_decodes_to_one_user_message() -> None:
    req = decode_request(load("request_text.json"))
    assert req == Request(model="", messages=(user(TextPart("Why is the sky blue?")),))


def test_system_and_sampling() -> None:
    req = decode_request(load("request_system.json"))
    assert req.system == (TextPart("You are a cat."), TextPart("Your name is Neko."))
    assert (req.temperature, req.top_p, req.top_k, req.max_tokens) == (1.0, 0.95, 40, 800)
    assert req.extras == {}


def test_multi_turn_roles_and_stop_sequences() -> None:
    req = decode_request(load("request_multi_turn.json"))
    assert [m.role for m in req.messages] == ["user", "assistant", "user"]
    assert req.stop == ("Title", "\n\n")


def test_images_base64_url_and_gemini_file() -> None:
    req = decode_request(load("request_images.json"))
    _, inline, url, file = req.messages[0].parts
    assert isinstance(inline, MediaPart) and inline.kind == "image" and inline.media_type == "image/png"
    assert inline.data is not None and inline.data.startswith("iVBOR")
    assert url == MediaPart(
        "image",
        media_type="image/jpeg",
        url="https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg",
    )
    # A Files-API URI is only readable by Gemini: canonically a vendor file id.
    assert file == MediaPart(
        "document",
        media_type="application/pdf",
        file_id="https://generativelanguage.googleapis.com/v1beta/files/8ak3u5w4n2xo",
    )


def test_video_metadata_is_set_aside_and_restored() -> None:
    req = decode_request(load("request_video_metadata.json"))
    video, audio, _ = req.messages[0].parts
    assert video == MediaPart("document", url="https://www.youtube.com/watch?v=9hE5-98ZeCg")
    assert isinstance(audio, MediaPart) and audio.kind == "audio"
    assert set(req.extras["gemini"]["partExtras"]) == {"0.0", "0.1"}


def test_tool_calls_without_ids_get_derived_ids_that_pair_with_their_results() -> None:
    req = decode_request(load("request_tools.json"))
    calls = req.messages[1].parts
    results = req.messages[2].parts
    assert all(isinstance(c, ToolCallPart) and c.id.startswith(DERIVED_ID_PREFIX) for c in calls)
    assert len({c.id for c in calls}) == 3  # type: ignore[union-attr]
    assert [r.tool_call_id for r in results] == [c.id for c in calls]  # type: ignore[union-attr]
    paris, london, tokyo = results
    assert paris == ToolResultPart(
        calls[0].id,  # type: ignore[union-attr]
        (TextPart('{"temperature":18,"sky":"cloudy"}'),),
        False,
        "get_weather",
    )
    assert isinstance(london, ToolResultPart) and london.is_error
    assert london.content == (TextPart("weather service unavailable for London"),)
    assert isinstance(tokyo, ToolResultPart) and tokyo.content == (TextPart("14:05"),)
    assert calls[0].provider_data == ProviderData(
        "gemini",
        {"thoughtSignature": load("request_tools.json")["contents"][1]["parts"][0]["thoughtSignature"]},
    )  # type: ignore[union-attr]
    # Deterministic: the same history decodes to the same ids.
    assert decode_request(load("request_tools.json")) == req


def test_tool_definitions_openapi_parameters_become_json_schema() -> None:
    req = decode_request(load("request_tools.json"))
    weather, clock = req.tools
    assert weather.parameters is not None and weather.parameters["additionalProperties"] is False
    assert clock.parameters == {
        "type": "object",
        "properties": {
            "zone": {"type": "string", "description": "IANA zone"},
            "precise": {"type": ["boolean", "null"]},
        },
        "required": ["zone"],
    }
    assert req.tool_choice == ToolChoice("auto")


def test_ids_present_on_the_wire_are_kept_and_multimodal_results_decode() -> None:
    req = decode_request(load("request_tools_with_ids.json"))
    text, call = req.messages[1].parts
    assert text == TextPart(
        "Let me check.",
        provider_data=ProviderData(
            "gemini", {"thoughtSignature": text.provider_data.data["thoughtSignature"]}
        ),
    )  # type: ignore[union-attr]
    assert isinstance(call, ToolCallPart) and call.id == "fc_7d1a0c"
    (result,) = req.messages[2].parts
    assert isinstance(result, ToolResultPart) and result.tool_call_id == "fc_7d1a0c"
    assert isinstance(result.content[1], MediaPart) and result.content[1].media_type == "image/png"
    assert req.tool_choice == ToolChoice("tool", "get_weather")


def test_tool_choice_subsets_and_other_tools_stay_in_extras() -> None:
    req = decode_request(load("request_tool_choice_subset.json"))
    assert req.tool_choice == ToolChoice("required")
    assert [t.name for t in req.tools] == ["book_table", "call_cab", "noop"]
    assert req.tools[2].parameters is None
    gemini = req.extras["gemini"]
    assert gemini["tools"] == [{"googleSearch": {}}, {"codeExecution": {}}]
    assert gemini["functionDeclarations"] == {"call_cab": {"behavior": "NON_BLOCKING"}}
    assert gemini["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == ["book_table", "call_cab"]
    assert gemini["safetySettings"][0]["threshold"] == "BLOCK_ONLY_HIGH"
    assert gemini["cachedContent"] == "cachedContents/lnk2x8h5c0"
    assert decode_request(load("request_tool_choice_none.json")).tool_choice == ToolChoice("none")


def test_thinking_history_and_config() -> None:
    req = decode_request(load("request_thinking.json"))
    thought, answer = req.messages[1].parts
    assert isinstance(thought, ThinkingPart)
    assert thought.signature_protocol == "gemini" and thought.signature is not None
    assert thought.text.startswith("**Checking")
    assert answer == TextPart("Yes: 1,000,000 is 1000 squared.")
    assert req.reasoning == Reasoning(enabled=True, budget_tokens=2048, include_thoughts=True)
    level = decode_request(load("request_thinking_level.json"))
    assert level.reasoning == Reasoning(effort="high")
    assert decode_request(load("request_thinking_off.json")).reasoning == Reasoning(enabled=False)
    dynamic = decode_request(load("request_thinking_dynamic.json"))
    assert dynamic.reasoning == Reasoning(enabled=True, include_thoughts=False)


def test_json_schema_json_mode_and_enum_output() -> None:
    schema = decode_request(load("request_json_schema.json")).response_format
    assert schema is not None and schema.kind == "json_schema"
    assert schema.schema is not None and schema.schema["items"]["additionalProperties"] is False
    openapi = decode_request(load("request_response_schema_openapi.json")).response_format
    assert openapi == ResponseFormat(
        "json_schema",
        schema={
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": ["integer", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            },
        },
    )
    mode = decode_request(load("request_json_mode.json"))
    assert mode.response_format == ResponseFormat("json_object")
    assert mode.extras["gemini"]["generationConfig"] == {
        "seed": 7,
        "candidateCount": 1,
        "presencePenalty": 0.5,
        "responseLogprobs": True,
        "logprobs": 3,
    }
    enum = decode_request(load("request_enum_output.json"))
    assert enum.response_format is None
    assert enum.extras["gemini"]["generationConfig"]["responseMimeType"] == "text/x.enum"


def test_code_execution_parts_are_opaque_gemini_parts() -> None:
    req = decode_request(load("request_code_execution.json"))
    code, result, text = req.messages[1].parts
    assert isinstance(code, OpaquePart) and code.protocol == "gemini" and "executableCode" in code.data
    assert isinstance(result, OpaquePart) and "codeExecutionResult" in result.data
    assert text == TextPart("The sum is 5117.")


# ------------------------------------------------------------------ documented normalizations


def test_snake_case_strings_and_legacy_roles_normalize() -> None:
    body = {
        "model": "models/gemini-2.5-flash",
        "contents": [
            {"parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"function_call": {"name": "f"}}]},
            {
                "role": "function",
                "parts": [{"function_response": {"name": "f", "response": {"output": "ok"}}}],
            },
        ],
        "system_instruction": {"role": "user", "parts": [{"text": "be brief"}]},
        "generation_config": {
            "top_k": 3.0,
            "max_output_tokens": 10,
            "thinking_config": {"thinking_level": "low", "include_thoughts": True},
        },
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f"]}},
        "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {"type": "object"}}]}],
    }
    req = decode_request(body)
    assert req.model == "models/gemini-2.5-flash"
    assert encode(req) == {
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SKIP_SIGNATURE_SENTINEL}
                ],
            },
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": "ok"}}}]},
        ],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object"}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
        "generationConfig": {
            "topK": 3,
            "maxOutputTokens": 10,
            "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "LOW"},
        },
    }


def test_string_system_instruction_merge_and_empty_text() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "a"}]},
            {"role": "user", "parts": [{"text": ""}, {"text": "b"}]},
        ],
        "systemInstruction": "be nice",
    }
    assert encode(decode_request(body)) == {
        "contents": [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}],
        "systemInstruction": {"parts": [{"text": "be nice"}]},
    }


def test_function_response_without_id_inherits_the_call_id() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "q"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"id": "c1", "name": "f", "args": {}}, "thoughtSignature": SIG}],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "f", "response": {"output": '{"a":1}'}}}],
            },
        ]
    }
    out = encode(decode_request(body))
    assert out["contents"][2]["parts"][0] == {
        "functionResponse": {"id": "c1", "name": "f", "response": {"a": 1}}
    }


def test_function_response_answering_no_call_gets_an_id_of_its_own() -> None:
    body = {
        "contents": [
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SIG}],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "f", "response": {"output": "1"}}},
                    {"functionResponse": {"name": "g", "response": {"output": "2"}}},
                ],
            },
        ]
    }
    req = decode_request(body)
    call = req.messages[0].parts[0]
    first, second = req.messages[1].parts
    assert (
        isinstance(call, ToolCallPart)
        and isinstance(first, ToolResultPart)
        and isinstance(second, ToolResultPart)
    )
    assert first.tool_call_id == call.id
    assert second.tool_call_id.startswith(DERIVED_ID_PREFIX) and second.tool_call_id != call.id
    assert encode(req) == body


def test_schema_without_mime_type_gets_application_json() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {"responseJsonSchema": {"type": "object"}},
    }
    assert encode(decode_request(body))["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }


def test_text_plain_mime_and_other_generation_knobs() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {
            "responseMimeType": "text/plain",
            "thinkingConfig": {"thinkingBudget": 128, "futureKnob": 1},
        },
    }
    req = decode_request(body)
    assert req.response_format == ResponseFormat("text")
    assert encode(req) == body


def test_function_response_with_exotic_media_and_flags_round_trips() -> None:
    parts = [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo=", "displayName": "chart.png"}}]
    body = {
        "contents": [
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "plot", "args": {"x": [1, 2]}}, "thoughtSignature": SIG}],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "name": "plot",
                            "response": {"error": {"code": 3}},
                            "parts": parts,
                            "willContinue": False,
                        }
                    }
                ],
            },
        ]
    }
    req = decode_request(body)
    (result,) = req.messages[1].parts
    assert isinstance(result, ToolResultPart) and result.is_error
    assert result.content[0] == TextPart('{"code":3}')
    assert encode(req) == body


# ------------------------------------------------------------------ encoding other protocols' requests


def test_history_from_another_vendor_gets_the_sentinel_on_the_first_call_of_each_turn() -> None:
    req = Request(
        model="claude",
        messages=(
            user(TextPart("weather in Paris and Rome?")),
            assistant(
                ThinkingPart(
                    "Two cities.", signature="EqQBCkgIARAB", signature_protocol="anthropic_messages"
                ),
                TextPart("Checking."),
                ToolCallPart("toolu_01A", "get_weather", {"city": "Paris"}),
                ToolCallPart("toolu_01B", "get_weather", {"city": "Rome"}),
            ),
            user(
                ToolResultPart("toolu_01A", (TextPart("18C"),)),
                ToolResultPart("toolu_01B", (TextPart("25C"),)),
            ),
            assistant(ToolCallPart("toolu_01C", "get_weather", {"city": "Oslo"})),
            user(ToolResultPart("toolu_01C", (TextPart("3C"),))),
        ),
        tools=(ToolDefinition("get_weather", "Weather", {"type": "object"}),),
    )
    deg = Degradations()
    body = encode(req, deg)
    assert_valid_request(body)
    model_turn = body["contents"][1]["parts"]
    # Signatures never cross vendors: the Anthropic signature is not sent, its text is.
    assert model_turn[0] == {"text": "Two cities.", "thought": True}
    assert model_turn[2] == {
        "functionCall": {"id": "toolu_01A", "name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": SKIP_SIGNATURE_SENTINEL,
    }
    assert "thoughtSignature" not in model_turn[3]
    assert body["contents"][3]["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE_SENTINEL
    # Results carry the name looked up from the call (functionResponse.name is required).
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"id": "toolu_01A", "name": "get_weather", "response": {"output": "18C"}}},
        {"functionResponse": {"id": "toolu_01B", "name": "get_weather", "response": {"output": "25C"}}},
    ]
    assert deg.dropped == [("messages[1].parts[0].signature", deg.dropped[0][1])]
    assert "anthropic_messages" in deg.dropped[0][1]


def test_redacted_and_wrapped_foreign_thinking_is_dropped_and_reported() -> None:
    wrapped = wrap_foreign_signature("anthropic_messages", "EqQBredacted", redacted=True)
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "q"}]},
            {
                "role": "model",
                "parts": [{"text": "", "thought": True, "thoughtSignature": wrapped}, {"text": "a"}],
            },
            {"role": "user", "parts": [{"text": "q2"}]},
        ]
    }
    req = decode_request(body)
    thought = req.messages[1].parts[0]
    assert thought == ThinkingPart("", "EqQBredacted", "anthropic_messages", redacted=True)
    deg = Degradations()
    out = encode(req, deg)
    assert out["contents"][1]["parts"] == [{"text": "a"}]
    assert [f for f, _ in deg.dropped] == ["messages[1].parts[0].signature"]
    with pytest.raises(StrictModeViolation) as info:
        encode(req, Degradations(strict=True))
    assert info.value.field == "messages[1].parts[0].signature"


def test_unsigned_thinking_is_sent_as_a_thought_and_empty_parts_are_skipped() -> None:
    req = Request(
        model="x",
        messages=(
            user(TextPart("q")),
            assistant(ThinkingPart("reasoning from DeepSeek"), ThinkingPart(""), TextPart("answer")),
            user(TextPart("")),
            user(TextPart("next")),
        ),
    )
    assert encode(req)["contents"] == [
        {"role": "user", "parts": [{"text": "q"}]},
        {
            "role": "model",
            "parts": [{"text": "reasoning from DeepSeek", "thought": True}, {"text": "answer"}],
        },
        {"role": "user", "parts": [{"text": "next"}]},
    ]


def test_mid_conversation_system_messages_are_hoisted_and_turns_merged() -> None:
    req = Request(
        model="x",
        system=(TextPart("You are terse.", cache_control=CacheControl()),),
        messages=(
            user(TextPart("a")),
            Message(
                "system", (TextPart("Now answer in French."), MediaPart("image", "image/png", data="iVBOR"))
            ),
            user(TextPart("b")),
        ),
    )
    deg = Degradations()
    body = encode(req, deg)
    assert body["systemInstruction"] == {
        "parts": [{"text": "You are terse."}, {"text": "Now answer in French."}]
    }
    assert body["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]
    assert [f for f, _ in deg.dropped] == ["messages[1].parts[1]", "system[0].cache_control"]


def test_tool_results_split_across_user_messages_become_one_content() -> None:
    req = Request(
        model="x",
        messages=(
            user(TextPart("go")),
            assistant(ToolCallPart("call_1", "a", {}), ToolCallPart("call_2", "b", {})),
            user(ToolResultPart("call_1", (TextPart("1"),))),
            user(ToolResultPart("call_2", (TextPart("2"),), is_error=True)),
        ),
    )
    contents = encode(req)["contents"]
    assert len(contents) == 3
    assert contents[2]["parts"] == [
        {"functionResponse": {"id": "call_1", "name": "a", "response": {"output": "1"}}},
        {"functionResponse": {"id": "call_2", "name": "b", "response": {"error": "2"}}},
    ]


def test_error_results_with_json_and_results_with_several_texts() -> None:
    req = Request(
        model="x",
        messages=(
            assistant(ToolCallPart("c", "f", {})),
            user(
                ToolResultPart("c", (TextPart('{"reason": "denied"}'),), is_error=True, name="f"),
                ToolResultPart("d", (TextPart("line 1"), TextPart("line 2")), name="g"),
                ToolResultPart("e", (TextPart("[1, 2]"),), name="h"),
                ToolResultPart("f", (TextPart("{not json"),), name="h"),
            ),
        ),
    )
    parts = encode(req)["contents"][1]["parts"]
    assert [p["functionResponse"]["response"] for p in parts] == [
        {"error": {"reason": "denied"}},
        {"output": "line 1\nline 2"},
        {"output": "[1, 2]"},
        {"output": "{not json"},
    ]


def test_images_of_tool_results_follow_the_response_for_models_before_gemini_3() -> None:
    png = "iVBORw0KGgo="
    req = Request(
        model="x",
        messages=(
            assistant(ToolCallPart("c", "shot", {})),
            user(ToolResultPart("c", (TextPart("taken"), MediaPart("image", "image/png", data=png)))),
        ),
    )
    inline = {"inlineData": {"mimeType": "image/png", "data": png}}
    response = {"id": "c", "name": "shot", "response": {"output": "taken"}}
    old = encode_request(req, model="gemini-2.5-flash", deg=Degradations())
    assert old["contents"][1]["parts"] == [{"functionResponse": response}, inline]
    new = encode_request(req, model="gemini-3.1-pro-preview", deg=Degradations())
    assert new["contents"][1]["parts"] == [{"functionResponse": {**response, "parts": [inline]}}]


def test_a_turn_gemini_signed_elsewhere_gets_no_sentinel() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "q"}]},
            {
                "role": "model",
                "parts": [
                    {"text": "plan", "thought": True, "thoughtSignature": SIG},
                    {"functionCall": {"name": "f", "args": {}}},
                ],
            },
        ]
    }
    assert encode(decode_request(body)) == body


def test_tool_result_without_name_and_without_a_matching_call_is_a_400() -> None:
    req = Request(model="x", messages=(user(ToolResultPart("call_404", (TextPart("x"),))),))
    with pytest.raises(GatewayError) as info:
        encode(req)
    assert info.value.status == 400 and info.value.param == "messages[0].parts[0]"


def test_media_from_other_protocols() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    req = Request(
        model="x",
        messages=(
            user(
                MediaPart("image", data=png),  # no media type: sniffed
                MediaPart("image", url=f"data:image/png;base64,{png}"),
                MediaPart("image", url="https://example.com/cat.jpg"),
                MediaPart("document", "application/pdf", data="JVBERi0xLjQK", filename="a.pdf", title="A"),
                MediaPart("document", file_id="files/abc123"),
                MediaPart(
                    "image", "image/gif", data="R0lGODlhAQABAAAAACw=", cache_control=CacheControl("1h")
                ),
                MediaPart("image", data="UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAQAcJaQAA3AA/v3AgAA="),
                MediaPart("image", data="/9j/4AAQSkZJRgABAQ=="),
            ),
        ),
    )
    deg = Degradations()
    parts = encode(req, deg)["contents"][0]["parts"]
    assert parts[0] == {"inlineData": {"mimeType": "image/png", "data": png}}
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": png}}
    assert parts[2] == {"fileData": {"fileUri": "https://example.com/cat.jpg"}}
    assert parts[3] == {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0xLjQK"}}
    assert parts[4] == {"fileData": {"fileUri": "files/abc123"}}
    assert parts[6]["inlineData"]["mimeType"] == "image/webp"
    assert parts[7]["inlineData"]["mimeType"] == "image/jpeg"
    assert [f for f, _ in deg.dropped] == [
        "messages[0].parts[3].filename",
        "messages[0].parts[3].title",
        "messages[0].parts[5].cache_control",
    ]


@pytest.mark.parametrize(
    ("media", "message"),
    [
        (MediaPart("image", file_id="file-abc123"), "belongs to another vendor"),
        (MediaPart("image", data="AAAA"), "MIME type"),
        (MediaPart("image"), "no data"),
    ],
)
def test_media_gemini_cannot_read_is_a_400(media: MediaPart, message: str) -> None:
    req = Request(model="x", messages=(user(TextPart("see"), media),))
    with pytest.raises(GatewayError) as info:
        encode(req)
    assert info.value.status == 400 and message in info.value.message
    assert info.value.param == "messages[0].parts[1]"


def test_foreign_opaque_parts_and_cache_control_are_reported_provider_data_is_not() -> None:
    """Another vendor's provider_data is echoed only to its issuer by design: not a drop."""
    req = Request(
        model="x",
        messages=(
            user(TextPart("q", cache_control=CacheControl())),
            assistant(
                OpaquePart("anthropic_messages", {"type": "server_tool_use"}),
                TextPart("a", provider_data=ProviderData("openai_responses", {"id": "msg_1"})),
                ToolCallPart("c", "f", {}, cache_control=CacheControl()),
            ),
            user(
                ToolResultPart(
                    "c", (TextPart("r", cache_control=CacheControl()),), cache_control=CacheControl()
                )
            ),
        ),
    )
    deg = Degradations()
    body = encode(req, deg)
    assert body["contents"][1]["parts"][0] == {"text": "a"}
    assert [f for f, _ in deg.dropped] == [
        "messages[0].parts[0].cache_control",
        "messages[1].parts[0]",
        "messages[1].parts[2].cache_control",
        "messages[2].parts[0].cache_control",
        "messages[2].parts[0].content[0].cache_control",
    ]


def test_tools_tool_choice_and_parallel_from_other_protocols() -> None:
    schema = {
        "type": "object",
        "properties": {"q": {"oneOf": [{"type": "string"}, {"$ref": "#/$defs/n"}]}},
        "$defs": {"n": {"type": "integer", "exclusiveMinimum": 0}},
        "additionalProperties": False,
    }
    req = Request(
        model="x",
        messages=(user(TextPart("q")),),
        tools=(
            ToolDefinition("search", "Search.", schema, strict=True, cache_control=CacheControl()),
            ToolDefinition("mcp.fs:read-file"),
        ),
        tool_choice=ToolChoice("tool", "search", parallel=False),
    )
    deg = Degradations()
    body = encode(req, deg)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "search", "description": "Search.", "parametersJsonSchema": schema},
                {"name": "mcp.fs:read-file"},
            ]
        }
    ]
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["search"]}
    }
    assert [f for f, _ in deg.dropped] == [
        "tools[0].strict",
        "tools[0].cache_control",
        "tool_choice.parallel",
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (ToolChoice("auto"), {"mode": "AUTO"}),
        (ToolChoice("none"), {"mode": "NONE"}),
        (ToolChoice("required"), {"mode": "ANY"}),
        (ToolChoice("tool"), {"mode": "ANY"}),
    ],
)
def test_tool_choice_modes(choice: ToolChoice, expected: dict[str, Any]) -> None:
    req = Request(
        model="x", messages=(user(TextPart("q")),), tools=(ToolDefinition("f"),), tool_choice=choice
    )
    assert encode(req)["toolConfig"] == {"functionCallingConfig": expected}


def test_tool_choice_without_tools() -> None:
    quiet = Request(model="x", messages=(user(TextPart("q")),), tool_choice=ToolChoice("none"))
    deg = Degradations()
    assert "toolConfig" not in encode(quiet, deg) and deg.dropped == []
    forced = Request(model="x", messages=(user(TextPart("q")),), tool_choice=ToolChoice("required"))
    deg = Degradations()
    assert "toolConfig" not in encode(forced, deg)
    assert [f for f, _ in deg.dropped] == ["tool_choice"]


def test_changed_tool_choice_replaces_the_kept_gemini_tool_config() -> None:
    from dataclasses import replace

    req = decode_request(load("request_tool_choice_subset.json"))
    deg = Degradations()
    body = encode(replace(req, tool_choice=ToolChoice("none")), deg)
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}
    assert [f for f, _ in deg.dropped] == ["toolConfig"]


def test_invalid_gemini_function_names_are_a_400() -> None:
    req = Request(model="x", messages=(user(TextPart("q")),), tools=(ToolDefinition("1st-tool"),))
    with pytest.raises(GatewayError) as info:
        encode(req)
    assert info.value.param == "tools[0].name"


def test_generation_parameters_from_other_protocols() -> None:
    req = Request(
        model="x",
        messages=(user(TextPart("q")),),
        max_tokens=100,
        temperature=0.2,
        top_p=0.9,
        top_k=5,
        stop=("a", "b", "c", "d", "e", "f"),
        response_format=ResponseFormat(
            "json_schema", {"type": "object", "const": 1}, name="thing", strict=True
        ),
        user_id="u-1",
        cache_control=CacheControl(),
        extras={
            # As the decoders keep them: Chat's unmapped wire fields under "fields", Anthropic's
            # under "body" (bytespike/protocols/extras.py).
            "openai_chat": {"fields": {"logit_bias": {"1": 2}, "n": 1}},
            "anthropic_messages": {"body": {"metadata": {"user_id": "u"}}},
        },
    )
    deg = Degradations()
    body = encode(req, deg)
    assert body["generationConfig"] == {
        "maxOutputTokens": 100,
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 5,
        "stopSequences": ["a", "b", "c", "d", "e"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object", "const": 1},
    }
    assert [f for f, _ in deg.dropped] == [
        "logit_bias",
        "n",
        "metadata",
        "stop",
        "response_format.name",
        "user_id",
        "cache_control",
    ]
    assert_valid_request(body)


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        (ResponseFormat("text"), {"responseMimeType": "text/plain"}),
        (ResponseFormat("json_object"), {"responseMimeType": "application/json"}),
        (ResponseFormat("json_schema"), {"responseMimeType": "application/json"}),
    ],
)
def test_response_formats(response_format: ResponseFormat, expected: dict[str, Any]) -> None:
    req = Request(model="x", messages=(user(TextPart("q")),), response_format=response_format)
    assert encode(req)["generationConfig"] == expected


@pytest.mark.parametrize(
    ("reasoning", "expected"),
    [
        (Reasoning(enabled=False), {"thinkingBudget": 0}),
        (Reasoning(effort="none"), {"thinkingBudget": 0}),
        (Reasoning(enabled=True), {"thinkingBudget": -1}),
        (
            Reasoning(enabled=True, budget_tokens=4096, include_thoughts=True),
            {"thinkingBudget": 4096, "includeThoughts": True},
        ),
        (Reasoning(effort="minimal"), {"thinkingLevel": "MINIMAL"}),
        (Reasoning(enabled=True, effort="medium"), {"thinkingLevel": "MEDIUM"}),
        (Reasoning(effort="max"), {"thinkingLevel": "XHIGH"}),
        (Reasoning(), {}),
    ],
)
def test_reasoning_to_thinking_config(reasoning: Reasoning, expected: dict[str, Any]) -> None:
    req = Request(model="x", messages=(user(TextPart("q")),), reasoning=reasoning)
    assert encode(req)["generationConfig"] == {"thinkingConfig": expected}


def test_nothing_left_to_send_is_a_400() -> None:
    req = Request(model="x", messages=(Message("system", (TextPart("only a system prompt"),)),))
    with pytest.raises(GatewayError) as info:
        encode(req)
    assert info.value.status == 400 and info.value.param == "messages"


# ------------------------------------------------------------------ malformed requests


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({"contents": []}, "contents"),
        ({"contents": ["hi"]}, "contents[0]"),
        ({"contents": [{"role": "user", "parts": ["hi"]}]}, "contents[0].parts[0]"),
        ({"contents": [{"role": "bot", "parts": []}]}, "contents[0].role"),
        ({"contents": [{"role": "user"}]}, "contents[0].parts"),
        ({"contents": [{"role": "user", "parts": [{"text": 1}]}]}, "contents[0].parts[0].text"),
        (
            {"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": {}}]}]},
            "contents[0].parts[0]",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"text": "a", "thought": "yes"}]}]},
            "contents[0].parts[0].thought",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"text": "a", "thoughtSignature": 5}]}]},
            "contents[0].parts[0].thoughtSignature",
        ),
        ({"contents": [{"role": "user", "parts": [{"inlineData": "x"}]}]}, "contents[0].parts[0].inlineData"),
        (
            {"contents": [{"role": "user", "parts": [{"inlineData": {"data": "AA=="}}]}]},
            "contents[0].parts[0].inlineData.mimeType",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png"}}]}]},
            "contents[0].parts[0].inlineData.data",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": 3, "fileUri": "x"}}]}]},
            "contents[0].parts[0].fileData.mimeType",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"fileData": {}}]}]},
            "contents[0].parts[0].fileData.fileUri",
        ),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": []}]}]},
            "contents[0].parts[0].functionCall",
        ),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": {"args": {}}}]}]},
            "contents[0].parts[0].functionCall.name",
        ),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "id": 1}}]}]},
            "contents[0].parts[0].functionCall.id",
        ),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": "{}"}}]}]},
            "contents[0].parts[0].functionCall.args",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"functionResponse": "x"}]}]},
            "contents[0].parts[0].functionResponse",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"functionResponse": {"response": {}}}]}]},
            "contents[0].parts[0].functionResponse.name",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "id": 2}}]}]},
            "contents[0].parts[0].functionResponse.id",
        ),
        (
            {
                "contents": [
                    {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": "ok"}}]}
                ]
            },
            "contents[0].parts[0].functionResponse.response",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "parts": {}}}]}]},
            "contents[0].parts[0].functionResponse.parts",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "parts": [1]}}]}]},
            "contents[0].parts[0].functionResponse.parts[0]",
        ),
        (
            {
                "contents": [
                    {"role": "user", "parts": [{"functionResponse": {"name": "f", "parts": [{"text": "a"}]}}]}
                ]
            },
            "contents[0].parts[0].functionResponse.parts[0]",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"text": "a"}]}], "systemInstruction": 1},
            "systemInstruction",
        ),
        ({"contents": [{"parts": [{"text": "a"}]}], "system_instruction": [1]}, "systemInstruction"),
        ({"contents": [{"parts": [{"text": "a"}]}], "systemInstruction": {}}, "systemInstruction.parts"),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "systemInstruction": {"parts": [{"inlineData": {}}]}},
            "systemInstruction.parts[0]",
        ),
        ({"contents": [{"parts": [{"text": "a"}]}], "model": 5}, "model"),
        ({"contents": [{"parts": [{"text": "a"}]}], "tools": {}}, "tools"),
        ({"contents": [{"parts": [{"text": "a"}]}], "tools": [1]}, "tools[0]"),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "tools": [{"functionDeclarations": {}}]},
            "tools[0].functionDeclarations",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "tools": [{"functionDeclarations": [1]}]},
            "tools[0].functionDeclarations[0]",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "tools": [{"functionDeclarations": [{"name": ""}]}]},
            "tools[0].functionDeclarations[0].name",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "tools": [{"functionDeclarations": [{"name": "f", "description": 1}]}],
            },
            "tools[0].functionDeclarations[0].description",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "tools": [
                    {"functionDeclarations": [{"name": "f", "parameters": {}, "parametersJsonSchema": {}}]}
                ],
            },
            "tools[0].functionDeclarations[0].parametersJsonSchema",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "tools": [{"functionDeclarations": [{"name": "f", "parameters": []}]}],
            },
            "tools[0].functionDeclarations[0].parameters",
        ),
        ({"contents": [{"parts": [{"text": "a"}]}], "toolConfig": []}, "toolConfig"),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "toolConfig": {"functionCallingConfig": 1}},
            "toolConfig.functionCallingConfig",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}},
            },
            "toolConfig.functionCallingConfig.mode",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": "f"}},
            },
            "toolConfig.functionCallingConfig.allowedFunctionNames",
        ),
        ({"contents": [{"parts": [{"text": "a"}]}], "generationConfig": []}, "generationConfig"),
        ({"contents": [{"parts": [{"text": "a"}]}], "generation_config": []}, "generationConfig"),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"temperature": "hot"}},
            "generationConfig.temperature",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"topP": True}},
            "generationConfig.topP",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"topK": 2.5}},
            "generationConfig.topK",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"maxOutputTokens": -1}},
            "generationConfig.maxOutputTokens",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generation_config": {"max_output_tokens": "9"}},
            "generationConfig.maxOutputTokens",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"stopSequences": "x"}},
            "generationConfig.stopSequences",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "generationConfig": {"responseSchema": {}, "responseJsonSchema": {}},
            },
            "generationConfig.responseJsonSchema",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"responseJsonSchema": True}},
            "generationConfig.responseJsonSchema",
        ),
        (
            {"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"thinkingConfig": 1}},
            "generationConfig.thinkingConfig",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "generationConfig": {"thinkingConfig": {"thinkingBudget": -5}},
            },
            "generationConfig.thinkingConfig.thinkingBudget",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "generationConfig": {"thinkingConfig": {"thinkingLevel": 2}},
            },
            "generationConfig.thinkingConfig.thinkingLevel",
        ),
        (
            {
                "contents": [{"parts": [{"text": "a"}]}],
                "generationConfig": {"thinkingConfig": {"includeThoughts": "yes"}},
            },
            "generationConfig.thinkingConfig.includeThoughts",
        ),
    ],
)
def test_malformed_requests_are_a_400_naming_the_field(body: Any, param: str | None) -> None:
    with pytest.raises(GatewayError) as info:
        decode_request(body)
    assert info.value.status == 400
    assert info.value.param == param
    if param is not None:
        assert param in info.value.message


def test_fast_path_helpers_are_unchanged() -> None:
    check_request(load("request_text.json"))
    assert max_output_tokens(load("request_system.json")) == 800
    assert max_output_tokens({}) == 0
