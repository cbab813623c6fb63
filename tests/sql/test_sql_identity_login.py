"""Who a managed identity is to Azure SQL. Its login name (SUSER_SNAME(), SYSTEM_USER, ORIGINAL_LOGIN()) is
``<client id>@<tenant id>``, not its display name (MicrosoftDocs/sql-docs issue 9584); its contained user's
SID is its client (application) id, and a login finds its user by that SID (MicrosoftDocs/sql-docs issue
2323: "For a Service Principal / Managed Identity you should use the 'ApplicationId'"), so a user made
with the identity's object id as SID never matches, and an identity switched off and on again (a new
service principal, a new client id) no longer matches the user made for the old one."""

from __future__ import annotations

import uuid

import pyodbc
import pytest
import requests
from sql_clients import CLIENTS, Client, connected, refused, rows
from sql_helpers import LOGIN_FAILED, SqlTarget, create_identity, sql_error, token_for

NAMES = "SELECT SUSER_SNAME(), SYSTEM_USER, ORIGINAL_LOGIN(), USER_NAME()"


def _vm_identity(target: SqlTarget) -> tuple[str, str]:
    """The VM's system-assigned identity now: (object id, client id), as the directory has it."""
    principal = target.emulator.context.directory.vm_system_identity()
    assert principal is not None
    return principal.object_id, principal.client_id


def _sid_literal(guid: str) -> str:
    return "0x" + uuid.UUID(guid).bytes_le.hex()


@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.name)
def test_a_managed_identitys_login_name_is_its_client_id_at_the_tenant(client: Client, target: SqlTarget) -> None:
    _object_id, client_id = _vm_identity(target)
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    with connected(client, target, target.vm_token()) as vm:
        found = rows(vm, NAMES)
    login = f"{client_id}@{target.profile.tenant_id}"
    assert found == [(login, login, login, target.vm_name)]


def test_a_user_assigned_identity_is_named_the_same_way(target: SqlTarget) -> None:
    identity = create_identity(target, "ID1")
    target.run_admin("CREATE USER [ID1] FROM EXTERNAL PROVIDER")
    with target.odbc(token_for(target, "ID1")) as connection:
        found = tuple(connection.execute(NAMES).fetchone())
    login = f"{identity['properties']['clientId']}@{target.profile.tenant_id}"
    assert found == (login, login, login, "ID1")


def test_an_app_registration_keeps_its_display_name(target: SqlTarget) -> None:
    with target.admin() as connection:
        assert connection.execute("SELECT SUSER_SNAME()").fetchone()[0] == target.profile.admin["displayName"]


def test_the_users_sid_is_the_client_id(target: SqlTarget) -> None:
    object_id, client_id = _vm_identity(target)
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    with target.admin() as connection:
        (sid,) = connection.execute("SELECT sid FROM sys.database_principals WHERE name = ?", target.vm_name).fetchone()
    assert bytes(sid) == uuid.UUID(client_id).bytes_le != uuid.UUID(object_id).bytes_le


def test_a_user_made_with_the_client_id_as_sid_lets_the_identity_in_and_its_object_id_does_not(
        target: SqlTarget) -> None:
    """``CREATE USER … WITH SID = …, TYPE = E`` (no Graph lookup), as deployment scripts write it: with the
    identity's object (principal) id the login fails, with its client id it succeeds."""
    object_id, client_id = _vm_identity(target)
    target.run_admin(f"CREATE USER [by-object-id] WITH SID = {_sid_literal(object_id)}, TYPE = E")
    with pytest.raises(pyodbc.Error) as caught:
        target.vm()
    assert LOGIN_FAILED in sql_error(caught.value)
    target.run_admin(f"CREATE USER [by-client-id] WITH SID = {_sid_literal(client_id)}, TYPE = E")
    with target.vm() as connection:
        assert connection.execute("SELECT USER_NAME()").fetchone()[0] == "by-client-id"


def test_a_sid_that_is_not_16_bytes_is_15419(target: SqlTarget) -> None:
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute("CREATE USER [short] WITH SID = 0x0102, TYPE = E")
    assert "Supplied parameter sid should be binary(16). (15419)" in sql_error(caught.value)


def test_an_identity_switched_off_and_on_no_longer_matches_its_old_user(target: SqlTarget) -> None:
    _object_id, old_client_id = _vm_identity(target)
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    profile = target.profile
    vm = (f"{profile.endpoints['arm']}/subscriptions/{profile.subscription_id}/resourceGroups/"
          f"{profile.resource_group}/providers/Microsoft.Compute/virtualMachines/{profile.vm_name}")
    headers = {"Authorization": f"Bearer {target.admin_token('https://management.azure.com/')}"}
    for state in ("None", "SystemAssigned"):
        switched = requests.patch(vm, params={"api-version": "2024-03-01"}, json={"identity": {"type": state}},
                                  headers=headers, verify=target.ca, timeout=10)
        assert switched.status_code == 200, switched.text
    _new_object_id, new_client_id = _vm_identity(target)
    assert new_client_id != old_client_id
    for client in CLIENTS:
        client.check(refused(lambda c=client: c.open(target, target.vm_token(), True, None)), 18456, LOGIN_FAILED)
    target.run_admin(f"DROP USER [{target.vm_name}]", f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    with target.vm() as connection:
        assert connection.execute("SELECT SUSER_SNAME()").fetchone()[0] == f"{new_client_id}@{profile.tenant_id}"
