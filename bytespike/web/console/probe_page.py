"""The Test page: pick one of your keys and a model, press Test, read the outcome."""

from __future__ import annotations

from starlette.responses import Response

from bytespike.access.console_sessions import is_session_key
from bytespike.access.keys_admin import key_status
from bytespike.errors import GatewayError
from bytespike.web.console.probe import run_probe
from bytespike.web.console.views import Visit


async def probe_page(visit: Visit) -> Response:
    services = visit.services
    listing = await services.management.keys.list(
        visit.actor, status="active", parent_key_id=None, after_id=0, limit=500
    )
    keys = [k for k in listing.keys if not is_session_key(k.name) and key_status(k) == "active"]
    catalogue = services.management.catalogue
    groups = sorted({k.group_name for k in keys})
    models_by_group = {g: [m.slug for m in catalogue.models_for_group(g)] for g in groups}
    errors: dict[str, str] = {}
    result = None
    chosen = {"key_id": visit.request.query_params.get("key", ""), "model": ""}
    if visit.request.method == "POST":
        chosen = {"key_id": visit.field("key_id"), "model": visit.field("model")}
        if not chosen["key_id"].isdigit():
            errors["key_id"] = "Choose a key."
        if not chosen["model"]:
            errors["model"] = "Choose a model."
        if not errors:
            try:
                result = await run_probe(
                    services, visit.actor, key_id=int(chosen["key_id"]), model=chosen["model"], ip=visit.ip
                )
            except GatewayError as exc:
                errors["key_id"] = exc.message
    return visit.render(
        "test.html",
        status=400 if errors else 200,
        errors=errors,
        keys=keys,
        models_by_group=models_by_group,
        chosen=chosen,
        result=result,
    )
