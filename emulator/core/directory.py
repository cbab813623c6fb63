"""The tenant's service principals: who can hold a token.

Fixed principals come from the world (the VM's system-assigned identity, the admin app);
user-assigned identities exist while their ARM resource exists. SQL resolves
``CREATE USER [name] FROM EXTERNAL PROVIDER`` by display name through this directory.
"""

from __future__ import annotations

from typing import Any

from .store import Store
from .tokens import Principal
from .world import World, mirid

USER_ASSIGNED_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


class Directory:
    def __init__(self, world: World, store: Store) -> None:
        self.world = world
        self.store = store

    def user_assigned(self) -> list[Principal]:
        return [_user_assigned_principal(body) for body in self.store.list(USER_ASSIGNED_TYPE)]

    def user_assigned_identity(self, resource_id: str) -> Principal | None:
        """One user-assigned identity by its ARM id (IMDS's hot path reads only the VM's own)."""
        body = self.store.get(resource_id)
        if body is None or body.get("type") != USER_ASSIGNED_TYPE:
            return None
        return _user_assigned_principal(body)

    def principals(self) -> list[Principal]:
        return [self.world.vm_system_identity, self.world.admin_principal, *self.user_assigned()]

    def by_object_id(self, object_id: str) -> Principal | None:
        wanted = object_id.lower()
        return next((p for p in self.principals() if p.object_id.lower() == wanted), None)

    def by_display_name(self, name: str) -> list[Principal]:
        wanted = name.lower()
        return [p for p in self.principals() if p.display_name.lower() == wanted]


def _user_assigned_principal(body: dict[str, Any]) -> Principal:
    return Principal(
        object_id=body["properties"]["principalId"],
        client_id=body["properties"]["clientId"],
        display_name=body["name"],
        kind="UserAssigned",
        resource_id=mirid(body["id"]),
    )
