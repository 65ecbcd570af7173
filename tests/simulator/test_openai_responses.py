"""The official openai SDK against the simulator's Responses surface."""

from __future__ import annotations

import openai
import orjson
import pytest

from tests.simulator.conftest import API_KEY, RunningSimulator

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 2}},
        "required": ["city", "days"],
    },
}
TIME_TOOL = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def test_text_reply_with_usage(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(
        model="gpt-sim", input="Hello responses [[sim:input=30,cache_read=70,reasoning=4,words=5]]"
    )
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == "Hello from gpt-sim. You said:"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (100, 9, 109)
    assert usage.input_tokens_details.cached_tokens == 70
    assert usage.output_tokens_details.reasoning_tokens == 4


def test_input_tokens_count(openai_client: openai.OpenAI) -> None:
    counted = openai_client.responses.input_tokens.count(
        model="gpt-sim", input="Count me [[sim:input=30,cache_read=70]]"
    )
    assert (counted.object, counted.input_tokens) == ("response.input_tokens", 100)
    assert openai_client.responses.input_tokens.count(model="gpt-sim", input="x" * 400).input_tokens >= 100


def test_function_call_and_its_output(openai_client: openai.OpenAI) -> None:
    first = openai_client.responses.create(model="gpt-sim", input="weather?", tools=[WEATHER_TOOL])
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather"
    assert orjson.loads(call.arguments) == {"city": "city-example", "days": 2}
    second = openai_client.responses.create(
        model="gpt-sim",
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "weather?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 25 C"},
        ],
    )
    assert [item.type for item in second.output] == ["message"]
    assert second.output_text == "Hello from gpt-sim. The tool returned: sunny, 25 C"


def test_stream_helper_accepts_the_full_lifecycle(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.stream(
        model="gpt-sim",
        input="all of it [[sim:reasoning=6,parallel=2,chunks=3,cache_write=11]]",
        tools=[WEATHER_TOOL, TIME_TOOL],
    ) as stream:
        text_deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call", "function_call"]
    assert len(text_deltas) == 3
    assert "".join(text_deltas) == final.output_text == "Hello from gpt-sim. Calling get_weather, get_time."
    calls = [item for item in final.output if item.type == "function_call"]
    assert [call.name for call in calls] == ["get_weather", "get_time"]
    assert orjson.loads(calls[0].arguments) == {"city": "city-example", "days": 2}
    assert orjson.loads(calls[1].arguments) == {}
    assert final.usage is not None
    assert final.usage.input_tokens_details.cache_write_tokens == 11
    assert final.usage.output_tokens_details.reasoning_tokens == 6


def test_raw_events_are_numbered_and_keep_one_response_id(openai_client: openai.OpenAI) -> None:
    events = list(
        openai_client.responses.create(model="gpt-sim", input="go", tools=[WEATHER_TOOL], stream=True)
    )
    assert [event.sequence_number for event in events] == list(range(len(events)))
    lifecycle = [
        event
        for event in events
        if event.type in ("response.created", "response.in_progress", "response.completed")
    ]
    assert [event.type for event in lifecycle] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    assert len({event.response.id for event in lifecycle}) == 1
    added = [event.output_index for event in events if event.type == "response.output_item.added"]
    done = [event.output_index for event in events if event.type == "response.output_item.done"]
    assert added == done == [0, 1]
    assert any(event.type == "response.function_call_arguments.delta" for event in events)


def test_max_output_tokens_makes_the_response_incomplete(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model="gpt-sim", input="long", max_output_tokens=2)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Hello from"
    events = list(
        openai_client.responses.create(model="gpt-sim", input="long", max_output_tokens=2, stream=True)
    )
    assert events[-1].type == "response.incomplete"


def test_midstream_error_sends_error_and_failed_events(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.stream(model="gpt-sim", input="go [[sim:midstream_error=1]]") as stream:
        events = list(stream)
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            stream.get_final_response()
    types = [event.type for event in events]
    assert types.count("response.output_text.delta") == 1
    assert types[-2:] == ["error", "response.failed"]
    assert events[-1].response.status == "failed"  # type: ignore[union-attr]
    assert events[-1].response.error is not None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "error_class"), [(400, openai.BadRequestError), (500, openai.InternalServerError)]
)
def test_error_directive_raises_the_typed_error(
    openai_client: openai.OpenAI, status: int, error_class: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error_class) as caught:
        openai_client.responses.create(model="gpt-sim", input=f"[[sim:error={status}]]")
    assert caught.value.status_code == status


def test_wrong_key_is_401(simulator: RunningSimulator) -> None:
    client = openai.OpenAI(base_url=simulator.url + "/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.responses.create(model="gpt-sim", input="hi")
    client.close()


def test_input_item_list_without_type_is_read(simulator: RunningSimulator) -> None:
    body = {
        "model": "gpt-sim",
        "input": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "input_text", "text": "easy message"}]},
        ],
    }
    status, _, raw = simulator.request("POST", "/v1/responses", body, {"authorization": f"Bearer {API_KEY}"})
    assert status == 200
    assert (
        orjson.loads(raw)["output"][0]["content"][0]["text"] == "Hello from gpt-sim. You said: easy message"
    )
