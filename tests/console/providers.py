"""Local stand-ins for the two outside services the console talks to, served in the test's
event loop on free ports: an OpenID Connect provider (discovery, JWKS, authorize, token; ID
tokens signed RS256 with a key made for the test) and the one Stripe API call the console
makes (create a Checkout Session), which records what it was sent."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.processes import free_port

CLIENT_ID = "bytespike-test-client.apps.example"
CLIENT_SECRET = "test-client-secret"


class LocalServer:
    """A Starlette app under uvicorn, in this event loop."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="none"
            )
        )
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                return
            if self._task.done():
                await self._task
            await asyncio.sleep(0.01)
        raise RuntimeError("local server did not start")

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


@dataclass
class Person:
    sub: str
    email: str
    email_verified: bool = True


@dataclass
class OidcProvider:
    """Discovery, JWKS, authorize (auto-consents as ``person``) and token endpoints."""

    person: Person = field(default_factory=lambda: Person(uuid.uuid4().hex, "g-user@example.test"))
    signing_key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-1"})
    )
    published_key: RSAKey | None = None
    """What the JWKS publishes; a different key than ``signing_key`` simulates a forged token."""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    signed_in_at: int = field(default_factory=lambda: int(time.time()) - 3600)
    """When the person signed in at the provider; ``auth_time`` unless a fresh login is asked for."""
    honours_reauthentication: bool = True
    """False: ``prompt=login``/``max_age`` are ignored, as a careless provider would."""
    server: LocalServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return self.server.url

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": self.issuer + "/authorize",
                    "token_endpoint": self.issuer + "/token",
                    "jwks_uri": self.issuer + "/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        async def jwks(request: Request) -> Response:
            key = self.published_key or self.signing_key
            return JSONResponse(KeySet([key]).as_dict(private=False))

        async def authorize(request: Request) -> Response:
            q = request.query_params
            if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            self.authorize_requests.append(dict(q))
            code = uuid.uuid4().hex
            fresh = q.get("prompt") == "login" or q.get("max_age") == "0"
            self.codes[code] = {
                "auth_time": int(time.time())
                if fresh and self.honours_reauthentication
                else self.signed_in_at,
                "nonce": q.get("nonce"),
                "redirect_uri": q.get("redirect_uri"),
                "challenge": q.get("code_challenge"),
                "person": self.person,
            }
            return RedirectResponse(
                f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}",
                status_code=302,
            )

        async def token(request: Request) -> Response:
            form = dict(await request.form())
            self.token_requests.append({k: str(v) for k, v in form.items()})
            grant = self.codes.pop(str(form.get("code")), None)
            if (
                grant is None
                or form.get("client_id") != CLIENT_ID
                or form.get("client_secret") != CLIENT_SECRET
                or form.get("redirect_uri") != grant["redirect_uri"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            verifier = str(form.get("code_verifier", ""))
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if challenge != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            person: Person = grant["person"]
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": CLIENT_ID,
                "sub": person.sub,
                "email": person.email,
                "email_verified": person.email_verified,
                "iat": now,
                "exp": now + 300,
                "auth_time": grant["auth_time"],
                "nonce": grant["nonce"],
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, self.signing_key)
            return JSONResponse(
                {"access_token": uuid.uuid4().hex, "token_type": "Bearer", "id_token": id_token}
            )

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
            ]
        )

    async def start(self) -> None:
        self.server = LocalServer(self.app())
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


@dataclass
class StripeApi:
    """``POST /v1/checkout/sessions`` as Stripe answers it, recording each request's form."""

    sessions: list[dict[str, str]] = field(default_factory=list)
    server: LocalServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def app(self) -> Starlette:
        async def create_session(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).multi_items()}
            form["_authorization"] = request.headers.get("authorization", "")
            self.sessions.append(form)
            session_id = f"cs_test_{uuid.uuid4().hex}"
            amount = int(form.get("line_items[0][price_data][unit_amount]", "0"))
            return JSONResponse(
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "url": f"{self.url}/pay/{session_id}",
                    "amount_total": amount,
                    "currency": "usd",
                    "payment_status": "unpaid",
                    "status": "open",
                    "client_reference_id": form.get("client_reference_id"),
                    "metadata": {},
                }
            )

        async def pay_page(request: Request) -> Response:
            return Response(
                "<!doctype html><title>Stripe (test)</title><h1>Stripe checkout stand-in</h1>",
                media_type="text/html",
            )

        return Starlette(
            routes=[
                Route("/v1/checkout/sessions", create_session, methods=["POST"]),
                Route("/pay/{session_id}", pay_page),
            ]
        )

    async def start(self) -> None:
        self.server = LocalServer(self.app())
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
