"""Every HTTP route declares the scope a key needs to call it (DESIGN.md §1: no side door).

A `RouteSpec` names method, path template and scope; ``PUBLIC`` is an explicit declaration that
no key is needed (the root, health check, OpenAPI document and sign-in). Every module under
``bytespike/web`` that serves routes declares them next to its code in a module-level ``ROUTES``
tuple (the hand-routed inference surfaces in ``web/surfaces.py``, the management API in
``web/management/routes.py``, …); `collect_route_specs` gathers them all, and
`undeclared_routes` is what the route-enumeration test runs over the real application: a
route with no spec, or a spec whose scope is missing or unknown, fails it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bytespike.access.scopes import ALL_SCOPES

PUBLIC = "public"
"""Declared scope of a route that needs no key."""


@dataclass(frozen=True, slots=True)
class RouteSpec:
    method: str
    """HTTP method, or ``*`` for a mounted application answering every method under ``path``."""
    path: str
    """Template as documented, e.g. ``/api/v1/keys/{key_id}``."""
    scope: str | None
    """A scope from `bytespike.access.scopes`, or `PUBLIC`; None means undeclared (a bug)."""
    summary: str = ""


def is_declared(spec: RouteSpec) -> bool:
    return spec.scope == PUBLIC or spec.scope in ALL_SCOPES


def collect_route_specs(package: str = "bytespike.web") -> list[RouteSpec]:
    """Every ``ROUTES`` declaration of the package's modules (subpackages included)."""
    root = importlib.import_module(package)
    specs: list[RouteSpec] = list(getattr(root, "ROUTES", ()))
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        module = importlib.import_module(info.name)
        specs.extend(s for s in getattr(module, "ROUTES", ()) if s not in specs)
    return specs


def _endpoints(routes: Iterable[Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for route in routes:
        children = getattr(route, "routes", None)
        if children is not None and getattr(route, "methods", None) is None and children:
            yield from _endpoints(children, prefix + route.path)  # a Mount of a router
        else:
            yield prefix + getattr(route, "path", "?"), route


def undeclared_routes(starlette_routes: Iterable[Any], specs: Iterable[RouteSpec]) -> list[str]:
    """``METHOD path`` of every Starlette route or spec that lacks a valid scope declaration."""
    declared = {(s.method, s.path): s for s in specs}
    problems = [f"{s.method} {s.path} (scope {s.scope!r})" for s in declared.values() if not is_declared(s)]
    for path, route in _endpoints(starlette_routes):
        template = path.replace(":int}", "}").replace(":path}", "}")
        methods = getattr(route, "methods", None)
        if methods is None:  # a mounted application (static files, a sub-app): one declaration for all
            if ("*", template) not in declared:
                problems.append(f"* {template} (no RouteSpec)")
            continue
        for method in sorted(methods):
            if method == "HEAD":
                continue
            if (method, template) not in declared:
                problems.append(f"{method} {template} (no RouteSpec)")
    return problems
