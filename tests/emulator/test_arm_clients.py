"""Resource Manager and Entra facts that the Azure CLI, MSAL and the Node and Python SDKs rely on.

Each test names the client behaviour it stands for: `az login` lists subscriptions right after its token,
`az cloud register` reads /metadata/endpoints, az asks Entra for "https://management.core.windows.net//.default",
Node's arm-authorization sends "//subscriptions/…", a resource-group Reader lists groups, and switching a VM's
system-assigned identity off and on gives it a new principal.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emu_helpers import (
    ARM,
    MI_API,
    RA_API,
    RG_API,
    SYSTEM_CLIENT_ID,
    SYSTEM_PRINCIPAL_ID,
    VM_API,
    Azure,
    unverified_claims,
)

from emulator.app import Emulator
from emulator.core.settings import Settings
from emulator.core.world import DEFAULT_WORLD_FILE

SUB_API = "2022-12-01"  # what az 2.91 sends for Subscriptions_List / Tenants_List
METADATA_API = "2022-09-01"  # what `az cloud register` sends


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


# -- 1. subscriptions and tenants, as `az login` lists them ------------------------------------------------
def test_an_identity_granted_nothing_lists_no_subscription(world: Azure) -> None:
    response = world.arm("GET", "/subscriptions", world.mi_token(ARM), SUB_API)
    assert response.status_code == 200, response.text
    assert response.json() == {"value": [], "count": {"type": "Total", "value": 0}}


def test_a_grant_on_a_resource_group_makes_the_subscription_visible(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader", world.rg_scope)
    response = world.arm("GET", "/subscriptions", world.mi_token(ARM), SUB_API)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == {"type": "Total", "value": 1}
    (subscription,) = body["value"]
    assert subscription["id"] == world.sub_scope
    assert subscription["subscriptionId"] == world.sub
    assert subscription["tenantId"] == world.tenant
    assert subscription["displayName"] == "Managed Identity Workbook"
    assert subscription["state"] == "Enabled"
    assert subscription["authorizationSource"] == "RoleBased"
    assert subscription["managedByTenants"] == []
    assert set(subscription["subscriptionPolicies"]) == {"locationPlacementId", "quotaId", "spendingLimit"}


def test_a_data_role_alone_also_makes_the_subscription_visible(world: Azure) -> None:
    """"Any role assignment": one without a single control-plane action counts too."""
    world.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Reader", world.rg_scope)
    response = world.arm("GET", "/subscriptions", world.mi_token(ARM), SUB_API)
    assert [s["subscriptionId"] for s in response.json()["value"]] == [world.sub]


def test_the_admin_lists_its_subscription(world: Azure) -> None:
    response = world.arm("GET", "/subscriptions", "admin", "2016-06-01")
    assert response.status_code == 200, response.text
    assert [s["subscriptionId"] for s in response.json()["value"]] == [world.sub]


def test_get_subscription(world: Azure) -> None:
    path = f"/subscriptions/{world.sub}"
    assert world.arm("GET", path, "admin", SUB_API).json()["displayName"] == "Managed Identity Workbook"
    token = world.mi_token(ARM)
    denied = world.arm("GET", path, token, SUB_API)
    assert denied.status_code == 403 and error_code(denied) == "AuthorizationFailed", denied.text
    assert "'Microsoft.Resources/subscriptions/read'" in denied.json()["error"]["message"]
    world.grant(SYSTEM_PRINCIPAL_ID, "Reader", world.rg_scope)
    allowed = world.arm("GET", path, token, SUB_API)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["subscriptionId"] == world.sub
    other = world.arm("GET", "/subscriptions/00000000-0000-0000-0000-000000000001", "admin", SUB_API)
    assert other.status_code == 404 and error_code(other) == "SubscriptionNotFound"


def test_tenants_list_the_callers_tenant(world: Azure) -> None:
    response = world.arm("GET", "/tenants", world.mi_token(ARM), SUB_API)
    assert response.status_code == 200, response.text
    (tenant,) = response.json()["value"]
    assert tenant["id"] == f"/tenants/{world.tenant}"
    assert tenant["tenantId"] == world.tenant
    assert tenant["tenantCategory"] == "Home"
    assert tenant["defaultDomain"] == "workbook.onmicrosoft.com"


@pytest.mark.parametrize("path", ["/subscriptions", "/tenants", "/subscriptions/{sub}"])
def test_tenant_level_reads_need_a_token_and_an_api_version(world: Azure, path: str) -> None:
    path = path.format(sub=world.sub)
    unauthenticated = world.arm("GET", path, None, SUB_API)
    assert unauthenticated.status_code == 401 and error_code(unauthenticated) == "AuthenticationFailed"
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer ")
    missing = world.arm("GET", path, "admin", None)
    assert missing.status_code == 400 and error_code(missing) == "MissingApiVersionParameter"
    malformed = world.arm("GET", path, "admin", "latest")
    assert malformed.status_code == 400 and error_code(malformed) == "InvalidApiVersionParameter"
    wrong_verb = world.arm("DELETE", path, "admin", SUB_API)
    assert wrong_verb.status_code == 405 and error_code(wrong_verb) == "MethodNotAllowed"


# -- 2. the cloud's endpoints, read without a token -------------------------------------------------------
def test_metadata_endpoints_point_at_the_emulator(world: Azure) -> None:
    response = world.arm("GET", "/metadata/endpoints", None, METADATA_API)
    assert response.status_code == 200, response.text
    cloud = response.json()
    assert cloud["resourceManager"].rstrip("/") == world.arm_url
    assert cloud["authentication"]["loginEndpoint"].rstrip("/") == world.login_url
    # the first audience is the resource az asks tokens for; ARM accepts it
    assert cloud["authentication"]["audiences"][0] == "https://management.core.windows.net/"
    assert "https://management.azure.com/" in cloud["authentication"]["audiences"]
    assert cloud["name"] and cloud["suffixes"]["keyVaultDns"] == "vault.azure.net"
    assert "127.0.0.1" not in json.dumps(cloud["suffixes"])  # DNS suffixes stay Azure's


def test_metadata_endpoints_older_shapes(world: Azure) -> None:
    listed = world.arm("GET", "/metadata/endpoints", None, "2019-05-01").json()
    assert isinstance(listed, list) and len(listed) == 1
    assert listed[0]["resourceManager"].rstrip("/") == world.arm_url
    legacy = world.arm("GET", "/metadata/endpoints", None, "1.0").json()
    assert legacy["authentication"]["loginEndpoint"].rstrip("/") == world.login_url
    assert legacy["authentication"]["audiences"][0] == "https://management.core.windows.net/"


@pytest.mark.parametrize(("version", "code"), [(None, "MissingApiVersionParameter"),
                                               ("1.1", "InvalidApiVersionParameter"),
                                               ("2099-01-01", "InvalidApiVersionParameter")])
def test_metadata_endpoints_bad_api_version(world: Azure, version: str | None, code: str) -> None:
    response = world.arm("GET", "/metadata/endpoints", None, version)
    assert response.status_code == 400 and error_code(response) == code, response.text


def test_metadata_endpoints_is_read_only(world: Azure) -> None:
    response = world.arm("POST", "/metadata/endpoints", None, METADATA_API, body={})
    assert response.status_code == 405 and error_code(response) == "MethodNotAllowed"


# -- 3. Entra takes everything before "/.default" as the resource -------------------------------------------
@pytest.mark.parametrize(("scope", "audience"), [
    ("https://management.core.windows.net//.default", "https://management.core.windows.net/"),
    ("https://management.azure.com//.default", "https://management.azure.com/"),
    ("https://management.azure.com/.default", "https://management.azure.com"),
    ("https://database.windows.net//.default", "https://database.windows.net/"),
])
def test_scope_resource_is_everything_before_slash_default(world: Azure, scope: str, audience: str) -> None:
    response = world.http.post(f"{world.login_url}/{world.tenant}/oauth2/v2.0/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": world.admin_client_id,
        "client_secret": world.admin_secret, "scope": scope})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert unverified_claims(token)["aud"] == audience
    if "management" in scope:  # and Resource Manager takes every one of them
        assert world.get_rg(token).status_code == 200


# -- 4. the versions shipping clients pin -------------------------------------------------------------------
@pytest.mark.parametrize(("client", "kind", "version"), [
    ("az 2.91 group show", "rg", "2024-11-01"),
    ("Node @azure/arm-resources", "rg", "2025-04-01"),
    ("az 2.91 identity create", "identity", "2025-05-31-preview"),
    ("az 2.91 vm identity", "vm", "2026-04-01"),
    ("azure-mgmt-compute 39", "vm", "2026-04-01"),
    ("Node @azure/arm-compute", "vm", "2026-03-01"),
    ("az 2.91 role assignment", "assignments", "2022-04-01"),
    ("az 2.91 login", "subscriptions", "2022-12-01"),
])
def test_versions_shipping_clients_pin_are_accepted(world: Azure, client: str, kind: str, version: str) -> None:
    path = {"rg": world.rg_scope, "identity": world.identity_id("ID9"), "vm": world.vm_id,
            "assignments": f"{world.rg_scope}/providers/Microsoft.Authorization/roleAssignments",
            "subscriptions": "/subscriptions"}[kind]
    if kind == "identity":
        response = world.arm("PUT", path, "admin", version, body={"location": world.location})
        assert response.status_code == 201, f"{client}: {response.text}"
    else:
        response = world.arm("GET", path, "admin", version)
        assert response.status_code == 200, f"{client}: {response.text}"


# -- 5. "//subscriptions/…" is "/subscriptions/…" -------------------------------------------------------------
def test_repeated_slashes_are_one(world: Azure) -> None:
    token = world.mi_token(ARM)
    doubled = "/" + world.rg_scope  # "//subscriptions/<sub>/resourceGroups/<rg>"
    denied = world.arm("GET", doubled, token)
    assert denied.status_code == 403 and error_code(denied) == "AuthorizationFailed"
    assert f"over scope '{world.rg_scope.replace('resourceGroups', 'resourcegroups')}'" in denied.text
    name = "3d0a3c6e-0b7b-4f7e-9a55-8c1f2e0d9b11"
    created = world.put_assignment(SYSTEM_PRINCIPAL_ID, "Reader", "/" + world.rg_scope, name=name)
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["scope"] == world.rg_scope
    assert created.json()["id"] == world.assignment_path(world.rg_scope, name)
    allowed = world.arm("GET", doubled.replace("/resourceGroups/", "//resourceGroups//"), token)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["id"] == world.rg_scope


# -- 6. listing resource groups where the caller may read only some -----------------------------------------
@pytest.fixture(scope="module")
def two_groups(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator whose world has a second resource group, which the VM's identity is never granted."""
    data = json.loads(DEFAULT_WORLD_FILE.read_text(encoding="utf-8"))
    data["resourceGroups"].append({"name": "other-team-rg", "tags": {}})
    directory = tmp_path_factory.mktemp("two-groups")
    world_file = Path(directory) / "world.json"
    world_file.write_text(json.dumps(data), encoding="utf-8")
    settings = Settings.for_tests(directory)
    settings.world_file = world_file
    settings.imds_throttling = False
    instance = Emulator(settings).start_in_thread()
    yield instance
    instance.stop()


def test_list_shows_only_the_groups_the_caller_may_read(two_groups: Emulator) -> None:
    assert two_groups.profile is not None
    azure = Azure(two_groups.profile)
    groups = f"{azure.sub_scope}/resourcegroups"
    assert [g["name"] for g in azure.arm("GET", groups).json()["value"]] == [azure.rg, "other-team-rg"]
    token = azure.mi_token(ARM)
    nothing = azure.arm("GET", groups, token)
    assert nothing.status_code == 403 and error_code(nothing) == "AuthorizationFailed"
    one = azure.grant(SYSTEM_PRINCIPAL_ID, "Reader", azure.rg_scope)
    partial = azure.arm("GET", groups, token)
    assert partial.status_code == 200, partial.text
    assert [g["name"] for g in partial.json()["value"]] == [azure.rg]
    azure.grant(SYSTEM_PRINCIPAL_ID, "Reader", azure.sub_scope)
    assert [g["name"] for g in azure.arm("GET", groups, token).json()["value"]] == [azure.rg, "other-team-rg"]
    azure.arm("DELETE", azure.assignment_path(azure.rg_scope, one), api_version=RA_API)
    two_groups.reset()


# -- 7. role assignments say when and by whom ---------------------------------------------------------------
def _parse(stamp: str) -> dt.datetime:
    assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 8, stamp  # 7 fraction digits, then Z
    return dt.datetime.strptime(stamp[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)


def test_role_assignments_carry_created_and_updated(world: Azure) -> None:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    name = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    path = world.assignment_path(world.rg_scope, name)
    properties = world.arm("GET", path, api_version=RA_API).json()["properties"]
    created, updated = _parse(properties["createdOn"]), _parse(properties["updatedOn"])
    assert before <= created == updated <= dt.datetime.now(dt.timezone.utc)
    assert properties["createdBy"] == properties["updatedBy"] == world.admin_oid
    time.sleep(0.01)
    again = world.put_assignment(SYSTEM_PRINCIPAL_ID, "Reader", name=name)  # the same PUT: unchanged
    assert again.status_code == 200 and again.json()["properties"]["createdOn"] == properties["createdOn"]
    listed = world.arm("GET", f"{world.rg_scope}/providers/Microsoft.Authorization/roleAssignments",
                       api_version=RA_API).json()["value"]
    assert {"createdOn", "updatedOn", "createdBy", "updatedBy"} <= set(listed[-1]["properties"])


def test_created_by_is_whoever_made_it(world: Azure) -> None:
    world.grant(SYSTEM_PRINCIPAL_ID, "User Access Administrator", world.rg_scope)
    made = world.put_assignment(SYSTEM_PRINCIPAL_ID, "Reader", token=world.mi_token(ARM))
    assert made.status_code == 201, made.text
    assert made.json()["properties"]["createdBy"] == SYSTEM_PRINCIPAL_ID


# -- 11. off and on again: a new principal ------------------------------------------------------------------
def _switch_system_identity_off_and_on(world: Azure) -> str:
    world.set_vm_identity("None")
    vm = world.set_vm_identity("SystemAssigned")
    return vm["identity"]["principalId"]


def test_system_identity_off_and_on_is_a_new_principal(world: Azure) -> None:
    old_grant = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    assert world.get_rg(world.mi_token(ARM)).status_code == 200
    off = world.set_vm_identity("None")
    assert "principalId" not in off["identity"]
    assert world.token_response(ARM).status_code == 400  # no identity at all now
    new_principal = world.set_vm_identity("SystemAssigned")["identity"]["principalId"]
    assert new_principal != SYSTEM_PRINCIPAL_ID
    assert world.arm("GET", world.vm_id, api_version=VM_API).json()["identity"]["principalId"] == new_principal
    token = world.mi_token(ARM)
    claims = unverified_claims(token)
    assert claims["oid"] == new_principal and claims["appid"] != SYSTEM_CLIENT_ID
    assert claims["xms_mirid"].endswith(f"/virtualMachines/{world.vm_name}")
    # the old grant is orphaned: still listed, useless to the new principal, and the old one is gone
    assert world.get_rg(token).status_code == 403
    assert old_grant in {a["name"] for a in world.all_assignments()}
    orphan = world.put_assignment(SYSTEM_PRINCIPAL_ID, "Reader")
    assert orphan.status_code == 400 and error_code(orphan) == "PrincipalNotFound"
    world.grant(new_principal, "Reader")
    assert world.get_rg(token).status_code == 200


def test_switching_on_what_is_on_keeps_the_principal(world: Azure) -> None:
    world.create_identity("ID1")
    assert world.set_vm_identity("SystemAssigned, UserAssigned", "ID1")["identity"]["principalId"] \
        == SYSTEM_PRINCIPAL_ID
    assert world.set_vm_identity("SystemAssigned")["identity"]["principalId"] == SYSTEM_PRINCIPAL_ID
    user_only = world.set_vm_identity("UserAssigned", "ID1")  # system off: its principal is deleted
    assert "principalId" not in user_only["identity"]
    assert world.set_vm_identity("SystemAssigned, UserAssigned", "ID1")["identity"]["principalId"] \
        != SYSTEM_PRINCIPAL_ID


def test_new_principals_repeat_from_a_reset_world(world: Azure, fresh: Emulator) -> None:
    """Committed notebook outputs stay stable: the same steps from a reset world give the same ids."""
    first = _switch_system_identity_off_and_on(world)
    second = _switch_system_identity_off_and_on(world)
    assert len({SYSTEM_PRINCIPAL_ID, first, second}) == 3
    fresh.reset()
    assert _switch_system_identity_off_and_on(world) == first
    assert world.arm("GET", world.identity_id("ID1"), api_version=MI_API).status_code == 404
    assert world.get_rg("admin", RG_API).status_code == 200
