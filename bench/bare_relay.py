"""The "features off" baseline: the same server stack and upstream client as the gateway, and
nothing else.

    python bench/bare_relay.py --port P --upstream http://127.0.0.1:S --vendor-key K

Raw ASGI under uvicorn (uvloop, httptools, no access log, no proxy headers: `bytespike serve`'s
settings), the body parsed with orjson, ``model`` rewritten, one POST through bytespike's own
`Http1Pool`, the answer's ``model`` rewritten back. No key lookup, scopes, admission, holds,
windows, concurrency lease, settlement or usage record: the gap between this and the gateway is
what those features cost. Only ``POST /v1/chat/completions`` (non-streaming) and ``GET /healthz``.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
import uvicorn

from bytespike.upstreams.http1 import Http1Pool

UPSTREAM_MODEL = {"gpt-5-4": "gpt-5.4"}


def make_app(upstream: str, vendor_key: str) -> Any:
    pool = Http1Pool(connect_timeout=10, read_timeout=300)
    url = upstream + "/v1/chat/completions"
    headers = [("authorization", "Bearer " + vendor_key), ("content-type", "application/json")]

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = orjson.loads(b"".join(parts))
        slug = body["model"]
        body["model"] = UPSTREAM_MODEL.get(slug, slug)
        resp = await pool.request("POST", url, headers, orjson.dumps(body))
        answer = orjson.loads(await resp.read())
        answer["model"] = slug
        await send(
            {"type": "http.response.start", "status": resp.status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--vendor-key", required=True)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.upstream, args.vendor_key),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
