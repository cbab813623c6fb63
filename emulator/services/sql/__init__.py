"""Azure SQL Database: a TDS endpoint that the real Microsoft ODBC Driver 18 accepts.

TDS 7.4 (in-band TLS) and TDS 8.0 (strict TLS), LOGIN7 with an Entra access token (FEDAUTH),
SQL batches and RPCs, contained users for Entra principals, roles — backed by SQLite. The protocol
code is hand-written (no library serves TDS with federated authentication); see tds.py.

Rooms: tds.py (wire format), transport.py (TLS, packets sent as a result streams), session.py
(connection state machine and listener), handlers.py (requests → tokens), models.py (databases, users,
sessions, the statement engine, T-SQL → SQLite), rewrite.py (T-SQL functions and TOP rewritten, with
the types SQL Server would send), builtins.py (the T-SQL functions SQLite lacks), dialect.py (sqlglot,
loaded on first use), sqltypes.py (type names → wire types), errors.py (the catalogue of SQL errors).
"""

from __future__ import annotations

from emulator.core.context import EmulatorContext

from .models import SqlServer, server_for
from .session import SqlListener

__all__ = ["create", "seed", "SqlServer"]


def create(context: EmulatorContext) -> SqlListener:
    return SqlListener(context, server_for(context))


def seed(context: EmulatorContext) -> None:
    """The declared logical server's databases and tables (world.json, key "sql")."""
    server_for(context).reset()
