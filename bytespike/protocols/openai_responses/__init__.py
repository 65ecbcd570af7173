"""OpenAI Responses: ``POST /v1/responses`` wire format (protocols.md §3)."""

NAME = "openai_responses"
