"""#temp tables: per session, as in SQL Server's tempdb. A session's #orders is its own (another session's
#orders is another table, and sees nothing of this one); ##orders is one table for every session, dropped
when the session that made it ends; both go with the session that made them (a connection reset drops
them too), and neither is listed by sys.tables.

Where they live: a database's SQLite connections all share one file, and SQLite's own TEMP tables belong
to a connection, which every session shares; so each database has a second SQLite file attached to its
connections as ``tempdb`` (WAL, like the database: a reader that does not hold the writer slot reads
committed rows through the read-only connection, which has it attached too). A #table is stored there
under a name of its own per session ('orders@tempdb@53', ##orders as 'orders@tempdb@global'), which no
message shows: statements name it as written, and the translator
(``SessionSchema``) maps the name for the session running it. Column types are kept with the session
(``TempTable``), as the catalog keeps a table's."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

from .sqltypes import SqlType

TEMPDB = "tempdb"
_IDS = itertools.count(1)


@dataclass
class TempTable:
    name: str                                   # as created: '#orders' or '##orders'
    physical: str                               # its table in tempdb
    columns: list[tuple[str, SqlType]]
    not_null: frozenset[str] = frozenset()      # lower-case names
    identity: frozenset[str] = frozenset()
    owner: int = 0                              # the spid of the session that made it
    object_id: int = field(default_factory=lambda: -1_000_000 - next(_IDS))  # tempdb ids are negative

    @property
    def shared(self) -> bool:
        return self.name.startswith("##")


@dataclass
class TempScope:
    """A session's #tables (the ##tables are the database's: ``Database.global_temp``)."""

    spid: int
    tables: dict[str, TempTable] = field(default_factory=dict)  # lower-case name -> table
    version: int = 0

    def physical_name(self, name: str) -> str:
        """Its table's name in tempdb. Not starting with '#': sqlglot's schema reads a leading '#' as T-SQL's
        and drops it (then a SELECT * of the table would not be expanded and typed)."""
        owner = "global" if name.startswith("##") else str(self.spid)
        return f"{name.lstrip('#')}@tempdb@{owner}"


class TempHost(Protocol):
    """The database (``models.Database``) a session's temporary tables belong to."""

    name: str
    translations: dict[Any, Any]
    global_temp: dict[str, TempTable]

    def columns(self) -> dict[str, list[tuple[str, SqlType]]]: ...

    def not_null(self) -> dict[str, frozenset[str]]: ...

    def schema(self) -> dict[str, dict[str, str]]: ...

    def identities(self) -> dict[str, frozenset[str]]: ...

    def primary_keys(self) -> dict[str, frozenset[str]]: ...


class SessionSchema:
    """The tables one session's statement may name: the database's and the session's #tables (and the
    ##tables), the latter under their tempdb names. Implements the translator's schema source."""

    def __init__(self, database: TempHost, scope: TempScope) -> None:
        self.database = database
        self.scope = scope
        self.name = database.name
        self.translations = database.translations

    def find(self, name: str) -> TempTable | None:
        """A #table or ##table by the name a statement wrote (None: it does not exist for this session)."""
        lowered = name.lower()
        if lowered.startswith("##"):
            return self.database.global_temp.get(lowered)
        return self.scope.tables.get(lowered)

    def _temporary(self) -> list[TempTable]:
        return list(self.scope.tables.values()) + list(self.database.global_temp.values())

    def cache_key(self) -> tuple[int, int, int]:
        return self.scope.spid, self.scope.version, len(self.database.global_temp)

    def columns(self) -> dict[str, list[tuple[str, SqlType]]]:
        found = self.database.columns()
        temporary = self._temporary()
        if not temporary:
            return found
        return {**found, **{t.physical.lower(): t.columns for t in temporary}}

    def not_null(self) -> dict[str, frozenset[str]]:
        found = self.database.not_null()
        temporary = self._temporary()
        return {**found, **{t.physical.lower(): t.not_null for t in temporary}} if temporary else found

    def primary_keys(self) -> dict[str, frozenset[str]]:
        return self.database.primary_keys()  # a #table's duplicate key is reported as a UNIQUE KEY's

    def identities(self) -> dict[str, frozenset[str]]:
        found = self.database.identities()
        temporary = self._temporary()
        return {**found, **{t.physical.lower(): t.identity for t in temporary}} if temporary else found

    def schema(self) -> dict[str, dict[str, str]]:
        found = self.database.schema()
        temporary = self._temporary()
        if not temporary:
            return found
        return {**found, **{t.physical.lower(): {n.lower(): d.declaration() for n, d in t.columns}
                            for t in temporary}}
