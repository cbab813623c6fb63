"""The emulated Resource Manager and RBAC against reference/arm.md.

Every admin step is the real ARM call with the admin's token from the emulated Entra; every identity
call uses a token from the emulated IMDS.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from emu_helpers import (
    ARM,
    ID1_CLIENT_ID,
    ID1_PRINCIPAL_ID,
    MI_API,
    RA_API,
    RD_API,
    RG_API,
    ROLES,
    SYSTEM_CLIENT_ID,
    SYSTEM_PRINCIPAL_ID,
    VM_API,
    Azure,
    new_name,
    unverified_claims,
)

READ_RG = "Microsoft.Resources/subscriptions/resourcegroups/read"
WRITE_RA = "Microsoft.Authorization/roleAssignments/write"


def assert_arm_error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    return message


def denial(oid: str, action: str, scope: str) -> str:
    return (f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
            f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
            "please refresh your credentials.")


def lower_rg(scope: str) -> str:
    return scope.replace("/resourceGroups/", "/resourcegroups/")


# -- RBAC on the resource group read --------------------------------------------------------------------
def test_deny_grant_allow_delete_deny(world: Azure) -> None:
    token = world.mi_token(ARM)
    denied = world.get_rg(token)
    message = assert_arm_error(denied, 403, "AuthorizationFailed")
    assert message == denial(SYSTEM_PRINCIPAL_ID, READ_RG, f"/subscriptions/{world.sub}/resourcegroups/{world.rg}")

    name = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    allowed = world.get_rg(token)  # the same token: RBAC is evaluated per call, not baked into the token
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["name"] == world.rg

    deleted = world.arm("DELETE", world.assignment_path(world.rg_scope, name), api_version=RA_API)
    assert deleted.status_code == 200
    assert_arm_error(world.get_rg(token), 403, "AuthorizationFailed")


def test_reader_at_subscription_is_inherited_by_the_resource_group(world: Azure) -> None:
    token = world.mi_token(ARM)
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader", world.sub_scope)
    response = world.get_rg(token)
    assert response.status_code == 200, response.text


def test_grant_at_one_group_does_not_leak_to_a_group_sharing_its_prefix(world: Azure) -> None:
    token = world.mi_token(ARM)
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader")  # at mi-workbook-rg
    other = f"{world.sub_scope}/resourceGroups/{world.rg}2"
    message = assert_arm_error(world.arm("GET", other, token), 403, "AuthorizationFailed")
    assert f"over scope '/subscriptions/{world.sub}/resourcegroups/{world.rg}2'" in message


def test_grant_to_one_identity_does_not_grant_another(world: Azure) -> None:
    world.create_identity("ID1")
    world.set_vm_identity("SystemAssigned, UserAssigned", "ID1")
    world.grant(ID1_PRINCIPAL_ID, "Reader")
    assert world.get_rg(world.mi_token(ARM, client_id=ID1_CLIENT_ID)).status_code == 200
    assert_arm_error(world.get_rg(world.mi_token(ARM)), 403, "AuthorizationFailed")


@pytest.mark.parametrize("role", ["Storage Blob Data Reader", "Key Vault Secrets User"])
def test_data_roles_do_not_read_the_resource_group(world: Azure, role: str) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, role)
    assert_arm_error(world.get_rg(world.mi_token(ARM)), 403, "AuthorizationFailed")


# -- who may write role assignments ------------------------------------------------------------------
@pytest.mark.parametrize("role", ["Reader", "Contributor", "Storage Account Contributor"])
def test_only_owner_or_uaa_write_assignments_refused(world: Azure, role: str) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, role)
    token = world.mi_token(ARM)
    before = world.assignment_ids()
    name = new_name()
    response = world.put_assignment(SYSTEM_PRINCIPAL_ID, "Owner", token=token, name=name)
    message = assert_arm_error(response, 403, "AuthorizationFailed")
    scope = lower_rg(world.assignment_path(world.rg_scope, name))
    assert message == denial(SYSTEM_PRINCIPAL_ID, WRITE_RA, scope)
    assert world.assignment_ids() == before


@pytest.mark.parametrize("role", ["User Access Administrator", "Owner"])
def test_owner_or_uaa_write_assignments(world: Azure, role: str) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, role)
    token = world.mi_token(ARM)
    world.create_identity("ID1")
    response = world.put_assignment(ID1_PRINCIPAL_ID, "Reader", token=token)
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["principalId"] == ID1_PRINCIPAL_ID


def test_contributor_cannot_delete_assignments(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "Contributor")
    target = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    token = world.mi_token(ARM)
    response = world.arm("DELETE", world.assignment_path(world.rg_scope, target), token, RA_API)
    assert_arm_error(response, 403, "AuthorizationFailed")
    assert world.arm("GET", world.assignment_path(world.rg_scope, target), api_version=RA_API).status_code == 200


# -- role assignment shapes ---------------------------------------------------------------------------
def test_role_assignment_put_get_list_delete(world: Azure) -> None:
    name = new_name()
    path = world.assignment_path(world.rg_scope, name)
    created = world.put_assignment(SYSTEM_PRINCIPAL_ID, "Reader", name=name)
    assert created.status_code == 201, created.text
    body = created.json()
    stamps = {k: body["properties"].pop(k) for k in ("createdOn", "updatedOn", "createdBy", "updatedBy")}
    assert stamps["createdBy"] == stamps["updatedBy"] == world.admin_oid  # test_arm_clients checks the times
    assert body == {
        "properties": {"roleDefinitionId": world.role_definition_id("Reader"), "principalId": SYSTEM_PRINCIPAL_ID,
                       "principalType": "ServicePrincipal", "scope": world.rg_scope},
        "id": path, "type": "Microsoft.Authorization/roleAssignments", "name": name,
    }
    body["properties"].update(stamps)
    assert created.headers.get("x-ms-request-id")

    got = world.arm("GET", path, api_version=RA_API)
    assert got.status_code == 200 and got.json() == body

    listed = world.arm("GET", f"{world.rg_scope}/providers/Microsoft.Authorization/roleAssignments",
                       api_version=RA_API)
    assert listed.status_code == 200
    assert body in listed.json()["value"]

    first = world.arm("DELETE", path, api_version=RA_API)
    assert first.status_code == 200 and first.json() == body
    second = world.arm("DELETE", path, api_version=RA_API)
    assert second.status_code == 204 and second.content == b""
    message = assert_arm_error(world.arm("GET", path, api_version=RA_API), 404, "RoleAssignmentNotFound")
    assert name in message


def test_role_assignment_put_with_lowercase_resourcegroups_is_stored_canonically(world: Azure) -> None:
    name = new_name()
    response = world.put_assignment(SYSTEM_PRINCIPAL_ID, "Reader", lower_rg(world.rg_scope), name=name)
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["scope"] == world.rg_scope
    assert response.json()["id"] == world.assignment_path(world.rg_scope, name)
    assert world.get_rg(world.mi_token(ARM)).status_code == 200


def test_role_assignment_list_filters(world: Azure) -> None:
    world.create_identity("ID1")
    at_sub = world.grant(SYSTEM_PRINCIPAL_ID, "Reader", world.sub_scope)
    at_rg = world.grant(ID1_PRINCIPAL_ID, "Reader")
    rg_list = f"{world.rg_scope}/providers/Microsoft.Authorization/roleAssignments"
    sub_list = f"{world.sub_scope}/providers/Microsoft.Authorization/roleAssignments"

    def names(path: str, filter_text: str | None = None) -> set[str]:
        response = world.arm("GET", path, api_version=RA_API, params={"$filter": filter_text} if filter_text else None)
        assert response.status_code == 200, response.text
        return {a["name"] for a in response.json()["value"]}

    admin_seed = "0b0ae7a4-8f5d-4a8e-9d6f-6a9a2f3c1d01"  # the admin's Owner at the subscription (world.json)
    assert names(rg_list) == {at_sub, at_rg, admin_seed}  # at and above the group
    assert names(sub_list, "atScope()") == {at_sub, admin_seed}  # the group's assignment is below: left out
    assert names(sub_list) == {at_sub, at_rg, admin_seed}
    assert names(rg_list, f"principalId eq '{ID1_PRINCIPAL_ID}'") == {at_rg}
    assert names(sub_list, f"atScope() and principalId eq '{SYSTEM_PRINCIPAL_ID}'") == {at_sub}


def test_get_unknown_role_assignment_404(world: Azure) -> None:
    assert_arm_error(world.arm("GET", world.assignment_path(world.rg_scope, new_name()), api_version=RA_API),
                     404, "RoleAssignmentNotFound")


def _refused_put(world: Azure, status: int, code: str, *, name: str | None = None, body: Any = None,
                 raw: str | None = None, scope: str | None = None) -> str:
    before = world.assignment_ids()
    path = world.assignment_path(scope or world.rg_scope, name or new_name())
    response = world.arm("PUT", path, api_version=RA_API, body=body, raw=raw)
    message = assert_arm_error(response, status, code)
    assert world.assignment_ids() == before, "a refused PUT wrote something"
    return message


def _props(world: Azure, role_definition_id: str | None = None, principal: str = SYSTEM_PRINCIPAL_ID,
           principal_type: str = "ServicePrincipal") -> dict[str, Any]:
    return {"properties": {"roleDefinitionId": role_definition_id or world.role_definition_id("Reader"),
                           "principalId": principal, "principalType": principal_type}}


@pytest.mark.parametrize("name", ["not-a-guid", "1234", "0b0ae7a4-8f5d-4a8e-9d6f-6a9a2f3c1d0z"])
def test_role_assignment_name_must_be_a_guid(world: Azure, name: str) -> None:
    message = _refused_put(world, 400, "InvalidRoleAssignmentId", name=name, body=_props(world))
    assert name in message


def test_role_assignment_unknown_role_definition(world: Azure) -> None:
    unknown = f"{world.sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{new_name()}"
    message = _refused_put(world, 400, "RoleDefinitionDoesNotExist", body=_props(world, unknown))
    assert unknown in message


def test_role_assignment_unknown_principal(world: Azure) -> None:
    ghost = new_name()
    message = _refused_put(world, 400, "PrincipalNotFound", body=_props(world, principal=ghost))
    assert ghost.replace("-", "") in message and world.tenant in message


def test_role_assignment_user_assigned_identity_not_yet_created_is_unknown(world: Azure) -> None:
    _refused_put(world, 400, "PrincipalNotFound", body=_props(world, principal=ID1_PRINCIPAL_ID))


@pytest.mark.parametrize("principal_type", ["User", "Group"])
def test_role_assignment_principal_type_mismatch(world: Azure, principal_type: str) -> None:
    message = _refused_put(world, 400, "UnmatchedPrincipalType",
                           body=_props(world, principal_type=principal_type))
    assert f"'{principal_type}'" in message


@pytest.mark.parametrize("raw", ["{", "not json", '{"properties": ', "[1, 2", "\x00\x01"])
def test_role_assignment_invalid_json(world: Azure, raw: str) -> None:
    _refused_put(world, 400, "InvalidRequestContent", raw=raw)


@pytest.mark.parametrize("body", [None, [], {}, {"properties": None}, {"properties": "x"},
                                  {"properties": {"principalId": SYSTEM_PRINCIPAL_ID}},
                                  {"properties": {"roleDefinitionId": 5, "principalId": SYSTEM_PRINCIPAL_ID}},
                                  {"properties": {"roleDefinitionId": "x", "principalId": "not-a-guid"}}])
def test_role_assignment_malformed_body(world: Azure, body: Any) -> None:
    before = world.assignment_ids()
    path = world.assignment_path(world.rg_scope, new_name())
    response = world.arm("PUT", path, api_version=RA_API, raw=json.dumps(body) if body is not None else "")
    assert_arm_error(response, 400, "InvalidRequestContent")
    assert world.assignment_ids() == before


def test_role_assignment_duplicate_is_409(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    _refused_put(world, 409, "RoleAssignmentExists", body=_props(world))


def test_role_assignment_update_is_409_and_idempotent_put_is_not(world: Azure) -> None:
    name = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    _refused_put(world, 409, "RoleAssignmentUpdateNotPermitted", name=name,
                 body=_props(world, world.role_definition_id("Contributor")))
    same = world.arm("PUT", world.assignment_path(world.rg_scope, name), api_version=RA_API, body=_props(world))
    assert same.status_code in (200, 201), same.text
    assert same.json()["name"] == name
    assert sum(1 for a in world.all_assignments() if a["properties"]["principalId"] == SYSTEM_PRINCIPAL_ID) == 1


def test_role_assignment_at_unknown_resource_group(world: Azure) -> None:
    _refused_put(world, 404, "ResourceGroupNotFound", body=_props(world),
                 scope=f"{world.sub_scope}/resourceGroups/no-such-rg")


def test_role_assignment_at_vm_scope_is_inherited_downward_only(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader", world.vm_id)
    token = world.mi_token(ARM)
    assert world.arm("GET", world.vm_id, token, VM_API).status_code == 200
    assert_arm_error(world.get_rg(token), 403, "AuthorizationFailed")


# -- role definitions ------------------------------------------------------------------------------------
def test_role_definition_get_by_id(world: Azure) -> None:
    expected = {
        "Owner": (["*"], [], []),
        "Reader": (["*/read"], [], []),
        "Storage Blob Data Reader": (None, [],
                                     ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]),
        "Storage Account Contributor": (None, [], []),
        "Key Vault Secrets User": ([], [], ["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                            "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]),
    }
    for role, role_id in ROLES.items():
        response = world.arm("GET", f"{world.sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_id}",
                             api_version=RD_API)
        assert response.status_code == 200, (role, response.text)
        body = response.json()
        assert body["name"] == role_id
        assert body["id"] == world.role_definition_id(role)
        assert body["type"] == "Microsoft.Authorization/roleDefinitions"
        assert body["properties"]["roleName"] == role
        assert body["properties"]["type"] == "BuiltInRole"
        permissions = body["properties"]["permissions"][0]
        if role in expected:
            actions, not_actions, data_actions = expected[role]
            if actions is not None:
                assert permissions["actions"] == actions
            assert permissions["notActions"] == not_actions
            assert permissions["dataActions"] == data_actions
    sac = world.arm("GET", world.role_definition_id("Storage Account Contributor"), api_version=RD_API).json()
    assert "Microsoft.Storage/storageAccounts/*" in sac["properties"]["permissions"][0]["actions"]
    contributor = world.arm("GET", world.role_definition_id("Contributor"), api_version=RD_API).json()
    assert "Microsoft.Authorization/*/Write" in contributor["properties"]["permissions"][0]["notActions"]


def test_role_definition_list_by_name(world: Azure) -> None:
    path = f"{world.sub_scope}/providers/Microsoft.Authorization/roleDefinitions"
    response = world.arm("GET", path, api_version=RD_API, params={"$filter": "roleName eq 'Reader'"})
    assert response.status_code == 200
    value = response.json()["value"]
    assert [d["name"] for d in value] == [ROLES["Reader"]]
    everything = world.arm("GET", path, api_version=RD_API).json()["value"]
    assert {d["name"] for d in everything} >= set(ROLES.values())
    none = world.arm("GET", path, api_version=RD_API, params={"$filter": "roleName eq 'No Such Role'"})
    assert none.status_code == 200 and none.json()["value"] == []


def test_role_definition_unknown_is_404(world: Azure) -> None:
    response = world.arm("GET", f"{world.sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{new_name()}",
                         api_version=RD_API)
    assert_arm_error(response, 404, "RoleDefinitionDoesNotExist")


# -- api-versions, paths, 404s ---------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["2016-06-01", "2016-09-01"])
def test_resource_group_older_api_version_shape(world: Azure, version: str) -> None:
    response = world.get_rg("admin", version)
    assert response.status_code == 200
    assert response.json() == {"id": world.rg_scope, "name": world.rg, "location": world.location,
                               "properties": {"provisioningState": "Succeeded"}}


def test_resource_group_modern_api_version_shape(world: Azure) -> None:
    response = world.get_rg("admin", "2021-04-01")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == world.rg_scope
    assert body["name"] == world.rg
    assert body["type"] == "Microsoft.Resources/resourceGroups"
    assert body["location"] == world.location
    assert body["properties"] == {"provisioningState": "Succeeded"}
    assert isinstance(body["tags"], dict)


def test_missing_api_version(world: Azure) -> None:
    message = assert_arm_error(world.get_rg("admin", None), 400, "MissingApiVersionParameter")
    assert "api-version" in message


@pytest.mark.parametrize("version", ["2099-01-01", "latest", "2015-11-01", "2016-13-01", "2021-04-01-nightly", " "])
def test_unknown_api_version(world: Azure, version: str) -> None:
    """Malformed, older than the oldest supported, or from the future: refused."""
    message = assert_arm_error(world.get_rg("admin", version), 400, "InvalidApiVersionParameter")
    assert f"'{version}'" in message and "2016-09-01" in message


@pytest.mark.parametrize("version", ["2025-04-01", "2025-11-01", "2026-04-01-preview", "2016-06-01-preview"])
def test_any_well_formed_version_since_the_oldest_is_accepted(world: Azure, version: str) -> None:
    """Clients pin versions newer than any list kept here (az 2.91, azure-mgmt-compute 39); Azure takes them."""
    response = world.get_rg("admin", version)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("spelling", ["resourcegroups", "RESOURCEGROUPS", "resourceGroups"])
def test_path_is_case_insensitive(world: Azure, spelling: str) -> None:
    response = world.arm("GET", f"/subscriptions/{world.sub}/{spelling}/{world.rg}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == world.rg_scope
    upper = world.arm("GET", f"/SUBSCRIPTIONS/{world.sub.upper()}/{spelling}/{world.rg.upper()}")
    assert upper.status_code == 200, upper.text
    assert upper.json()["name"] == world.rg


def test_unknown_resource_group_for_subscription_reader(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader", world.sub_scope)
    response = world.arm("GET", f"{world.sub_scope}/resourceGroups/no-such-rg", world.mi_token(ARM))
    message = assert_arm_error(response, 404, "ResourceGroupNotFound")
    assert message == "Resource group 'no-such-rg' could not be found."


def test_unknown_resource_group_without_any_grant_is_403(world: Azure) -> None:
    response = world.arm("GET", f"{world.sub_scope}/resourceGroups/no-such-rg", world.mi_token(ARM))
    assert_arm_error(response, 403, "AuthorizationFailed")


def test_unknown_subscription(world: Azure) -> None:
    other = "00000000-0000-0000-0000-000000000001"
    message = assert_arm_error(world.arm("GET", f"/subscriptions/{other}/resourceGroups/{world.rg}"),
                               404, "SubscriptionNotFound")
    assert other in message


def test_resource_group_check_existence_is_head_204_or_404(world: Azure) -> None:
    """ResourceGroups_CheckExistence: HEAD answers 204 when the group exists, 404 when not."""
    assert world.arm("HEAD", world.rg_scope).status_code == 204
    assert world.arm("HEAD", f"{world.sub_scope}/resourceGroups/no-such-rg").status_code == 404
    assert world.arm("HEAD", world.rg_scope, token=world.mi_token(ARM)).status_code == 403


def test_list_resource_groups(world: Azure) -> None:
    response = world.arm("GET", f"{world.sub_scope}/resourcegroups")
    assert response.status_code == 200
    assert [g["name"] for g in response.json()["value"]] == [world.rg]


# -- user-assigned identities ---------------------------------------------------------------------------
def test_user_assigned_identity_lifecycle(world: Azure) -> None:
    created = world.put_identity("ID1", {"location": "West US", "tags": {"k": "v"}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {
        "id": world.identity_id("ID1"), "name": "ID1", "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": "westus", "tags": {"k": "v"},
        "properties": {"tenantId": world.tenant, "principalId": ID1_PRINCIPAL_ID, "clientId": ID1_CLIENT_ID},
    }
    again = world.put_identity("ID1")
    assert again.status_code == 200
    assert again.json()["properties"] == body["properties"]  # ids are stable across updates

    got = world.arm("GET", world.identity_id("ID1"), api_version=MI_API)
    assert got.status_code == 200 and got.json()["properties"]["clientId"] == ID1_CLIENT_ID
    listed = world.arm("GET", f"{world.rg_scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                       api_version=MI_API)
    assert listed.status_code == 200 and [i["name"] for i in listed.json()["value"]] == ["ID1"]

    assert world.arm("DELETE", world.identity_id("ID1"), api_version=MI_API).status_code == 200
    assert world.arm("DELETE", world.identity_id("ID1"), api_version=MI_API).status_code == 204
    message = assert_arm_error(world.arm("GET", world.identity_id("ID1"), api_version=MI_API), 404, "ResourceNotFound")
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/ID1" in message


def test_other_identity_names_get_stable_derived_ids(world: Azure) -> None:
    first = world.create_identity("reader-identity")["properties"]
    assert first["principalId"] not in (ID1_PRINCIPAL_ID, SYSTEM_PRINCIPAL_ID)
    world.arm("DELETE", world.identity_id("reader-identity"), api_version=MI_API)
    assert world.create_identity("reader-identity")["properties"] == first


@pytest.mark.parametrize("name", ["ab", "-id1", "_id1", "id$1", "id.1", "id 1", "x" * 129])
def test_user_assigned_identity_bad_names(world: Azure, name: str) -> None:
    response = world.put_identity(name)
    message = assert_arm_error(response, 400, "InvalidResourceName")
    assert name in message
    listed = world.arm("GET", f"{world.rg_scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                       api_version=MI_API)
    assert listed.json()["value"] == []


@pytest.mark.parametrize("body", [{}, {"location": ""}, {"location": None}, {"tags": {}}])
def test_user_assigned_identity_location_required(world: Azure, body: dict[str, Any]) -> None:
    assert_arm_error(world.put_identity("ID1", body), 400, "LocationRequired")
    assert_arm_error(world.arm("GET", world.identity_id("ID1"), api_version=MI_API), 404, "ResourceNotFound")


def test_user_assigned_identity_in_unknown_group(world: Azure) -> None:
    path = f"{world.sub_scope}/resourceGroups/no-such-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
    assert_arm_error(world.arm("PUT", path, api_version=MI_API, body={"location": world.location}),
                     404, "ResourceGroupNotFound")


def test_identity_write_needs_rbac(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    response = world.put_identity("ID1", token=world.mi_token(ARM))
    message = assert_arm_error(response, 403, "AuthorizationFailed")
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/write" in message
    assert_arm_error(world.arm("GET", world.identity_id("ID1"), api_version=MI_API), 404, "ResourceNotFound")


# -- the VM and its identity block ----------------------------------------------------------------------
def test_vm_get(world: Azure) -> None:
    response = world.arm("GET", world.vm_id, api_version=VM_API)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == world.vm_id and body["name"] == world.vm_name
    assert body["type"] == "Microsoft.Compute/virtualMachines"
    assert body["identity"] == {"type": "SystemAssigned", "principalId": SYSTEM_PRINCIPAL_ID,
                                "tenantId": world.tenant}


def test_vm_patch_assigns_id1_and_imds_serves_it(world: Azure) -> None:
    world.create_identity("ID1")
    assert_imds = world.token_response(ARM, client_id=ID1_CLIENT_ID)
    assert assert_imds.status_code == 400  # not yet on the VM
    response = world.patch_vm({"type": "SystemAssigned, UserAssigned",
                               "userAssignedIdentities": {world.identity_id("ID1"): {}}})
    assert response.status_code == 200, response.text
    identity = response.json()["identity"]
    assert identity["type"] == "SystemAssigned, UserAssigned"
    assert identity["principalId"] == SYSTEM_PRINCIPAL_ID
    assert identity["userAssignedIdentities"] == {
        world.identity_id("ID1"): {"principalId": ID1_PRINCIPAL_ID, "clientId": ID1_CLIENT_ID}}
    assert world.arm("GET", world.vm_id, api_version=VM_API).json()["identity"] == identity

    token = world.token_response(ARM, client_id=ID1_CLIENT_ID)
    assert token.status_code == 200, token.text
    assert unverified_claims(token.json()["access_token"])["appid"] == ID1_CLIENT_ID
    assert world.token_response(ARM).json()["client_id"] == SYSTEM_CLIENT_ID

    # null removes it again (PATCH semantics)
    removed = world.patch_vm({"type": "SystemAssigned", "userAssignedIdentities": {world.identity_id("ID1"): None}})
    assert removed.status_code == 200
    assert "userAssignedIdentities" not in removed.json()["identity"]
    assert world.token_response(ARM, client_id=ID1_CLIENT_ID).status_code == 400


@pytest.mark.parametrize("identity_type", ["Bogus", "", "SystemAssigned,Bogus", "UserAssigned;SystemAssigned"])
def test_vm_patch_invalid_identity_type(world: Azure, identity_type: str) -> None:
    message = assert_arm_error(world.patch_vm({"type": identity_type}), 400, "InvalidParameter")
    assert "identity.type" in message
    assert world.arm("GET", world.vm_id, api_version=VM_API).json()["identity"]["type"] == "SystemAssigned"


def test_vm_patch_unknown_identity(world: Azure) -> None:
    ghost = world.identity_id("ghost")
    message = assert_arm_error(world.patch_vm({"type": "SystemAssigned, UserAssigned",
                                               "userAssignedIdentities": {ghost: {}}}),
                               400, "FailedIdentityOperation")
    assert ghost in message
    assert "userAssignedIdentities" not in world.arm("GET", world.vm_id, api_version=VM_API).json()["identity"]


def test_vm_patch_user_assigned_without_identities(world: Azure) -> None:
    assert_arm_error(world.patch_vm({"type": "UserAssigned"}), 400, "InvalidParameter")


def test_vm_patch_identity_name_over_24_characters(world: Azure) -> None:
    long_name = "identity-with-a-long-name-x"
    world.create_identity(long_name)
    message = assert_arm_error(world.patch_vm({"type": "SystemAssigned, UserAssigned",
                                               "userAssignedIdentities": {world.identity_id(long_name): {}}}),
                               400, "InvalidParameter")
    assert long_name in message


def test_vm_patch_without_assign_action_is_linked_authorization_failed(world: Azure) -> None:
    """Contributor on the VM only: it may write the VM, not assign an identity that lives in the group."""
    world.create_identity("ID1")
    world.grant(SYSTEM_PRINCIPAL_ID, "Contributor", world.vm_id)
    token = world.mi_token(ARM)
    response = world.patch_vm({"type": "SystemAssigned, UserAssigned",
                               "userAssignedIdentities": {world.identity_id("ID1"): {}}}, token=token)
    message = assert_arm_error(response, 403, "LinkedAuthorizationFailed")
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action" in message
    assert world.identity_id("ID1") in message
    assert "userAssignedIdentities" not in world.arm("GET", world.vm_id, api_version=VM_API).json()["identity"]
    # the same caller may still change what needs no linked permission
    assert world.patch_vm({"type": "SystemAssigned"}, token=token).status_code == 200


def test_vm_patch_by_contributor_on_the_group_succeeds(world: Azure) -> None:
    world.create_identity("ID1")
    world.grant(SYSTEM_PRINCIPAL_ID, "Contributor")
    response = world.patch_vm({"type": "SystemAssigned, UserAssigned",
                               "userAssignedIdentities": {world.identity_id("ID1"): {}}}, token=world.mi_token(ARM))
    assert response.status_code == 200, response.text


def test_vm_patch_by_reader_is_403(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    message = assert_arm_error(world.patch_vm({"type": "None"}, token=world.mi_token(ARM)), 403, "AuthorizationFailed")
    assert "Microsoft.Compute/virtualMachines/write" in message
    assert world.arm("GET", world.vm_id, api_version=VM_API).json()["identity"]["type"] == "SystemAssigned"


def test_vm_unknown_is_404(world: Azure) -> None:
    path = f"{world.rg_scope}/providers/Microsoft.Compute/virtualMachines/no-such-vm"
    assert_arm_error(world.arm("GET", path, api_version=VM_API), 404, "ResourceNotFound")


# -- never a 500 --------------------------------------------------------------------------------------------
def _garbage_cases() -> list[tuple[str, str, str | None, bytes | None, bool]]:
    """(method, path template, api-version, body, with admin token) — seeded, so reproducible."""
    rng = random.Random(20240601)
    rg = "/subscriptions/{sub}/resourceGroups/{rg}"
    paths = [
        rg, "/subscriptions/{sub}/resourcegroups", "/subscriptions/{sub}", "/subscriptions", "/", "",
        rg + "/providers/Microsoft.Authorization/roleAssignments/{guid}",
        rg + "/providers/Microsoft.Authorization/roleAssignments/not-a-guid",
        rg + "/providers/Microsoft.Authorization/roleAssignments",
        "/providers/Microsoft.Authorization/roleAssignments/{guid}",
        "//providers/Microsoft.Authorization/roleAssignments/{guid}",
        "/x/providers/Microsoft.Authorization/roleAssignments/{guid}",
        rg + "/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        rg + "/providers/Microsoft.Authorization/roleDefinitions",
        rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1",
        rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%E2%98%83",
        rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
        rg + "/providers/Microsoft.Compute/virtualMachines/{vm}",
        rg + "/providers/Microsoft.Compute/virtualMachines/%00",
        rg + "/../../../etc/passwd", rg + "/%2e%2e/%2e%2e", "/subscriptions/%00/resourceGroups/x",
        "/subscriptions/{sub}/resourceGroups/" + "a" * 5000,
    ]
    bodies: list[bytes | None] = [
        None, b"", b"{", b"null", b"[]", b"1e999999", b'"text"', b"\xff\xfe\x00", b"[" * 100000,
        b'{"properties": null}', b'{"properties": []}', b'{"properties": {"roleDefinitionId": [], "principalId": {}}}',
        b'{"properties": {"roleDefinitionId": "/x/", "principalId": "00000000-0000-0000-0000-000000000000",'
        b' "principalType": ["User"]}}',
        b'{"location": 5, "tags": "x"}', b'{"location": "westus", "tags": []}', b'{"identity": "x"}',
        b'{"identity": {"type": 5}}', b'{"identity": {"type": "UserAssigned", "userAssignedIdentities": []}}',
        b'{"identity": {"type": "UserAssigned", "userAssignedIdentities": {"/x": 5}}}',
        b'{"identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {"": {}}}}',
        b'{"identity": null}', b'{"identity": {"type": null}}',
    ]
    methods = ["GET", "PUT", "PATCH", "DELETE", "POST", "HEAD", "OPTIONS"]
    versions = [None, RG_API, RA_API, MI_API, VM_API, RD_API, "", "x" * 300]
    def version_for(path: str) -> str:
        for marker, version in (("roleAssignments", RA_API), ("roleDefinitions", RD_API),
                                ("userAssignedIdentities", MI_API), ("virtualMachines", VM_API)):
            if marker in path:
                return version
        return RG_API

    cases: list[tuple[str, str, str | None, bytes | None, bool]] = []
    for path in paths:  # every path with a valid token, its likely verb and its own api-version
        verb = "PUT" if "roleAssignments/" in path or "Identities/" in path else "GET"
        cases.append((verb, path, version_for(path), rng.choice(bodies), True))
    writes = [("PUT", rg + "/providers/Microsoft.Authorization/roleAssignments/{guid}"),
              ("PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"),
              ("PATCH", rg + "/providers/Microsoft.Compute/virtualMachines/{vm}")]
    for verb, path in writes:  # every body against every write, past authentication and api-version checks
        cases.extend((verb, path, version_for(path), body, True) for body in bodies)
    for _ in range(40):
        cases.append((rng.choice(methods), rng.choice(paths), rng.choice(versions), rng.choice(bodies),
                      rng.random() < 0.8))
    return cases


GARBAGE = _garbage_cases()


@pytest.mark.parametrize("case", range(len(GARBAGE)))
def test_garbage_never_500(world: Azure, case: int) -> None:
    method, template, version, body, with_token = GARBAGE[case]
    path = template.format(sub=world.sub, rg=world.rg, guid=new_name(), vm=world.vm_name)
    before = world.assignment_ids()
    response = world.arm(method, path, "admin" if with_token else None, version, raw=body)
    assert response.status_code < 500, (method, path, version, body and body[:80], response.status_code,
                                        response.text[:300])
    if response.status_code >= 400 and method != "HEAD":
        assert response.json()["error"]["code"]
    if response.status_code >= 400 and "roleAssignments" in path:
        assert world.assignment_ids() == before
