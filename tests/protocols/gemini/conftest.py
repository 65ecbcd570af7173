from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.protocols.gemini.loopback import CannedGemini, start

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return orjson.loads((FIXTURES / name).read_bytes())


@pytest.fixture
def canned() -> Iterator[CannedGemini]:
    box = CannedGemini()
    server = start(box)
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
