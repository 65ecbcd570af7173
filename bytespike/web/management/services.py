"""What management handlers need, filled in by the application's lifespan (app.py)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from bytespike.access.admin import Administration
from bytespike.access.keys_admin import KeyManager
from bytespike.access.orgs import OrgManager
from bytespike.access.principal import Network
from bytespike.access.retirement import KeyRetirement
from bytespike.access.secrets import KeySealer
from bytespike.accounting.statements import Statements
from bytespike.relay.gateway import Gateway
from bytespike.routing.catalogue import Catalogue
from bytespike.state.hot import StateUnavailable
from bytespike.state.key_events import KeyEvents
from bytespike.state.request_budget import MemoryBudget, RequestBudget
from bytespike.web.client_address import client_ip


@dataclass
class ManagementServices:
    """Built empty with the app (routes need it at construction); `bind` runs in the lifespan."""

    catalogue: Catalogue
    per_minute: int = 600
    """Management calls allowed per key (or per address, for public calls) per minute."""
    trusted_proxies: tuple[Network, ...] = ()
    gateway: Gateway | None = None
    engine: Any = None
    sealer: KeySealer | None = None
    events: KeyEvents | None = None
    budget: RequestBudget = field(default_factory=lambda: MemoryBudget(600))
    keys: KeyManager = field(init=False)
    statements: Statements = field(init=False)
    admin: Administration = field(init=False)
    orgs: OrgManager = field(init=False)

    @classmethod
    def create(
        cls, catalogue: Catalogue, *, per_minute: int, trusted_proxies: tuple[str, ...]
    ) -> ManagementServices:
        return cls(
            catalogue=catalogue,
            per_minute=per_minute,
            trusted_proxies=tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies),
            budget=MemoryBudget(per_minute),
        )

    def bind(
        self,
        *,
        gateway: Gateway,
        engine: Any,
        sealer: KeySealer,
        events: KeyEvents,
        budget: RequestBudget | None,
    ) -> None:
        self.gateway = gateway
        self.engine = engine
        self.sealer = sealer
        self.events = events
        if budget is not None:
            self.budget = budget
        retirement = KeyRetirement(gateway.meter.state)
        self.keys = KeyManager(engine, sealer, self.catalogue, events, retirement)
        # "available after pending holds" (spec §3.9.1) and the spend windows come from the meter.
        self.statements = Statements(engine, self.catalogue, gateway.meter)
        self.admin = Administration(engine, events, self.wallet_moved)
        self.orgs = OrgManager(engine, events, retirement)

    async def wallet_moved(self, wallet_id: int, entry_id: int, amount_micros: int) -> None:
        """A ledger movement this process committed (admin credit, top-up): admission sees it at
        once here; other processes through Redis, or their ledger poll. Never fails the caller:
        the movement is committed, and the poll picks it up if the state is unreachable now."""
        if self.gateway is None:
            return
        try:
            await self.gateway.meter.wallet_moved(wallet_id, entry_id, amount_micros)
        except StateUnavailable:
            pass

    def client_ip(self, scope: dict[str, Any]) -> str | None:
        return client_ip(scope, self.trusted_proxies)
