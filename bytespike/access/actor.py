"""Who is calling the management API: the authenticated key plus the address it called from."""

from __future__ import annotations

from dataclasses import dataclass

from bytespike.access.principal import Principal


@dataclass(frozen=True, slots=True)
class Actor:
    principal: Principal
    ip: str | None
    """Client address as the web layer determined it (for the audit log)."""

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def key_id(self) -> int:
        return self.principal.key_id

    @property
    def is_subkey(self) -> bool:
        """A sub-key manages only its own subtree; a top-level key acts for its whole user."""
        return len(self.principal.chain) > 1
