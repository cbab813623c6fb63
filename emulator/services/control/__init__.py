"""The emulator's control plane (health, reset, faults, settings, shutdown): an aiohttp sub-app
mounted under /__emulator/ on the IMDS listener, so one loopback URL drives the whole emulator."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.core.http import RouteTable, build_app

from . import errors, handlers
from .routes import ROUTES

TABLE = RouteTable(ROUTES)


def create_app(emulator: Any) -> web.Application:
    app = build_app(
        TABLE, handlers,
        not_found=lambda request: handlers.render_error(request, errors.not_found(request.path)),
        method_not_allowed=lambda request, allowed: handlers.render_error(
            request, errors.method_not_allowed(allowed)),
        wire_error=errors.ControlError,
        render_error=handlers.render_error,
    )
    app[handlers.EMULATOR] = emulator
    return app
