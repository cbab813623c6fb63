"""The vault as a Resource Manager resource: ``Microsoft.KeyVault/vaults`` and its access policies.

The document lives in the store's ``resources`` table like every ARM resource, so role assignments can
be scoped to it and it survives a restart. ``vaultUri`` is not stored: it is the Key Vault listener's
address in this run (ports may differ between runs), filled in when the document is shown.

Rules from the Key Vault resource provider (azure-rest-api-specs, Microsoft.KeyVault stable
``keyvault.json``; Microsoft's Key Vault docs): vault names ``^[a-zA-Z0-9-]{3,24}$`` starting with a letter;
access-policy permissions per kind; ``accessPolicies/{add|replace|remove}``; soft delete cannot be
turned off once on, nor purge protection; changing ``enableRbacAuthorization`` needs
``Microsoft.Authorization/roleAssignments/write`` (rbac-migration: "Changing the permission model requires
unrestricted 'Microsoft.Authorization/roleAssignments/write' permission").
"""

from __future__ import annotations

import copy
import re
from typing import Any

from emulator.core.context import EmulatorContext
from emulator.services.arm import errors as arm_errors

VAULTS = "Microsoft.KeyVault/vaults"
ACCESS_POLICIES = "Microsoft.KeyVault/vaults/accessPolicies"
ROLE_ASSIGNMENT_WRITE = "Microsoft.Authorization/roleAssignments/write"
_VAULT_NAME = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_ACCESS_POLICIES = 1024
# The permission names the resource provider accepts, per object kind (keyvault.json enums).
PERMISSIONS = {
    "secrets": {"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"},
    "keys": {"all", "encrypt", "decrypt", "wrapkey", "unwrapkey", "sign", "verify", "get", "list", "create",
             "update", "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate",
             "getrotationpolicy", "setrotationpolicy"},
    "certificates": {"all", "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers",
                     "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup",
                     "restore"},
    "storage": {"all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup",
                "restore", "setsas", "listsas", "getsas", "deletesas"},
}
_BOOLEAN_PROPERTIES = ("enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment",
                       "enableRbacAuthorization", "enableSoftDelete", "enablePurgeProtection")


class VaultResources:
    """The world's vault (the emulator serves one; see models.py for why)."""

    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        self.world = context.world
        declared = (self.world.extra.get("keyVaults") or {}).get("vaults") or []
        if not declared:
            raise ValueError("world.json declares no vault under keyVaults.vaults")
        self.declared = declared[0]
        self.name: str = self.declared["name"]
        self.resource_group: str = self.declared.get("resourceGroup") or self.world.vm["resourceGroup"]
        self.id = f"{self.world.resource_group_id(self.resource_group)}/providers/{VAULTS}/{self.name}"
        self.endpoint = self.default_endpoint()
        self._cached: dict[str, Any] | None = None
        context.reset_hooks.append(self.forget)

    def default_endpoint(self) -> str:
        settings = self.context.settings
        return f"https://{settings.host}:{settings.ports.get('keyvault', 0)}"

    def forget(self) -> None:
        self._cached = None

    # -- the stored document ---------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        """The vault as stored (cached: every change goes through ``save``)."""
        if self._cached is None:
            stored = self.context.store.get(self.id)
            if stored is None:
                raise arm_errors.resource_not_found(VAULTS, self.name, self.resource_group)
            self._cached = stored
        return self._cached

    def save(self, document: dict[str, Any]) -> None:
        self.context.store.put(self.id, VAULTS, document)
        self._cached = document

    def shown(self, document: dict[str, Any] | None = None) -> dict[str, Any]:
        """The document as Resource Manager returns it, ``vaultUri`` included."""
        body = copy.deepcopy(document or self.document())
        body["properties"]["vaultUri"] = self.endpoint + "/"
        return body

    def seed(self) -> None:
        """As the portal creates it: the admin in the access policies, soft delete on, nothing else."""
        spec, world = self.declared, self.world
        permissions = {kind: list(values) for kind, values in (spec.get("adminPermissions") or {}).items()}
        self.save({
            "id": self.id, "name": self.name, "type": VAULTS, "location": spec.get("location", world.location),
            "tags": spec.get("tags", {}),
            "properties": {
                "sku": {"family": "A", "name": spec.get("sku", "standard")},
                "tenantId": world.tenant_id,
                "accessPolicies": [{"tenantId": world.tenant_id, "objectId": world.admin["objectId"],
                                    "permissions": permissions}],
                "enabledForDeployment": False, "enabledForDiskEncryption": False,
                "enabledForTemplateDeployment": False,
                "enableSoftDelete": bool(spec.get("enableSoftDelete", True)),
                "softDeleteRetentionInDays": int(spec.get("softDeleteRetentionInDays", 90)),
                "enableRbacAuthorization": bool(spec.get("enableRbacAuthorization", False)),
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
            },
        })

    # -- Resource Manager operations -------------------------------------------------------------
    def is_served(self, resource_group: str, name: str) -> bool:
        return resource_group.lower() == self.resource_group.lower() and name.lower() == self.name.lower()

    def _own(self, resource_group: str, name: str) -> dict[str, Any]:
        if not self.is_served(resource_group, name):
            if self.context.store.get(self.world.resource_group_id(resource_group)) is None:
                raise arm_errors.resource_group_not_found(resource_group)
            raise arm_errors.resource_not_found(VAULTS, name, resource_group)
        return self.document()

    def get(self, resource_group: str, name: str) -> dict[str, Any]:
        return self.shown(self._own(resource_group, name))

    def list(self, resource_group: str | None) -> list[dict[str, Any]]:
        if resource_group is not None and resource_group.lower() != self.resource_group.lower():
            if self.context.store.get(self.world.resource_group_id(resource_group)) is None:
                raise arm_errors.resource_group_not_found(resource_group)
            return []
        return [self.shown()]

    def put(self, resource_group: str, name: str, body: Any) -> dict[str, Any]:
        """Vaults_CreateOrUpdate on the world's vault (creating another one is not emulated)."""
        if not _VAULT_NAME.match(name):
            raise arm_errors.vault_name_not_valid(name)
        if not self.is_served(resource_group, name):
            if self.context.store.get(self.world.resource_group_id(resource_group)) is None:
                raise arm_errors.resource_group_not_found(resource_group)
            raise arm_errors.vault_creation_not_emulated(name, self.name)
        if not isinstance(body, dict):
            raise arm_errors.invalid_request_content("The body must be a JSON object.")
        if not isinstance(body.get("location"), str) or not body["location"].strip():
            raise arm_errors.location_required()
        requested = body["location"].replace(" ", "").lower()
        if requested != self.document()["location"].lower():
            raise arm_errors.resource_location_fixed(self.name, self.document()["location"], self.resource_group,
                                                     requested)
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise arm_errors.key_vault_bad_request("The 'properties' object is required.")
        for required in ("tenantId", "sku"):
            if required not in properties:
                raise arm_errors.key_vault_bad_request(f"The property 'properties.{required}' is required.")
        current = self.document()
        updated = self._apply(current, properties)
        tags = body.get("tags", current.get("tags", {}))
        if not isinstance(tags, dict):
            raise arm_errors.invalid_request_content("'tags' must be an object.")
        updated["tags"] = tags
        self.save(updated)
        return self.shown(updated)

    def patch(self, resource_group: str, name: str, body: Any) -> dict[str, Any]:
        current = self._own(resource_group, name)
        if not isinstance(body, dict):
            raise arm_errors.invalid_request_content("The body must be a JSON object.")
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise arm_errors.key_vault_bad_request("'properties' must be an object.")
        updated = self._apply(current, properties)
        if "tags" in body:
            if not isinstance(body["tags"], dict):
                raise arm_errors.invalid_request_content("'tags' must be an object.")
            updated["tags"] = body["tags"]
        self.save(updated)
        return self.shown(updated)

    def changes_model(self, body: Any) -> bool:
        """Does this PUT/PATCH body switch the permission model (access policies ↔ RBAC)?"""
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict) or properties.get("enableRbacAuthorization") is None:
            return False
        current = bool(self.document()["properties"].get("enableRbacAuthorization"))
        return properties["enableRbacAuthorization"] is not current

    def _apply(self, current: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
        """Validate every given property first, then return the new document (nothing saved here)."""
        updated = copy.deepcopy(current)
        target = updated["properties"]
        for key in _BOOLEAN_PROPERTIES:
            if key in properties and properties[key] is not None and not isinstance(properties[key], bool):
                raise arm_errors.key_vault_bad_request(f"The property 'properties.{key}' must be true or false.")
        if "tenantId" in properties and (not isinstance(properties["tenantId"], str)
                                         or not _GUID.match(properties["tenantId"])):
            raise arm_errors.key_vault_bad_request("The property 'properties.tenantId' must be a GUID.")
        if "sku" in properties:
            sku = properties["sku"]
            if not isinstance(sku, dict) or str(sku.get("name", "")).lower() not in ("standard", "premium"):
                raise arm_errors.key_vault_bad_request(
                    "The property 'properties.sku.name' must be standard or premium.")
            target["sku"] = {"family": "A", "name": str(sku["name"]).lower()}
        if properties.get("enableSoftDelete") is False and target.get("enableSoftDelete", True):
            raise arm_errors.key_vault_bad_request(
                "Soft delete cannot be turned off on a vault that has it: 'enableSoftDelete' cannot be false.")
        if properties.get("enablePurgeProtection") is False and target.get("enablePurgeProtection"):
            raise arm_errors.key_vault_bad_request(
                "Purge protection cannot be turned off once on: 'enablePurgeProtection' cannot be false.")
        if "softDeleteRetentionInDays" in properties:
            days = properties["softDeleteRetentionInDays"]
            if isinstance(days, bool) or not isinstance(days, int) or not 7 <= days <= 90:
                raise arm_errors.key_vault_bad_request(
                    "The property 'properties.softDeleteRetentionInDays' must be a whole number from 7 to 90.")
            target["softDeleteRetentionInDays"] = days
        if "accessPolicies" in properties:
            target["accessPolicies"] = self.policies(properties["accessPolicies"], "properties.accessPolicies")
        for key in _BOOLEAN_PROPERTIES:
            if properties.get(key) is not None:
                target[key] = properties[key]
        return updated

    def policies(self, given: Any, where: str) -> list[dict[str, Any]]:
        """Access-policy entries as the provider stores them, every field checked."""
        if not isinstance(given, list):
            raise arm_errors.key_vault_bad_request(f"The property '{where}' must be an array.")
        if len(given) > MAX_ACCESS_POLICIES:
            raise arm_errors.key_vault_bad_request(
                f"A vault may hold at most {MAX_ACCESS_POLICIES} access policies; {len(given)} were given.")
        entries = []
        for index, entry in enumerate(given):
            at = f"{where}[{index}]"
            if not isinstance(entry, dict):
                raise arm_errors.key_vault_bad_request(f"The access policy '{at}' must be an object.")
            for field in ("tenantId", "objectId"):
                if not isinstance(entry.get(field), str) or not entry[field].strip():
                    raise arm_errors.key_vault_bad_request(f"The property '{at}.{field}' is required.")
            if not _GUID.match(entry["tenantId"]):
                raise arm_errors.key_vault_bad_request(f"The property '{at}.tenantId' must be a GUID.")
            application = entry.get("applicationId")
            if application is not None and (not isinstance(application, str) or not _GUID.match(application)):
                raise arm_errors.key_vault_bad_request(f"The property '{at}.applicationId' must be a GUID.")
            permissions = entry.get("permissions")
            if not isinstance(permissions, dict):
                raise arm_errors.key_vault_bad_request(f"The property '{at}.permissions' is required.")
            checked: dict[str, list[str]] = {}
            for kind, values in permissions.items():
                if kind not in PERMISSIONS:
                    raise arm_errors.key_vault_bad_request(f"'{kind}' is not a permission kind ({at}.permissions).")
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise arm_errors.key_vault_bad_request(f"The property '{at}.permissions.{kind}' must be an array "
                                                           "of strings.")
                for position, value in enumerate(values):
                    if value.lower() not in PERMISSIONS[kind]:
                        raise arm_errors.key_vault_bad_request(
                            f"Invalid value found at {at}.permissions.{kind}[{position}]: {value}")
                checked[kind] = list(values)
            stored: dict[str, Any] = {"tenantId": entry["tenantId"], "objectId": entry["objectId"]}
            if application is not None:
                stored["applicationId"] = application
            stored["permissions"] = checked
            entries.append(stored)
        return entries

    def update_access_policies(self, resource_group: str, name: str, kind: str, body: Any) -> dict[str, Any]:
        """Vaults_UpdateAccessPolicy: add merges permissions, replace overwrites them, remove drops entries."""
        current = self._own(resource_group, name)
        if kind.lower() not in ("add", "replace", "remove"):
            raise arm_errors.key_vault_bad_request(
                f"The access policy update kind '{kind}' is not valid; use add, replace or remove.")
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict) or "accessPolicies" not in properties:
            raise arm_errors.key_vault_bad_request("The property 'properties.accessPolicies' is required.")
        changes = self.policies(properties["accessPolicies"], "properties.accessPolicies")
        updated = copy.deepcopy(current)
        entries: list[dict[str, Any]] = updated["properties"].setdefault("accessPolicies", [])
        for change in changes:
            found = next((e for e in entries if _same_principal(e, change)), None)
            if kind.lower() == "remove":
                if found is not None:
                    entries.remove(found)
            elif found is None:
                entries.append(change)
            elif kind.lower() == "replace":
                found["permissions"] = change["permissions"]
            else:
                for permission_kind, values in change["permissions"].items():
                    have = found["permissions"].setdefault(permission_kind, [])
                    have.extend(v for v in values if v.lower() not in {h.lower() for h in have})
        if len(entries) > MAX_ACCESS_POLICIES:
            raise arm_errors.key_vault_bad_request(f"A vault may hold at most {MAX_ACCESS_POLICIES} access policies.")
        self.save(updated)
        return {"id": f"{self.id}/accessPolicies/{kind.lower()}", "type": ACCESS_POLICIES,
                "properties": {"accessPolicies": changes}}


def _same_principal(one: dict[str, Any], other: dict[str, Any]) -> bool:
    return all(str(one.get(k) or "").lower() == str(other.get(k) or "").lower()
               for k in ("tenantId", "objectId", "applicationId"))
