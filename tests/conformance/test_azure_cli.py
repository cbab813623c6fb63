"""The real Azure CLI against the emulator: every operation an operator types for the workbook's steps.

`az` (installed once into its own cached environment by scripts/az-cli.sh, never the project's) runs
inside a loopback-only network namespace where the emulator serves too (loopback_namespace.py). It is set
up the way `azure-emulator az-profile` sets it up (lib.azcli): its own config dir, the emulator registered
as a cloud from /metadata/endpoints, the CA for its process only, instance discovery off.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance_helpers import ID1_CLIENT_ID, ID1_PRINCIPAL_ID, SYSTEM_PRINCIPAL_ID
from loopback_namespace import LoopbackNamespace, azure_cli

from lib.azcli import CLOUD_NAME, AzCli, AzResult

VAULT = "https://vault.azure.net"


def claims(result: AzResult) -> dict[str, Any]:
    assert result.ok, result.stderr[-2000:]
    payload = result.value["accessToken"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def ok(result: AzResult) -> Any:
    assert result.ok, f"{result.command}: {result.stderr[-2000:]}"
    return result.value


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackNamespace]:
    with LoopbackNamespace(Path(tmp_path_factory.mktemp("az-emulator")) / "data") as inside:
        yield inside


@pytest.fixture(scope="module")
def az_path() -> str:
    return azure_cli()


def _cli(namespace: LoopbackNamespace, az_path: str, config_dir: Path) -> AzCli:
    cli = AzCli.for_emulator(namespace.profile, az=az_path, config_dir=config_dir, launcher=namespace.launcher,
                             inherit_environment=False)
    cli.use_emulator_cloud()
    return cli


@pytest.fixture(scope="module")
def admin(namespace: LoopbackNamespace, az_path: str, tmp_path_factory: pytest.TempPathFactory) -> AzCli:
    """az signed in as the world's admin app (`az login --service-principal`), in a config dir of its own."""
    cli = _cli(namespace, az_path, Path(tmp_path_factory.mktemp("az-admin")))
    ok(cli.login_admin())
    return cli


@pytest.fixture(scope="module")
def on_the_vm(namespace: LoopbackNamespace, az_path: str, tmp_path_factory: pytest.TempPathFactory) -> AzCli:
    """az as code on the VM uses it: `az login --identity`, in another config dir."""
    return _cli(namespace, az_path, Path(tmp_path_factory.mktemp("az-vm")))


@pytest.fixture
def world(namespace: LoopbackNamespace) -> dict[str, str]:
    namespace.reset()
    profile = namespace.profile
    rg_scope = f"/subscriptions/{profile['subscription_id']}/resourceGroups/{profile['resource_group']}"
    return {"sub": profile["subscription_id"], "tenant": profile["tenant_id"], "rg": profile["resource_group"],
            "rg_scope": rg_scope, "vm": profile["vm_name"], "admin": profile["admin"]["clientId"],
            "admin_oid": profile["admin"]["objectId"],
            "id1": f"{rg_scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"}


def test_az_runs_where_nothing_but_loopback_exists(namespace: LoopbackNamespace) -> None:
    assert namespace.outside_has_no_route()


def test_the_emulator_is_a_cloud_discovered_from_its_metadata(admin: AzCli, namespace: LoopbackNamespace) -> None:
    cloud = ok(admin.run("cloud", "show"))
    assert cloud["name"] == CLOUD_NAME and cloud["isActive"] is True
    endpoints = namespace.profile["endpoints"]
    assert cloud["endpoints"]["resourceManager"].rstrip("/") == endpoints["arm"]
    assert cloud["endpoints"]["activeDirectory"].rstrip("/") == endpoints["login"]  # from /metadata/endpoints
    assert cloud["endpoints"]["activeDirectoryResourceId"] == "https://management.core.windows.net/"


def test_login_service_principal_and_account_show(admin: AzCli, world: dict[str, str]) -> None:
    account = ok(admin.run("account", "show"))
    assert account["id"] == world["sub"] and account["name"] == "Managed Identity Workbook"
    assert account["tenantId"] == world["tenant"] and account["environmentName"] == CLOUD_NAME
    assert account["user"] == {"name": world["admin"], "type": "servicePrincipal"}


def test_account_get_access_token(admin: AzCli, world: dict[str, str]) -> None:
    default = claims(admin.run("account", "get-access-token"))
    assert default["aud"] == "https://management.core.windows.net/"  # az asks for "…net//.default"
    management = claims(admin.run("account", "get-access-token", "--resource", "https://management.azure.com/"))
    assert management["aud"] == "https://management.azure.com/" and management["oid"] == world["admin_oid"]


def test_login_identity_with_no_grant_finds_no_subscription(on_the_vm: AzCli, world: dict[str, str]) -> None:
    refused = on_the_vm.run("login", "--identity")
    assert not refused.ok
    assert "No access was configured for the managed identity" in refused.stderr
    tenant_level = ok(on_the_vm.run("login", "--identity", "--allow-no-subscriptions"))
    assert tenant_level[0]["tenantId"] == world["tenant"]
    assert tenant_level[0]["user"] == {"assignedIdentityInfo": "MSI", "name": "systemAssignedIdentity",
                                       "type": "servicePrincipal"}


def grant(admin: AzCli, role: str, scope: str) -> dict[str, Any]:
    return ok(admin.run("role", "assignment", "create", "--assignee-object-id", SYSTEM_PRINCIPAL_ID,
                        "--assignee-principal-type", "ServicePrincipal", "--role", role, "--scope", scope))


def test_group_show_denied_then_granted(on_the_vm: AzCli, admin: AzCli, world: dict[str, str]) -> None:
    # A data role only: the subscription is visible (any assignment counts), reading the group is not allowed.
    grant(admin, "Storage Blob Data Reader", world["rg_scope"])
    (account,) = ok(on_the_vm.run("login", "--identity"))
    assert account["id"] == world["sub"] and account["user"]["name"] == "systemAssignedIdentity"
    denied = on_the_vm.run("group", "show", "--name", world["rg"])
    assert not denied.ok and "(AuthorizationFailed)" in denied.stderr, denied.stderr
    assert "'Microsoft.Resources/subscriptions/resourcegroups/read'" in denied.stderr
    grant(admin, "Reader", world["rg_scope"])
    group = ok(on_the_vm.run("group", "show", "--name", world["rg"]))
    assert group["id"] == world["rg_scope"] and group["properties"]["provisioningState"] == "Succeeded"
    token = claims(on_the_vm.run("account", "get-access-token", "--resource", VAULT))
    assert token["oid"] == SYSTEM_PRINCIPAL_ID and token["aud"] == VAULT


def test_role_assignment_create_list_delete(admin: AzCli, world: dict[str, str]) -> None:
    created = grant(admin, "Reader", world["rg_scope"])
    assert created["principalId"] == SYSTEM_PRINCIPAL_ID and created["scope"] == world["rg_scope"]
    assert created["createdBy"] == world["admin_oid"] and created["createdOn"]
    # --fill-principal-name false: display names come from Microsoft Graph, which the emulator does not serve
    listed = ok(admin.run("role", "assignment", "list", "--scope", world["rg_scope"], "--fill-principal-name",
                          "false"))
    assert [(a["principalId"], a["roleDefinitionName"]) for a in listed] == [(SYSTEM_PRINCIPAL_ID, "Reader")]
    ok(admin.run("role", "assignment", "delete", "--ids", created["id"], output_json=False))
    assert ok(admin.run("role", "assignment", "list", "--scope", world["rg_scope"], "--fill-principal-name",
                        "false")) == []


def test_identity_create_and_vm_identity_assign_show_remove(admin: AzCli, on_the_vm: AzCli,
                                                            world: dict[str, str]) -> None:
    identity = ok(admin.run("identity", "create", "--resource-group", world["rg"], "--name", "ID1"))
    assert (identity["clientId"], identity["principalId"]) == (ID1_CLIENT_ID, ID1_PRINCIPAL_ID)
    assigned = ok(admin.run("vm", "identity", "assign", "--resource-group", world["rg"], "--name", world["vm"],
                            "--identities", "ID1"))
    assert assigned["systemAssignedIdentity"] == SYSTEM_PRINCIPAL_ID
    assert [k.lower() for k in assigned["userAssignedIdentities"]] == [world["id1"].lower()]
    shown = ok(admin.run("vm", "identity", "show", "--resource-group", world["rg"], "--name", world["vm"]))
    assert shown["type"] == "SystemAssigned, UserAssigned"

    ok(on_the_vm.run("login", "--identity", "--client-id", ID1_CLIENT_ID, "--allow-no-subscriptions"))
    token = claims(on_the_vm.run("account", "get-access-token", "--resource", VAULT))
    assert (token["appid"], token["oid"]) == (ID1_CLIENT_ID, ID1_PRINCIPAL_ID)
    # ID1 alone holds a grant: a sign-in that finds the subscription got ID1's token, not the VM's own
    ok(admin.run("role", "assignment", "create", "--assignee-object-id", ID1_PRINCIPAL_ID,
                 "--assignee-principal-type", "ServicePrincipal", "--role", "Reader", "--scope", world["rg_scope"]))
    for flag, value in (("--object-id", ID1_PRINCIPAL_ID), ("--resource-id", world["id1"])):
        (account,) = ok(on_the_vm.run("login", "--identity", flag, value))
        assert account["id"] == world["sub"] and account["user"]["name"] == "userAssignedIdentity", flag

    removed = ok(admin.run("vm", "identity", "remove", "--resource-group", world["rg"], "--name", world["vm"],
                           "--identities", "ID1"))
    assert removed["type"] == "SystemAssigned" and not removed.get("userAssignedIdentities")
    gone = on_the_vm.run("login", "--identity", "--client-id", ID1_CLIENT_ID, "--allow-no-subscriptions")
    assert not gone.ok and "Identity not found" in gone.stderr, gone.stderr


def test_az_profile_apply_then_the_printed_function(namespace: LoopbackNamespace, az_path: str) -> None:
    """What the README shows: `azure-emulator az-profile --apply`, then plain `az` through the printed function."""
    applied = namespace.run(sys.executable, "-m", "emulator", "az-profile", "--apply", "--az", az_path,
                            "--data-dir", str(namespace.data_dir), timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert "your own az profile is untouched" in applied.stderr
    function = applied.stdout
    assert "az cloud register" not in function  # already done
    shown = namespace.run("bash", "-c", f'PATH="{Path(az_path).parent}:$PATH"\n{function}\n'
                          'az cloud show --query "[name, endpoints.resourceManager]" --output tsv', timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [CLOUD_NAME, namespace.profile["endpoints"]["arm"]]
    assert (namespace.data_dir / "az" / "clouds.config").exists()  # the emulator's own config dir


def test_without_a_namespace_the_tests_fail_and_say_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not root (or no unshare): a clear failure, never az run outside a loopback-only namespace."""
    import loopback_namespace

    def refuse() -> None:
        raise loopback_namespace.NoNamespace("cannot create a loopback-only network namespace: unshare failed")

    monkeypatch.setattr(loopback_namespace, "check_namespaces", refuse)
    with pytest.raises(pytest.fail.Exception, match="never run az outside a loopback-only namespace"), \
            LoopbackNamespace(tmp_path / "data"):
        pass
    assert not (tmp_path / "data").exists()  # nothing was started
