"""Sign in with Google: the OpenID Connect authorization-code flow, with PKCE and a nonce.

The provider is found by discovery (``{issuer}/.well-known/openid-configuration``), so tests
point ``BYTESPIKE_GOOGLE_ISSUER`` at a local provider and exercise exactly this code. Request
building and PKCE come from authlib; the ID token's RS256 signature is checked against the
provider's JWKS and its ``iss``, ``aud``, ``exp``, ``nonce`` and ``sub`` claims are validated with
joserfc (authlib's JOSE implementation). HTTP goes through aiohttp, as everywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bytespike.access.console_accounts import ExternalIdentity

if TYPE_CHECKING:
    import aiohttp

TIMEOUT_S = 15
ID_TOKEN_ALGORITHMS = ["RS256", "ES256"]
CLOCK_LEEWAY_S = 60
"""Allowed difference between the provider's clock and ours (exp, iat, auth_time)."""


class OidcError(Exception):
    """The provider refused, or answered something we cannot trust; the message says which."""


class OidcProvider:
    def __init__(self, issuer: str, client_id: str, client_secret: str) -> None:
        self.issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._metadata: dict[str, Any] | None = None

    async def _get_json(self, http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        async with http.get(url) as resp:
            if resp.status != 200:
                raise OidcError(f"{url} answered HTTP {resp.status}")
            return await resp.json(content_type=None)

    async def metadata(self) -> dict[str, Any]:
        import aiohttp

        if self._metadata is None:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http:
                found = await self._get_json(http, self.issuer + "/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise OidcError(f"discovery names issuer {found.get('issuer')!r}, expected {self.issuer!r}")
            self._metadata = found
        return self._metadata

    async def authorization_url(
        self, redirect_uri: str, *, reauthenticate: bool = False
    ) -> tuple[str, dict[str, str]]:
        """Where to send the browser, and the state to keep (signed cookie) until it returns.

        ``reauthenticate`` asks the provider to check the person again now, even when they are
        signed in there (``prompt=login``, ``max_age=0``); `identity` then requires an
        ``auth_time`` no older than the request."""
        # Imported when Google sign-in is used: authlib, joserfc and cryptography are ~10 MiB a
        # worker that never serves it should not carry.
        from authlib.common.security import generate_token
        from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        meta = await self.metadata()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
        fresh = {"prompt": "login", "max_age": "0"} if reauthenticate else {}
        url = prepare_grant_uri(
            meta["authorization_endpoint"],
            self._client_id,
            "code",
            redirect_uri=redirect_uri,
            scope="openid email profile",
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
            **fresh,
        )
        return url, {"state": state, "nonce": nonce, "verifier": verifier}

    async def identity(
        self,
        *,
        code: str,
        redirect_uri: str,
        nonce: str,
        verifier: str,
        authenticated_since: int | None = None,
    ) -> ExternalIdentity:
        """Exchange the code and verify the ID token; raises `OidcError`.

        With ``authenticated_since`` (Unix seconds), the token's ``auth_time`` must show the
        person authenticated at the provider at or after it (within the clock leeway)."""
        import aiohttp
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        meta = await self.metadata()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http:
            async with http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "code_verifier": verifier,
                },
                headers={"Accept": "application/json"},
            ) as resp:
                tokens = await resp.json(content_type=None)
                if resp.status != 200 or not isinstance(tokens, dict) or "id_token" not in tokens:
                    raise OidcError(f"the token endpoint answered HTTP {resp.status}: {str(tokens)[:200]}")
            keys = KeySet.import_key_set(await self._get_json(http, meta["jwks_uri"]))
        try:
            token = jwt.decode(tokens["id_token"], keys, algorithms=ID_TOKEN_ALGORITHMS)
            # Google documents both spellings of its issuer in ID tokens.
            bare = self.issuer.removeprefix("https://")
            jwt.JWTClaimsRegistry(
                leeway=CLOCK_LEEWAY_S,
                iss={"essential": True, "values": [self.issuer, bare]},
                aud={"essential": True, "value": self._client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token did not verify: {exc}") from exc
        claims = token.claims
        auth_time = claims.get("auth_time")
        if authenticated_since is not None and (
            not isinstance(auth_time, int | float) or auth_time < authenticated_since - CLOCK_LEEWAY_S
        ):
            raise OidcError(f"the provider did not authenticate the person again (auth_time {auth_time!r})")
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise OidcError("the ID token carries no email address")
        verified = claims.get("email_verified")
        return ExternalIdentity(
            issuer=self.issuer,
            subject=str(claims["sub"]),
            email=email.strip().lower(),
            email_verified=verified is True or verified == "true",
            auth_time=int(auth_time) if isinstance(auth_time, int | float) else None,
        )
