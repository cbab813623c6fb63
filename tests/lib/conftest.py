"""A tiny scripted IMDS on loopback for the lib.imds tests, and a guard that keeps tests on loopback."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3.util.connection

# lib is installed editable by the project's set-up; fall back to the checkout when it is not.
if importlib.util.find_spec("lib") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

LONG_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + "A" * 1200 + ".c2lnbmF0dXJlLXNlY3JldC1wYXJ0"


def token_body(
    access_token: str = LONG_TOKEN,
    *,
    expires_in: int = 86399,
    expires_on: int | None = None,
    resource: str = "https://management.azure.com/",
    client_id: str = "11111111-2222-3333-4444-555555555555",
) -> dict[str, str]:
    """A success body shaped as reference/imds.md: the numbers are JSON strings."""
    now = int(time.time())
    if expires_on is None:
        expires_on = now + expires_in
    return {
        "access_token": access_token,
        "refresh_token": "",
        "expires_in": str(expires_on - now),
        "expires_on": str(expires_on),
        "not_before": str(now - 300),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": client_id,
    }


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str -> text/plain, None -> a fresh token_body()
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased


class FakeImds:
    """IMDS on 127.0.0.1:<free port>. Replies come from a queue; an empty queue answers a fresh token."""

    def __init__(self) -> None:
        self.replies: queue.Queue[Reply] = queue.Queue()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def push(self, *replies: Reply) -> None:
        for reply in replies:
            self.replies.put(reply)

    def push_status(self, status: int, times: int = 1, body: Any = "", **kw: Any) -> None:
        self.push(*(Reply(status=status, body=body, **kw) for _ in range(times)))

    def push_token(self, **kw: Any) -> dict[str, str]:
        body = token_body(**kw)
        self.push(Reply(body=body))
        return body

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(
                Recorded(
                    method=handler.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in handler.headers.items()},
                )
            )
        try:
            reply = self.replies.get_nowait()
        except queue.Empty:
            reply = Reply()
        if reply.delay:
            time.sleep(reply.delay)
        body = token_body() if reply.body is None else reply.body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            content_type = "application/json; charset=utf-8"
        else:
            data = str(body).encode()
            content_type = "text/plain; charset=utf-8"
        handler.send_response(reply.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Server", "IMDS/150.870.65.1325")
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake_imds() -> Iterator[FakeImds]:
    fake = FakeImds()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test whose HTTP client tries to connect anywhere but loopback (169.254.169.254 above all)."""
    real = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"test tried to connect to non-loopback {host}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)


@pytest.fixture(autouse=True)
def _no_ambient_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their endpoint explicitly; nothing from the developer's shell leaks in."""
    for name in ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
