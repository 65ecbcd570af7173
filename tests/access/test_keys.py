"""Key secrets, where credentials are read, CIDR decisions, and the resolver's refusals."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from bytespike.access.authenticator import KeyResolver
from bytespike.access.cidr import is_address_allowed, parse_networks
from bytespike.access.credentials import extract_credential
from bytespike.access.issuance import IssuanceError, KeySpec, create_user, issue_key
from bytespike.access.secrets import KEY_PREFIX, KeySealer, generate_secret, is_well_formed, mask
from bytespike.errors import GatewayError
from bytespike.storage import accounts
from bytespike.storage.keys import touch_key_status
from bytespike.storage.schema import api_keys, metadata

SEALER = KeySealer("unit-test-secret-0123456789")


def test_generated_secrets_are_long_random_base62() -> None:
    keys = {generate_secret() for _ in range(200)}
    assert len(keys) == 200
    for k in keys:
        body = k.removeprefix(KEY_PREFIX)
        assert k.startswith("sk-byts-") and len(body) >= 40 and body.isalnum()


def test_digest_is_keyed_and_the_sealed_copy_round_trips() -> None:
    k = generate_secret()
    assert SEALER.lookup_hash(k) == SEALER.lookup_hash(k)
    assert SEALER.lookup_hash(k) != KeySealer("another-secret-0123456789").lookup_hash(k)
    blob = SEALER.seal(k)
    assert k.encode() not in blob and SEALER.unseal(blob) == k
    assert SEALER.seal(k) != blob  # fresh nonce each time
    with pytest.raises(Exception):  # noqa: B017 - any authentication failure of AES-GCM
        KeySealer("another-secret-0123456789").unseal(blob)


@pytest.mark.parametrize("server_secret", ["x" * 32, "bench-secret-key-0123456789abcdef", "ünïcode-secret"])
def test_key_derivation_is_rfc5869_hkdf_byte_for_byte(server_secret: str) -> None:
    """The stdlib derivation must equal cryptography's HKDF, or every stored digest and sealed
    copy made before it would stop matching."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from bytespike.access.secrets import _derive

    for purpose in (b"lookup-hmac", b"reveal-aes-gcm"):
        expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"bytespike-keys", info=purpose).derive(
            server_secret.encode()
        )
        assert _derive(server_secret, purpose) == expected


def test_mask_and_shape_check() -> None:
    k = "sk-byts-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
    assert mask(k) == "sk-byts-AbCd…defg"
    assert is_well_formed(k)
    assert not is_well_formed("sk-other-AbCdEfGhIjKlMnOpQrSt")
    assert not is_well_formed("sk-byts-short")
    assert not is_well_formed("sk-byts-" + "a" * 30 + " ")


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ([(b"x-api-key", b"A"), (b"authorization", b"Bearer B")], None, "A"),  # x-api-key wins
        ([(b"authorization", b"Bearer B"), (b"x-goog-api-key", b"C")], "D", "B"),
        ([(b"x-goog-api-key", b"C")], "D", "C"),
        ([], "D", "D"),
        ([(b"authorization", b"bearer  E ")], None, "E"),
        ([(b"x-api-key", b"A"), (b"x-api-key", b"A")], None, "A"),  # same value twice is not ambiguous
    ],
)
def test_credential_precedence(headers, query, expected) -> None:
    assert extract_credential(headers, query) == expected


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"authorization", b"Basic abc")],
        [(b"authorization", b"Bearer ")],
        [(b"x-api-key", b"A"), (b"x-api-key", b"B")],
    ],
)
def test_missing_malformed_or_ambiguous_credentials_are_401(headers) -> None:
    with pytest.raises(GatewayError) as exc:
        extract_credential(headers, None)
    assert exc.value.status == 401 and exc.value.code == "invalid_api_key"


def test_cidr_allow_deny_ipv4_and_ipv6() -> None:
    allow = parse_networks(["10.0.0.0/8", "2001:db8::/32"])
    deny = parse_networks(["10.1.0.0/16"])
    assert is_address_allowed("10.2.3.4", allow, deny)
    assert not is_address_allowed("10.1.3.4", allow, deny)  # deny wins
    assert not is_address_allowed("192.0.2.1", allow, deny)
    assert is_address_allowed("2001:db8::1", allow, deny)
    assert is_address_allowed("::ffff:10.2.3.4", allow, deny)  # IPv4-mapped IPv6
    assert is_address_allowed("192.0.2.1", (), ())
    assert not is_address_allowed("127.0.0.1", (), parse_networks(["127.0.0.1"]))
    with pytest.raises(ValueError, match=r"300\.1\.1\.1/8"):
        parse_networks(["300.1.1.1/8"])


async def _issue(engine, **spec) -> str:
    async with engine.begin() as conn:
        await accounts.sync_groups(conn, {"default": ("", True), "claude-default": ("", True)})
    email = f"u{time.monotonic_ns()}@example.test"
    await create_user(engine, email=email, password=None)
    issued = await issue_key(
        engine, SEALER, user_email=email, spec=KeySpec(**spec), known_groups=["default", "claude-default"]
    )
    return issued.key


async def test_no_plaintext_secret_is_stored_anywhere(engine) -> None:
    secret = await _issue(engine)
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(sa.select(table)):
                assert secret not in repr(tuple(row)), table.name


async def test_resolver_accepts_active_and_refuses_revoked_expired_unknown(engine) -> None:
    resolver = KeyResolver(engine, SEALER, ttl=0.0)
    secret = await _issue(engine, group="claude-default", quota_usd="5", scopes=["inference"])
    p = await resolver.authenticate(secret)
    assert p.group == "claude-default" and p.scopes == frozenset({"inference"})
    assert p.chain[0].quota_micros == 5_000_000
    with pytest.raises(GatewayError) as unknown:
        await resolver.authenticate(generate_secret())
    assert unknown.value.status == 401
    async with engine.begin() as conn:
        await touch_key_status(conn, p.key_id, "revoked")
    with pytest.raises(GatewayError, match="revoked"):
        await resolver.authenticate(secret)
    expiring = await _issue(engine, expires_in_days=1)
    ok = await resolver.authenticate(expiring)
    with pytest.raises(GatewayError, match="expired"):
        await resolver.authenticate(expiring, now=ok.expires_at + 1)


async def test_cache_serves_warm_keys_without_sql_until_ttl(engine) -> None:
    resolver = KeyResolver(engine, SEALER, ttl=60.0)
    secret = await _issue(engine)
    p = await resolver.authenticate(secret)
    async with engine.begin() as conn:
        await conn.execute(api_keys.update().where(api_keys.c.id == p.key_id).values(status="revoked"))
    assert (await resolver.authenticate(secret)).key_id == p.key_id  # cached
    resolver.invalidate()
    with pytest.raises(GatewayError):
        await resolver.authenticate(secret)


async def test_concurrent_requests_for_an_expired_entry_share_one_load(engine) -> None:
    """At the cache's expiry a burst of requests must not each query the database."""
    resolver = KeyResolver(engine, SEALER, ttl=60.0)
    secret = await _issue(engine)
    loads = 0
    real_load = resolver._load

    async def counting_load(s: str):  # type: ignore[no-untyped-def]
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return await real_load(s)

    resolver._load = counting_load  # type: ignore[method-assign]
    principals = await asyncio.gather(*(resolver.authenticate(secret) for _ in range(50)))
    assert loads == 1 and len({p.key_id for p in principals}) == 1


async def test_a_key_in_use_is_reloaded_before_expiry_without_making_a_request_wait(engine) -> None:
    resolver = KeyResolver(engine, SEALER, ttl=0.4)
    secret = await _issue(engine)
    loads = 0
    real_load = resolver._load

    async def counting_load(s: str):  # type: ignore[no-untyped-def]
        nonlocal loads
        loads += 1
        return await real_load(s)

    resolver._load = counting_load  # type: ignore[method-assign]
    p = await resolver.authenticate(secret)
    assert loads == 1
    async with engine.begin() as conn:
        await conn.execute(api_keys.update().where(api_keys.c.id == p.key_id).values(status="revoked"))
    await asyncio.sleep(0.25)  # past half the TTL: this request is served from the cache …
    assert (await resolver.authenticate(secret)).key_id == p.key_id
    for _ in range(50):  # … and a reload runs behind it
        if loads == 2 and not resolver._background:
            break
        await asyncio.sleep(0.01)
    assert loads == 2
    with pytest.raises(GatewayError, match="revoked"):  # before the old entry's TTL ran out
        await resolver.authenticate(secret)
    await resolver.close()


async def test_a_load_cut_short_hands_over_and_one_across_an_invalidation_is_not_kept(engine) -> None:
    resolver = KeyResolver(engine, SEALER, ttl=60.0)
    secret = await _issue(engine)
    real_load = resolver._load
    gate = asyncio.Event()

    async def slow_load(s: str):  # type: ignore[no-untyped-def]
        await gate.wait()
        return await real_load(s)

    resolver._load = slow_load  # type: ignore[method-assign]
    first = asyncio.ensure_future(resolver.authenticate(secret))
    second = asyncio.ensure_future(resolver.authenticate(secret))
    await asyncio.sleep(0.01)
    first.cancel()  # the loading request leaves: the waiting one loads by itself
    await asyncio.sleep(0.01)
    resolver.invalidate()  # a key change lands while that load runs
    gate.set()
    assert (await second).key_id > 0 and first.cancelled()
    assert secret not in resolver._cache  # loaded before the change was announced: used once, not kept


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"custom_key": "sk-other-0123456789abcdef0123"}, "custom_key"),
        ({"quota_usd": "-1"}, "quota"),
        ({"rate_limit_5h_usd": "abc"}, "rate_limit_5h"),
        ({"ip_whitelist": ["10.0.0.0/33"]}, "ip_whitelist"),
        ({"group": "nope"}, "group"),
        ({"scopes": ["root"]}, "scopes"),
        ({"expires_in_days": 0}, "expires_in_days"),
    ],
)
async def test_issuance_rejects_bad_fields_naming_them(engine, spec, field) -> None:
    with pytest.raises(IssuanceError) as exc:
        await _issue(engine, **spec)
    assert exc.value.field == field


async def test_custom_key_must_be_unique(engine) -> None:
    custom = "sk-byts-my-own-secret-value-0123456789"
    assert await _issue(engine, custom_key=custom) == custom
    with pytest.raises(IssuanceError, match="already in use"):
        await _issue(engine, custom_key=custom)


def test_console_code_digests_use_the_same_hkdf_as_before() -> None:
    """The console's e-mail code key moved from cryptography's HKDF to the stdlib one."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from bytespike.access.secrets import hkdf_sha256

    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"bytespike-console", info=b"email-codes").derive(b"s3cret")
    assert hkdf_sha256(b"s3cret", salt=b"bytespike-console", info=b"email-codes") == expected
