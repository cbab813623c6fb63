"""Instance Metadata Service: tokens for the VM's managed identities, and instance metadata."""

from __future__ import annotations

from aiohttp import web

from emulator.core.context import EmulatorContext
from emulator.core.http import HttpListener, RouteTable, build_app

from . import errors, handlers
from .models import ImdsModel
from .routes import ROUTES

TABLE = RouteTable(ROUTES)


def create(context: EmulatorContext, subapps: dict[str, web.Application] | None = None) -> HttpListener:
    """IMDS is plain http, like the real 169.254.169.254; the control plane rides along on it."""
    model = ImdsModel(context)
    app = build_app(
        TABLE, handlers,
        not_found=lambda request: handlers.render_error(request, errors.not_found()),
        method_not_allowed=lambda request, allowed: handlers.render_error(
            request, errors.method_not_allowed(allowed)),
        wire_error=errors.ImdsWireError,
        render_error=handlers.render_error,
        subapps=subapps,
    )
    app[handlers.MODEL] = model
    return HttpListener("imds", app, ssl_context=None)
