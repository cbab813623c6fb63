"""Entra ID stand-in: discovery, JWKS and client credentials for the world's admin app."""

from __future__ import annotations

from emulator.core.context import EmulatorContext
from emulator.core.http import KIB, ErrorCatalogue, HttpListener, RouteTable, build_app

from . import errors, handlers
from .models import EntraModel
from .routes import ROUTES

TABLE = RouteTable(ROUTES)
LOGIN_BODY_LIMIT = 64 * KIB  # a client-credentials form (even with a certificate assertion) is a few KiB
ERRORS = ErrorCatalogue(
    wire_error=errors.EntraError, render=handlers.render_error,
    not_found=lambda _request: errors.not_found(),
    method_not_allowed=lambda _request, _allowed: errors.method_not_allowed(),
    body_too_large=errors.body_too_large, internal=errors.internal_error,
)


def create(context: EmulatorContext) -> HttpListener:
    app = build_app(TABLE, handlers, ERRORS, body_limit=LOGIN_BODY_LIMIT)
    app[handlers.MODEL] = EntraModel(context)
    return HttpListener("login", app, context.certificates.https_context)
