"""Outbound HTTP to vendors: one module per vendor kind, one pooled aiohttp session per process."""
