"""Anthropic Messages: ``POST /v1/messages`` wire format, both directions (protocols.md §1).

`requests` (check, decode, encode a body), `responses` (a ``Message``), `streaming` (the
fast-path tap, `StreamDecoder`, `StreamEncoder`), `errors`, `usage`; the helpers they share:
`blocks` (content blocks ⇄ parts), `messages` (turn rules), `tools`, `reasoning`, `tool_ids`,
`cache_breakpoints`, `fields`, `versions`.
"""

NAME = "anthropic_messages"
