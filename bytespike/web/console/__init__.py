"""The web console (issue 7, spec §8): server-rendered Jinja2 pages at ``/`` for accounts,
billing, API keys, usage, the Test button and administration, over the same domain code as the
management API (docs/console.md)."""

from bytespike.web.console.routes import CONSOLE_ROUTES, console_routes
from bytespike.web.console.services import ConsoleServices

__all__ = ["CONSOLE_ROUTES", "ConsoleServices", "console_routes"]
