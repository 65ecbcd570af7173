"""The canonical message model: stdlib (+ orjson) only, no I/O (DESIGN.md §2, layer 1).

`Request`/`Response` with `Message`s of `Part`s, stream `StreamEvent`s, one `Assembler`, the
normalized `Usage`, and `Degradations` for fields translation had to drop.
"""

from bytespike.canonical.usage import Usage

__all__ = ["Usage"]
