"""What console pages need, built from `Settings` with the app and completed by its lifespan.

The engine, sealer, gateway and key-change events are the management API's own
(`ManagementServices`, bound in the lifespan), so the console and the API share one
`KeyManager`, one `Statements` and one key cache; the console's own domain objects are built
the first time a page needs them, once those exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from bytespike.access.console_accounts import ConsoleAccounts
from bytespike.access.console_sessions import ConsoleSessions
from bytespike.accounting.checkout import StripeCheckout
from bytespike.settings import Settings
from bytespike.state.request_budget import MemoryBudget, RedisBucketBudget, RequestBudget
from bytespike.web.console.cookies import CookieJar
from bytespike.web.console.mailer import Mailer
from bytespike.web.console.oidc import OidcProvider
from bytespike.web.management.services import ManagementServices

log = logging.getLogger("bytespike.console")

SIGN_IN_PER_MINUTE_PER_ADDRESS = 20
SIGN_IN_PER_MINUTE_PER_EMAIL = 5


@dataclass
class ConsoleServices:
    settings: Settings
    management: ManagementServices
    cookies: CookieJar = field(init=False)
    mailer: Mailer = field(init=False)
    oidc: OidcProvider | None = field(init=False)
    stripe: StripeCheckout | None = field(init=False)
    dev_payments: bool = field(init=False)
    address_budget: RequestBudget = field(init=False)
    email_budget: RequestBudget = field(init=False)

    def __post_init__(self) -> None:
        c = self.settings.console
        self.cookies = CookieJar(self.settings.secret_key, secure=(c.public_url or "").startswith("https://"))
        self.mailer = Mailer(c.smtp_url, c.mail_from)
        self.oidc = (
            OidcProvider(c.google_issuer, c.google_client_id, c.google_client_secret)
            if c.google_client_id and c.google_client_secret
            else None
        )
        self.stripe = (
            StripeCheckout(c.stripe_secret_key, c.stripe_webhook_secret, c.stripe_api_base)
            if c.stripe_secret_key
            else None
        )
        self.dev_payments = (
            c.dev_payments
            if c.dev_payments is not None
            else self.stripe is None and self.settings.is_embedded
        )
        if self.dev_payments:
            log.warning("console: the DEVELOPMENT payment provider is on: top-ups credit without payment")
        self.address_budget = self._budget("address", SIGN_IN_PER_MINUTE_PER_ADDRESS)
        self.email_budget = self._budget("email", SIGN_IN_PER_MINUTE_PER_EMAIL)

    def _budget(self, per: str, per_minute: int) -> RequestBudget:
        """Sign-in attempts per ``per``: one budget for every process when Redis is configured."""
        s = self.settings
        if s.redis_url is None:
            return MemoryBudget(per_minute)
        return RedisBucketBudget(
            s.redis_url,
            per_minute,
            prefix=f"{s.redis_prefix}console:attempts:{per}:",
            timeout_s=s.redis_timeout_s,
        )

    async def close(self) -> None:
        """Called by the app's lifespan on the way out."""
        await self.address_budget.close()
        await self.email_budget.close()

    @property
    def oidc_origin(self) -> str | None:
        """The Google sign-in provider's origin (its issuer's), when it is configured."""
        if self.oidc is None:
            return None
        url = urlsplit(self.oidc.issuer)
        return f"{url.scheme}://{url.netloc}"

    @property
    def engine(self) -> Any:
        return self.management.engine

    @cached_property
    def accounts(self) -> ConsoleAccounts:
        return ConsoleAccounts(
            self.engine, self.settings.secret_key, invite_only=self.settings.console.invite_only
        )

    @cached_property
    def sessions(self) -> ConsoleSessions:
        m = self.management
        assert m.gateway is not None and m.sealer is not None and m.events is not None, "lifespan not run"
        return ConsoleSessions(self.engine, m.sealer, m.gateway.resolver, m.events)

    def public_url(self, request_base: str) -> str:
        """The configured public origin, else the one this request came in on."""
        return self.settings.console.public_url or request_base.rstrip("/")
