"""``GET /v1/models`` in OpenAI's list shape: just enough for clients that probe it."""

from __future__ import annotations

from bytespike.simulator.asgi import HttpAnswer
from bytespike.simulator.vendor import CREATED_AT, json_answer

LISTED_MODELS = ("sim-gpt", "sim-claude", "sim-gemini", "sim-deepseek")
"""Any model name is answered; these are only what the listing shows."""


def _model(model_id: str) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": CREATED_AT, "owned_by": "bytespike-simulator"}


def encode_model_list() -> HttpAnswer:
    return json_answer(200, {"object": "list", "data": [_model(model_id) for model_id in LISTED_MODELS]})


def encode_model(model_id: str) -> HttpAnswer:
    return json_answer(200, _model(model_id))
