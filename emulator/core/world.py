"""The declared world: tenant, subscription, resource group, VM, identities, admin.

Read from one JSON data file with fixed ids so every run (and every committed notebook output) is
repeatable. Resource ids are built here once so all services spell them the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .tokens import Principal

DEFAULT_WORLD_FILE = Path(__file__).resolve().parent.parent / "world.json"
# The services that write their part of the world into the store, in order (``emulator.services.<name>.seed``).
SEEDING_SERVICES = ("arm", "datalake", "keyvault", "sql", "storage")
# Bump when what a seeder writes changes shape while world.json stays the same (a new table, a new kind of seeded
# resource): data dirs seeded before are then seeded again at their next start.
STATE_VERSION = 1


def world_fingerprint(world_file: Path) -> str:
    """What a data dir's world is seeded from: the world file, the services that seed it, STATE_VERSION. Cheap
    (no service is imported): ``azure-emulator start`` compares it with a running emulator's."""
    return _fingerprint(world_file.read_bytes())


def _fingerprint(declared: bytes) -> str:
    digest = hashlib.sha256(declared)
    digest.update(f"|{STATE_VERSION}|{','.join(SEEDING_SERVICES)}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class World:
    tenant_id: str
    tenant_domain: str
    subscription_id: str
    subscription_name: str
    location: str
    resource_groups: list[dict[str, Any]]
    vm: dict[str, Any]
    user_assigned_ids: dict[str, dict[str, str]]
    admin: dict[str, Any]
    known_resources: list[str]
    extra: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""  # of the bytes this world was read from (world_fingerprint): what a seeded store records

    @classmethod
    def load(cls, path: Path | None = None) -> World:
        declared = (path or DEFAULT_WORLD_FILE).read_bytes()
        data = json.loads(declared.decode("utf-8"))
        return cls(
            tenant_id=data["tenant"]["id"],
            tenant_domain=data["tenant"]["domain"],
            subscription_id=data["subscription"]["id"],
            subscription_name=data["subscription"]["displayName"],
            location=data["location"],
            resource_groups=data["resourceGroups"],
            vm=data["virtualMachine"],
            user_assigned_ids={k: v for k, v in data["userAssignedIdentityIds"].items()
                               if not k.startswith("_")},
            admin=data["admin"],
            known_resources=data["resources"],
            extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
            fingerprint=_fingerprint(declared),
        )

    # -- resource ids, spelled as ARM returns them -------------------------------------------
    @property
    def subscription_scope(self) -> str:
        return f"/subscriptions/{self.subscription_id}"

    def resource_group_id(self, name: str) -> str:
        return f"{self.subscription_scope}/resourceGroups/{name}"

    @property
    def vm_resource_id(self) -> str:
        return (f"{self.resource_group_id(self.vm['resourceGroup'])}"
                f"/providers/Microsoft.Compute/virtualMachines/{self.vm['name']}")

    def user_assigned_identity_id(self, resource_group: str, name: str) -> str:
        return (f"{self.resource_group_id(resource_group)}"
                f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")

    # -- principals that exist whatever the state ---------------------------------------------
    @property
    def vm_system_identity(self) -> Principal:
        """The VM's system-assigned identity as the world first switches it on (world.json's ids).

        Switched off and on again it is a new principal: core.directory.Directory has the current one.
        """
        ids = self.vm["systemAssignedIdentity"]
        return Principal(
            object_id=ids["principalId"], client_id=ids["clientId"],
            display_name=self.vm["name"], kind="SystemAssigned",
            resource_id=mirid(self.vm_resource_id),
        )

    @property
    def admin_principal(self) -> Principal:
        return Principal(
            object_id=self.admin["objectId"], client_id=self.admin["clientId"],
            display_name=self.admin["displayName"], kind="Application",
        )


_KNOWN_KEYS = {"_comment", "tenant", "subscription", "location", "resourceGroups",
               "virtualMachine", "userAssignedIdentityIds", "admin", "resources"}


def mirid(resource_id: str) -> str:
    """The ``xms_mirid`` claim spells ``resourcegroups`` in lower case."""
    parts = resource_id.split("/")
    return "/".join("resourcegroups" if p.lower() == "resourcegroups" else p for p in parts)
