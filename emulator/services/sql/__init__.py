"""Azure SQL Database: a TDS endpoint that the real Microsoft ODBC Driver 18 accepts.

TDS 7.4 (in-band TLS) and TDS 8.0 (strict TLS), LOGIN7 with an Entra access token (FEDAUTH),
SQL batches and RPCs, contained users for Entra principals, roles — backed by SQLite. The protocol
code is hand-written (no library serves TDS with federated authentication); see tds.py.

Rooms, from the socket inwards (imports run one way, downwards in this list):

- session.py — one connection from accept to close (pre-login, login, requests, attention) and the listener
- transport.py — TLS (TDS 8 and TLS inside PRELOGIN) and packets, message size limits
- handlers.py — requests → token streams: SQL batches, RPC procedures (a table of them), transactions
- rpc.py — RPC requests and their parameters, decoded and checked as SQL Server checks them
- engine.py — runs a batch statement by statement; security.py — CREATE USER, ALTER ROLE, GRANT …
- ddl.py — CREATE/ALTER TABLE with the declared types kept; results.py — result sets, row counts, streams
- models.py — state: the logical server, its databases (SQLite), sessions, the declared tables
- translate.py — T-SQL → SQLite with sqlglot; rewrite.py — T-SQL functions typed by SQL Server's rules;
  batches.py — a batch split into statements; dialect.py — sqlglot, loaded on first use
- catalog.py — the emulator's own tables, the catalog views, roles and permissions (who may see and do what)
- builtins.py — the T-SQL functions SQLite lacks
- encoding.py — values, COLMETADATA and ROW tokens on the wire; tds.py — packets, PRELOGIN, LOGIN7, tokens
- sqltypes.py — SqlType and type names; errors.py — the catalogue of SQL Server's errors
"""

from __future__ import annotations

from emulator.core.context import EmulatorContext

from .models import SqlServer, server_for
from .session import SqlListener

__all__ = ["create", "seed", "SqlServer"]


def create(context: EmulatorContext) -> SqlListener:
    """The SQL listener. FEDAUTHINFO, for drivers that get their own token, names the Entra login endpoint
    the emulator publishes once every listener is up (``context.endpoints``)."""
    return SqlListener(context, server_for(context), lambda: context.endpoints.get("login"))


def seed(context: EmulatorContext) -> None:
    """The declared logical server's databases and tables (world.json, key "sql")."""
    server_for(context).reset()
