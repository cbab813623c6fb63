"""Shared HTTP plumbing: routing tables as data, listeners with limits, never-a-500 error handling.

Each HTTP service declares ``ROUTES`` (a list of :class:`Route`), a handlers module and an
:class:`ErrorCatalogue` (its own wire errors for what this module refuses); :func:`build_app` turns
them into one aiohttp application behind one catch-all route, so that matching can be
case-insensitive where Azure's is (Resource Manager) and a method that exists for a path but not
for the verb gets that service's own 405.

What every listener gets here, whatever the service (DESIGN.md §2):
- a body limit per route, checked against ``Content-Length`` before anything is read and enforced
  while reading a chunked body; routes with ``streamed=True`` read ``request.content`` themselves
  (large blobs), everything else is read whole, bounded, after the service's ``before`` (which sees
  headers only: authentication first, so unauthenticated callers never get a body buffered) and
  before the handler runs;
- a header-read timeout (aiohttp's keep-alive timer also runs before the first request, so a
  client that trickles its headers is cut off), a body idle timeout (a client that stops sending a body
  it declared is cut off, and what it sent is dropped), a TLS handshake timeout and a connection cap;
- optionally a connection filter (``--owner-only``, core/peers.py): a connection it refuses gets 403
  before any request is read;
- any unexpected exception answered with the service's own 500-class error after being logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Protocol

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[web.StreamResponse]]

KIB = 1024
MIB = 1024 * KIB
JSON_BODY_LIMIT = 4 * MIB  # Resource Manager's own request limit; data planes set their own per route
HEADER_TIMEOUT_SECONDS = 15.0  # a request's headers must arrive within this (and idle keep-alive ends)
BODY_IDLE_SECONDS = 60.0  # a body from which no byte comes for this long: the connection is closed (_BodyWatchdog)
TLS_HANDSHAKE_TIMEOUT_SECONDS = 10.0
# How long a closing TLS connection waits for the client's close_notify (asyncio's default: 30 s). A client that
# never reads again (an idle pooled connection) would otherwise hold a stopping listener that long (Python 3.12+).
TLS_SHUTDOWN_TIMEOUT_SECONDS = 2.0
REFUSED_LINGER_SECONDS = 2.0  # refusals (_Refusal): how long a refused client may finish sending
REFUSED_DRAIN_LIMIT = 64 * KIB  # ... and how much of it is read and dropped before the connection is closed
MAX_CONNECTIONS = 128  # per listener: the workbook needs a handful; the SDKs' pools stay well under


# (peer address, our address) -> may this connection be served?
ConnectionFilter = Callable[[Any, Any], bool]


class Listener(Protocol):
    """One socket standing in for one kind of Azure host."""

    name: str
    connection_filter: ConnectionFilter | None  # set by the emulator before start (owner-only mode)

    async def start(self, host: str, port: int) -> int:
        """Start listening; return the bound port."""

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # "/subscriptions/{subscription}/resourceGroups/{resource_group}"; {x:path} spans "/"
    handler: str | Handler  # a function of the service's handlers module (by name), or the function itself
    action: str | None = None  # RBAC action the route needs, when the service checks RBAC
    resource_type: str = ""  # e.g. "Microsoft.Resources/resourceGroups", for messages
    api_versions: tuple[str, ...] = ()  # versions the route accepts (the first is the oldest)
    max_body: int | None = None  # bytes; None: the app's body limit
    streamed: bool = False  # the handler reads request.content itself, within max_body


@dataclass
class Match:
    route: Route
    params: dict[str, str]


@dataclass
class RouteTable:
    routes: list[Route]
    case_sensitive: bool = True
    _compiled: list[tuple[Route, re.Pattern[str]]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        flags = 0 if self.case_sensitive else re.IGNORECASE
        for route in self.routes:
            regex = ""
            for literal, name, kind in re.findall(r"([^{]*)(?:\{(\w+)(?::(\w+))?\})?", route.pattern):
                regex += re.escape(literal)
                if name:
                    regex += f"(?P<{name}>.+)" if kind == "path" else f"(?P<{name}>[^/]+)"
            self._compiled.append((route, re.compile(regex + "/?", flags)))

    def match(self, method: str, path: str) -> Match | list[str] | None:
        """The matching route; or the allowed methods if only the verb is wrong; or None."""
        allowed: list[str] = []
        for route, regex in self._compiled:
            found = regex.fullmatch(path)
            if found is None:
                continue
            if route.method == method or (route.method == "GET" and method == "HEAD"):
                return Match(route, found.groupdict())
            allowed.append(route.method)
        return allowed or None


@dataclass(frozen=True)
class ErrorCatalogue:
    """A service's answers to what the shared plumbing refuses, each built by its errors.py."""

    wire_error: type[Exception]  # what handlers raise; rendered by ``render``
    render: Callable[[web.Request, Any], web.StreamResponse]
    not_found: Callable[[web.Request], Exception]
    method_not_allowed: Callable[[web.Request, list[str]], Exception]
    body_too_large: Callable[[int], Exception]  # argument: the limit in bytes
    internal: Callable[[], Exception]


# What build_app keeps on each app, so tools (the fuzz tests) can walk every service's routes.
ROUTE_TABLE = web.AppKey("route_table", RouteTable)
ERROR_CATALOGUE = web.AppKey("error_catalogue", ErrorCatalogue)
SUBAPPS: web.AppKey[dict[str, web.Application]] = web.AppKey("subapps", dict)


# How deep a request's JSON may nest. Python's json parser recurses per level and raises RecursionError near
# the interpreter's limit; a collection running meanwhile can then fail in a finalizer ("unraisable"), so the
# depth is measured first, without recursion. No body the emulated APIs take nests more than a few levels.
MAX_JSON_DEPTH = 64
# A string, to its closing quote or to the end of the body (an unterminated one is json.loads' to refuse):
# every quote starts a match that succeeds, so the scan is linear whatever the body.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 to open, -1 (signed) to close


def loads_json(raw: bytes | str, **options: Any) -> Any:
    """``json.loads`` for request bodies: a ValueError (never a RecursionError) for JSON that is not valid or
    nests deeper than MAX_JSON_DEPTH."""
    data = raw.encode() if isinstance(raw, str) else raw
    steps = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS).translate(_BRACKET_STEPS)
    if steps and max(accumulate(memoryview(steps).cast("b"))) > MAX_JSON_DEPTH:
        raise ValueError(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
    return json.loads(data, **options)


def declared_length(request: web.Request) -> int | None:
    try:
        return request.content_length
    except ValueError:  # a Content-Length that is not a number; aiohttp's parser refuses most earlier
        return None


def build_app(
    table: RouteTable,
    handlers: Any,
    errors: ErrorCatalogue,
    *,
    before: Callable[[web.Request, Match], Awaitable[web.StreamResponse | None]] | None = None,
    state: dict[str, Any] | None = None,
    subapps: dict[str, web.Application] | None = None,
    body_limit: int = JSON_BODY_LIMIT,
) -> web.Application:
    """One aiohttp app: match the table, call the route's handler with the path parameters.

    ``errors.wire_error`` exceptions raised by ``before`` or a handler are rendered by the service;
    anything else is a bug in the emulator and is answered with ``errors.internal()`` after being
    logged, so a client always gets the service's own error shape and never a bare 500 page.
    """

    async def dispatch(request: web.Request) -> web.StreamResponse:
        limit = body_limit
        try:
            found = table.match(request.method, request.path)
            if found is None:
                raise errors.not_found(request)
            if isinstance(found, list):
                raise errors.method_not_allowed(request, found)
            limit = found.route.max_body if found.route.max_body is not None else body_limit
            length = declared_length(request)
            if length is not None and length > limit:
                raise errors.body_too_large(limit)
            if not found.route.streamed and request.client_max_size != limit:
                # aiohttp's read() enforces client_max_size; a streamed route counts its bytes itself (read_stream),
                # and a clone costs more than the rest of this function
                request = request.clone(client_max_size=limit)
            if before is not None:
                # Before the body is read: a caller who is refused anyway (no token, no secret) cannot make
                # the emulator buffer megabytes on each of its connections.
                early = await before(request, found)
                if early is not None:
                    return early
            if not found.route.streamed and request.body_exists:
                await _read_bounded(request, limit, errors)
            route_handler = found.route.handler
            handler: Handler = getattr(handlers, route_handler) if isinstance(route_handler, str) else route_handler
            return await handler(request, **found.params)
        except errors.wire_error as exc:
            response = errors.render(request, exc)
        except web.HTTPRequestEntityTooLarge:  # a before() or handler that read the body itself, past the limit
            response = errors.render(request, errors.body_too_large(limit))
        except ConnectionResetError:
            # The client went away, or stalled mid-body and was cut off (_BodyWatchdog): nobody reads an answer.
            # One is returned all the same, so aiohttp logs the request as ended rather than as a server error.
            response = web.Response(status=408)
            response.force_close()
            return response
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.path[:300])
            response = errors.render(request, errors.internal())
        if not request.content.at_eof():
            response.force_close()  # the unread body of a refused request is not worth reading
        return response

    app = web.Application(client_max_size=body_limit)
    app[ROUTE_TABLE] = table
    app[ERROR_CATALOGUE] = errors
    app[SUBAPPS] = dict(subapps or {})
    for key, value in (state or {}).items():
        app[key] = value
    for prefix, subapp in (subapps or {}).items():
        app.add_subapp(prefix, subapp)  # registered first, so the catch-all below does not shadow it
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)  # [\s\S]: a decoded %0a is a path too
    return app


class _BodyWatchdog:
    """Closes the connection of a request whose body stops arriving: no byte for ``BODY_IDLE_SECONDS``. aiohttp
    has no read timeout on a body, so a client that declares one and stalls would hold its connection (and an
    upload's temporary file) for as long as it likes. Closing makes the pending read fail as if the client had
    hung up, and the handlers already drop a half-received body then. One timer per body, pushed on by
    ``progress``."""

    def __init__(self, request: web.Request) -> None:
        self._transport = request.transport
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._timer = self._loop.call_later(BODY_IDLE_SECONDS, self._check)
        self.fired = False

    def progress(self) -> None:
        self._last = self._loop.time()

    def _check(self) -> None:
        idle = self._loop.time() - self._last
        if idle < BODY_IDLE_SECONDS:
            self._timer = self._loop.call_later(BODY_IDLE_SECONDS - idle, self._check)
            return
        self.fired = True
        log.info("a request body stalled for %.0f s: closing its connection", idle)
        if self._transport is not None:
            self._transport.close()

    def __enter__(self) -> _BodyWatchdog:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        """Once the watchdog has closed the connection, the read's end (an error, or an early end of the stream)
        means "stalled": ``ConnectionResetError``, as for a client that hung up."""
        self._timer.cancel()
        if self.fired and (exc is None or isinstance(exc, Exception)):
            raise ConnectionResetError(f"no byte of the request body came for {BODY_IDLE_SECONDS:g} s") from None


async def _read_bounded(request: web.Request, limit: int, errors: ErrorCatalogue) -> None:
    """Read the whole body (aiohttp caches it for ``request.read()``), refusing past ``limit``
    (the request's ``client_max_size``). Bounded bodies are small: the watchdog times the whole body."""
    with _BodyWatchdog(request):
        try:
            await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise errors.body_too_large(limit) from None


async def read_stream(request: web.Request, limit: int, sink: Callable[[bytes], Any],
                      errors: ErrorCatalogue, chunk_size: int = 256 * KIB) -> int:
    """Feed a streamed body to ``sink`` chunk by chunk; raise the service's too-large error past ``limit``.

    Returns the number of bytes read. Memory stays at one chunk whatever the body's size. A body that stops
    arriving for ``BODY_IDLE_SECONDS`` ends with its connection closed and ``ConnectionResetError``.
    """
    total = 0
    with _BodyWatchdog(request) as watchdog:
        while True:
            chunk = await request.content.read(chunk_size)
            if not chunk:
                return total
            watchdog.progress()
            total += len(chunk)
            if total > limit:
                raise errors.body_too_large(limit)
            result = sink(chunk)
            if asyncio.iscoroutine(result):
                await result


class _Refusal(asyncio.Protocol):
    """Answers a connection with ``response`` and closes it lingeringly: the answer goes out, the write side is
    shut (FIN), and whatever the client still sends is read and dropped until it closes, ``REFUSED_LINGER_SECONDS``
    pass or ``REFUSED_DRAIN_LIMIT`` bytes came. Closing at once would make the kernel answer the client's request
    with a reset, which can discard the answer before the client reads it or kill the client (SIGPIPE on its next
    write): the same reason web servers close lingeringly."""

    def __init__(self, response: bytes) -> None:
        self._response = response
        self._transport: asyncio.WriteTransport | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        transport.write(self._response)
        if transport.can_write_eof():  # plain TCP; over TLS close() sends close_notify when the client is done
            transport.write_eof()
        self._linger = asyncio.get_running_loop().call_later(REFUSED_LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        self._dropped += len(data)
        if self._dropped > REFUSED_DRAIN_LIMIT and self._transport is not None:
            self._transport.close()

    def eof_received(self) -> bool | None:
        return None  # the client is done: the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()


_OVER_CAPACITY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_REFUSED_BODY = (b"This emulator answers only the processes of the user who started it: "
                 b"use your own (azure-emulator status).\n")
_NOT_YOURS = (b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(_REFUSED_BODY), _REFUSED_BODY))


class _Screened(asyncio.Protocol):
    """Asks ``allowed`` about a new connection (after TLS, before any byte of a request is read); refuses it
    with 403 (a _Refusal), or hands it and everything after to the real protocol."""

    def __init__(self, make: Callable[[], asyncio.Protocol], allowed: ConnectionFilter) -> None:
        self._make = make
        self._allowed = allowed
        self._inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._allowed(transport.get_extra_info("peername"), transport.get_extra_info("sockname")):
            self._inner = self._make()
        else:
            self._inner = _Refusal(_NOT_YOURS)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class HttpListener:
    """An aiohttp application on one port, with TLS unless ``ssl_context`` is None."""

    connection_filter: ConnectionFilter | None = None

    def __init__(self, name: str, app: web.Application, ssl_context: ssl.SSLContext | None, *,
                 max_connections: int = MAX_CONNECTIONS, header_timeout: float = HEADER_TIMEOUT_SECONDS) -> None:
        self.name = name
        self.app = app
        self.ssl_context = ssl_context
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        # keepalive_timeout is also armed before a connection's first request: it is the header timeout.
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                     keepalive_timeout=self.header_timeout)
        await self._runner.setup()
        requests = self._runner.server
        assert requests is not None

        allowed = self.connection_filter

        def protocol() -> asyncio.Protocol:
            if len(requests.connections) >= self.max_connections:
                return _Refusal(_OVER_CAPACITY)
            if allowed is not None:
                return _Screened(requests, allowed)
            return requests()

        loop = asyncio.get_running_loop()
        tls: dict[str, float] = {}
        if self.ssl_context is not None:
            tls["ssl_handshake_timeout"] = TLS_HANDSHAKE_TIMEOUT_SECONDS
            if sys.version_info >= (3, 11):  # the parameter's first version
                tls["ssl_shutdown_timeout"] = TLS_SHUTDOWN_TIMEOUT_SECONDS
        self._server = await loop.create_server(protocol, host, port, ssl=self.ssl_context, reuse_address=True, **tls)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, then end the connections still open (aiohttp closes the idle ones and gives a running
        request its shutdown time). In that order: since Python 3.12.1 ``wait_closed`` waits for every connection
        to close, so waiting before aiohttp closes them hung for as long as a client kept one alive."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if server is not None:
            if hasattr(server, "abort_clients"):  # Python 3.13: what aiohttp never saw (a TLS handshake under way)
                server.abort_clients()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):  # a TLS close waits for close_notify
                await asyncio.wait_for(server.wait_closed(), TLS_SHUTDOWN_TIMEOUT_SECONDS + 1)
