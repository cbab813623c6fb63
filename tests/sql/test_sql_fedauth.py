"""Clients that get the token themselves. A driver asked for ``Authentication=ActiveDirectory…`` sends
LOGIN7 with a FEDAUTH feature of library ADAL (0x02) and a workflow byte; Azure SQL answers with a
FEDAUTHINFO token — the STS URL to get a token from and the SPN to get it for — and the driver sends the
token in a Federated Authentication Token message ([MS-TDS] 2.2.7.12, 2.2.6.3). The emulator names its
own Entra login endpoint, for the tenant, as the STS URL.

What each client does (measured): ODBC Driver 18 sends workflow 0x01 for ActiveDirectoryServicePrincipal,
Password, Msi and Interactive alike, 0x02 for Integrated. For ServicePrincipal it posts client credentials
to ``<STS URL>/oauth2/token`` with libcurl (mssql-python's bundled driver does the same); for Msi it calls
IMDS at 169.254.169.254 itself, which the emulator is not: that login fails (a login timeout). These
drivers run in their own program (fedauth_drivers.py) inside a loopback-only network namespace. mssql-python
gets the token for ActiveDirectoryMsi and ActiveDirectoryDefault in Python with azure-identity, which
honours AZURE_POD_IDENTITY_AUTHORITY_HOST: those reach the emulator's IMDS, in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mssql_python
import pytest
import raw_tds
from raw_tds import RawTds
from sql_helpers import DATABASE, SQL, SqlTarget

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = Path(__file__).with_name("fedauth_drivers.py")
sys.path.insert(0, str(ROOT / "tests"))
from netns import NoNamespace, check_namespaces, loopback_only  # noqa: E402

INTEGRATED_REFUSED = ("Login failed for user '<token-identified principal>'. The emulator has no Windows "
                      "identity to federate")


def _adal_login(target: SqlTarget, workflow: int = 0x01) -> tuple[RawTds, bytes]:
    client = RawTds(target.port, target.ca)
    client.prelogin()
    client.send(raw_tds.packets(raw_tds.LOGIN7, raw_tds.login7_payload("", library=0x02, echo=1,
                                                                       workflow=workflow)))
    _kind, answer = client.read_message()
    return client, answer


def test_an_adal_login_is_answered_with_fedauthinfo_then_takes_the_token(target: SqlTarget) -> None:
    client, answer = _adal_login(target)
    try:
        info = raw_tds.parse_fedauthinfo(answer)
        login = target.profile.endpoints["login"]
        assert info == {1: f"{login}/{target.profile.tenant_id}", 2: SQL}
        token = target.admin_token(info[2])
        reply = client.request(raw_tds.FEDAUTH_TOKEN, raw_tds.fedauth_token_payload(token))
        assert reply.loginack and not reply.errors
        assert client.batch("SELECT SUSER_SNAME() AS who").rows == [[target.profile.admin["displayName"]]]
    finally:
        client.close()


def test_a_bad_token_after_fedauthinfo_is_18456(target: SqlTarget) -> None:
    client, _answer = _adal_login(target)
    try:
        reply = client.request(raw_tds.FEDAUTH_TOKEN, raw_tds.fedauth_token_payload("not-a-jwt"))
    finally:
        client.close()
    assert reply.error_numbers == [18456] and not reply.loginack


def test_something_else_than_the_token_after_fedauthinfo_is_17832(target: SqlTarget) -> None:
    client, _answer = _adal_login(target)
    try:
        reply = client.request(raw_tds.SQL_BATCH, raw_tds.sql_batch_payload("SELECT 1"))
    finally:
        client.close()
    assert reply.error_numbers == [17832]


def test_integrated_is_refused_with_a_reason(target: SqlTarget) -> None:
    client, answer = _adal_login(target, workflow=0x02)
    client.close()
    errors = raw_tds.parse_tokens(answer).errors
    assert [n for n, _ in errors] == [18456] and INTEGRATED_REFUSED in errors[0][1]


@pytest.mark.parametrize("authentication", ["ActiveDirectoryMsi", "ActiveDirectoryDefault"])
def test_mssql_python_gets_the_vm_token_itself(target: SqlTarget, emulator_env: dict[str, str],
                                                authentication: str) -> None:
    """azure-identity in mssql-python asks the IMDS named by AZURE_POD_IDENTITY_AUTHORITY_HOST (this test
    process's socket guard sees every connection it makes)."""
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    connection = mssql_python.connect(
        f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert};"
        f"Authentication={authentication}")
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT SUSER_SNAME(), USER_NAME()")
        row = tuple(cursor.fetchone())
    finally:
        connection.close()
    assert row[1] == target.vm_name


def _drivers(mode: str) -> dict[str, Any]:
    """fedauth_drivers.py in a loopback-only network namespace (tests/netns.py) with private mounts."""
    try:
        check_namespaces()
    except NoNamespace as exc:
        pytest.fail(f"{exc}: drivers that dial their STS run only inside a loopback-only namespace")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    command = ["unshare", "--mount", "--", *loopback_only([sys.executable, str(DRIVERS), mode])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    results: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def test_odbc_and_mssql_python_get_their_own_token_with_a_service_principal() -> None:
    results = _drivers("compact")
    admin = ["workbook-admin", "workbookdb"]
    assert results["pyodbc service principal"] == ["ok", admin], results
    assert results["mssql-python service principal"] == ["ok", admin], results
    # a wrong secret: the login endpoint refuses it (401) and the driver's login fails (ODBC Driver 18 ends
    # in its login timeout after an STS error, measured whatever the status or body)
    assert results["pyodbc wrong secret"][0] == "error", results
    assert results["relayed"] == [200, 200, 401], results
    # ODBC's own IMDS call (169.254.169.254) has nowhere to go in the namespace: the login fails
    assert results["pyodbc msi"][0] == "error", results


def test_odbc_gets_its_token_from_the_emulators_own_login_endpoint() -> None:
    results = _drivers("direct")
    assert results["pyodbc service principal"] == ["ok", ["workbook-admin", "workbookdb"]], results
