"""A loopback HTTP server that answers the google-genai SDK with canned bytes and records its
requests, so the official SDK can be the oracle for what our codecs produce and consume."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from google import genai
from google.genai import types


@dataclass
class CannedGemini:
    """Serves ``replies`` in order (status, content type, body) and records (path, JSON body)."""

    replies: deque[tuple[int, str, bytes]] = field(default_factory=deque)
    requests: list[tuple[str, Any]] = field(default_factory=list)
    port: int = 0

    def reply_json(self, body: Any, status: int = 200) -> None:
        self.replies.append((status, "application/json", orjson.dumps(body)))

    def reply_sse(self, stream: bytes) -> None:
        self.replies.append((200, "text/event-stream", stream))

    def client(self) -> genai.Client:
        return genai.Client(
            api_key="test-key",
            http_options=types.HttpOptions(
                base_url=f"http://127.0.0.1:{self.port}",
                api_version="v1beta",
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )


def start(canned: CannedGemini) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            canned.requests.append((self.path, orjson.loads(self.rfile.read(length) or b"null")))
            status, content_type, body = canned.replies.popleft()
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    canned.port = server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
