"""401 on every surface (the three protocols, OpenAI Responses and both token counts): missing,
unknown, malformed, ambiguous and wrongly-framed keys (spec §2.2, §6.3; docs/decisions.md
"Credentials")."""

from __future__ import annotations

import pytest

from tests.errors.support import (
    ANTHROPIC,
    AUTH,
    ENVELOPE,
    GEMINI,
    GEMINI_COUNT,
    OPENAI,
    SURFACES,
    assert_error,
    auth,
    body,
    route,
    send,
)

UNKNOWN_WELL_FORMED = "sk-byts-" + "Q" * 43
"""Right prefix, right alphabet and length; simply not issued."""


def _native_header(proto: str) -> str:
    return auth(proto, "")[0][0]


def _wrap(proto: str, secret: str) -> str:
    return f"Bearer {secret}" if ENVELOPE[proto] == OPENAI else secret


async def _post(acct, proto: str, headers, path: str | None = None):  # type: ignore[no-untyped-def]
    return await send(acct.http, acct.base, "POST", path or route(proto), json=body(proto), headers=headers)


def _assert_401(proto: str, resp, *contains: str) -> None:  # type: ignore[no-untyped-def]
    message = assert_error(proto, resp, AUTH, param=None, contains=contains)
    if ENVELOPE[proto] == GEMINI:
        # Spec §2.2: the Gemini troubleshooting text is "API key not valid".
        assert message.startswith("API key not valid"), message


@pytest.mark.parametrize("proto", SURFACES)
async def test_missing_key(account, proto: str) -> None:
    acct = await account()
    resp = await _post(acct, proto, [])
    _assert_401(proto, resp, "missing API key")
    await acct.assert_not_billed(resp, key_valid=False)


@pytest.mark.parametrize("proto", SURFACES)
async def test_unknown_key(account, proto: str) -> None:
    acct = await account()
    resp = await _post(acct, proto, [(_native_header(proto), _wrap(proto, UNKNOWN_WELL_FORMED))])
    _assert_401(proto, resp, "invalid x-api-key")
    if ENVELOPE[proto] == ANTHROPIC:
        # Spec §2.2 / §6.1: the Anthropic message example is exactly this.
        assert resp.json()["error"]["message"] == "invalid x-api-key"
    await acct.assert_not_billed(resp, key_valid=False)


@pytest.mark.parametrize("proto", SURFACES)
@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("hello", id="no-prefix"),
        pytest.param("sk-byts-short", id="too-short"),
        pytest.param("sk-byts-" + "a" * 20 + "!$%" + "b" * 20, id="bad-alphabet"),
        pytest.param("sk-ant-api03-" + "x" * 40, id="vendor-key"),
    ],
)
async def test_malformed_key(account, proto: str, secret: str) -> None:
    acct = await account()
    resp = await _post(acct, proto, [(_native_header(proto), _wrap(proto, secret))])
    _assert_401(proto, resp)
    await acct.assert_not_billed(resp, key_valid=False)


@pytest.mark.parametrize("proto", SURFACES)
async def test_malformed_variant_of_a_real_key_is_refused(account, proto: str) -> None:
    """A real key with one character changed or truncated is not that key."""
    acct = await account()
    flipped = acct.secret[:-1] + ("A" if acct.secret[-1] != "A" else "B")
    for secret in (flipped, acct.secret[:-5], acct.secret + " extra"):
        resp = await _post(acct, proto, [(_native_header(proto), _wrap(proto, secret))])
        _assert_401(proto, resp)
    await acct.assert_not_billed(key_valid=False)


@pytest.mark.parametrize("proto", SURFACES)
async def test_duplicated_auth_header_with_different_values(account, proto: str) -> None:
    """The same credential header twice with different values is ambiguous: 401, never a guess,
    even when one of the two values is a valid, funded key."""
    acct = await account()
    name = _native_header(proto)
    for pair in (
        [(name, _wrap(proto, acct.secret)), (name, _wrap(proto, UNKNOWN_WELL_FORMED))],
        [(name, _wrap(proto, UNKNOWN_WELL_FORMED)), (name, _wrap(proto, acct.secret))],
    ):
        resp = await _post(acct, proto, pair)
        _assert_401(proto, resp, "conflicting")
    await acct.assert_not_billed(key_valid=False)


@pytest.mark.parametrize("proto", SURFACES)
@pytest.mark.parametrize(
    "template",
    [
        pytest.param("Basic {secret}", id="basic"),
        pytest.param("Token {secret}", id="token"),
        pytest.param("{secret}", id="no-scheme"),
        pytest.param("Bearer", id="bearer-without-key"),
        pytest.param("Bearer    ", id="bearer-blank"),
    ],
)
async def test_wrong_authorization_scheme(account, proto: str, template: str) -> None:
    """Only ``Authorization: Bearer <key>`` is a credential; the valid secret under any other
    scheme is refused (docs/decisions.md "Credentials")."""
    acct = await account()
    resp = await _post(acct, proto, [("authorization", template.format(secret=acct.secret))])
    _assert_401(proto, resp)
    await acct.assert_not_billed(resp, key_valid=False)


@pytest.mark.parametrize("proto", [GEMINI, GEMINI_COUNT])
async def test_gemini_query_key_unknown(account, proto: str) -> None:
    """``?key=`` is read on the Gemini surface (spec §2.2) and an unknown value is 401."""
    acct = await account()
    path = route(proto) + f"?key={UNKNOWN_WELL_FORMED}"
    resp = await _post(acct, proto, [], path=path)
    _assert_401(proto, resp)
    await acct.assert_not_billed(resp, key_valid=False)


@pytest.mark.parametrize("proto", SURFACES)
async def test_x_api_key_wins_over_a_bad_authorization_header(account, proto: str) -> None:
    """Precedence (spec §2.2): x-api-key > Authorization. An unknown x-api-key is 401 even when
    Authorization carries the real key, so the bad header is what gets judged."""
    acct = await account()
    resp = await _post(
        acct, proto, [("x-api-key", UNKNOWN_WELL_FORMED), ("authorization", f"Bearer {acct.secret}")]
    )
    _assert_401(proto, resp)
    await acct.assert_not_billed(resp, key_valid=False)
