"""Azure Resource Manager: resource groups, RBAC, user-assigned identities, the VM's identity."""

from __future__ import annotations

from emulator.core.context import EmulatorContext
from emulator.core.http import HttpListener, RouteTable, build_app

from . import errors, handlers
from .models import ArmModel, seed
from .routes import ROUTES

TABLE = RouteTable(ROUTES, case_sensitive=False)

__all__ = ["create", "seed"]


def create(context: EmulatorContext) -> HttpListener:
    app = build_app(
        TABLE, handlers,
        not_found=lambda request: handlers.render_error(request, errors.invalid_resource_type(request.path)),
        method_not_allowed=lambda request, _allowed: handlers.render_error(
            request, errors.method_not_allowed(request.method)),
        wire_error=errors.ArmError,
        render_error=handlers.render_error,
        before=handlers.before,
    )
    app[handlers.MODEL] = ArmModel(context)
    return HttpListener("arm", app, context.certificates.server_context())
