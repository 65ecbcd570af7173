"""The OpenAPI 3.1 document describes the real API: schemathesis fuzzes every operation of a
real ``bytespike serve`` and no response may be a 5xx or contradict the document."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bytespike.access.issuance import KeySpec, create_user, issue_key
from bytespike.access.scopes import ALL_SCOPES
from bytespike.access.secrets import KeySealer
from bytespike.routing.catalogue import load_catalogue
from bytespike.storage import accounts, ledger, orgs
from bytespike.storage.engine import create_engine, upgrade
from tests.support.processes import Process, free_port, start

SECRET = "openapi-test-secret-0123456789abcdef"
EXAMPLES = 15
"""Per operation, generation mode and id choice (random ids, then ids of real rows): about
1,300 requests, roughly a minute."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


class Served:
    def __init__(
        self, process: Process, key: str, key_id: int, user_id: int, real_ids: dict[str, int]
    ) -> None:
        self.process = process
        self.key = key
        self.key_id = key_id
        self.user_id = user_id
        self.real_ids = real_ids
        """Path parameters naming rows that exist (a second key of the fuzzing admin, a filler user, an org)."""


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("openapi")
    url = f"sqlite:///{tmp / 'gw.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    catalogue = load_catalogue()
    async with engine.begin() as conn:
        await accounts.sync_groups(
            conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()}
        )
    sealer = KeySealer(SECRET)
    # A few users and keys first, so generated ids hit real rows of someone else too.
    for i in range(3):
        email = f"filler{i}-{uuid.uuid4().hex[:6]}@example.test"
        await create_user(engine, email=email, password=None)
        await issue_key(engine, sealer, user_email=email, spec=KeySpec(), known_groups=list(catalogue.groups))
    admin = await create_user(engine, email="fuzz-admin@example.test", password=None, admin=True)
    async with engine.begin() as conn:
        wallet = await accounts.get_user_wallet(conn, admin.id)
        await ledger.apply_movement(
            conn, wallet_id=wallet.id, kind="admin_credit", amount_micros=50_000_000, idempotency_key="fuzz"
        )
    issued = await issue_key(
        engine,
        sealer,
        user_email=admin.email,
        spec=KeySpec(name="fuzzer", scopes=sorted(ALL_SCOPES)),
        known_groups=list(catalogue.groups),
    )
    target = await issue_key(
        engine,
        sealer,
        user_email=admin.email,
        spec=KeySpec(name="target", scopes=["inference"]),
        known_groups=list(catalogue.groups),
    )
    async with engine.begin() as conn:
        filler = await accounts.get_user_by_email(conn, email)
        assert filler is not None
        org = await orgs.create_org(conn, name="fuzz org", owner_user_id=filler.id)
    await engine.dispose()
    real_ids = {"key_id": target.id, "user_id": filler.id, "org_id": org.id, "group_id": 1}
    port = free_port()
    env = {
        "BYTESPIKE_DATABASE_URL": url,
        "BYTESPIKE_SECRET_KEY": SECRET,
        "BYTESPIKE_DATA_DIR": str(tmp),
        "BYTESPIKE_MANAGEMENT_RATE_LIMIT": "1000000",
    }
    process = start(["serve", "--port", str(port)], env, "/healthz", port, tmp / "gateway.log")
    try:
        yield Served(process, issued.key, issued.id, admin.id, real_ids)
    finally:
        process.stop()


def test_the_document_is_openapi_3_1_and_lists_every_endpoint(served: Served) -> None:
    doc = requests.get(served.process.url + "/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"] == "3.1.0"
    for path, method in (
        ("/api/v1/keys", "post"),
        ("/api/v1/keys/{key_id}", "patch"),
        ("/api/v1/keys/{key_id}/rotate", "post"),
        ("/api/v1/keys/{key_id}/reveal", "get"),
        ("/v1/keys/{key_id}/reveal", "get"),
        ("/api/v1/groups/available", "get"),
        ("/api/v1/me/account", "get"),
        ("/api/v1/me/usage", "get"),
        ("/api/v1/usage", "get"),
        ("/v1/usage", "get"),
        ("/v1/balance", "get"),
        ("/api/v1/me/billing/transactions", "get"),
        ("/api/v1/admin/audit-log", "get"),
    ):
        assert method in doc["paths"][path], (path, method)
        assert doc["paths"][path][method]["x-bytespike-scope"]


def _fuzz(served: Served, session, operation, mode, path_parameters, failures: list[str]) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # type: ignore[no-untyped-def]
        params = case.path_parameters or {}
        if params.get("key_id") == served.key_id or params.get("user_id") == served.user_id:
            return  # the fuzzer must not revoke, rotate or demote its own credentials
        # Generated credentials (from the security schemes) are replaced by the real key.
        case.headers = {
            k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")
        }
        case.headers["x-api-key"] = served.key
        if case.query:
            case.query.pop("key", None)
        try:
            case.call_and_validate(session=session, checks=CHECKS)
        except Exception as exc:
            failures.append(f"{operation.label} [{mode.value}, ids {path_parameters}]: {exc}")
            raise

    run()


def test_schemathesis_finds_no_5xx_and_no_contradiction(served: Served) -> None:
    schema = schemathesis.openapi.from_url(served.process.url + "/api/v1/openapi.json")
    headers = {"x-api-key": served.key}
    session = requests.Session()
    failures: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    plans = [
        (op, mode, None) for op in operations for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    plans += [
        (op, mode, {p: served.real_ids[p] for p in re.findall(r"{(\w+)}", op.path)})
        for op in operations
        if "{" in op.path
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    for operation, mode, path_parameters in plans:
        try:
            _fuzz(served, session, operation, mode, path_parameters, failures)
        except Exception:
            pass  # recorded in `failures`; go on with the other operations
    elapsed = time.monotonic() - started
    still_valid = requests.get(served.process.url + "/api/v1/keys", headers=headers, timeout=10)
    assert still_valid.status_code == 200
    assert not failures, "\n\n".join(failures[:10])
    assert elapsed < 120, f"fuzzing took {elapsed:.0f}s"
    assert "Traceback" not in served.process.log()
