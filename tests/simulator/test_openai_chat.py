"""The official openai SDK against the simulator's Chat Completions surface."""

from __future__ import annotations

import openai
import orjson
import pytest

from tests.simulator.conftest import API_KEY, RunningSimulator

PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city", "unit"],
}
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": PARAMETERS}}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}, "required": []}},
}


def user(text: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": text}]


def test_text_reply_with_cache_usage(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-sim", messages=user("Hello [[sim:input=10,cache_read=90,cache_write=5,words=6]]")
    )
    choice = completion.choices[0]
    assert choice.message.content == "Hello from gpt-sim. You said: Hello"
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    # prompt_tokens includes cached and cache-write tokens (protocols.md §2.5)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (105, 6, 111)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 90
    assert usage.prompt_tokens_details.cache_write_tokens == 5


def test_stream_with_include_usage(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-sim",
        messages=user("Stream me [[sim:chunks=4,reasoning=7,input=20]]"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content_chunks = [chunk for chunk in chunks if chunk.choices]
    assert content_chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in content_chunks)
    assert text == "Hello from gpt-sim. You said: Stream me"
    assert len([chunk for chunk in content_chunks if chunk.choices[0].delta.content]) == 4
    assert content_chunks[-1].choices[0].finish_reason == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.prompt_tokens == 20
    assert usage_chunk.usage.completion_tokens == 7 + 7  # seven words plus seven reasoning tokens
    assert usage_chunk.usage.completion_tokens_details is not None
    assert usage_chunk.usage.completion_tokens_details.reasoning_tokens == 7
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(simulator: RunningSimulator) -> None:
    body = {"model": "gpt-sim", "stream": True, "messages": user("hi")}
    status, headers, raw = simulator.request(
        "POST", "/v1/chat/completions", body, {"authorization": f"Bearer {API_KEY}"}
    )
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    frames = [frame.removeprefix("data: ") for frame in raw.decode().split("\n\n") if frame]
    assert frames[-1] == "[DONE]"
    chunks = [orjson.loads(frame) for frame in frames[:-1]]
    assert all(chunk["choices"] for chunk in chunks)
    assert all("usage" not in chunk for chunk in chunks)


def test_parallel_tool_calls_through_the_stream_helper(openai_client: openai.OpenAI) -> None:
    with openai_client.chat.completions.stream(
        model="gpt-sim",
        messages=user("both [[sim:parallel=2]]"),
        tools=[WEATHER_TOOL, TIME_TOOL],
        stream_options={"include_usage": True},
    ) as stream:
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [call.function.name for call in calls] == ["get_weather", "get_time"]
    assert orjson.loads(calls[0].function.arguments) == {"city": "city-example", "unit": "c"}
    assert orjson.loads(calls[1].function.arguments) == {}
    assert len({call.id for call in calls}) == 2
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_single_tool_call_non_stream_and_tool_result_turn(openai_client: openai.OpenAI) -> None:
    first = openai_client.chat.completions.create(
        model="gpt-sim", messages=user("weather?"), tools=[WEATHER_TOOL]
    )
    [call] = first.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert set(orjson.loads(call.function.arguments)) == {"city", "unit"}
    second = openai_client.chat.completions.create(
        model="gpt-sim",
        tools=[WEATHER_TOOL],
        messages=[
            *user("weather?"),
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "rain all week"},
        ],
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "Hello from gpt-sim. The tool returned: rain all week"


def test_deepseek_models_show_reasoning_content(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="deepseek-reasoner", messages=user("think [[sim:reasoning=5]]")
    )
    message = completion.choices[0].message
    assert message.model_extra is not None
    assert message.model_extra["reasoning_content"] == "Let me think about think"
    with openai_client.chat.completions.stream(
        model="deepseek-reasoner", messages=user("think [[sim:reasoning=5]]")
    ) as stream:
        streamed = stream.get_final_completion()
    assert streamed.choices[0].message.model_extra["reasoning_content"] == "Let me think about think"  # type: ignore[index]
    other = openai_client.chat.completions.create(model="gpt-sim", messages=user("think [[sim:reasoning=5]]"))
    assert "reasoning_content" not in (other.choices[0].message.model_extra or {})


def test_max_tokens_finishes_with_length(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-sim", messages=user("long"), max_completion_tokens=3
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "Hello from gpt-sim."


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, openai.BadRequestError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (503, openai.InternalServerError),
    ],
)
def test_error_directive_raises_the_typed_error(
    openai_client: openai.OpenAI, status: int, error_class: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error_class) as caught:
        openai_client.chat.completions.create(model="gpt-sim", messages=user(f"[[sim:error={status}]]"))
    assert caught.value.status_code == status
    assert (
        isinstance(caught.value.body, dict)
        and caught.value.body["message"] == f"Simulated HTTP {status} error"
    )


def test_midstream_error_raises(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-sim", messages=user("go [[sim:midstream_error=3]]"), stream=True
    )
    seen = []
    with pytest.raises(openai.APIError, match="Simulated mid-stream failure"):
        for chunk in stream:
            seen.append(chunk.choices[0].delta.content)
    assert [piece for piece in seen if piece] and len([piece for piece in seen if piece]) == 3


def test_error_body_is_a_200_carrying_an_error_object(simulator: RunningSimulator) -> None:
    body = {"model": "gpt-sim", "messages": user("[[sim:error_body=429]]")}
    status, _, raw = simulator.request(
        "POST", "/v1/chat/completions", body, {"authorization": f"Bearer {API_KEY}"}
    )
    assert status == 200
    assert orjson.loads(raw)["error"]["code"] == "rate_limit_exceeded"


def test_wrong_or_missing_key_is_401(simulator: RunningSimulator) -> None:
    client = openai.OpenAI(base_url=simulator.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-sim", messages=user("hi"))
    client.close()
    assert caught.value.code == "invalid_api_key"
    status, _, raw = simulator.request(
        "POST", "/v1/chat/completions", {"model": "gpt-sim", "messages": user("hi")}
    )
    assert status == 401
    assert orjson.loads(raw)["error"]["type"] == "invalid_request_error"


def test_model_list(openai_client: openai.OpenAI) -> None:
    assert "sim-gpt" in [model.id for model in openai_client.models.list()]
