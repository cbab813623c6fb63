"""lib.azcli (what the notebooks do with az) and lib.arm.detach_identity_body (07's clean-up)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lib.arm import detach_identity_body
from lib.azcli import AzCli, AzCliError

ID1 = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
ID2 = ID1.replace("ID1", "ID2")
PROFILE = {"ca_bundle": "/data/ca.pem", "endpoints": {"imds": "http://127.0.0.1:1", "arm": "https://127.0.0.1:2"},
           "admin": {"clientId": "app", "clientSecret": "s"}, "tenant_id": "t"}


def emulator_target() -> SimpleNamespace:
    return SimpleNamespace(is_emulator=True, profile=PROFILE)


# -- detaching one identity -------------------------------------------------------------------------------
def test_detach_keeps_the_other_user_assigned_identities() -> None:
    vm = {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {ID1: {}, ID2: {}}}
    assert detach_identity_body(vm, ID1.lower()) == {
        "identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {ID1.lower(): None}}}
    user_only = {"type": "UserAssigned", "userAssignedIdentities": {ID1: {}, ID2: {}}}
    assert detach_identity_body(user_only, ID2)["identity"]["type"] == "UserAssigned"


@pytest.mark.parametrize(("vm_type", "left"), [("SystemAssigned, UserAssigned", "SystemAssigned"),
                                               ("UserAssigned", "None")])
def test_detaching_the_last_one_changes_the_type_only(vm_type: str, left: str) -> None:
    assert detach_identity_body({"type": vm_type, "userAssignedIdentities": {ID1: {}}}, ID1) == \
        {"identity": {"type": left}}


def test_detaching_from_a_vm_without_identities() -> None:
    assert detach_identity_body(None, ID1) == {"identity": {"type": "None"}}


# -- which az, and whether it runs ------------------------------------------------------------------------
def test_notebooks_run_az_only_on_the_emulator_with_az_installed(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "az"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv("WORKBOOK_AZ", str(fake))
    on_emulator = AzCli.for_target(emulator_target())
    assert on_emulator.runs_here and on_emulator.config_dir == Path("/data/az")
    assert "runs its az commands" in on_emulator.explain()
    assert AzCli.for_target(emulator_target(), config_name="az-vm").config_dir == Path("/data/az-vm")
    on_azure = AzCli.for_target(SimpleNamespace(is_emulator=False, profile={}))
    assert not on_azure.runs_here and on_azure.try_run("group", "list") is None
    assert on_azure.environment == {}  # the learner's own az, unchanged
    assert "run them yourself" in on_azure.explain()


def test_workbook_az_none_shows_commands_and_runs_nothing(monkeypatch) -> None:
    monkeypatch.setenv("WORKBOOK_AZ", "none")
    az = AzCli.for_target(emulator_target())
    assert not az.runs_here and az.try_run("account", "show") is None
    assert "not installed" in az.explain()
    with pytest.raises(AzCliError, match="not installed"):
        az.run("account", "show")


def test_the_environment_is_for_az_only(tmp_path: Path) -> None:
    stand_in = tmp_path / "az"
    stand_in.write_text('#!/bin/sh\necho "{\\"config\\": \\"$AZURE_CONFIG_DIR\\", \\"args\\": \\"$*\\"}"\n')
    stand_in.chmod(0o755)
    az = AzCli.for_emulator(PROFILE, az=str(stand_in), config_dir=tmp_path / "cfg")
    result = az.run("group", "show", "--name", "rg")
    assert result.ok and result.value == {"config": str(tmp_path / "cfg"), "args": "group show --name rg --output json"}
    assert result.command == "az group show --name rg"
