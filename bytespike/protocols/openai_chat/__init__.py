"""OpenAI Chat Completions: ``POST /v1/chat/completions`` wire format (protocols.md §2)."""

NAME = "openai_chat"
