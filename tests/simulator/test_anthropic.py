"""The official anthropic SDK against the simulator's Anthropic Messages surface."""

from __future__ import annotations

import anthropic
import orjson
import pytest

from tests.simulator.conftest import API_KEY, RunningSimulator

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "note": {"type": "string"}},
        "required": ["city", "days"],
    },
}
TIME_TOOL = {
    "name": "get_time",
    "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
}


def user(text: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": text}]


def test_text_reply(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model="claude-sim", max_tokens=100, messages=user("Hi there, simulator")
    )
    assert message.id.startswith("msg_")
    assert message.model == "claude-sim"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hello from claude-sim. You said: Hi there, simulator"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 8
    assert message.usage.cache_read_input_tokens == 0


def test_streamed_text_equals_the_whole_reply(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(
        model="claude-sim", max_tokens=100, messages=user("Count [[sim:words=30,chunks=6]]")
    ) as stream:
        deltas = [event.delta.text for event in stream if event.type == "content_block_delta"]
        final = stream.get_final_message()
    assert len(deltas) == 6
    assert "".join(deltas) == final.content[0].text
    assert len(final.content[0].text.split()) == 30
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 30


def test_usage_reports_cache_tokens_outside_input_tokens(anthropic_client: anthropic.Anthropic) -> None:
    text = "Cached [[sim:input=40,cache_read=300,cache_write=25,words=5]]"
    message = anthropic_client.messages.create(model="claude-sim", max_tokens=100, messages=user(text))
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (40, 300)
    assert message.usage.cache_creation_input_tokens == 25
    assert message.usage.output_tokens == 5
    with anthropic_client.messages.stream(model="claude-sim", max_tokens=100, messages=user(text)) as stream:
        final = stream.get_final_message()
    assert (
        final.usage.input_tokens,
        final.usage.cache_read_input_tokens,
        final.usage.cache_creation_input_tokens,
    ) == (
        40,
        300,
        25,
    )
    assert final.usage.output_tokens == 5


def test_tool_call_when_tools_are_offered(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model="claude-sim", max_tokens=200, messages=user("Weather in Paris?"), tools=[WEATHER_TOOL]
    )
    assert message.stop_reason == "tool_use"
    [call] = [block for block in message.content if block.type == "tool_use"]
    assert call.name == "get_weather"
    assert call.id.startswith("toolu_")
    assert call.input == {"city": "city-example", "days": 1}


def test_streamed_parallel_tool_calls_with_thinking(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(
        model="claude-sim",
        max_tokens=200,
        messages=user("Both please [[sim:parallel=2,reasoning=12]]"),
        tools=[WEATHER_TOOL, TIME_TOOL],
    ) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text", "tool_use", "tool_use"]
    thinking, _, weather, clock = final.content
    assert thinking.thinking.startswith("Let me think about Both please")
    assert thinking.signature
    assert (weather.name, weather.input) == ("get_weather", {"city": "city-example", "days": 1})
    assert (clock.name, clock.input) == ("get_time", {"zone": "zone-example"})
    assert weather.id != clock.id
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens_details is not None
    assert final.usage.output_tokens_details.thinking_tokens == 12


def test_tool_result_round_trip(anthropic_client: anthropic.Anthropic) -> None:
    first = anthropic_client.messages.create(
        model="claude-sim", max_tokens=200, messages=user("Weather?"), tools=[WEATHER_TOOL]
    )
    call = next(block for block in first.content if block.type == "tool_use")
    second = anthropic_client.messages.create(
        model="claude-sim",
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[
            *user("Weather?"),
            {
                "role": "assistant",
                "content": [block.model_dump(exclude_none=True) for block in first.content],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C, cloudy"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "Hello from claude-sim. The tool returned: 18 C, cloudy"


def test_max_tokens_and_stop_sequences(anthropic_client: anthropic.Anthropic) -> None:
    cut = anthropic_client.messages.create(model="claude-sim", max_tokens=2, messages=user("long please"))
    assert (cut.stop_reason, cut.content[0].text) == ("max_tokens", "Hello from")
    stopped = anthropic_client.messages.create(
        model="claude-sim", max_tokens=100, messages=user("alpha beta gamma"), stop_sequences=["beta"]
    )
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "beta")
    assert stopped.content[0].text == "Hello from claude-sim. You said: alpha "


def test_count_tokens(anthropic_client: anthropic.Anthropic) -> None:
    assert (
        anthropic_client.messages.count_tokens(
            model="claude-sim", messages=user("[[sim:input=77]] hi")
        ).input_tokens
        == 77
    )
    counted = anthropic_client.messages.count_tokens(model="claude-sim", messages=user("x" * 400))
    assert counted.input_tokens >= 100


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_error_directive_raises_the_typed_error(
    anthropic_client: anthropic.Anthropic,
    status: int,
    error_class: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    with pytest.raises(error_class) as caught:
        anthropic_client.messages.create(
            model="claude-sim", max_tokens=10, messages=user(f"[[sim:error={status}]]")
        )
    assert caught.value.status_code == status
    assert caught.value.body["error"]["type"] == error_type  # type: ignore[index]
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "1"


def test_error_directive_before_a_stream(anthropic_client: anthropic.Anthropic) -> None:
    with (
        pytest.raises(anthropic.RateLimitError),
        anthropic_client.messages.stream(
            model="claude-sim", max_tokens=10, messages=user("[[sim:error=429]]")
        ) as stream,
    ):
        stream.get_final_message()


def test_midstream_error_raises_after_the_first_deltas(anthropic_client: anthropic.Anthropic) -> None:
    seen: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        anthropic_client.messages.stream(
            model="claude-sim", max_tokens=100, messages=user("go [[sim:midstream_error=2]]")
        ) as stream,
    ):
        for event in stream:
            if event.type == "content_block_delta":
                seen.append(event.delta.text)
    assert len(seen) == 2
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_wrong_key_is_an_authentication_error(simulator: RunningSimulator) -> None:
    client = anthropic.Anthropic(base_url=simulator.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(model="claude-sim", max_tokens=10, messages=user("hi"))
    client.close()
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_x_api_key_header_is_accepted_and_missing_key_refused(simulator: RunningSimulator) -> None:
    body = {"model": "claude-sim", "max_tokens": 10, "messages": user("hi")}
    status, headers, raw = simulator.request("POST", "/v1/messages?beta=true", body, {"x-api-key": API_KEY})
    assert status == 200
    assert orjson.loads(raw)["content"][0]["text"] == "Hello from claude-sim. You said: hi"
    assert headers["request-id"].startswith("req_")
    status, _, raw = simulator.request("POST", "/v1/messages", body)
    assert status == 401
    assert orjson.loads(raw)["error"]["type"] == "authentication_error"


def test_raw_stream_event_order_and_block_indices(simulator: RunningSimulator) -> None:
    body = {
        "model": "claude-sim",
        "max_tokens": 100,
        "stream": True,
        "tools": [WEATHER_TOOL],
        "messages": user("go [[sim:reasoning=3,chunks=2,cache_read=9]]"),
    }
    status, headers, raw = simulator.request("POST", "/v1/messages", body, {"x-api-key": API_KEY})
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["request-id"].startswith("req_")
    frames = [frame for frame in raw.decode().split("\n\n") if frame]
    events = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        name = event_line.removeprefix("event: ")
        data = orjson.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        events.append(data)
    names = [event["type"] for event in events]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    starts = [event for event in events if event["type"] == "content_block_start"]
    assert [event["index"] for event in starts] == [0, 1, 2]
    assert [event["content_block"]["type"] for event in starts] == ["thinking", "text", "tool_use"]
    json_deltas = [
        event["delta"]["partial_json"]
        for event in events
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta"
    ]
    assert len([piece for piece in json_deltas if piece]) == 3
    assert orjson.loads("".join(json_deltas)) == {"city": "city-example", "days": 1}
    assert events[0]["message"]["usage"]["cache_read_input_tokens"] == 9
    assert events[-2]["usage"]["cache_read_input_tokens"] == 9
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
