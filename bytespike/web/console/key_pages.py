"""API keys: list (masked), create, edit, rotate and revoke — every action through the
management API's own `KeyManager` (reveal, after re-authentication, is reveal_pages.py)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from bytespike.access.console_sessions import is_session_key
from bytespike.access.console_views import ConsoleViews
from bytespike.access.keys_admin import MAX_GRACE_SECONDS, ORG_KEY_ROLES, key_status
from bytespike.access.scopes import ALL_SCOPES, DEFAULT_SCOPES
from bytespike.errors import GatewayError
from bytespike.money import micros_to_usd
from bytespike.storage.records import KeyRecord
from bytespike.web.console.views import Visit, redirect

FORM_FIELD_OF_PARAM = {"group": "group_id", "grace_period_seconds": "grace_seconds"}
FORM_FIELDS = frozenset(
    {
        "name",
        "group_id",
        "org_id",
        "quota",
        "rate_limit_5h",
        "rate_limit_1d",
        "rate_limit_7d",
        "expires_in_days",
        "ip_whitelist",
        "ip_blacklist",
        "scopes",
        "grace_seconds",
    }
)
"""Fields the key pages show an error slot for; any other error goes above the form."""
EXPIRY_CHOICES = ("keep", "never", "days")
"""The edit form's expiry choices: leave it as it is, never expire, or expire N days from now."""
NOTICES = {"revoked": "The key is revoked: the gateway refuses it from now on.", "saved": "The key is saved."}
_SPLIT = re.compile(r"[\s,]+")


def _error(errors: dict[str, str], exc: GatewayError) -> None:
    field = FORM_FIELD_OF_PARAM.get(exc.param or "", exc.param or "form")
    errors[field if field in FORM_FIELDS else "form"] = exc.message


def _networks(text: str) -> list[str]:
    return [item for item in _SPLIT.split(text) if item]


def _expiry(visit: Visit, fields: dict[str, Any], errors: dict[str, str], *, creating: bool) -> None:
    """Put ``expires_in_days`` in ``fields`` only when the form asks to change the expiry.

    Creating: a number of days, or empty for never. Editing: ``expiry`` says keep (the
    default: the field is left out, so the key keeps its expiry), never, or days; a typed
    number of days wins over the default "keep", and contradicts an explicit "never".
    """
    days = visit.field("expires_in_days")
    choice = "days" if creating else visit.field("expiry") or "keep"
    if choice not in EXPIRY_CHOICES:
        errors["expires_in_days"] = "Choose how the key expires."
    elif days:
        if choice == "never":
            errors["expires_in_days"] = "Choose either “Never expires” or a number of days, not both."
        elif not days.isdigit():
            errors["expires_in_days"] = "Enter a whole number of days."
        else:
            fields["expires_in_days"] = int(days)
    elif choice == "days" and not creating:
        errors["expires_in_days"] = "Enter the number of days from now."
    elif choice == "never":
        fields["expires_in_days"] = None


def _fields(visit: Visit, *, creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The key settings a form submitted, as the management API's field names."""
    fields: dict[str, Any] = {"name": visit.field("name")}
    errors: dict[str, str] = {}
    try:
        fields["group_id"] = int(visit.field("group_id"))
    except ValueError:
        errors["group_id"] = "Choose a routing group."
    for name in ("quota", "rate_limit_5h", "rate_limit_1d", "rate_limit_7d"):
        fields[name] = visit.field(name) or "0"
    _expiry(visit, fields, errors, creating=creating)
    fields["ip_whitelist"] = _networks(visit.field("ip_whitelist"))
    fields["ip_blacklist"] = _networks(visit.field("ip_blacklist"))
    scopes = visit.fields("scopes")
    if scopes or not creating:
        fields["scopes"] = scopes
    org = visit.field("org_id")
    if creating and org:
        if org.isdigit():
            fields["org_id"] = int(org)
        else:
            errors["org_id"] = "Choose a wallet."
    return fields, errors


def _values(record: KeyRecord | None) -> dict[str, Any]:
    """What the form shows: a key's current settings, or the defaults of a new key."""
    if record is None:
        return {
            "name": "",
            "group_id": None,
            "scopes": list(DEFAULT_SCOPES),
            "quota": "0",
            "expires_in_days": "",
        }
    return {
        "name": record.name,
        "group_id": record.group_id,
        "quota": micros_to_usd(record.quota_micros),
        "rate_limit_5h": micros_to_usd(record.rate_limit_5h_micros),
        "rate_limit_1d": micros_to_usd(record.rate_limit_1d_micros),
        "rate_limit_7d": micros_to_usd(record.rate_limit_7d_micros),
        "ip_whitelist": "\n".join(record.ip_whitelist),
        "ip_blacklist": "\n".join(record.ip_blacklist),
        "scopes": list(record.scopes),
        "expires_at": record.expires_at,
        "expiry": "keep",
        "expires_in_days": "",
    }


def _submitted(visit: Visit, values: dict[str, Any]) -> dict[str, Any]:
    """The form as submitted over ``values``, so a refused form shows what was typed."""
    form = {k: v for k, v in (visit.form or {}).items() if k != "scopes" and isinstance(v, str)}
    return {**values, **form, "scopes": visit.fields("scopes")}


async def _form_context(visit: Visit) -> dict[str, Any]:
    assert visit.principal is not None
    keys = visit.services.management.keys
    wallets = await ConsoleViews(visit.services.engine).org_wallets(visit.principal.user_id)
    return {
        "groups": await keys.available_groups(visit.actor),
        "all_scopes": sorted(ALL_SCOPES - ({"admin"} if not visit.is_admin else set())),
        "orgs": [w.org for w in wallets if w.role in ORG_KEY_ROLES],
    }


async def own_key(visit: Visit) -> KeyRecord | None:
    try:
        record = await visit.services.management.keys.get(
            visit.actor, int(visit.request.path_params["key_id"])
        )
    except GatewayError:
        return None
    return None if is_session_key(record.name) else record


def not_found(visit: Visit) -> Response:
    return visit.render("error.html", status=404, title="Not found", message="No such key.")


async def keys_page(visit: Visit) -> Response:
    listing = await visit.services.management.keys.list(
        visit.actor, status=None, parent_key_id=None, after_id=0, limit=500
    )
    keys = [(k, key_status(k)) for k in listing.keys if not is_session_key(k.name)]
    verified = await visit.services.accounts.is_verified(visit.actor.user_id)
    mine = {k.id for k, _ in keys}
    org_keys = [
        (org, [(k, key_status(k)) for k in found if k.id not in mine])
        for org, found in await ConsoleViews(visit.services.engine).org_keys(visit.actor.user_id)
    ]
    return visit.render(
        "keys.html",
        keys=keys,
        org_keys=org_keys,
        verified=verified,
        endpoint=visit.base_url,
        notice=NOTICES.get(visit.request.query_params.get("notice", "")),
    )


async def new_key(visit: Visit) -> Response:
    assert visit.user is not None
    if not await visit.services.accounts.is_verified(visit.user.id):
        return redirect("/verify-email")
    errors: dict[str, str] = {}
    values = _values(None)
    status = 200
    if visit.request.method == "POST":
        fields, errors = _fields(visit, creating=True)
        values = _submitted(visit, values)
        status = 400
        if not errors:
            try:
                record, secret = await visit.services.management.keys.create(visit.actor, fields)
            except GatewayError as exc:
                _error(errors, exc)
                status = exc.status
            else:
                return visit.render(
                    "key_secret.html", key=record, secret=secret, action="created", endpoint=visit.base_url
                )
    context = await _form_context(visit)
    if "org_id" in errors and not context["orgs"]:  # no wallet choice on this form to show it under
        errors["form"] = errors.pop("org_id")
    return visit.render("key_form.html", status=status, errors=errors, values=values, key=None, **context)


async def _key_page(
    visit: Visit,
    record: KeyRecord,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """A key's page: its settings form, or a read-only summary once it is revoked."""
    return visit.render(
        "key_form.html",
        status=status,
        errors=errors or {},
        values=values or _values(record),
        key=record,
        status_text=key_status(record),
        notice=NOTICES.get(visit.request.query_params.get("notice", "")),
        **await _form_context(visit),
    )


async def edit_key(visit: Visit) -> Response:
    record = await own_key(visit)
    if record is None:
        return not_found(visit)
    if visit.request.method != "POST":
        return await _key_page(visit, record)
    fields, errors = _fields(visit, creating=False)
    status = 400
    if not errors:
        try:
            await visit.services.management.keys.update(visit.actor, record.id, fields)
        except GatewayError as exc:
            _error(errors, exc)
            status = exc.status
        else:
            return redirect(f"/keys/{record.id}?notice=saved")
    if status == 409:  # revoked meanwhile: show it as it is now, with the reason
        fresh = await own_key(visit)
        return await _key_page(visit, fresh or record, errors=errors, status=status)
    return await _key_page(
        visit, record, errors=errors, values=_submitted(visit, _values(record)), status=status
    )


async def rotate_key(visit: Visit) -> Response:
    record = await own_key(visit)
    if record is None:
        return not_found(visit)
    raw = visit.field("grace_seconds") or "0"
    if not raw.isdigit():
        return await _key_page(
            visit,
            record,
            errors={"grace_seconds": f"Enter the grace period in whole seconds, 0 to {MAX_GRACE_SECONDS}."},
            values={**_values(record), "grace_seconds": raw},
            status=400,
        )
    try:
        record, secret = await visit.services.management.keys.rotate(visit.actor, record.id, int(raw))
    except GatewayError as exc:
        errors: dict[str, str] = {}
        _error(errors, exc)
        fresh = await own_key(visit)
        values = {**_values(fresh or record), "grace_seconds": raw}
        return await _key_page(visit, fresh or record, errors=errors, values=values, status=exc.status)
    return visit.render(
        "key_secret.html", key=record, secret=secret, action="rotated", endpoint=visit.base_url
    )


async def revoke_key(visit: Visit) -> Response:
    record = await own_key(visit)
    if record is None:
        return not_found(visit)
    await visit.services.management.keys.revoke(visit.actor, record.id)
    return redirect("/keys?notice=revoked")
