"""Resource Manager state and rules: resource groups, role assignments and definitions,
user-assigned identities and the VM's identity block. All checks happen before any write."""

from __future__ import annotations

import re
import uuid
from typing import Any

from emulator.core.context import EmulatorContext
from emulator.core.rbac import ROLE_ASSIGNMENT_TYPE, assignment_document, role_definition_id, scope_covers
from emulator.core.versions import release_date

from . import errors
from .routes import IDENTITIES, METADATA_LEGACY_VERSION, RESOURCE_GROUPS, VMS

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")
_PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
_IDENTITY_TYPES = {"systemassigned": "SystemAssigned", "userassigned": "UserAssigned",
                   "systemassigned,userassigned": "SystemAssigned, UserAssigned", "none": "None"}
VM_MAX_IDENTITY_NAME = 24
# What makes a role assignment itself (a PUT that changes any of these is an update ARM refuses).
_ASSIGNMENT_IDENTITY = ("roleDefinitionId", "principalId", "principalType", "scope")
CLOUD_NAME = "AzureWorkbookEmulator"
# The token audiences Resource Manager accepts; the first is what the Azure CLI asks tokens for.
CLOUD_AUDIENCES = ["https://management.core.windows.net/", "https://management.azure.com/"]
MAX_TAGS = 50
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256
_TAG_NAME_RESERVED = re.compile(r"[<>%&\\?/\x00-\x1f\x7f]")
# Region names are short words ("westus", "West Europe", "germanywestcentral"); anything else is refused
# before it is stored, so no identity carries a megabyte that every token request would then load.
_LOCATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ]{0,63}")


def canonical_scope(scope: str) -> str:
    """Spell a scope as ARM returns it: ``/subscriptions/…/resourceGroups/…``."""
    parts = scope.rstrip("/").split("/")
    spelled = {"subscriptions": "subscriptions", "resourcegroups": "resourceGroups", "providers": "providers"}
    return "/".join(spelled.get(p.lower(), p) for p in parts)


def check_tags(tags: Any) -> dict[str, str]:
    """ARM's limits on a resource's tags (every resource type that takes tags calls this)."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise errors.invalid_request_content("'tags' must be an object.")
    if len(tags) > MAX_TAGS:
        raise errors.too_many_tags(len(tags), MAX_TAGS)
    for name, value in tags.items():
        if _TAG_NAME_RESERVED.search(name):
            raise errors.tag_name_characters(name)
        if len(name) > MAX_TAG_NAME:
            raise errors.tag_name_too_long(name, MAX_TAG_NAME)
        if not isinstance(value, str):
            raise errors.invalid_request_content(f"The value of tag '{name[:80]}' must be a string.")
        if len(value) > MAX_TAG_VALUE:
            raise errors.tag_value_too_long(name, MAX_TAG_VALUE)
    return tags


def check_location(location: Any, resource_type: str) -> str:
    """The location as ARM stores it (``"West US"`` → ``"westus"``), or ARM's refusal."""
    if not isinstance(location, str) or not location.strip():
        raise errors.location_required()
    if not _LOCATION.fullmatch(location):
        raise errors.location_not_available(location, resource_type)
    return location.replace(" ", "").lower()


class ArmModel:
    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        self.world = context.world
        self.store = context.store

    # -- resource groups ---------------------------------------------------------------------------
    def resource_group(self, name: str) -> dict[str, Any]:
        body = self.store.get(self.world.resource_group_id(name))
        if body is None:
            raise errors.resource_group_not_found(name)
        return body

    def resource_groups(self) -> list[dict[str, Any]]:
        return self.store.list(RESOURCE_GROUPS)

    def scope_exists(self, scope: str) -> bool:
        canonical = canonical_scope(scope)
        if canonical.lower() == self.world.subscription_scope.lower():
            return True
        return self.store.get(canonical) is not None or any(exists(canonical)
                                                            for exists in self.context.scope_resolvers)

    # -- the cloud, its tenant and subscription ---------------------------------------------------
    def cloud_metadata(self, version: str) -> Any:
        """``GET /metadata/endpoints``: where this cloud's hosts are, so clients can be pointed at it.

        The emulated hosts (login, Resource Manager) are the emulator's own endpoints from its profile;
        resource ids and DNS suffixes stay Azure's (they name token audiences and data-plane hosts the
        emulated services accept). Three shapes, by api-version: "1.0" and versions before 2019-05-01 the
        flat Azure Stack document (``authentication.loginEndpoint``/``audiences``; Azure Stack Hub docs,
        Go autorest); 2019-05-01 a list of clouds (what the Azure CLI's ARM_CLOUD_METADATA_URL reads);
        2022-09-01 and later one cloud (what ``az cloud register --endpoint-resource-manager`` and
        go-azure-sdk's environments package read: name, resourceManager, authentication, suffixes …).
        """
        login = self.context.endpoints.get("login", "")
        arm = self.context.endpoints.get("arm", "")
        if version == METADATA_LEGACY_VERSION or (release_date(version) or "") < "2019-05-01":
            return {"authentication": {"loginEndpoint": f"{login}/", "audiences": list(CLOUD_AUDIENCES)}}
        cloud = {
            "name": CLOUD_NAME,
            "resourceManager": f"{arm}/",
            "authentication": {"loginEndpoint": login, "audiences": list(CLOUD_AUDIENCES), "tenant": "common",
                               "identityProvider": "AAD"},
            "activeDirectoryDataLake": "https://datalake.azure.net/",
            "microsoftGraphResourceId": "https://graph.microsoft.com/",
            "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net",
                         "sqlServerHostname": "database.windows.net",
                         "azureDataLakeStoreFileSystem": "azuredatalakestore.net"},
        }
        return [cloud] if (release_date(version) or "") < "2022-09-01" else cloud

    def tenant_document(self) -> dict[str, Any]:
        """Tenants_List's entry for the world's tenant (azure-rest-api-specs 2022-12-01 GetTenants example)."""
        world = self.world
        return {"id": f"/tenants/{world.tenant_id}", "tenantId": world.tenant_id, "countryCode": "US",
                "displayName": world.tenant_domain.split(".")[0], "domains": [world.tenant_domain],
                "tenantCategory": "Home", "defaultDomain": world.tenant_domain, "tenantType": "AAD"}

    def subscription_document(self) -> dict[str, Any]:
        """Subscriptions_Get/List's shape (2022-12-01; the same for a managed identity's token)."""
        world = self.world
        return {
            "id": world.subscription_scope, "authorizationSource": "RoleBased", "managedByTenants": [],
            "subscriptionId": world.subscription_id, "tenantId": world.tenant_id,
            "displayName": world.subscription_name, "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
        }

    def visible_subscriptions(self, principal_id: str) -> list[dict[str, Any]]:
        """The subscriptions where the caller holds any role assignment (at, above or below its scope).

        An identity granted nothing gets an empty list: the Azure CLI then says "No access was
        configured for the managed identity" (azure-cli-core's Profile.login_with_managed_identity).
        """
        scope = self.world.subscription_scope
        for assignment in self.context.rbac.assignments_for(principal_id):
            held = assignment["properties"]["scope"]
            if scope_covers(scope, held) or scope_covers(held, scope):
                return [self.subscription_document()]
        return []

    # -- role definitions ----------------------------------------------------------------------
    def role_definition(self, role_id: str) -> dict[str, Any]:
        role = self.context.rbac.role(role_id)
        if role is None:
            raise errors.role_definition_not_found(role_id)
        return role.arm_body(self.world.subscription_id)

    def role_definitions(self, role_name: str | None) -> list[dict[str, Any]]:
        roles = self.context.rbac.roles.values()
        return [r.arm_body(self.world.subscription_id) for r in roles
                if role_name is None or r.name.lower() == role_name.lower()]

    # -- role assignments ----------------------------------------------------------------------
    def put_role_assignment(self, scope: str, name: str, body: Any,
                            created_by: str | None = None) -> tuple[dict[str, Any], bool]:
        if not _GUID.match(name):
            raise errors.invalid_role_assignment_id(name)
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            raise errors.invalid_request_content("The 'properties' object is required.")
        definition_id = properties.get("roleDefinitionId")
        principal_id = properties.get("principalId")
        if not isinstance(definition_id, str) or not definition_id:
            raise errors.invalid_request_content("'properties.roleDefinitionId' is required.")
        if not isinstance(principal_id, str) or not _GUID.match(principal_id):
            raise errors.invalid_request_content("'properties.principalId' must be a GUID.")
        role = self.context.rbac.role(definition_id.rstrip("/").rsplit("/", 1)[-1])
        if role is None:
            raise errors.role_definition_missing(definition_id)
        principal = self.context.directory.by_object_id(principal_id)
        if principal is None:
            raise errors.principal_not_found(principal_id, self.world.tenant_id)
        principal_type = properties.get("principalType")
        if principal_type is not None and principal_type not in _PRINCIPAL_TYPES:
            raise errors.invalid_request_content(f"'{principal_type}' is not a valid principalType.")
        if principal_type is not None and principal_type != "ServicePrincipal":
            raise errors.unmatched_principal_type(principal_id, principal_type)
        scope = canonical_scope(scope)
        if not self.scope_exists(scope):
            raise errors.resource_group_not_found(scope.rsplit("/", 1)[-1])
        document = assignment_document(scope, name, role_definition_id(self.world.subscription_id, role.id),
                                       principal.object_id, created_by)
        wanted = {k: document["properties"][k] for k in _ASSIGNMENT_IDENTITY}
        existing = self.store.get(document["id"])
        if existing is not None:
            if {k: existing["properties"].get(k) for k in _ASSIGNMENT_IDENTITY} == wanted:
                return existing, False  # the same PUT again: the assignment as it was made
            raise errors.role_assignment_update_not_permitted()
        for other in self.store.list(ROLE_ASSIGNMENT_TYPE):
            p = other["properties"]
            if (p["principalId"].lower(), p["roleDefinitionId"].lower(), p["scope"].lower()) == (
                    wanted["principalId"].lower(), wanted["roleDefinitionId"].lower(), scope.lower()):
                raise errors.role_assignment_exists()
        self.store.put(document["id"], ROLE_ASSIGNMENT_TYPE, document)
        self.context.rbac.note_change(document, removed=False)
        return document, True

    def _assignment_id(self, scope: str, name: str) -> str:
        return f"{canonical_scope(scope)}/providers/Microsoft.Authorization/roleAssignments/{name}"

    def role_assignment(self, scope: str, name: str) -> dict[str, Any]:
        document = self.store.get(self._assignment_id(scope, name))
        if document is None:
            raise errors.role_assignment_not_found(name)
        return document

    def delete_role_assignment(self, scope: str, name: str) -> dict[str, Any] | None:
        assignment_id = self._assignment_id(scope, name)
        document = self.store.get(assignment_id)
        if document is not None:
            self.store.delete(assignment_id)
            self.context.rbac.note_change(document, removed=True)
        return document

    def role_assignments(self, scope: str, filter_text: str | None) -> list[dict[str, Any]]:
        """At, above and below the scope; ``atScope()`` keeps at/above; ``principalId eq`` filters."""
        scope = canonical_scope(scope)
        at_scope = bool(filter_text and "atscope()" in filter_text.lower())
        principal = None
        if filter_text:
            found = re.search(r"(?:principalId\s+eq\s+|assignedTo\()'([^']+)'", filter_text, re.IGNORECASE)
            principal = found.group(1).lower() if found else None
        result = []
        for assignment in self.store.list(ROLE_ASSIGNMENT_TYPE):
            p = assignment["properties"]
            above = scope_covers(p["scope"], scope)
            below = scope_covers(scope, p["scope"])
            if not (above or (below and not at_scope)):
                continue
            if principal is not None and p["principalId"].lower() != principal:
                continue
            result.append(assignment)
        return result

    # -- user-assigned identities --------------------------------------------------------------
    def put_identity(self, resource_group: str, name: str, body: Any) -> tuple[dict[str, Any], bool]:
        group = self.resource_group(resource_group)
        if not _IDENTITY_NAME.match(name):
            raise errors.invalid_resource_name(name)
        if not isinstance(body, dict):
            raise errors.invalid_request_content("The body must be a JSON object.")
        location = check_location(body.get("location"), IDENTITIES)
        tags = check_tags(body.get("tags"))
        resource_id = self.world.user_assigned_identity_id(group["name"], name)
        existing = self.store.get(resource_id)
        if existing is not None:
            ids = existing["properties"]
        else:
            declared = self.world.user_assigned_ids.get(name)
            derived = uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower())
            ids = declared or {"principalId": str(derived),
                               "clientId": str(uuid.uuid5(uuid.NAMESPACE_URL, str(derived)))}
        document = {
            "id": resource_id,
            "name": name,
            "type": IDENTITIES,
            "location": location,
            "tags": tags,
            "properties": {"tenantId": self.world.tenant_id, "principalId": ids["principalId"],
                           "clientId": ids["clientId"]},
        }
        self.store.put(resource_id, IDENTITIES, document)
        return document, existing is None

    def identity(self, resource_group: str, name: str) -> dict[str, Any]:
        group = self.resource_group(resource_group)
        document = self.store.get(self.world.user_assigned_identity_id(group["name"], name))
        if document is None:
            raise errors.resource_not_found(IDENTITIES, name, group["name"])
        return document

    def delete_identity(self, resource_group: str, name: str) -> bool:
        group = self.resource_group(resource_group)
        return self.store.delete(self.world.user_assigned_identity_id(group["name"], name))

    def identities(self, resource_group: str) -> list[dict[str, Any]]:
        group = self.resource_group(resource_group)
        return self.store.list(IDENTITIES, under=self.world.resource_group_id(group["name"]))

    # -- the virtual machine -------------------------------------------------------------------
    def vm(self, resource_group: str, name: str) -> dict[str, Any]:
        group = self.resource_group(resource_group)
        resource_id = f"{self.world.resource_group_id(group['name'])}/providers/{VMS}/{name}"
        document = self.store.get(resource_id)
        if document is None:
            raise errors.resource_not_found(VMS, name, group["name"])
        return document

    def plan_vm_identity(self, vm: dict[str, Any], body: Any) -> tuple[dict[str, Any], list[str]]:
        """Validate a PATCH and return (new identity block, user-assigned ids newly assigned)."""
        if not isinstance(body, dict):
            raise errors.invalid_request_content("The body must be a JSON object.")
        requested = body.get("identity")
        if requested is None:
            return vm.get("identity") or {"type": "None"}, []
        if not isinstance(requested, dict):
            raise errors.invalid_request_content("'identity' must be an object.")
        raw_type = str(requested.get("type", ""))
        identity_type = _IDENTITY_TYPES.get(raw_type.replace(" ", "").lower())
        if identity_type is None:
            raise errors.invalid_identity_type(raw_type)
        current = dict((vm.get("identity") or {}).get("userAssignedIdentities") or {})
        changes = requested.get("userAssignedIdentities") or {}
        if not isinstance(changes, dict):
            raise errors.invalid_request_content("'identity.userAssignedIdentities' must be an object.")
        added: list[str] = []
        for identity_id, value in changes.items():
            existing_key = next((k for k in current if k.lower() == identity_id.lower()), None)
            if value is None:  # PATCH semantics: null removes the identity
                if existing_key is not None:
                    del current[existing_key]
                continue
            document = self.store.get(identity_id)
            if document is None or document.get("type") != IDENTITIES:
                raise errors.identity_not_found_for_vm(vm["id"], identity_id)
            if len(document["name"]) > VM_MAX_IDENTITY_NAME:
                raise errors.identity_name_too_long(document["name"])
            if existing_key is None:
                added.append(document["id"])
            current[existing_key or document["id"]] = {
                "principalId": document["properties"]["principalId"],
                "clientId": document["properties"]["clientId"],
            }
        if "UserAssigned" not in identity_type:
            current = {}
        elif not current:
            raise errors.user_identities_required()
        block: dict[str, Any] = {"type": identity_type}
        if current:
            block["userAssignedIdentities"] = current
        return block, added

    def save_vm_identity(self, vm: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
        """Write a planned identity block; switching the system-assigned identity on or off here.

        On, it keeps its principal if it was on already; off and on again, it is a new service principal
        (core.directory), which the VM's ``identity.principalId`` and IMDS's tokens show from now on.
        """
        block = dict(block)
        if "SystemAssigned" in block["type"]:
            system = self.context.directory.enable_vm_system_identity()
            block = {"principalId": system.object_id, "tenantId": self.world.tenant_id, **block}
        else:
            self.context.directory.disable_vm_system_identity()
        updated = {**vm, "identity": block}
        self.store.put(vm["id"], VMS, updated)
        return updated


def seed(context: EmulatorContext) -> None:
    """The world's resource groups and VM (system-assigned identity on, no user-assigned one)."""
    world = context.world
    for group in world.resource_groups:
        resource_id = world.resource_group_id(group["name"])
        context.store.put(resource_id, RESOURCE_GROUPS, {
            "id": resource_id, "name": group["name"], "type": RESOURCE_GROUPS,
            "location": group.get("location", world.location), "tags": group.get("tags", {}),
            "properties": {"provisioningState": "Succeeded"},
        })
    vm = world.vm
    system = context.directory.enable_vm_system_identity()  # the first one: world.json's ids
    context.store.put(world.vm_resource_id, VMS, {
        "id": world.vm_resource_id, "name": vm["name"], "type": VMS, "location": world.location,
        "identity": {"principalId": system.object_id, "tenantId": world.tenant_id, "type": "SystemAssigned"},
        "properties": {
            "vmId": vm["vmId"], "hardwareProfile": {"vmSize": vm["vmSize"]},
            "storageProfile": {"osDisk": {"osType": vm["osType"]}},
            "provisioningState": "Succeeded",
        },
    })
