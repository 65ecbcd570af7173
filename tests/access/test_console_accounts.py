"""Console accounts on both backends: password rules, invite-only sign-up, emailed codes,
password reset, external (OpenID Connect) identities, invites and thresholds."""

from __future__ import annotations

import pytest

from bytespike.access.console_accounts import (
    INVITE_PATTERN,
    AccountError,
    ConsoleAccounts,
    ExternalIdentity,
    new_invite_code,
    password_problem,
)
from bytespike.storage import accounts
from bytespike.storage.console_schema import email_codes

SECRET = "console-accounts-test-secret-0123"
PASSWORD = "correct-horse-42!"


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short-1!", False),
        ("twelve-chars", False),
        ("twelvechars1", False),
        ("twelve-char1", True),
        (PASSWORD, True),
    ],
)
def test_password_rule_of_spec_section_8(password: str, ok: bool) -> None:
    assert (password_problem(password) is None) is ok


def test_invite_codes_have_the_spec_shape() -> None:
    codes = {new_invite_code() for _ in range(200)}
    assert len(codes) == 200 and all(INVITE_PATTERN.match(c) for c in codes)


async def test_invite_only_sign_up_redeems_a_code_once(engine) -> None:
    open_accounts = ConsoleAccounts(engine, SECRET, invite_only=False)
    closed = ConsoleAccounts(engine, SECRET, invite_only=True)
    inviter = await open_accounts.sign_up(email="inviter@example.test", password=PASSWORD, invite_code=None)
    with pytest.raises(AccountError) as missing:
        await closed.sign_up(email="a@example.test", password=PASSWORD, invite_code=None)
    assert missing.value.field == "invite_code"
    with pytest.raises(AccountError) as unknown:
        await closed.sign_up(email="a@example.test", password=PASSWORD, invite_code="BS-AAAA-BBBB")
    assert unknown.value.field == "invite_code"
    code = await closed.mint_invite(inviter)
    user = await closed.sign_up(email="a@example.test", password=PASSWORD, invite_code=code.lower())
    with pytest.raises(AccountError):
        await closed.sign_up(email="b@example.test", password=PASSWORD, invite_code=code)
    [invite] = await closed.invites(inviter.id)
    assert invite.code == code and invite.used_by_user_id == user.id
    # A refused sign-up leaves no user behind.
    async with engine.connect() as conn:
        assert await accounts.get_user_by_email(conn, "b@example.test") is None


async def test_accounts_mint_a_few_invites_administrators_more(engine) -> None:
    console = ConsoleAccounts(engine, SECRET, invite_only=False)
    user = await console.sign_up(email="few@example.test", password=PASSWORD, invite_code=None)
    for _ in range(5):
        await console.mint_invite(user)
    with pytest.raises(AccountError):
        await console.mint_invite(user)


async def test_verification_code_is_single_use_and_guess_limited(engine) -> None:
    console = ConsoleAccounts(engine, SECRET, invite_only=False)
    user = await console.sign_up(email="v@example.test", password=PASSWORD, invite_code=None)
    assert not await console.is_verified(user.id)
    code = await console.new_verification_code(user.id)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(AccountError):
            await console.verify_email(user.id, wrong)
    with pytest.raises(AccountError):  # five wrong guesses killed the code
        await console.verify_email(user.id, code)
    code = await console.new_verification_code(user.id)
    await console.verify_email(user.id, f" {code} ")
    assert await console.is_verified(user.id)
    with pytest.raises(AccountError):
        await console.verify_email(user.id, code)
    async with engine.connect() as conn:
        digests = [r.code_digest for r in await conn.execute(email_codes.select())]
    assert code not in "".join(digests)  # only digests are stored


async def test_password_check_and_reset(engine) -> None:
    console = ConsoleAccounts(engine, SECRET, invite_only=False)
    user = await console.sign_up(email="Reset@Example.test", password=PASSWORD, invite_code=None)
    assert (await console.check_password(email="reset@example.test", password=PASSWORD)).id == user.id  # type: ignore[union-attr]
    assert await console.check_password(email="reset@example.test", password=PASSWORD + "x") is None
    assert await console.check_password(email="nobody@example.test", password=PASSWORD) is None
    assert await console.start_password_reset("nobody@example.test") is None
    found = await console.start_password_reset("reset@example.test")
    assert found is not None
    _, token = found
    with pytest.raises(AccountError):
        await console.reset_password(token, "weak")
    await console.reset_password(token, "another-pass-9#")
    with pytest.raises(AccountError):
        await console.reset_password(token, "another-pass-9#")
    assert await console.check_password(email="reset@example.test", password="another-pass-9#") is not None
    assert await console.is_verified(user.id)


async def test_external_identity_creates_links_and_reuses(engine) -> None:
    console = ConsoleAccounts(engine, SECRET, invite_only=False)
    google = ExternalIdentity("https://accounts.google.com", "sub-1", "g@example.test", True)
    created = await console.external_sign_in(google, invite_code=None)
    assert await console.is_verified(created.id)
    assert (await console.external_sign_in(google, invite_code=None)).id == created.id
    # A pre-registered, never verified account with the same email is taken over by the
    # mailbox's real owner, and the unproven password stops working.
    squatter = await console.sign_up(email="victim@example.test", password=PASSWORD, invite_code=None)
    owner = await console.external_sign_in(
        ExternalIdentity("https://accounts.google.com", "sub-2", "victim@example.test", True),
        invite_code=None,
    )
    assert owner.id == squatter.id
    assert await console.check_password(email="victim@example.test", password=PASSWORD) is None
    with pytest.raises(AccountError):
        await console.external_sign_in(
            ExternalIdentity("https://accounts.google.com", "sub-3", "u@example.test", False),
            invite_code=None,
        )
    closed = ConsoleAccounts(engine, SECRET, invite_only=True)
    with pytest.raises(AccountError) as refused:
        await closed.external_sign_in(
            ExternalIdentity("https://accounts.google.com", "sub-4", "new@example.test", True),
            invite_code=None,
        )
    assert refused.value.field == "invite_code"


async def test_low_balance_threshold(engine) -> None:
    console = ConsoleAccounts(engine, SECRET, invite_only=False)
    user = await console.sign_up(email="t@example.test", password=PASSWORD, invite_code=None)
    async with engine.connect() as conn:
        wallet = await accounts.get_user_wallet(conn, user.id)
    assert await console.set_low_balance_threshold(wallet.id, "12.5") == 12_500_000
    async with engine.connect() as conn:
        assert await accounts.wallet_thresholds(conn, wallet.id) == 12_500_000
    for bad in ("-1", "x", ""):
        with pytest.raises(AccountError):
            await console.set_low_balance_threshold(wallet.id, bad)
