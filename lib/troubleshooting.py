"""Tools for the troubleshooting lesson (notebooks/08): reproduce a misconfiguration, watch what happens.

- :class:`ForwardingProxy`: a tiny HTTP proxy on loopback that forwards plain-http requests and adds
  ``X-Forwarded-For`` and ``Via``, as real proxies do; IMDS refuses such requests (its guard against
  server-side request forgery). It forwards only to loopback and to IMDS's own address.
- :func:`proxy_environment`: ``HTTP_PROXY``/``NO_PROXY`` set for a ``with`` block, then restored.
- :func:`captured_logs`: the log lines of ``lib.imds`` and urllib3's retries during a ``with`` block.
- :func:`stale_copy`: on the emulator only, the token a stale cache would still hold a day later (the same
  claims, its times moved back, signed with the emulator's own key, which only the emulator has; on Azure
  only Entra ID can sign a token).
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .imds import AccessToken
from .target import Target

IMDS_ADDRESS = "169.254.169.254"
SIGNING_KEY_FILE = "token-signing-key.pem"  # in the emulator's data dir, beside its CA (emulator/core/tokens.py)
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade"}
_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")


class TroubleshootingError(RuntimeError):
    """A lesson tool cannot do what was asked here (e.g. sign a token on Azure)."""


def _forwardable(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or str(address) == IMDS_ADDRESS


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # the lesson prints what it wants; no access log on stderr

    def _answer(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self) -> None:
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._answer(501, "This lesson proxy forwards plain http:// requests only.")
            return
        if not _forwardable(target.hostname):
            self._answer(403, f"This lesson proxy forwards only to loopback and {IMDS_ADDRESS}.")
            return
        self.server.forwarded.append(f"{self.command} {target.scheme}://{target.netloc}{target.path}")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        client = self.client_address[0]
        earlier = headers.pop("X-Forwarded-For", None)
        headers["X-Forwarded-For"] = f"{earlier}, {client}" if earlier else client  # what every proxy adds
        headers["Via"] = "1.1 workbook-lesson-proxy"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = target.path + (f"?{target.query}" if target.query else "")
        connection = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
        try:
            connection.request(self.command, path or "/", body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        except OSError as exc:
            self._answer(502, f"The proxy could not reach {target.netloc}: {exc}")
            return
        finally:
            connection.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def do_CONNECT(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(501, "This lesson proxy does not tunnel (CONNECT).")


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.forwarded: list[str] = []


class ForwardingProxy:
    """``with ForwardingProxy() as proxy:`` a proxy at ``proxy.url``; ``proxy.forwarded`` lists what it forwarded."""

    def __init__(self) -> None:
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ForwardingProxy:
        self._server = _ProxyServer()
        self._thread = threading.Thread(target=self._server.serve_forever, name="lesson-proxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        if self._server is None:
            raise TroubleshootingError("the proxy is not running: use it in a `with` block")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def forwarded(self) -> list[str]:
        return list(self._server.forwarded) if self._server is not None else []


@contextmanager
def proxy_environment(http_proxy: str | None, no_proxy: str | None = None) -> Iterator[None]:
    """The proxy variables as a misconfigured machine has them, inside the block only (both spellings)."""
    saved = {name: os.environ.get(name) for name in _PROXY_VARIABLES}
    try:
        for name in _PROXY_VARIABLES:
            os.environ.pop(name, None)
        if http_proxy is not None:
            os.environ["HTTP_PROXY"] = os.environ["http_proxy"] = http_proxy
        if no_proxy is not None:
            os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def captured_logs(*names: str) -> Iterator[list[str]]:
    """``with captured_logs("lib.imds", "urllib3") as lines:`` — the DEBUG lines those loggers wrote meanwhile."""
    collector = _Collector()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(collector)
        logger.setLevel(logging.DEBUG)
    try:
        yield collector.lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(collector)
            logger.setLevel(level)


def stale_copy(token: str | AccessToken, target: Target, *, hours: float = 25) -> str:
    """The token as a cache would still hold it ``hours`` later: the same claims, every time moved back.

    Emulator only: the copy is signed with the emulator's own key (in its data dir, readable by you alone).
    On Azure nothing but Entra ID can sign a token, so there the lesson explains instead.
    """
    import jwt
    from cryptography.hazmat.primitives import serialization

    if not target.is_emulator or not target.ca_bundle:
        raise TroubleshootingError("Only the emulator's own key can sign a stale copy; on Azure only Entra ID signs.")
    raw = token.token if isinstance(token, AccessToken) else token
    header = jwt.get_unverified_header(raw)
    claims = jwt.decode(raw, options={"verify_signature": False})
    shift = int(hours * 3600)
    for name in ("iat", "nbf", "exp"):
        if isinstance(claims.get(name), int):
            claims[name] -= shift
    key_file = Path(target.ca_bundle).parent / SIGNING_KEY_FILE
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    return jwt.encode(claims, key, algorithm="RS256",  # type: ignore[arg-type]
                      headers={name: header[name] for name in ("kid", "x5t", "typ") if name in header})
