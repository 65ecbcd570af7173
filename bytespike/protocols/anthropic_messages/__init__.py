"""Anthropic Messages: ``POST /v1/messages`` wire format, both directions (protocols.md §1)."""

NAME = "anthropic_messages"
