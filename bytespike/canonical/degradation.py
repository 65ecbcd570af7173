"""Nothing is lost silently: encoders report every field they had to drop.

An encoder calls `Degradations.drop("temperature", "Anthropic 2026-10-21 rejects it")`; the
relay puts the collected names in the ``X-ByteSpike-Degraded`` response header, and with
``X-ByteSpike-Strict: true`` the first drop raises `StrictModeViolation` (a 400 naming the field).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class StrictModeViolation(ValueError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason} (X-ByteSpike-Strict forbids dropping it)")
        self.field = field_name
        self.reason = reason


@dataclass(slots=True)
class Degradations:
    strict: bool = False
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def drop(self, field_name: str, reason: str) -> None:
        if self.strict:
            raise StrictModeViolation(field_name, reason)
        if all(f != field_name for f, _ in self.dropped):
            self.dropped.append((field_name, reason))

    def header_value(self) -> str | None:
        return ", ".join(f for f, _ in self.dropped) or None
