"""Azure Key Vault (secrets): challenge authentication, access policies or RBAC, soft delete.

Rooms: routes.py (the data plane's table and the ``Microsoft.KeyVault/vaults`` Resource Manager routes),
handlers.py (data plane) and arm_handlers.py (Resource Manager), models.py (secrets, versions, soft
delete, who may do what), vaults.py (the vault resource and its access policies), errors.py (Key
Vault's wire errors; the resource provider's ARM errors are in services/arm/errors.py).
"""

from __future__ import annotations

from emulator.core.context import EmulatorContext
from emulator.core.http import ErrorCatalogue, HttpListener, RouteTable, build_app

from . import errors, handlers
from .models import KeyVaultModel, model_for
from .routes import ARM_ROUTES, ROUTES

TABLE = RouteTable(ROUTES)
ERRORS = ErrorCatalogue(
    wire_error=errors.KeyVaultError, render=handlers.render_error,
    not_found=lambda request: errors.path_not_found(request.path),
    method_not_allowed=lambda request, _allowed: errors.method_not_allowed(request.method),
    body_too_large=errors.body_too_large, internal=errors.internal_error,
)

__all__ = ["ARM_ROUTES", "create", "seed"]


class VaultListener(HttpListener):
    """The vault's host; once bound, its address is the vault URL every id and ``vaultUri`` carries."""

    def __init__(self, context: EmulatorContext, model: KeyVaultModel) -> None:
        app = build_app(TABLE, handlers, ERRORS, before=handlers.before)
        app[handlers.MODEL] = model
        super().__init__("keyvault", app, context.certificates.https_context)
        self.model = model

    async def start(self, host: str, port: int) -> int:
        bound = await super().start(host, port)
        self.model.resources.endpoint = f"https://{host}:{bound}"
        return bound


def create(context: EmulatorContext) -> VaultListener:
    return VaultListener(context, model_for(context))


def seed(context: EmulatorContext) -> None:
    """The world's vault (world.json, key "keyVaults"): its ARM document; it holds no secret."""
    model_for(context).seed()
