"""The tenant's service principals: who can hold a token.

The admin app comes from the world; user-assigned identities exist while their ARM resource exists;
the VM's system-assigned identity exists while it is switched on. SQL resolves
``CREATE USER [name] FROM EXTERNAL PROVIDER`` by display name through this directory.

Switching a system-assigned identity off deletes its service principal; switching it on again creates
a *new* one, with a new principal (object) id and client id, so grants made to the old one are
orphaned (Microsoft Entra docs, "Managed identities for Azure resources" overview: a system-assigned
identity's lifecycle is tied to the resource and it is deleted when disabled; Azure shows assignments of
deleted principals as "Identity not found"). The first identity of the world has the ids world.json
declares; each later one gets ids derived from the VM's resource id and a per-world counter, so a run
that takes the same steps from a reset world sees the same ids.
"""

from __future__ import annotations

import uuid
from typing import Any

from .store import Store
from .tokens import Principal
from .world import World, mirid

USER_ASSIGNED_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
# ARM's own name for a resource's system-assigned identity: <resource id>/providers/Microsoft.ManagedIdentity/
# identities/default (the "SystemAssignedIdentities_GetByScope" operation of the MSI REST API).
SYSTEM_ASSIGNED_TYPE = "Microsoft.ManagedIdentity/identities"


def system_identity_id(resource_id: str) -> str:
    return f"{resource_id}/providers/{SYSTEM_ASSIGNED_TYPE}/default"


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

    # -- the VM's system-assigned identity ---------------------------------------------------------
    def vm_system_identity(self) -> Principal | None:
        """The VM's system-assigned identity while it is switched on, else None."""
        body = self.store.get(system_identity_id(self.world.vm_resource_id))
        if body is None:
            return None
        return Principal(
            object_id=body["properties"]["principalId"], client_id=body["properties"]["clientId"],
            display_name=self.world.vm["name"], kind="SystemAssigned", resource_id=mirid(self.world.vm_resource_id),
        )

    def enable_vm_system_identity(self) -> Principal:
        """Switch it on: the same principal if it is on already, else a new service principal."""
        current = self.vm_system_identity()
        if current is not None:
            return current
        vm_id = self.world.vm_resource_id
        generation = self.store.next_number(f"systemAssignedIdentity:{vm_id.lower()}")
        if generation == 0:
            first = self.world.vm_system_identity
            object_id, client_id = first.object_id, first.client_id
        else:
            derived = uuid.uuid5(uuid.NAMESPACE_URL, f"{vm_id.lower()}/systemassignedidentity/{generation}")
            object_id, client_id = str(derived), str(uuid.uuid5(uuid.NAMESPACE_URL, str(derived)))
        record_id = system_identity_id(vm_id)
        self.store.put(record_id, SYSTEM_ASSIGNED_TYPE, {
            "id": record_id, "name": "default", "type": SYSTEM_ASSIGNED_TYPE,
            "properties": {"tenantId": self.world.tenant_id, "principalId": object_id, "clientId": client_id},
        })
        principal = self.vm_system_identity()
        assert principal is not None
        return principal

    def disable_vm_system_identity(self) -> bool:
        """Switch it off: its service principal is deleted (its role assignments stay, orphaned)."""
        return self.store.delete(system_identity_id(self.world.vm_resource_id))

    # -- lookups ---------------------------------------------------------------------------------
    def principals(self) -> list[Principal]:
        system = self.vm_system_identity()
        return [*([system] if system else []), self.world.admin_principal, *self.user_assigned()]

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
