"""Entra ID stand-in: discovery, JWKS and client credentials for the world's admin app."""

from __future__ import annotations

from emulator.core.context import EmulatorContext
from emulator.core.http import HttpListener, RouteTable, build_app

from . import errors, handlers
from .models import EntraModel
from .routes import ROUTES

TABLE = RouteTable(ROUTES)


def create(context: EmulatorContext) -> HttpListener:
    app = build_app(
        TABLE, handlers,
        not_found=lambda request: handlers.render_error(request, errors.not_found()),
        method_not_allowed=lambda request, _allowed: handlers.render_error(request, errors.method_not_allowed()),
        wire_error=errors.EntraError,
        render_error=handlers.render_error,
    )
    app[handlers.MODEL] = EntraModel(context)
    return HttpListener("login", app, context.certificates.server_context())
