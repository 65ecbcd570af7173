"""Catalogue resolution: aliases, retired names, groups, and operator additions."""

from __future__ import annotations

import pytest

from bytespike.errors import GatewayError
from bytespike.routing.catalogue import CatalogueError, load_catalogue

CAT = load_catalogue()


def test_groups_of_the_spec() -> None:
    assert set(CAT.groups["default"].models) == set(CAT.models)
    assert {m for m in CAT.groups["claude-default"].models} == {
        *(m for m in CAT.models if m.startswith("claude-")),
        "deepseek-v3-anthropic",
    }
    assert all(m.startswith("gemini-") for m in CAT.groups["gemini-default"].models)


def test_dotted_gemini_alias_and_unknown_and_retired_names() -> None:
    assert CAT.resolve("gemini-3.1-pro").slug == "gemini-3-1-pro"
    with pytest.raises(GatewayError) as unknown:
        CAT.resolve("gpt-9")
    assert (unknown.value.status, unknown.value.code) == (400, "model_not_found")
    with pytest.raises(GatewayError) as retired:
        CAT.resolve("deepseek-coder")
    assert retired.value.status == 404 and "V4" in retired.value.message
    with pytest.raises(GatewayError) as legacy:
        CAT.resolve("deepseek-chat")
    assert legacy.value.status == 400 and "deepseek-v4-flash" in legacy.value.message
    for bad in (None, 5, "", ["x"]):
        with pytest.raises(GatewayError) as exc:
            CAT.resolve(bad)
        assert exc.value.status == 400 and exc.value.param == "model"


def test_group_check_and_allow_list() -> None:
    claude = CAT.resolve("claude-sonnet-4-6")
    CAT.check_group(claude, "claude-default", None)
    with pytest.raises(GatewayError) as exc:
        CAT.check_group(claude, "gemini-default", None)
    assert (exc.value.status, exc.value.code) == (403, "model_not_in_group")
    with pytest.raises(GatewayError):
        CAT.check_group(claude, "default", frozenset({"gpt-5-4"}))


def test_operator_can_add_models_and_groups() -> None:
    cat = load_catalogue(
        {
            "models": [
                {
                    "slug": "my-model",
                    "family": "gpt",
                    "provider": "openai",
                    "price": {"input": 1, "output": 2},
                },
                {"slug": "gpt-5-4", "price": {"input": 9, "output": 9}},
            ],
            "groups": {"team": {"models": ["my-model", "claude-haiku-*"]}},
        }
    )
    assert cat.models["my-model"].price.cache_read == 1.0
    assert cat.models["gpt-5-4"].price.input == 9 and cat.models["gpt-5-4"].family == "gpt"
    assert set(cat.groups["team"].models) == {"my-model", "claude-haiku-4-5"}
    with pytest.raises(CatalogueError):
        load_catalogue(
            {
                "models": [
                    {"slug": "bad", "family": "x", "provider": "nowhere", "price": {"input": 1, "output": 1}}
                ]
            }
        )


def test_upstream_stream_modes() -> None:
    """``upstream_stream`` says which call modes the vendor serves; the relay calls it in the
    caller's mode when it can, else in the one it serves."""
    cat = load_catalogue(
        {
            "models": [
                {"slug": "gpt-5-4", "upstream_stream": "never"},
                {"slug": "gpt-5-4-mini", "upstream_stream": "only"},
            ]
        }
    )
    assert CAT.models["gpt-5-4"].upstream_stream == "both"
    assert [CAT.models["gpt-5-4"].streams_upstream(s) for s in (False, True)] == [False, True]
    assert [cat.models["gpt-5-4"].streams_upstream(s) for s in (False, True)] == [False, False]
    assert [cat.models["gpt-5-4-mini"].streams_upstream(s) for s in (False, True)] == [True, True]
    with pytest.raises(CatalogueError, match="upstream_stream"):
        load_catalogue({"models": [{"slug": "gpt-5-4", "upstream_stream": "sometimes"}]})
