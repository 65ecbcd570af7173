from __future__ import annotations

import orjson
import pytest

from bytespike.simulator.directives import NO_DIRECTIVES, Directives, Pacing
from bytespike.simulator.plan import (
    FinishReason,
    OfferedTool,
    TurnRequest,
    plan_reply,
    split_fragments,
    split_text,
)

PACING = Pacing(latency_ms=0, chunk_delay_ms=0, chunks=None, words=None)
WEATHER = OfferedTool(
    "get_weather",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = OfferedTool("get_time", {"type": "object", "properties": {}, "required": []})
BODY = b'{"x": "' + b"a" * 393 + b'"}'  # 400 bytes -> 100 input tokens


def turn(**overrides: object) -> TurnRequest:
    fields: dict[str, object] = {
        "model": "sim-model",
        "stream": False,
        "user_text": "what is the weather in Paris today",
    }
    fields.update(overrides)
    return TurnRequest(**fields)  # type: ignore[arg-type]


def test_plain_reply_echoes_the_user_and_counts_words_and_bytes() -> None:
    plan = plan_reply(turn(), NO_DIRECTIVES, PACING, BODY)
    assert plan.text == "Hello from sim-model. You said: what is the weather in Paris today"
    assert plan.finish is FinishReason.END
    assert plan.tool_calls == ()
    assert plan.usage.uncached_input_tokens == 100
    assert plan.usage.output_tokens == 12
    assert plan.usage.input_tokens == 100


def test_echo_is_cut_to_twelve_words() -> None:
    words = " ".join(f"w{i}" for i in range(30))
    plan = plan_reply(turn(user_text=words), NO_DIRECTIVES, PACING, BODY)
    assert plan.text.endswith("You said: " + " ".join(f"w{i}" for i in range(12)))


@pytest.mark.parametrize("count", [0, 3, 40])
def test_words_pads_or_truncates_to_exactly_that_many(count: int) -> None:
    pacing = Pacing(0, 0, None, count)
    plan = plan_reply(turn(), NO_DIRECTIVES, pacing, BODY)
    assert len(plan.text.split()) == count
    assert plan.usage.output_tokens == count


def test_offered_tools_are_called_by_default_with_arguments_that_satisfy_the_schema() -> None:
    plan = plan_reply(turn(tools=(WEATHER, CLOCK)), NO_DIRECTIVES, PACING, BODY)
    assert plan.finish is FinishReason.TOOL_USE
    [call] = plan.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {"city": "city-example"}
    assert orjson.loads(call.arguments_json) == call.arguments
    assert "".join(call.argument_fragments) == call.arguments_json
    assert len(call.argument_fragments) == 3
    assert plan.usage.output_tokens == len(plan.text.split()) + len(call.arguments_json) // 4


def test_a_tool_result_turn_is_answered_in_text_mentioning_the_result() -> None:
    plan = plan_reply(
        turn(tools=(WEATHER,), tool_result_text="21 degrees and sunny"), NO_DIRECTIVES, PACING, BODY
    )
    assert plan.tool_calls == ()
    assert plan.finish is FinishReason.END
    assert plan.text == "Hello from sim-model. The tool returned: 21 degrees and sunny"


def test_tool_directive_calls_again_after_a_tool_result_and_no_tool_suppresses_calls() -> None:
    again = plan_reply(turn(tools=(WEATHER,), tool_result_text="x"), Directives(tool=True), PACING, BODY)
    assert [c.name for c in again.tool_calls] == ["get_weather"]
    silent = plan_reply(turn(tools=(WEATHER,)), Directives(no_tool=True), PACING, BODY)
    assert silent.tool_calls == ()
    assert silent.finish is FinishReason.END


def test_parallel_calls_use_tools_round_robin_with_distinct_ids() -> None:
    plan = plan_reply(turn(tools=(WEATHER, CLOCK)), Directives(parallel=3), PACING, BODY)
    assert [c.name for c in plan.tool_calls] == ["get_weather", "get_time", "get_weather"]
    assert len({c.id_suffix for c in plan.tool_calls}) == 3


def test_tool_choice_is_honoured() -> None:
    forced = plan_reply(turn(tools=(WEATHER, CLOCK), forced_tool="get_time"), NO_DIRECTIVES, PACING, BODY)
    assert [c.name for c in forced.tool_calls] == ["get_time"]
    disabled = plan_reply(turn(tools=(WEATHER,), tools_disabled=True), NO_DIRECTIVES, PACING, BODY)
    assert disabled.tool_calls == ()


def test_max_tokens_cuts_the_text_and_drops_tool_calls() -> None:
    plan = plan_reply(turn(tools=(WEATHER,), max_tokens=3), NO_DIRECTIVES, PACING, BODY)
    assert plan.text == "Hello from sim-model."
    assert plan.tool_calls == ()
    assert plan.finish is FinishReason.MAX_TOKENS


def test_a_requested_stop_sequence_in_the_text_ends_the_reply_there() -> None:
    plan = plan_reply(turn(stop_sequences=("nope", "weather")), NO_DIRECTIVES, PACING, BODY)
    assert plan.text == "Hello from sim-model. You said: what is the "
    assert plan.finish is FinishReason.STOP_SEQUENCE
    assert plan.stop_sequence == "weather"


def test_finish_directives() -> None:
    stop = plan_reply(turn(tools=(WEATHER,)), Directives(stop="###"), PACING, BODY)
    assert (stop.finish, stop.stop_sequence, stop.tool_calls) == (FinishReason.STOP_SEQUENCE, "###", ())
    cut = plan_reply(turn(), Directives(max_tokens_stop=True), PACING, BODY)
    assert (cut.finish, cut.stop_sequence) == (FinishReason.MAX_TOKENS, None)


def test_usage_directives() -> None:
    plan = plan_reply(
        turn(),
        Directives(input=50, cache_read=30, cache_write=20, reasoning=500),
        Pacing(0, 0, None, 4),
        BODY,
    )
    usage = plan.usage
    assert (usage.uncached_input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (50, 30, 20)
    assert usage.input_tokens == 100
    assert usage.reasoning_tokens == 500
    assert usage.output_tokens == 504
    assert usage.total_tokens == 604
    assert len(plan.thinking.split()) == 32  # shown thinking is capped; the tokens are not
    assert "".join(plan.thinking_chunks) == plan.thinking
    assert plan.signature


def test_equal_requests_give_equal_plans() -> None:
    first = plan_reply(turn(tools=(WEATHER,)), NO_DIRECTIVES, PACING, BODY)
    second = plan_reply(turn(tools=(WEATHER,)), NO_DIRECTIVES, PACING, BODY)
    other = plan_reply(turn(tools=(WEATHER,)), NO_DIRECTIVES, PACING, BODY + b" ")
    assert first == second
    assert first.key != other.key


@pytest.mark.parametrize("count", [None, 1, 2, 5, 12, 30, 1000])
def test_split_text_rejoins_and_gives_the_asked_number_of_non_empty_pieces(count: int | None) -> None:
    text = "Hello from sim-model. You said: hi there"
    pieces = split_text(text, count)
    assert "".join(pieces) == text
    assert all(pieces)
    expected = {None: 7, 1000: len(text)}.get(count, count)
    assert len(pieces) == expected


def test_split_fragments() -> None:
    assert split_fragments('{"a":1}', 3) == ('{"a', '":', "1}")
    assert split_fragments("{}", 3) == ("{", "}")
    assert split_fragments("", 3) == ()
