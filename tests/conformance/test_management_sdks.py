"""The management SDKs a notebook could use instead of raw REST: every admin step and read, through them.

azure-mgmt-authorization (role assignments and definitions), azure-mgmt-msi (user-assigned identities),
azure-mgmt-compute (the VM's identity block), azure-mgmt-resource (resource groups), each with the admin's
ClientSecretCredential and, for the reads, the VM's ManagedIdentityCredential. Each client sends the
api-version it pins (azure-mgmt-compute 39: 2026-04-01): the emulator takes them by core/versions.py's rule.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import UserAssignedIdentitiesValue, VirtualMachineIdentity, VirtualMachineUpdate
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import Identity
from azure.mgmt.resource.resources import ResourceManagementClient
from conformance_helpers import (
    ID1_CLIENT_ID,
    ID1_PRINCIPAL_ID,
    READER,
    SYSTEM_PRINCIPAL_ID,
    World,
)

from lib.imds import decode_claims

ARM_SCOPE = "https://management.azure.com/.default"


def admin_credential(world: World) -> ClientSecretCredential:
    return ClientSecretCredential(world.profile.tenant_id, world.profile.admin["clientId"],
                                  world.profile.admin["clientSecret"], authority=world.profile.endpoints["login"],
                                  disable_instance_discovery=True, connection_verify=world.ca)


def client(kind: type, world: World, credential: Any = None) -> Any:
    return kind(credential or admin_credential(world), world.profile.subscription_id,
                base_url=world.profile.endpoints["arm"], credential_scopes=[ARM_SCOPE], connection_verify=world.ca)


def reader_id(world: World) -> str:
    return f"/subscriptions/{world.profile.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{READER}"


# -- azure-mgmt-authorization -------------------------------------------------------------------------------
def test_role_assignment_create_get_list_delete(world: World) -> None:
    authorization = client(AuthorizationManagementClient, world)
    name = str(uuid.uuid4())
    created = authorization.role_assignments.create(world.rg_scope, name, RoleAssignmentCreateParameters(
        role_definition_id=reader_id(world), principal_id=SYSTEM_PRINCIPAL_ID, principal_type="ServicePrincipal"))
    assert (created.name, created.principal_id, created.scope) == (name, SYSTEM_PRINCIPAL_ID, world.rg_scope)
    assert created.created_by == world.profile.admin["objectId"] and created.created_on is not None
    assert authorization.role_assignments.get(world.rg_scope, name).role_definition_id == reader_id(world)
    listed = authorization.role_assignments.list_for_scope(world.rg_scope,
                                                          filter=f"principalId eq '{SYSTEM_PRINCIPAL_ID}'")
    assert [a.name for a in listed] == [name]
    assert authorization.role_assignments.delete(world.rg_scope, name).name == name
    with pytest.raises(ResourceNotFoundError):
        authorization.role_assignments.get(world.rg_scope, name)


def test_role_definitions_by_name_and_id(world: World) -> None:
    authorization = client(AuthorizationManagementClient, world)
    (reader,) = authorization.role_definitions.list(world.rg_scope, filter="roleName eq 'Reader'")
    assert reader.name == READER and reader.role_type == "BuiltInRole"
    assert authorization.role_definitions.get(world.rg_scope, READER).role_name == "Reader"


def test_the_vm_cannot_grant_itself_more(world: World) -> None:
    world.grant_reader(SYSTEM_PRINCIPAL_ID)
    authorization = client(AuthorizationManagementClient, world, ManagedIdentityCredential())
    with pytest.raises(HttpResponseError) as denied:
        authorization.role_assignments.create(world.rg_scope, str(uuid.uuid4()), RoleAssignmentCreateParameters(
            role_definition_id=reader_id(world).replace(READER, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
            principal_id=SYSTEM_PRINCIPAL_ID, principal_type="ServicePrincipal"))
    assert denied.value.status_code == 403 and denied.value.error.code == "AuthorizationFailed"


# -- azure-mgmt-msi ----------------------------------------------------------------------------------------
def test_user_assigned_identity_create_get_list_delete(world: World) -> None:
    msi = client(ManagedServiceIdentityClient, world)
    rg = world.profile.resource_group
    created = msi.user_assigned_identities.create_or_update(rg, "ID1", Identity(location=world.profile.location))
    assert (created.client_id, created.principal_id, created.tenant_id) == (
        ID1_CLIENT_ID, ID1_PRINCIPAL_ID, world.profile.tenant_id)
    assert msi.user_assigned_identities.get(rg, "ID1").id == world.identity_id()
    assert [i.name for i in msi.user_assigned_identities.list_by_resource_group(rg)] == ["ID1"]
    msi.user_assigned_identities.delete(rg, "ID1")
    with pytest.raises(ResourceNotFoundError):
        msi.user_assigned_identities.get(rg, "ID1")


# -- azure-mgmt-compute -------------------------------------------------------------------------------------
def _vm_identity(world: World, identity: VirtualMachineIdentity) -> Any:
    compute = client(ComputeManagementClient, world)
    return compute.virtual_machines.begin_update(world.profile.resource_group, world.profile.vm_name,
                                                 VirtualMachineUpdate(identity=identity)).result().identity


def test_vm_identity_attach_and_detach_only_id1(world: World) -> None:
    msi = client(ManagedServiceIdentityClient, world)
    rg = world.profile.resource_group
    for name in ("ID1", "ID2"):
        msi.user_assigned_identities.create_or_update(rg, name, Identity(location=world.profile.location))
    both = {world.identity_id(n): UserAssignedIdentitiesValue() for n in ("ID1", "ID2")}
    attached = _vm_identity(world, VirtualMachineIdentity(type="SystemAssigned, UserAssigned",
                                                          user_assigned_identities=both))
    assert attached.principal_id == SYSTEM_PRINCIPAL_ID
    assert attached.user_assigned_identities[world.identity_id("ID1")].client_id == ID1_CLIENT_ID
    # PATCH semantics: null detaches ID1 and keeps ID2 (not {"type": "SystemAssigned"}, which drops both)
    detached = _vm_identity(world, VirtualMachineIdentity(type="SystemAssigned, UserAssigned",
                                                          user_assigned_identities={world.identity_id("ID1"): None}))
    assert [k.rsplit("/", 1)[-1] for k in detached.user_assigned_identities] == ["ID2"]
    compute = client(ComputeManagementClient, world)
    vm = compute.virtual_machines.get(rg, world.profile.vm_name)
    assert vm.identity.type == "SystemAssigned, UserAssigned" and vm.identity.principal_id == SYSTEM_PRINCIPAL_ID


def test_vm_system_identity_off_and_on_is_a_new_principal(world: World) -> None:
    assert _vm_identity(world, VirtualMachineIdentity(type="None")).principal_id is None
    again = _vm_identity(world, VirtualMachineIdentity(type="SystemAssigned"))
    assert again.principal_id not in (None, SYSTEM_PRINCIPAL_ID)
    token = ManagedIdentityCredential().get_token(ARM_SCOPE).token
    assert decode_claims(token)["oid"] == again.principal_id


# -- azure-mgmt-resource ------------------------------------------------------------------------------------
def test_resource_groups_as_the_vm_reader(world: World) -> None:
    resources = client(ResourceManagementClient, world, ManagedIdentityCredential())
    with pytest.raises(HttpResponseError) as denied:
        list(resources.resource_groups.list())
    assert denied.value.status_code == 403
    world.grant_reader(SYSTEM_PRINCIPAL_ID)
    assert [g.name for g in resources.resource_groups.list()] == [world.profile.resource_group]
    assert resources.resource_groups.get(world.profile.resource_group).location == world.profile.location
