"""Azure Resource Manager: resource groups, RBAC, user-assigned identities, the VM's identity.

Other services add their resource provider's routes (``Microsoft.Storage/storageAccounts``,
``Microsoft.KeyVault/vaults`` …) as ``ARM_ROUTES`` in their own folder; ``create`` mounts them on
this host, behind the same ``before`` (authentication → api-version → subscription → RBAC).
Their handlers reach the shared state through ``request.app[handlers.MODEL].context``.
"""

from __future__ import annotations

from collections.abc import Iterable

from emulator.core.context import EmulatorContext
from emulator.core.http import ErrorCatalogue, HttpListener, Route, build_app

from . import errors, handlers
from .models import ArmModel, seed
from .routes import ROUTES, ArmRouteTable

ERRORS = ErrorCatalogue(
    wire_error=errors.ArmError, render=handlers.render_error,
    not_found=lambda request: errors.invalid_resource_type(request.path),
    method_not_allowed=lambda request, _allowed: errors.method_not_allowed(request.method),
    body_too_large=errors.body_too_large, internal=errors.internal_error,
)

__all__ = ["create", "seed"]


def create(context: EmulatorContext, provider_routes: Iterable[Route] = ()) -> HttpListener:
    table = ArmRouteTable([*ROUTES, *provider_routes], case_sensitive=False)
    app = build_app(table, handlers, ERRORS, before=handlers.before)
    app[handlers.MODEL] = ArmModel(context)
    return HttpListener("arm", app, context.certificates.https_context)
