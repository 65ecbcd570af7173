"""Nothing is lost silently: encoders report every field they had to drop.

An encoder calls `Degradations.drop("temperature", "Anthropic 2026-10-21 rejects it")`; the
relay puts the collected names in the ``X-ByteSpike-Degraded`` response header, and with
``X-ByteSpike-Strict: true`` the first drop raises `StrictModeViolation` (a 400 naming the field).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bytespike.canonical.parts import MediaPart, OpaquePart, Part


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


def drop_answer_part(deg: Degradations | None, index: int, part: Part, protocol: str) -> None:
    """Report that part ``index`` of an answer has no form in the caller's ``protocol``."""
    if deg is None:
        return
    if isinstance(part, OpaquePart):
        what = f"a {part.protocol} {part.data.get('type') or 'block'}"
    elif isinstance(part, MediaPart):
        what = f"{part.kind} output"
    else:
        what = type(part).__name__
    deg.drop(f"response.parts[{index}]", f"{what} has no form in a {protocol} answer")
