"""The canonical message model: stdlib only, no I/O (DESIGN.md §2, layer 1)."""

from bytespike.canonical.usage import Usage

__all__ = ["Usage"]
