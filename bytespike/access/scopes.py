"""The scopes a key can hold, and which ones a new key gets by default."""

from __future__ import annotations

INFERENCE = "inference"
IMAGES = "images"
TASKS = "tasks"
MODELS_READ = "models:read"
USAGE_READ = "usage:read"
BILLING_READ = "billing:read"
KEYS_READ = "keys:read"
KEYS_WRITE = "keys:write"
ADMIN = "admin"

ALL_SCOPES = frozenset(
    {INFERENCE, IMAGES, TASKS, MODELS_READ, USAGE_READ, BILLING_READ, KEYS_READ, KEYS_WRITE, ADMIN}
)
DEFAULT_SCOPES = (INFERENCE, IMAGES, TASKS, MODELS_READ, USAGE_READ, BILLING_READ)
"""What a key gets when its creator names no scopes: everything but key management and admin."""
