"""Helpers for the Azure SQL tests: tokens, connection strings and raw TDS bytes. Loopback only."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pyodbc
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.profile import Profile
from lib import sql

SQL = "https://database.windows.net/"
DATABASE = "workbookdb"
LOGIN_FAILED = "Login failed for user '<token-identified principal>'."


@dataclass
class SqlTarget:
    profile: Profile
    emulator: Any = None  # the in-process Emulator, for minting odd tokens with its issuer

    @property
    def server(self) -> str:
        return self.profile.endpoints["sql"]  # "localhost,<port>"

    @property
    def port(self) -> int:
        return int(self.server.split(",")[1])

    @property
    def ca(self) -> str:
        return self.profile.ca_bundle

    @property
    def server_cert(self) -> str:
        return str(Path(self.ca).with_name("server.pem"))

    @property
    def vm_name(self) -> str:
        return self.profile.vm_name

    @property
    def vm_login(self) -> str:
        """The VM identity's login name, as Azure SQL reports a managed identity's (SUSER_SNAME(),
        SYSTEM_USER): ``<client id>@<tenant id>``."""
        claims = jwt.decode(self.vm_token(), options={"verify_signature": False})
        return f"{claims['appid']}@{claims['tid']}"

    def admin_token(self, resource: str = SQL) -> str:
        response = requests.post(
            f"{self.profile.endpoints['login']}/{self.profile.tenant_id}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": self.profile.admin["clientId"],
                  "client_secret": self.profile.admin["clientSecret"],
                  "scope": resource.rstrip("/") + "/.default"},
            verify=self.ca, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def vm_token(self, resource: str = SQL, **selectors: str) -> str:
        response = requests.get(
            f"{self.profile.endpoints['imds']}/metadata/identity/oauth2/token",
            params={"api-version": "2018-02-01", "resource": resource, **selectors},
            headers={"Metadata": "true"}, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def odbc(self, token: str, database: str = DATABASE, *, autocommit: bool = True,
             timeout: int = 5) -> pyodbc.Connection:
        """pyodbc + ODBC Driver 18, TDS 8 strict with the emulator's certificate (as lib.sql does)."""
        return sql.connect(token, self.server, database, ca_file=self.ca, autocommit=autocommit, timeout=timeout)

    def admin(self, database: str = DATABASE) -> pyodbc.Connection:
        return self.odbc(self.admin_token(), database)

    def vm(self, database: str = DATABASE) -> pyodbc.Connection:
        return self.odbc(self.vm_token(), database)

    def run_admin(self, *statements: str) -> None:
        with self.admin() as connection:
            for statement in statements:
                connection.execute(statement)


# -- tokens a login must refuse (18456) ------------------------------------------------------------
def _forged_token(target: SqlTarget) -> str:
    good = jwt.decode(target.admin_token(), options={"verify_signature": False})
    header = jwt.get_unverified_header(target.admin_token())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(good, other, algorithm="RS256", headers={"kid": header["kid"]})


def _expired_token(target: SqlTarget) -> str:
    context = target.emulator.context
    principal = context.world.admin_principal
    return context.issuer.issue(principal, SQL, now=time.time() - 3 * 86400, lifetime=3600).access_token


BAD_TOKENS = {
    "garbage": lambda t: "not-a-jwt",
    "wrong_audience": lambda t: t.admin_token("https://management.azure.com/"),
    "expired": _expired_token,
    "forged_signature": _forged_token,
    "tampered": lambda t: t.admin_token()[:-6] + "AAAAAA",
}


def sql_error(exc: BaseException) -> str:
    """The driver's message text of a pyodbc error (both args joined)."""
    return " ".join(str(a) for a in exc.args)


# -- raw TDS for the tests that must not use a driver ---------------------------------------------
def prelogin_packet(encryption: int) -> bytes:
    options = [(0x00, bytes([18, 6, 0, 2, 0, 0])), (0x01, bytes([encryption])), (0x02, b"\x00"),
               (0x03, b"\x00\x00\x00\x00"), (0x04, b"\x00")]
    offset = 5 * len(options) + 1
    head, body = b"", b""
    for token, value in options:
        head += struct.pack(">BHH", token, offset + len(body), len(value))
        body += value
    payload = head + b"\xff" + body
    return struct.pack(">BBHHBB", 0x12, 0x01, len(payload) + 8, 0, 1, 0) + payload


def parse_prelogin_reply(data: bytes) -> dict[int, bytes]:
    assert data[0] == 0x04, f"not a reply packet: {data[:8]!r}"
    payload = data[8:struct.unpack(">H", data[2:4])[0]]
    options: dict[int, bytes] = {}
    position = 0
    while payload[position] != 0xFF:
        token, offset, length = struct.unpack_from(">BHH", payload, position)
        options[token] = payload[offset:offset + length]
        position += 5
    return options


def recv_all(connection: socket.socket, timeout: float = 3.0) -> bytes:
    """Everything the server sends until it closes (or goes quiet for ``timeout``)."""
    connection.settimeout(timeout)
    chunks = []
    try:
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except TimeoutError:
        pass
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def create_identity(target: SqlTarget, name: str) -> dict[str, Any]:
    """A user-assigned managed identity made by the admin through Resource Manager (a second principal
    the directory knows, for tests that need another database user)."""
    profile = target.profile
    identity = (f"{profile.endpoints['arm']}/subscriptions/{profile.subscription_id}/resourceGroups/"
                f"{profile.resource_group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")
    created = requests.put(identity, params={"api-version": "2023-01-31"}, json={"location": profile.location},
                           headers={"Authorization": f"Bearer {target.admin_token('https://management.azure.com/')}"},
                           verify=target.ca, timeout=10)
    assert created.status_code in (200, 201), created.text
    return dict(created.json())


def error_number(exc: BaseException) -> int | None:
    """SQL Server's error number in a pyodbc error's text, e.g. ``(229)``."""
    import re

    found = re.search(r"\((\d+)\) \(SQL\w+\)", sql_error(exc))
    return int(found.group(1)) if found else None


def token_for(target: SqlTarget, display_name: str, resource: str = SQL) -> str:
    """A token for a principal of the directory, minted by the emulator's own issuer (as IMDS would
    issue it on a VM the identity is attached to)."""
    context = target.emulator.context
    (principal,) = context.directory.by_display_name(display_name)
    return str(context.issuer.issue(principal, resource).access_token)


def sql_listener(target: SqlTarget) -> Any:
    """The emulated SQL endpoint's listener (its sessions, limits) in the in-process emulator."""
    return next(item for item in target.emulator.listeners if item.name == "sql")


def sql_session(target: SqlTarget, spid: int) -> Any:
    """The emulator's session behind the connection whose ``@@SPID`` is ``spid``."""
    return next(s for s in list(sql_listener(target).logged_in) if s.state is not None and s.state.spid == spid)


def wait_until_running(session: Any, running: bool, timeout: float = 20.0) -> None:
    """Until ``session`` is running a request (or, with ``running=False``, is idle)."""
    deadline = time.monotonic() + timeout
    while (session._current is not None) != running:  # noqa: SLF001 - the point
        assert time.monotonic() < deadline, "the request did not start" if running else "the request did not end"
        time.sleep(0.01)


def start_and_wait_until_it_runs(target: SqlTarget, connection: Any, worker: Any) -> None:
    """Start ``worker`` (a thread about to send a request on ``connection``) and return once the emulated SQL
    endpoint is running that request. A test that cancels from another thread waits for this first: on a loaded
    machine the thread may not have sent its request yet, and a cancel before it is a no-op in the driver."""
    session = sql_session(target, connection.execute("SELECT @@SPID").fetchone()[0])
    wait_until_running(session, running=False)  # the SELECT @@SPID has ended on the server too
    worker.start()
    wait_until_running(session, running=True)
