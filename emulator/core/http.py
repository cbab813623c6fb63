"""Shared HTTP plumbing: routing tables as data, listeners, and never-a-500 error handling.

Each HTTP service declares ``ROUTES`` (a list of :class:`Route`) and a handlers module; this
module turns them into one aiohttp application behind one catch-all route, so that matching can be
case-insensitive where Azure's is (Resource Manager) and a method that exists for a path but not
for the verb gets that service's own 405.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[web.StreamResponse]]


class Listener(Protocol):
    """One socket standing in for one kind of Azure host."""

    name: str

    async def start(self, host: str, port: int) -> int:
        """Start listening; return the bound port."""

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # "/subscriptions/{subscription}/resourceGroups/{resource_group}"; {x:path} spans "/"
    handler: str  # name of the function in the service's handlers module
    action: str | None = None  # RBAC action the route needs, when the service checks RBAC
    resource_type: str = ""  # e.g. "Microsoft.Resources/resourceGroups", for messages
    api_versions: tuple[str, ...] = ()  # versions the route accepts, when the service versions by query


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


def build_app(
    table: RouteTable,
    handlers: Any,
    *,
    not_found: Callable[[web.Request], web.StreamResponse],
    method_not_allowed: Callable[[web.Request, list[str]], web.StreamResponse],
    wire_error: type[Exception],
    render_error: Callable[[web.Request, Any], web.StreamResponse],
    before: Callable[[web.Request, Match], Awaitable[web.StreamResponse | None]] | None = None,
    state: dict[str, Any] | None = None,
    subapps: dict[str, web.Application] | None = None,
    client_max_size: int = 256 * 1024 * 1024,
) -> web.Application:
    """One aiohttp app: match the table, call ``handlers.<route.handler>(request, **params)``.

    ``wire_error`` exceptions raised by handlers are rendered by the service; anything else is a bug
    in the emulator and is answered 500 with the service's renderer after being logged.
    """

    async def dispatch(request: web.Request) -> web.StreamResponse:
        found = table.match(request.method, request.path)
        if found is None:
            return not_found(request)
        if isinstance(found, list):
            return method_not_allowed(request, found)
        try:
            if before is not None:
                early = await before(request, found)
                if early is not None:
                    return early
            handler: Handler = getattr(handlers, found.route.handler)
            return await handler(request, **found.params)
        except wire_error as exc:
            return render_error(request, exc)

    app = web.Application(client_max_size=client_max_size)
    for key, value in (state or {}).items():
        app[key] = value
    for prefix, subapp in (subapps or {}).items():
        app.add_subapp(prefix, subapp)  # registered first, so the catch-all below does not shadow it
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


class HttpListener:
    """An aiohttp application on one port, with TLS unless ``ssl_context`` is None."""

    def __init__(self, name: str, app: web.Application, ssl_context: ssl.SSLContext | None) -> None:
        self.name = name
        self.app = app
        self.ssl_context = ssl_context
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=self.ssl_context, reuse_address=True)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        assert server is not None
        return int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
