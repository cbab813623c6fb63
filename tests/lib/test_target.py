"""lib.target: the emulator from its profile; ``azure`` with IMDS pointed at loopback (never 169.254.169.254)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib import target as targets
from lib.imds import ImdsUnavailable


def test_emulator_target_from_profile(emulator, emulator_env):
    chosen = targets.resolve("emulator")
    assert chosen.is_emulator
    assert chosen.endpoints == emulator.profile.endpoints
    assert chosen.subscription_id == emulator.context.world.subscription_id
    assert chosen.resource_group == "mi-workbook-rg" and chosen.vm_name == "mi-workbook-vm"
    assert chosen.verify == emulator.profile.ca_bundle
    assert chosen.sdk_kwargs() == {"connection_verify": emulator.profile.ca_bundle}
    assert chosen.vm_id.endswith(
        "/resourceGroups/mi-workbook-rg/providers/Microsoft.Compute/virtualMachines/mi-workbook-vm")


def test_auto_prefers_a_running_emulator(emulator, emulator_env):
    assert targets.resolve("auto").name == "emulator"


def test_azure_target_reads_ids_from_instance_metadata(emulator, emulator_env):
    # IMDS is the emulator's (loopback) through AZURE_POD_IDENTITY_AUTHORITY_HOST; nothing else is called.
    chosen = targets.resolve("azure")
    assert chosen.name == "azure" and not chosen.is_emulator
    assert chosen.imds == emulator.profile.endpoints["imds"]
    assert chosen.arm == "https://management.azure.com"
    assert chosen.subscription_id == emulator.context.world.subscription_id
    assert chosen.resource_group == "mi-workbook-rg" and chosen.vm_name == "mi-workbook-vm"
    assert chosen.verify is True and chosen.sdk_kwargs() == {}


def test_emulator_asked_for_but_not_running(tmp_path, monkeypatch):
    stale = tmp_path / "profile.json"
    stale.write_text(json.dumps({"control": "http://127.0.0.1:9/__emulator", "endpoints": {}}))
    monkeypatch.setenv("WORKBOOK_PROFILE", str(stale))
    with pytest.raises(targets.TargetError, match="azure-emulator start"):
        targets.resolve("emulator")


def test_auto_without_emulator_falls_back_to_azure_imds(tmp_path, monkeypatch, unused_loopback_port):
    monkeypatch.setenv("WORKBOOK_PROFILE", str(tmp_path / "missing.json"))
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{unused_loopback_port}")
    with pytest.raises(ImdsUnavailable):
        targets.resolve("auto")


def test_unknown_target_name():
    with pytest.raises(targets.TargetError):
        targets.resolve("aws")


def test_default_profile_path_follows_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBOOK_PROFILE", raising=False)
    monkeypatch.setenv("WORKBOOK_EMULATOR_HOME", str(tmp_path))
    assert targets.default_profile_path() == Path(tmp_path) / "profile.json"


@pytest.fixture
def unused_loopback_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
