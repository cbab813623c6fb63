"""The emulator's control plane (health, reset, faults, settings, shutdown): an aiohttp sub-app
mounted under /__emulator/ on the IMDS listener, so one loopback URL drives the whole emulator."""

from __future__ import annotations

from aiohttp import web

from emulator.core.http import KIB, ErrorCatalogue, RouteTable, build_app

from . import errors, handlers
from .models import ControlledEmulator
from .routes import ROUTES

TABLE = RouteTable(ROUTES)
CONTROL_BODY_LIMIT = 16 * KIB
ERRORS = ErrorCatalogue(
    wire_error=errors.ControlError, render=handlers.render_error,
    not_found=lambda request: errors.not_found(request.path),
    method_not_allowed=lambda _request, allowed: errors.method_not_allowed(allowed),
    body_too_large=errors.body_too_large, internal=errors.internal_error,
)


def create_app(emulator: ControlledEmulator) -> web.Application:
    app = build_app(TABLE, handlers, ERRORS, before=handlers.before, body_limit=CONTROL_BODY_LIMIT)
    app[handlers.EMULATOR] = emulator
    return app
