"""API keys: list (masked), create, edit, reveal (after re-entering the password), rotate and
revoke — every action through the management API's own `KeyManager`."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from bytespike.access.console_sessions import is_session_key
from bytespike.access.console_views import ConsoleViews
from bytespike.access.keys_admin import key_status
from bytespike.access.scopes import ALL_SCOPES, DEFAULT_SCOPES
from bytespike.errors import GatewayError
from bytespike.money import micros_to_usd
from bytespike.storage.records import KeyRecord
from bytespike.web.console.views import Visit, redirect

FORM_FIELD_OF_PARAM = {"group": "group_id", "grace_period_seconds": "grace_seconds"}
NOTICES = {"revoked": "The key is revoked: the gateway refuses it from now on.", "saved": "The key is saved."}
_SPLIT = re.compile(r"[\s,]+")


def _error(errors: dict[str, str], exc: GatewayError) -> None:
    field = FORM_FIELD_OF_PARAM.get(exc.param or "", exc.param or "form")
    errors[field] = exc.message


def _networks(text: str) -> list[str]:
    return [item for item in _SPLIT.split(text) if item]


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
    days = visit.field("expires_in_days")
    if days:
        try:
            fields["expires_in_days"] = int(days)
        except ValueError:
            errors["expires_in_days"] = "Enter a whole number of days, or leave it empty for never."
    elif not creating:
        fields["expires_in_days"] = None
    fields["ip_whitelist"] = _networks(visit.field("ip_whitelist"))
    fields["ip_blacklist"] = _networks(visit.field("ip_blacklist"))
    scopes = visit.fields("scopes")
    if scopes or not creating:
        fields["scopes"] = scopes
    org = visit.field("org_id")
    if creating and org:
        fields["org_id"] = int(org) if org.isdigit() else org
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
        "expires_in_days": "",
    }


async def _form_context(visit: Visit) -> dict[str, Any]:
    assert visit.principal is not None
    keys = visit.services.management.keys
    account = await visit.services.management.statements.account(visit.principal)
    org = account["org"] if account["org"] and account["org"]["role"] in ("owner", "admin") else None
    return {
        "groups": await keys.available_groups(visit.actor),
        "all_scopes": sorted(ALL_SCOPES - ({"admin"} if not visit.is_admin else set())),
        "org": org,
    }


async def _own_key(visit: Visit) -> KeyRecord | None:
    try:
        record = await visit.services.management.keys.get(
            visit.actor, int(visit.request.path_params["key_id"])
        )
    except GatewayError:
        return None
    return None if is_session_key(record.name) else record


def _not_found(visit: Visit) -> Response:
    return visit.render("error.html", status=404, title="Not found", message="No such key.")


async def keys_page(visit: Visit) -> Response:
    listing = await visit.services.management.keys.list(
        visit.actor, status=None, parent_key_id=None, after_id=0, limit=500
    )
    keys = [(k, key_status(k)) for k in listing.keys if not is_session_key(k.name)]
    verified = await visit.services.accounts.is_verified(visit.actor.user_id)
    org = await ConsoleViews(visit.services.engine).org_keys(visit.actor.user_id)
    mine = {k.id for k, _ in keys}
    org_keys = [(k, key_status(k)) for k in org[1] if k.id not in mine] if org else []
    return visit.render(
        "keys.html",
        keys=keys,
        org=org[0] if org else None,
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
    if visit.request.method == "POST":
        fields, errors = _fields(visit, creating=True)
        values = {
            **values,
            **{k: v for k, v in visit.form.items() if k != "scopes"},
            "scopes": visit.fields("scopes"),
        }  # type: ignore[union-attr]
        if not errors:
            try:
                record, secret = await visit.services.management.keys.create(visit.actor, fields)
            except GatewayError as exc:
                _error(errors, exc)
            else:
                return visit.render(
                    "key_secret.html", key=record, secret=secret, action="created", endpoint=visit.base_url
                )
    return visit.render(
        "key_form.html",
        status=400 if errors else 200,
        errors=errors,
        values=values,
        key=None,
        **await _form_context(visit),
    )


async def edit_key(visit: Visit) -> Response:
    record = await _own_key(visit)
    if record is None:
        return _not_found(visit)
    errors: dict[str, str] = {}
    values = _values(record)
    if visit.request.method == "POST":
        fields, errors = _fields(visit, creating=False)
        values = {
            **values,
            **{k: v for k, v in visit.form.items() if k != "scopes"},
            "scopes": visit.fields("scopes"),
        }  # type: ignore[union-attr]
        if not errors:
            try:
                await visit.services.management.keys.update(visit.actor, record.id, fields)
            except GatewayError as exc:
                _error(errors, exc)
            else:
                return redirect(f"/keys/{record.id}?notice=saved")
    return visit.render(
        "key_form.html",
        status=400 if errors else 200,
        errors=errors,
        values=values,
        key=record,
        status_text=key_status(record),
        notice=NOTICES.get(visit.request.query_params.get("notice", "")),
        **await _form_context(visit),
    )


async def reveal_key(visit: Visit) -> Response:
    assert visit.user is not None
    record = await _own_key(visit)
    if record is None:
        return _not_found(visit)
    errors: dict[str, str] = {}
    if visit.request.method == "POST":
        # The same budget as sign-in: a stolen session cannot guess the password here either.
        if await visit.services.email_budget.take(f"console-sign-in:{visit.user.email}") is not None:
            errors["password"] = "Too many attempts. Wait a minute and try again."
            return visit.render("key_reveal.html", status=429, errors=errors, key=record)
        user = await visit.services.accounts.check_password(
            email=visit.user.email, password=visit.field("password")
        )
        if user is None or user.id != visit.user.id:
            errors["password"] = "The password is wrong."
        else:
            try:
                record, secret = await visit.services.management.keys.reveal(visit.actor, record.id)
            except GatewayError as exc:
                _error(errors, exc)
            else:
                return visit.render(
                    "key_secret.html", key=record, secret=secret, action="revealed", endpoint=visit.base_url
                )
    return visit.render("key_reveal.html", status=400 if errors else 200, errors=errors, key=record)


async def rotate_key(visit: Visit) -> Response:
    record = await _own_key(visit)
    if record is None:
        return _not_found(visit)
    try:
        grace = int(visit.field("grace_seconds") or "0")
        record, secret = await visit.services.management.keys.rotate(visit.actor, record.id, grace)
    except (GatewayError, ValueError) as exc:
        message = exc.message if isinstance(exc, GatewayError) else "Enter the grace period in whole seconds."
        return visit.render("error.html", status=400, title="Rotation refused", message=message)
    return visit.render(
        "key_secret.html", key=record, secret=secret, action="rotated", endpoint=visit.base_url
    )


async def revoke_key(visit: Visit) -> Response:
    record = await _own_key(visit)
    if record is None:
        return _not_found(visit)
    await visit.services.management.keys.revoke(visit.actor, record.id)
    return redirect("/keys?notice=revoked")
