"""The vault's state: it survives a restart on the same data dir, and reset restores the declared world."""

from __future__ import annotations

from pathlib import Path

import pytest
from kv_helpers import VM, Vault

from emulator.app import Emulator
from emulator.core.settings import DEFAULT_PORTS, Settings


def _persistent(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Emulator, Vault]:
    """An emulator keeping its state in ``data_dir`` (IMDS unthrottled, azure-identity pointed at it), and its vault."""
    emulator = Emulator(Settings(ports={name: 0 for name in DEFAULT_PORTS}, data_dir=data_dir)).start_in_thread()
    try:
        assert emulator.profile is not None
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.profile.endpoints["imds"])
        emulator.settings.imds_throttling = False
        return emulator, Vault(emulator.profile)
    except BaseException:
        emulator.stop()
        raise


def test_secrets_and_policies_survive_a_restart_and_reset_restores_the_world(tmp_path: Path, monkeypatch) -> None:
    first, vault = _persistent(tmp_path, monkeypatch)
    try:
        assert vault.put_secret("kept", "one").status_code == 200
        version_two = vault.put_secret("kept", "two").json()["id"]
        vault.put_secret("gone", "x")
        vault.kv("DELETE", "/secrets/gone")
        vault.allow(VM, "get")
        assert vault.rbac_mode(True).status_code == 200
    finally:
        first.stop()

    second, vault = _persistent(tmp_path, monkeypatch)
    try:
        got = vault.kv("GET", "/secrets/kept")
        assert got.status_code == 403  # the vault is still in RBAC mode, where the admin has no data role
        assert vault.rbac_mode(False).status_code == 200
        got = vault.kv("GET", "/secrets/kept").json()
        assert got["value"] == "two"
        assert got["id"].rsplit("/", 1)[-1] == version_two.rsplit("/", 1)[-1]
        assert got["id"].startswith(second.profile.endpoints["keyvault"])  # ids follow this run's port
        assert len(vault.kv("GET", "/secrets/kept/versions").json()["value"]) == 2
        assert vault.deleted_names() == ["gone"]
        assert vault.kv("GET", "/secrets/kept", "vm").json()["value"] == "two"  # the policy survived too
        assert vault.document()["properties"]["vaultUri"] == second.profile.endpoints["keyvault"] + "/"

        second.reset()
        assert vault.secret_names() == [] and vault.deleted_names() == []
        assert [p["objectId"] for p in vault.document()["properties"]["accessPolicies"]] == [vault.admin_oid]
        assert vault.document()["properties"]["enableRbacAuthorization"] is False
    finally:
        second.stop()
    assert oct((tmp_path / "state.sqlite3").stat().st_mode & 0o777) == "0o600"
