"""A second real gateway for the relay's features that need configuration: models whose vendor
cannot stream or only streams (catalogue ``upstream_stream``), and media fetching allowed to
reach the simulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conformance.upstream import UPSTREAMS
from tests.support.gateway import GatewayHarness

STREAM_MODES = {"whole": "never", "stream": "only"}
"""Suffix of a test model → its ``upstream_stream``: ``<slug>-whole`` cannot stream upstream,
``<slug>-stream`` only streams upstream."""


def mode_model(upstream: str, mode: str) -> str:
    """The slug of the test model for an upstream kind of `UPSTREAMS` served only in ``mode``."""
    return f"{UPSTREAMS[upstream].model}-{mode}"


def _models_toml() -> str:
    from bytespike.routing.catalogue import load_catalogue

    catalogue = load_catalogue()
    rows = []
    for upstream in UPSTREAMS:
        base = catalogue.models[UPSTREAMS[upstream].model]
        for mode, served in STREAM_MODES.items():
            p = base.price
            rows.append(
                f"""
[[models]]
slug = "{mode_model(upstream, mode)}"
family = "{base.family}"
provider = "{base.provider}"
protocol = "{base.protocol}"
upstream_model = "{base.upstream_model}"
capabilities = {list(base.capabilities)!r}
input_modalities = {list(base.input_modalities)!r}
price = {{ input = {p.input}, output = {p.output}, cache_read = {p.cache_read}, cache_write = {p.cache_write} }}
upstream_stream = "{served}"
"""
            )
    return "".join(rows).replace("'", '"')


@pytest.fixture(scope="session")
async def relay_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayHarness]:
    harness = GatewayHarness(
        tmp_path_factory.mktemp("relay-gateway"),
        config=_models_toml(),
        extra_env={
            "BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
            "BYTESPIKE_MEDIA_FETCH_MAX_BYTES": str(1 << 20),
        },
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
