"""Gemini native: ``generateContent`` / ``streamGenerateContent`` wire format (protocols.md §4)."""

NAME = "gemini"
