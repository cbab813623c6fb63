"""Procedures called by RPC: ODBC's ``{CALL proc (?, …)}`` escape (which the driver prepares with
sp_prepexecrpc), with pyodbc + ODBC Driver 18 and mssql-python, and pytds's ``callproc`` (an RPC by name)."""

from __future__ import annotations

from typing import Any

import mssql_python
import pyodbc
import pytds
import pytest
from sql_helpers import DATABASE, SqlTarget, error_number, sql_error

from lib import sql


def _mssql_python(target: SqlTarget) -> Any:
    return mssql_python.connect(
        f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert}",
        attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(target.admin_token())}, autocommit=True)


def _vm_reads(target: SqlTarget) -> int:
    with target.vm() as connection:
        return int(connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0])


@pytest.mark.parametrize("client", ["pyodbc", "mssql-python"])
def test_call_escape_with_parameters_runs_the_procedure(target: SqlTarget, client: str) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    connection = target.admin() if client == "pyodbc" else _mssql_python(target)
    try:
        cursor = connection.cursor()
        cursor.execute("{CALL sp_addrolemember (?, ?)}", ("db_datareader", target.vm_name))
        assert _vm_reads(target) == 300
        cursor.execute("{CALL sp_executesql (?)}", ("SELECT TOP 2 ProductID FROM Products ORDER BY ProductID",))
        assert [tuple(r) for r in cursor.fetchall()] == [(1,), (2,)]
        cursor.execute("{CALL sp_droprolemember (?, ?)}", ("db_datareader", target.vm_name))
        cursor.execute("{CALL sp_droprolemember (?, ?)}", ("db_datareader", target.vm_name))  # prepared again
    finally:
        connection.close()
    with target.vm() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute("SELECT COUNT(*) FROM Products").fetchone()
    assert error_number(caught.value) == 229


def test_call_escape_of_an_unknown_procedure_is_2812(target: SqlTarget) -> None:
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute("{CALL sp_no_such_thing (?)}", "x")
    assert error_number(caught.value) == 2812
    assert "Could not find stored procedure 'sp_no_such_thing'." in sql_error(caught.value)


def test_call_escape_refusal_keeps_the_procedures_error(target: SqlTarget) -> None:
    """The procedure's own error (here: not allowed) arrives through the prepared call."""
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")
    with target.vm() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute("{CALL sp_addrolemember (?, ?)}", "db_owner", target.vm_name)
    assert error_number(caught.value) == 15151


def test_pytds_callproc(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    token = target.admin_token()
    with pytds.connect(dsn="localhost", port=target.port, database=DATABASE, cafile=target.ca,
                       access_token_callable=lambda: token, login_timeout=5, autocommit=True) as connection:
        connection.cursor().callproc("sp_addrolemember", ("db_datareader", target.vm_name))
    assert _vm_reads(target) == 300
