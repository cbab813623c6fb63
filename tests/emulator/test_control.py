"""The emulator's control plane (health, reset, faults, settings) and persistence across restarts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from emu_helpers import ARM, ID1_PRINCIPAL_ID, MI_API, RA_API, SYSTEM_PRINCIPAL_ID, Azure

from emulator.app import Emulator
from emulator.core.settings import DEFAULT_PORTS, Settings


def assert_control_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_health(world: Azure, emulator: Emulator) -> None:
    response = world.control("GET", "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["inMemory"] is True
    assert body["ports"] == emulator.ports
    assert set(body["ports"]) >= {"imds", "login", "arm"}
    assert all(isinstance(p, int) and p > 0 for p in body["ports"].values())


def test_reset_restores_the_world(world: Azure) -> None:
    world.create_identity("ID1")
    assignment = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")  # before it is switched off: then it is gone
    world.set_vm_identity("UserAssigned", "ID1")
    world.set_vm_identity("SystemAssigned, UserAssigned", "ID1")  # on again: a new principal
    world.grant(ID1_PRINCIPAL_ID, "Reader")
    world.control("POST", "/faults", {"service": "imds", "status": 500, "count": 10})
    seeded = {"0b0ae7a4-8f5d-4a8e-9d6f-6a9a2f3c1d01"}  # the admin's Owner, declared in world.json
    assert {a["name"] for a in world.all_assignments()} > seeded

    response = world.control("POST", "/reset")
    assert response.status_code == 200 and response.json() == {"status": "reset"}

    assert {a["name"] for a in world.all_assignments()} == seeded
    assert world.arm("GET", world.assignment_path(world.rg_scope, assignment), api_version=RA_API).status_code == 404
    assert world.arm("GET", world.identity_id("ID1"), api_version=MI_API).status_code == 404
    vm = world.arm("GET", world.vm_id, api_version="2024-03-01").json()
    assert vm["identity"]["type"] == "SystemAssigned" and "userAssignedIdentities" not in vm["identity"]
    assert vm["identity"]["principalId"] == SYSTEM_PRINCIPAL_ID  # the world's first principal again
    assert world.control("GET", "/faults").json() == {}
    token = world.token_response(ARM)  # system-assigned is the default again, and no fault is pending
    assert token.status_code == 200 and token.json()["client_id"] != ""
    assert world.get_rg(world.mi_token(ARM)).status_code == 403  # the grant is gone


@pytest.mark.parametrize("body", [
    {"service": "imds", "status": 418, "count": 1},
    {"service": "imds", "status": 200, "count": 1},
    {"service": "imds", "status": "500", "count": 1},
    {"service": "imds", "count": 1},
    {"service": "imds", "status": 500, "count": 0},
    {"service": "imds", "status": 500, "count": -1},
    {"service": "imds", "status": 500, "count": "2"},
    {"service": "imds", "status": 500, "count": 1.5},
    {"service": "imds", "status": 500, "count": True},
    {"service": "imds", "status": 500, "count": 1001},
    {"service": "imds", "status": 429, "count": 1, "retryAfter": -1},
    {"service": "imds", "status": 429, "count": 1, "retryAfter": "5"},
    {"service": "arm", "status": 500, "count": 1},
])
def test_fault_validation(world: Azure, body: dict[str, Any]) -> None:
    assert_control_error(world.control("POST", "/faults", body), 400, "InvalidRequestBody")
    assert world.control("GET", "/faults").json() == {}
    assert world.token_response(ARM).status_code == 200


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"x"', b"[" * 10000])
def test_fault_body_not_a_json_object(world: Azure, raw: bytes) -> None:
    assert_control_error(world.control("POST", "/faults", raw=raw), 400, "InvalidRequestBody")


def test_fault_listing_and_clearing(world: Azure) -> None:
    created = world.control("POST", "/faults", {"service": "imds", "status": 410, "count": 4, "retryAfter": 3})
    assert created.status_code == 201
    assert created.json() == {"service": "imds", "status": 410, "count": 4, "retryAfter": 3}
    assert world.control("GET", "/faults").json() == {"imds": {"status": 410, "remaining": 4, "retryAfter": 3}}
    assert world.token_response(ARM).status_code == 410
    assert world.control("GET", "/faults").json()["imds"]["remaining"] == 3
    cleared = world.control("DELETE", "/faults")
    assert cleared.status_code == 204
    assert world.control("GET", "/faults").json() == {}
    assert world.token_response(ARM).status_code == 200


@pytest.mark.parametrize("body", [
    {"imdsThrottling": "yes"}, {"imdsThrottling": 1}, {"somethingElse": True},
    {"rbacPropagationSeconds": -1}, {"rbacPropagationSeconds": 601}, {"rbacPropagationSeconds": "5"},
    {"rbacPropagationSeconds": True}, {"rbacPropagationSeconds": None},
    {"imdsThrottling": True, "rbacPropagationSeconds": -1},  # one bad value: nothing applied
])
def test_settings_validation(world: Azure, emulator: Emulator, body: dict[str, Any]) -> None:
    assert_control_error(world.control("POST", "/settings", body), 400, "InvalidRequestBody")
    assert emulator.settings.imds_throttling is False and emulator.settings.rbac_propagation_seconds == 0


def test_settings_switch_throttling(world: Azure, emulator: Emulator) -> None:
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        return world.control("POST", "/settings", body).json()

    assert answer({"imdsThrottling": True}) == {"imdsThrottling": True, "rbacPropagationSeconds": 0}
    assert emulator.settings.imds_throttling is True
    assert answer({"imdsThrottling": False}) == {"imdsThrottling": False, "rbacPropagationSeconds": 0}
    assert emulator.settings.imds_throttling is False
    assert answer({"rbacPropagationSeconds": 2.5}) == {"imdsThrottling": False, "rbacPropagationSeconds": 2.5}
    assert emulator.settings.rbac_propagation_seconds == 2.5
    assert answer({}) == {"imdsThrottling": False, "rbacPropagationSeconds": 2.5}
    assert answer({"rbacPropagationSeconds": 0}) == {"imdsThrottling": False, "rbacPropagationSeconds": 0}


def test_rbac_propagation_delay_through_the_control_plane(world: Azure) -> None:
    """A grant is refused at first and a revoked one still honoured, for the delay set; then as written."""
    token = world.mi_token(ARM)
    # 3 s: the "not yet" checks must come within the delay even on a loaded machine
    assert world.control("POST", "/settings", {"rbacPropagationSeconds": 3}).status_code == 200
    name = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")
    assert world.get_rg(token).status_code == 403  # not there yet
    listed = world.arm("GET", world.assignment_path(world.rg_scope, name), api_version=RA_API)
    assert listed.status_code == 200  # Resource Manager lists it at once: only the check lags
    time.sleep(3.2)
    assert world.get_rg(token).status_code == 200
    deleted = world.arm("DELETE", world.assignment_path(world.rg_scope, name), api_version=RA_API)
    assert deleted.status_code == 200
    assert world.get_rg(token).status_code == 200  # still honoured
    time.sleep(3.2)
    assert world.get_rg(token).status_code == 403


def test_reset_propagates_everything_at_once(world: Azure) -> None:
    token = world.mi_token(ARM)
    name = world.grant(SYSTEM_PRINCIPAL_ID, "Reader")  # no delay yet: counts at once
    world.control("POST", "/settings", {"rbacPropagationSeconds": 60})
    world.arm("DELETE", world.assignment_path(world.rg_scope, name), api_version=RA_API)
    assert world.get_rg(token).status_code == 200  # the revoked grant is honoured for a minute
    world.control("POST", "/reset")
    assert world.get_rg(world.mi_token(ARM)).status_code == 403  # reset forgets what was in flight
    # the admin's own declared Owner works at once after a reset, whatever the delay
    assert world.get_rg("admin").status_code == 200


@pytest.mark.parametrize("path", ["/nothing", "/health/extra", "/", "/resets", "/HEALTH"])
def test_unknown_control_path(world: Azure, path: str) -> None:
    assert_control_error(world.control("GET", path), 404, "NotFound")


@pytest.mark.parametrize("method, path", [("GET", "/reset"), ("DELETE", "/health"), ("PUT", "/faults"),
                                          ("GET", "/settings")])
def test_wrong_method_on_control_path(world: Azure, method: str, path: str) -> None:
    assert_control_error(world.control(method, path), 405, "MethodNotAllowed")


# -- persistence --------------------------------------------------------------------------------------------
def _persistent(data_dir: Path) -> Emulator:
    return Emulator(Settings(ports={name: 0 for name in DEFAULT_PORTS}, data_dir=data_dir,
                             in_memory=False)).start_in_thread()


def test_state_survives_a_restart_and_reset_clears_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "emulator-data"
    first = _persistent(data_dir)
    try:
        assert first.profile is not None
        azure = Azure(first.profile)
        assert azure.control("GET", "/health").json()["inMemory"] is False
        azure.create_identity("ID1")
        name = azure.grant(ID1_PRINCIPAL_ID, "Reader")
        old_admin_token = azure.admin_token()
        kid = first.context.issuer.key.kid
        azure.http.close()
    finally:
        first.stop()
    assert (data_dir / "state.sqlite3").exists()

    second = _persistent(data_dir)
    try:
        assert second.profile is not None
        azure = Azure(second.profile)
        assert second.context.issuer.key.kid == kid  # the signing key persists too
        path = azure.assignment_path(azure.rg_scope, name)
        # a token issued before the restart still verifies: same key, same tenant
        kept = azure.arm("GET", path, token=old_admin_token, api_version=RA_API)
        assert kept.status_code == 200, kept.text
        assert kept.json()["properties"]["principalId"] == ID1_PRINCIPAL_ID
        assert azure.arm("GET", azure.identity_id("ID1"), api_version=MI_API).status_code == 200

        assert azure.control("POST", "/reset").status_code == 200
        assert azure.arm("GET", path, api_version=RA_API).status_code == 404
        assert azure.arm("GET", azure.identity_id("ID1"), api_version=MI_API).status_code == 404
        azure.http.close()
    finally:
        second.stop()

    third = _persistent(data_dir)  # the reset itself was persisted
    try:
        assert third.profile is not None
        azure = Azure(third.profile)
        assert azure.arm("GET", azure.assignment_path(azure.rg_scope, name), api_version=RA_API).status_code == 404
        assert azure.get_rg("admin").status_code == 200  # the world is back, not empty
        azure.http.close()
    finally:
        third.stop()


def test_in_memory_emulator_starts_empty_of_grants(tmp_path: Path) -> None:
    """Two in-memory emulators on one data dir share certificates and key, never state."""
    first = Emulator(Settings.for_tests(tmp_path)).start_in_thread()
    try:
        assert first.profile is not None
        azure = Azure(first.profile)
        name = azure.grant(SYSTEM_PRINCIPAL_ID, "Reader")
        azure.http.close()
    finally:
        first.stop()
    second = Emulator(Settings.for_tests(tmp_path)).start_in_thread()
    try:
        assert second.profile is not None
        azure = Azure(second.profile)
        assert azure.arm("GET", azure.assignment_path(azure.rg_scope, name), api_version=RA_API).status_code == 404
        azure.http.close()
    finally:
        second.stop()
