"""Instance Metadata Service: tokens for the VM's managed identities, and instance metadata."""

from __future__ import annotations

from aiohttp import web

from emulator.core.context import EmulatorContext
from emulator.core.http import KIB, ErrorCatalogue, HttpListener, RouteTable, build_app

from . import errors, handlers
from .models import ImdsModel
from .routes import ROUTES

TABLE = RouteTable(ROUTES)
IMDS_BODY_LIMIT = 64 * KIB  # IMDS takes no bodies; anything sent is read and ignored up to this
ERRORS = ErrorCatalogue(
    wire_error=errors.ImdsWireError, render=handlers.render_error,
    not_found=lambda _request: errors.not_found(),
    method_not_allowed=lambda _request, allowed: errors.method_not_allowed(allowed),
    body_too_large=errors.body_too_large, internal=errors.internal_error,
)


def create(context: EmulatorContext, subapps: dict[str, web.Application] | None = None) -> HttpListener:
    """IMDS is plain http, like the real 169.254.169.254; the control plane rides along on it."""
    model = ImdsModel(context)
    app = build_app(TABLE, handlers, ERRORS, subapps=subapps, body_limit=IMDS_BODY_LIMIT)
    app[handlers.MODEL] = model

    async def stop_signers(_app: web.Application) -> None:
        model.close()

    app.on_cleanup.append(stop_signers)
    return HttpListener("imds", app, ssl_context=None)
