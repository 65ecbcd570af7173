"""The management API under ``/api/v1`` (and the spec's ``/v1`` utility paths): keys, usage,
billing and administration, as Starlette routes of thin handlers over ``access/`` and
``accounting/`` (docs/management-api.md)."""

from bytespike.web.management.routes import ENDPOINTS, management_routes, route_specs
from bytespike.web.management.services import ManagementServices

__all__ = ["ENDPOINTS", "ManagementServices", "management_routes", "route_specs"]
