"""bytespike: a self-hostable LLM API gateway."""
