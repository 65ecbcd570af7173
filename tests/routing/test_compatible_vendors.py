"""OpenAI-compatible vendors (spec §7.2: doubao, minimax, glm, kimi): catalogue rows, prices,
their configurable upstreams, and real calls through the official SDKs (issue 3 item 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from bytespike.accounting.pricing import cost_micros
from bytespike.app import is_demo, vendor_targets
from bytespike.canonical.usage import Usage
from bytespike.routing.catalogue import CatalogueError, load_catalogue
from bytespike.settings import SettingsError, load_settings
from tests.web.billing import ANTHROPIC, OPENAI_CHAT, Billed, assert_billed, from_anthropic, from_openai
from tests.web.upstream_log import new_marker, only_upstream_request

CAT = load_catalogue()
ROWS = {
    # slug: (dotted name of spec §7.2, provider, upstream model id, prices in/out/cache read per 1M)
    "doubao-seed-2-0-pro": ("doubao-seed-2.0-pro", "doubao", "doubao-seed-2-0-pro", (0.60, 3.00, 0.12)),
    "doubao-seed-1-5-pro": ("doubao-seed-1.5-pro", "doubao", "doubao-1-5-pro-32k-250115", (0.15, 0.40, 0.03)),
    "minimax-m2-7": ("minimax-m2.7", "minimax", "MiniMax-M2.7", (0.30, 1.20, 0.03)),
    "glm-5-1": ("glm-5.1", "zhipu", "glm-5.1", (1.00, 3.20, 0.20)),
    "kimi-k2-6": ("kimi-k2.6", "moonshot", "kimi-k2.6", (0.60, 2.50, 0.15)),
}
ENV = {"BYTESPIKE_SECRET_KEY": "s" * 32, "BYTESPIKE_DATABASE_URL": "sqlite:////tmp/bytespike-test.db"}


@pytest.mark.parametrize("slug", sorted(ROWS))
def test_the_spec_models_are_in_the_catalogue_with_their_prices(slug: str) -> None:
    dotted, provider, upstream_model, (inp, out, read) = ROWS[slug]
    model = CAT.resolve(dotted)
    assert (model.slug, model.provider, model.protocol, model.upstream_model) == (
        slug,
        provider,
        "openai_chat",
        upstream_model,
    )
    assert (model.price.input, model.price.output, model.price.cache_read) == (inp, out, read)
    assert model.price_source == "estimate"  # the spec gives no price ("see rate card", "mid tier")
    assert slug in CAT.groups["default"].models
    # 1M uncached input + 1M output + 1M cache reads cost the list prices, to the micro-USD.
    usage = Usage(input_tokens=2_000_000, output_tokens=1_000_000, cache_read_tokens=1_000_000)
    assert cost_micros(usage, model) == round((inp + out + read) * 1_000_000)


def test_vendors_are_configured_from_their_own_variables() -> None:
    settings = load_settings({**ENV, "MOONSHOT_API_KEY": "mk", "ZHIPU_BASE_URL": "https://z.test/v4/"})
    assert settings.compatible["moonshot"].base_url == "https://api.moonshot.ai/v1"
    assert "zhipu" not in settings.compatible  # a base URL without a key configures nothing
    targets = vendor_targets(settings)
    assert targets["moonshot"].api_key == "mk" and not is_demo(settings)
    assert is_demo(load_settings(ENV))


def test_a_named_openai_compatible_upstream_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "bytespike.toml"
    config.write_text(
        "[upstreams.moonshot]\napi_key = 'from-file'\nbase_url = 'https://api.moonshot.cn/v1'\n"
        "[upstreams.together]\napi_key = 'tk'\nbase_url = 'https://api.together.xyz/v1/'\n"
        "[[models]]\nslug = 'llama-x'\nfamily = 'llama'\nprovider = 'together'\nprotocol = 'openai_chat'\n"
        "price = { input = 1, output = 2 }\n"
    )
    settings = load_settings(ENV, config_path=config)
    assert settings.compatible["moonshot"].api_key == "from-file"
    assert settings.compatible["moonshot"].base_url == "https://api.moonshot.cn/v1"
    assert settings.compatible["together"].base_url == "https://api.together.xyz/v1"
    assert load_catalogue(settings.catalogue_extra).models["llama-x"].provider == "together"
    # The environment wins over the file, as for every setting.
    assert load_settings({**ENV, "MOONSHOT_API_KEY": "env"}, config_path=config).compatible["moonshot"].api_key == "env"


def test_a_vendor_of_ones_own_needs_a_base_url_and_its_models_a_protocol(tmp_path: Path) -> None:
    config = tmp_path / "bytespike.toml"
    config.write_text("[upstreams.together]\napi_key = 'tk'\n")
    with pytest.raises(SettingsError, match="base_url"):
        load_settings(ENV, config_path=config)
    row: dict[str, Any] = {"slug": "x", "family": "x", "provider": "together", "price": {"input": 1, "output": 1}}
    with pytest.raises(CatalogueError, match="openai_chat"):
        load_catalogue({"models": [{**row, "protocol": "gemini"}]})
    with pytest.raises(CatalogueError):
        load_catalogue({"models": [row]})


# ---------------------------------------------------------------- through the gateway


@pytest.mark.parametrize("slug", ["kimi-k2-6", "glm-5.1"])
async def test_the_openai_sdk_reaches_a_compatible_vendor_and_is_billed_its_price(gateway, slug: str) -> None:
    model = CAT.resolve(slug)
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=key.secret, max_retries=0)
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model=slug, messages=[{"role": "user", "content": f"Hello {marker}"}]
        )
    finally:
        await client.close()
    completion = raw.parse()
    assert completion.model == model.slug
    assert completion.choices[0].message.content.startswith(f"Hello from {model.upstream_model}")
    record = await only_upstream_request(gateway, marker)
    assert record["path"] == "/v1/chat/completions" and record["body"]["model"] == model.upstream_model
    await assert_billed(
        gateway,
        key,
        before,
        Billed(model.slug, OPENAI_CHAT, False, from_openai(completion.usage), raw.headers["x-request-id"]),
    )


async def test_an_anthropic_caller_reaches_a_compatible_vendor_translated(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    client = anthropic.AsyncAnthropic(base_url=gateway.url, api_key=key.secret, max_retries=0)
    try:
        async with client.messages.stream(
            model="minimax-m2-7", max_tokens=64, messages=[{"role": "user", "content": f"Hi {marker}"}]
        ) as stream:
            message = await stream.get_final_message()
    finally:
        await client.close()
    assert message.content[0].text.startswith("Hello from MiniMax-M2.7")
    record = await only_upstream_request(gateway, marker)
    assert record["path"] == "/v1/chat/completions"  # spoken to the vendor in OpenAI Chat
    await assert_billed(gateway, key, before, Billed("minimax-m2-7", ANTHROPIC, True, from_anthropic(message.usage)))


async def test_the_models_list_filters_them_by_vendor_name(gateway) -> None:
    """Spec §3.8.1: ``family`` takes vendor names (moonshot, zhipu, minimax, bytedance) too."""
    key = await gateway.funded_key()
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=key.secret, max_retries=0)
    try:
        found = {}
        for vendor in ("moonshot", "zhipu", "minimax", "bytedance"):
            page = await client.models.list(extra_query={"family": vendor})
            found[vendor] = sorted((m.id, m.model_dump()["owned_by"]) for m in page.data)
    finally:
        await client.close()
    assert found == {
        "moonshot": [("kimi-k2-6", "moonshot")],
        "zhipu": [("glm-5-1", "zhipu")],
        "minimax": [("minimax-m2-7", "minimax")],
        "bytedance": [("doubao-seed-1-5-pro", "bytedance"), ("doubao-seed-2-0-pro", "bytedance")],
    }


@pytest.mark.parametrize(
    ("slug", "field"),
    [("glm-5.1", "max_tokens"), ("deepseek-v4-flash", "max_tokens"), ("kimi-k2-6", "max_completion_tokens")],
)
async def test_a_chat_caller_s_token_limit_reaches_the_field_its_vendor_reads(gateway, slug: str, field: str) -> None:
    """The fast path: the OpenAI SDK's ``max_completion_tokens`` is moved to ``max_tokens`` for a
    vendor that reads only that one (it would answer at its own default length otherwise)."""
    key = await gateway.funded_key()
    marker = new_marker()
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=key.secret, max_retries=0)
    try:
        await client.chat.completions.create(
            model=slug, max_completion_tokens=40, messages=[{"role": "user", "content": f"Hi {marker}"}]
        )
    finally:
        await client.close()
    body = (await only_upstream_request(gateway, marker))["body"]
    assert {k: v for k, v in body.items() if k.startswith("max_")} == {field: 40}


@pytest.mark.parametrize(("slug", "field"), [("glm-5.1", "max_tokens"), ("minimax-m2-7", "max_completion_tokens")])
async def test_a_translated_token_limit_reaches_the_field_its_vendor_reads(gateway, slug: str, field: str) -> None:
    key = await gateway.funded_key()
    marker = new_marker()
    client = anthropic.AsyncAnthropic(base_url=gateway.url, api_key=key.secret, max_retries=0)
    try:
        await client.messages.create(
            model=slug, max_tokens=64, messages=[{"role": "user", "content": f"Hi {marker}"}]
        )
    finally:
        await client.close()
    body = (await only_upstream_request(gateway, marker))["body"]
    assert {k: v for k, v in body.items() if k.startswith("max_")} == {field: 64}


def test_an_operator_s_vendor_reads_max_tokens_unless_its_rows_say_otherwise() -> None:
    row = {"family": "llama", "provider": "together", "protocol": "openai_chat", "price": {"input": 1, "output": 2}}
    catalogue = load_catalogue(
        {"models": [{**row, "slug": "a"}, {**row, "slug": "b", "max_tokens_field": "max_completion_tokens"}]}
    )
    assert (catalogue.models["a"].max_tokens_field, catalogue.models["b"].max_tokens_field) == (
        "max_tokens",
        "max_completion_tokens",
    )
