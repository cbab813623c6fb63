"""Entra's logic: which tenant a path names, which app a client is, what token it gets."""

from __future__ import annotations

import hmac

from emulator.core.context import EmulatorContext
from emulator.core.tokens import IssuedToken, Principal

from . import errors

CLIENT_TOKEN_LIFETIME = 3599  # client-credential tokens live an hour


class EntraModel:
    def __init__(self, context: EmulatorContext) -> None:
        self.context = context

    def check_tenant(self, tenant: str) -> str:
        world = self.context.world
        if tenant.lower() in (world.tenant_id.lower(), world.tenant_domain.lower(), "organizations"):
            return world.tenant_id
        raise errors.tenant_not_found(tenant)

    def authenticate_client(self, client_id: str, client_secret: str) -> Principal:
        admin = self.context.world.admin
        if client_id.lower() != admin["clientId"].lower():
            raise errors.unknown_client(client_id, self.context.world.tenant_id)
        if not hmac.compare_digest(client_secret.encode(), admin["clientSecret"].encode()):
            raise errors.invalid_secret(client_id)
        return self.context.world.admin_principal

    def is_known_resource(self, resource: str) -> bool:
        wanted = resource.rstrip("/").lower()
        return any(wanted == r.rstrip("/").lower() for r in self.context.world.known_resources)

    def declared_spelling(self, resource: str) -> str:
        """The resource's App ID URI as the world declares it. A v2 token's ``aud`` is the application's
        identifier URI, not the scope's text: ``https://vault.azure.net/.default`` gives
        ``aud: https://vault.azure.net``, the only spelling Key Vault accepts (AKV10022 otherwise)."""
        wanted = resource.rstrip("/").lower()
        return next((r for r in self.context.world.known_resources if r.rstrip("/").lower() == wanted), resource)

    def issue(self, principal: Principal, resource: str) -> IssuedToken:
        if not self.is_known_resource(resource):
            raise errors.unknown_resource(resource, self.context.world.tenant_id)
        return self.context.issuer.issue(principal, resource, lifetime=CLIENT_TOKEN_LIFETIME)
