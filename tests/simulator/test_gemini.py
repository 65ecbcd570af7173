"""The official google-genai SDK against the simulator's Gemini surface."""

from __future__ import annotations

import orjson
import pytest
from google import genai
from google.genai import errors, types

from tests.simulator.conftest import API_KEY, RunningSimulator, make_gemini_client

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "days": types.Schema(type=types.Type.INTEGER),
        },
        required=["city", "days"],
    ),
)
CLOCK = types.FunctionDeclaration(
    name="get_time",
    parameters_json_schema={
        "type": "object",
        "properties": {"zone": {"type": "string"}},
        "required": ["zone"],
    },
)
TOOLS = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER, CLOCK])])


def test_text_reply_on_v1beta_and_default_v1(
    gemini_client: genai.Client, gemini_v1_client: genai.Client, simulator: RunningSimulator
) -> None:
    beta = gemini_client.models.generate_content(model="gemini-sim", contents="Hi Gemini")
    assert beta.text == "Hello from gemini-sim. You said: Hi Gemini"
    assert beta.candidates is not None and beta.candidates[0].finish_reason == types.FinishReason.STOP
    v1 = gemini_v1_client.models.generate_content(model="gemini-sim", contents="Hi v1")
    assert v1.text == "Hello from gemini-sim. You said: Hi v1"
    paths = [record["path"] for record in simulator.recorded()[-2:]]
    assert paths == ["/v1beta/models/gemini-sim:generateContent", "/v1/models/gemini-sim:generateContent"]


def test_usage_counts_cache_inside_prompt_and_thoughts_outside_candidates(
    gemini_client: genai.Client,
) -> None:
    response = gemini_client.models.generate_content(
        model="gemini-sim", contents="Hi [[sim:input=10,cache_read=40,reasoning=9,words=3]]"
    )
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.cached_content_token_count) == (50, 40)
    assert (usage.candidates_token_count, usage.thoughts_token_count, usage.total_token_count) == (3, 9, 62)
    parts = response.candidates[0].content.parts  # type: ignore[index,union-attr]
    assert parts is not None
    assert parts[0].thought is True
    assert parts[0].thought_signature  # base64 on the wire, bytes in the SDK
    assert parts[1].text == "Hello from gemini-sim."


def test_stream_sse(gemini_client: genai.Client) -> None:
    chunks = list(
        gemini_client.models.generate_content_stream(
            model="gemini-sim", contents="Stream it [[sim:chunks=4]]"
        )
    )
    assert len(chunks) == 4
    assert "".join(chunk.text or "" for chunk in chunks) == "Hello from gemini-sim. You said: Stream it"
    assert all(chunk.candidates[0].finish_reason is None for chunk in chunks[:-1])  # type: ignore[index]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    final_usage = chunks[-1].usage_metadata
    assert final_usage is not None and final_usage.candidates_token_count == 7


def test_stream_on_default_v1(gemini_v1_client: genai.Client) -> None:
    chunks = list(gemini_v1_client.models.generate_content_stream(model="gemini-sim", contents="v1 stream"))
    assert "".join(chunk.text or "" for chunk in chunks) == "Hello from gemini-sim. You said: v1 stream"


def test_function_calls_arrive_whole_with_ids(gemini_client: genai.Client) -> None:
    response = gemini_client.models.generate_content(model="gemini-sim", contents="weather?", config=TOOLS)
    [call] = response.function_calls or []
    assert call.name == "get_weather"
    assert call.id and call.id.startswith("call_")
    assert call.args == {"city": "city-example", "days": 1}
    assert response.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]


def test_streamed_parallel_function_calls_with_thoughts(gemini_client: genai.Client) -> None:
    chunks = list(
        gemini_client.models.generate_content_stream(
            model="gemini-sim", contents="both [[sim:parallel=2,reasoning=5]]", config=TOOLS
        )
    )
    calls = [call for chunk in chunks for call in chunk.function_calls or []]
    assert [(call.name, call.args) for call in calls] == [
        ("get_weather", {"city": "city-example", "days": 1}),
        ("get_time", {"zone": "zone-example"}),
    ]
    parts = [part for chunk in chunks for part in chunk.candidates[0].content.parts]  # type: ignore[index,union-attr]
    thoughts = [part for part in parts if part.thought]
    assert "".join(part.text or "" for part in thoughts) == "Let me think about both"
    signed_call = next(part for part in parts if part.function_call is not None)
    assert signed_call.thought_signature
    assert chunks[-1].usage_metadata.thoughts_token_count == 5  # type: ignore[union-attr]


def test_function_response_turn(gemini_client: genai.Client) -> None:
    contents = [
        types.Content(role="user", parts=[types.Part(text="weather?")]),
        types.Content(
            role="model",
            parts=[types.Part(function_call=types.FunctionCall(name="get_weather", args={"city": "Oslo"}))],
        ),
        types.Content(
            role="user",
            parts=[
                types.Part(
                    function_response=types.FunctionResponse(
                        name="get_weather", response={"forecast": "snow"}
                    )
                )
            ],
        ),
    ]
    response = gemini_client.models.generate_content(model="gemini-sim", contents=contents, config=TOOLS)
    assert response.function_calls is None
    assert response.text == 'Hello from gemini-sim. The tool returned: {"forecast":"snow"}'


def test_max_output_tokens(gemini_client: genai.Client) -> None:
    response = gemini_client.models.generate_content(
        model="gemini-sim", contents="long", config=types.GenerateContentConfig(max_output_tokens=2)
    )
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS  # type: ignore[index]
    assert response.text == "Hello from"


def test_count_tokens(gemini_client: genai.Client) -> None:
    assert (
        gemini_client.models.count_tokens(model="gemini-sim", contents="[[sim:input=33]]").total_tokens == 33
    )


@pytest.mark.parametrize(
    ("status", "grpc_status"), [(429, "RESOURCE_EXHAUSTED"), (503, "UNAVAILABLE"), (404, "NOT_FOUND")]
)
def test_error_directive(gemini_client: genai.Client, status: int, grpc_status: str) -> None:
    error_class = errors.ClientError if status < 500 else errors.ServerError
    with pytest.raises(error_class) as caught:
        gemini_client.models.generate_content(model="gemini-sim", contents=f"[[sim:error={status}]]")
    assert caught.value.code == status
    assert caught.value.status == grpc_status


def test_midstream_error_raises(gemini_client: genai.Client) -> None:
    texts = []
    with pytest.raises(errors.ServerError) as caught:
        for chunk in gemini_client.models.generate_content_stream(
            model="gemini-sim", contents="go [[sim:midstream_error=2]]"
        ):
            texts.append(chunk.text)
    assert len(texts) == 2
    assert caught.value.code == 500


def test_wrong_key_is_400_and_missing_key_403(simulator: RunningSimulator) -> None:
    client = make_gemini_client(simulator, "v1beta", api_key="wrong")
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-sim", contents="hi")
    client.close()
    assert caught.value.code == 400
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    status, _, raw = simulator.request("POST", "/v1beta/models/gemini-sim:generateContent", body)
    assert status == 403
    assert orjson.loads(raw)["error"]["status"] == "PERMISSION_DENIED"
    status, _, raw = simulator.request(
        "POST", f"/v1beta/models/gemini-sim:generateContent?key={API_KEY}", body
    )
    assert status == 200


def test_prefixed_model_path_and_json_array_stream(simulator: RunningSimulator) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "array please [[sim:chunks=2]]"}]}]}
    headers = {"x-goog-api-key": API_KEY}
    status, response_headers, raw = simulator.request(
        "POST", "/v1beta/models/models/gemini-sim:streamGenerateContent", body, headers
    )
    assert status == 200
    assert response_headers["content-type"].startswith("application/json")
    chunks = orjson.loads(raw)
    assert [chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks] == [
        "Hello from gemini-sim. You ",
        "said: array please",
    ]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "finishReason" not in chunks[0]["candidates"][0]
    status, response_headers, raw = simulator.request(
        "POST", "/v1beta/models/gemini-sim:streamGenerateContent?alt=sse", body, headers
    )
    assert response_headers["content-type"] == "text/event-stream"
    frames = raw.split(b"\r\n\r\n")
    assert frames[-1] == b""
    assert [orjson.loads(frame.removeprefix(b"data: "))["modelVersion"] for frame in frames[:-1]] == [
        "gemini-sim"
    ] * 2
