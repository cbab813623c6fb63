"""lib.arm: the admin's requests are built, shown (body included, never a token) and sent."""

from __future__ import annotations

import pytest

from lib import target as targets
from lib.arm import ArmClient, ArmError
from lib.roles import ROLE_IDS


@pytest.fixture
def admin(fresh, emulator_env):
    t = targets.resolve("emulator")
    credential = t.admin_credential()
    return t, ArmClient(t, lambda: credential.get_token("https://management.azure.com/.default").token)


def test_role_assignment_is_built_shown_and_sent(admin):
    t, client = admin
    vm = client.call("GET", t.vm_id, "2024-07-01")
    principal = vm["identity"]["principalId"]
    request = client.role_assignment("Reader", principal, scope=t.resource_group_id)
    assert request.method == "PUT" and request.api_version == "2022-04-01"
    assert request.body["properties"]["roleDefinitionId"].endswith(ROLE_IDS["Reader"])
    shown = repr(client.shown(request, az="az role assignment create …"))
    assert shown.startswith(f"PUT {t.arm}{t.resource_group_id}/providers/Microsoft.Authorization/roleAssignments/")
    assert f'"principalId": "{principal}"' in shown and "<the admin's token" in shown
    assert "eyJ" not in shown  # never a token
    made = client.send(request)
    assert client.last_request == request
    assert made["properties"]["principalId"] == principal
    assert client.assignments_for(principal, t.resource_group_id)[0]["id"] == made["id"]
    client.revoke(made["id"])
    assert client.last_request.method == "DELETE"
    assert client.assignments_for(principal, t.resource_group_id) == []


def test_grant_remembers_its_request_and_errors_are_typed(admin):
    t, client = admin
    with pytest.raises(ArmError) as refused:
        client.grant("Reader", "00000000-0000-0000-0000-0000000000aa", scope=t.resource_group_id)
    assert refused.value.status == 400 and refused.value.code == "PrincipalNotFound"
    assert client.last_request is not None and client.last_request.body["properties"]["principalId"].endswith("aa")
