"""Drivers that get their own token, against an emulator in this process: run by test_sql_fedauth.py as its
own program inside a loopback-only network namespace with private mounts (the drivers' HTTP client,
libcurl, dials the STS URL itself, outside the suite's socket guard).

``python fedauth_drivers.py compact|direct`` prints one JSON line: {attempt: ["ok", row] | ["error", text]},
and under "relayed" the HTTP status of each token request the relay passed on.

- libcurl trusts only the system CA file, so that file is bind-mounted (private mount namespace) over
  with the system's CAs plus the emulator's.
- ``compact``: FEDAUTHINFO names a small HTTPS relay in front of the emulator's Entra login endpoint that
  passes each token request on and writes the answer as compact JSON, as Entra does. ODBC Driver 18 finds
  the token by the literal text ``"access_token":"`` (measured: with a space after the colon it never
  sends a token and the login times out), and the emulator's login endpoint writes ``"access_token": "``.
  Written by hand: no library re-serializes a relayed HTTP answer; the login endpoint still checks the
  client id and secret.
- ``direct``: FEDAUTHINFO names the emulator's own login endpoint.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import mssql_python
import pyodbc

from emulator.app import Emulator
from emulator.core.settings import Settings
from lib import sql

QUERY = "SELECT SUSER_SNAME(), DB_NAME()"
SYSTEM_CA_FILE = Path("/etc/ssl/certs/ca-certificates.crt")


def trust_the_emulator_system_wide(ca_bundle: str) -> None:
    bundle = Path(tempfile.mkdtemp()) / "ca-certificates.crt"
    system = SYSTEM_CA_FILE.read_text() if SYSTEM_CA_FILE.exists() else ""
    bundle.write_text(system + Path(ca_bundle).read_text())
    SYSTEM_CA_FILE.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_CA_FILE.touch()
    subprocess.run(["mount", "--bind", str(bundle), str(SYSTEM_CA_FILE)], check=True)


def compact_relay(login_endpoint: str, emulator: Emulator, statuses: list[int]) -> str:
    """An HTTPS relay to ``login_endpoint`` that writes JSON answers compactly (and their status in
    ``statuses``); its base URL."""
    client_context = ssl.create_default_context(cafile=emulator.profile.ca_bundle)

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            forwarded = urllib.request.Request(login_endpoint + self.path, data=body, method="POST",
                                               headers={"Content-Type": self.headers.get("Content-Type", "")})
            try:
                with urllib.request.urlopen(forwarded, context=client_context, timeout=10) as answer:
                    status, text = answer.status, answer.read()
            except urllib.error.HTTPError as refused:
                status, text = refused.code, refused.read()
            statuses.append(status)
            compact = json.dumps(json.loads(text), separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(compact)))
            self.end_headers()
            self.wfile.write(compact)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificates = emulator.context.certificates
    server_context.load_cert_chain(certificates.cert, certificates.key)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"https://127.0.0.1:{server.server_address[1]}"


def main(mode: str) -> None:
    emulator = Emulator(Settings.for_tests(Path(tempfile.mkdtemp()))).start_in_thread()
    profile = emulator.profile
    assert profile is not None
    trust_the_emulator_system_wide(profile.ca_bundle)
    relayed: list[int] = []
    if mode == "compact":
        relay = compact_relay(profile.endpoints["login"], emulator, relayed)
        listener = next(listener for listener in emulator.listeners if listener.name == "sql")
        listener.login_endpoint = lambda: relay  # type: ignore[attr-defined]
    base = (f"SERVER=tcp:{profile.endpoints['sql']};DATABASE=workbookdb;Encrypt=strict;"
            f"ServerCertificate={profile.server_certificate};")
    admin = f"UID={profile.admin['clientId']};PWD={profile.admin['clientSecret']};"
    wrong = f"UID={profile.admin['clientId']};PWD=not-the-secret;"
    results: dict[str, list[Any]] = {}

    def odbc(options: str, timeout: int = 10) -> list[Any]:
        connection = pyodbc.connect(f"DRIVER={{{sql.find_driver()}}};{base}{options}Connection Timeout={timeout};",
                                    timeout=timeout)
        try:
            return list(connection.execute(QUERY).fetchone())
        finally:
            connection.close()

    def python_driver(options: str) -> list[Any]:
        connection = mssql_python.connect(base + options)
        try:
            cursor = connection.cursor()
            cursor.execute(QUERY)
            return list(cursor.fetchone())
        finally:
            connection.close()

    attempts = {"pyodbc service principal": lambda: odbc("Authentication=ActiveDirectoryServicePrincipal;" + admin,
                                                         10 if mode == "compact" else 3)}
    if mode == "compact":
        attempts["mssql-python service principal"] = lambda: python_driver(
            "Authentication=ActiveDirectoryServicePrincipal;" + admin)
        attempts["pyodbc wrong secret"] = lambda: odbc("Authentication=ActiveDirectoryServicePrincipal;" + wrong, 3)
        attempts["pyodbc msi"] = lambda: odbc("Authentication=ActiveDirectoryMsi;", 3)
    for name, attempt in attempts.items():
        try:
            results[name] = ["ok", attempt()]
        except Exception as exc:  # a driver's error is a result here: the test reads it
            results[name] = ["error", str(exc)]
    emulator.stop()
    print(json.dumps({**results, "relayed": relayed}))


if __name__ == "__main__":
    main(sys.argv[1])
