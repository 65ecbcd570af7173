"""Records every conformance outcome in a JSON file while the suite runs.

Each matrix cell (``test_cell[<client>-<upstream>-<case>]``) is written as ``pass``, ``400`` (a
documented, tested refusal: the test asserted the status and message) or ``fail`` with the first
line of the assertion that broke; the other tests of this directory are written as checks. The
file is ``test-artifacts/conformance/matrix.json`` unless ``BYTESPIKE_TEST_CONFORMANCE_REPORT`` names
another; ``scripts/compatibility_matrix.py`` renders it as docs/compatibility.md.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

REPORT_ENV = "BYTESPIKE_TEST_CONFORMANCE_REPORT"
DEFAULT_REPORT = Path(__file__).resolve().parents[2] / "test-artifacts" / "conformance" / "matrix.json"
_cells: dict[str, dict[str, Any]] = {}
_checks: dict[str, dict[str, Any]] = {}
_started = time.monotonic()


def _reason(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "failed")
    return first if len(first) <= 300 else first[:297] + "..."


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "call" and not (report.failed or report.skipped):
        return
    props = dict(item.user_properties)
    if report.passed:
        if report.when != "call":
            return
        status, reason = props.get("outcome", "pass"), props.get("reason")
    elif report.skipped:
        status, reason = "skip", _reason(report)
    else:
        status, reason = "fail", _reason(report)
    entry = {
        "test": item.nodeid,
        "outcome": status,
        "reason": reason,
        "note": props.get("note"),
        "seconds": round(report.duration, 3),
    }
    params = getattr(getattr(item, "callspec", None), "params", {})
    if item.originalname == "test_cell" and "cell" in params:
        client, upstream, case = params["cell"]
        entry |= {"client": client, "upstream": upstream, "case": case}
        # A failing teardown must not hide a failing call: keep the first failure.
        if _cells.get(item.nodeid, {}).get("outcome") != "fail":
            _cells[item.nodeid] = entry
    elif _checks.get(item.nodeid, {}).get("outcome") != "fail":
        entry["doc"] = props.get("doc") or (item.obj.__doc__ or "").strip().split("\n\n")[0]
        _checks[item.nodeid] = entry


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _cells and not _checks:
        return
    path = Path(os.environ.get(REPORT_ENV) or DEFAULT_REPORT)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - _started, 1),
        "cells": list(_cells.values()),
        "checks": list(_checks.values()),
    }
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
