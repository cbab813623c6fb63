"""The durability scenario, run as its own process inside a loopback-only network namespace (see
test_durability.py): start the emulator as a process on a data directory, write to Resource Manager
(user-assigned identity PUTs, then a role assignment for each), to Azure SQL (INSERTs with pyodbc in
autocommit, and small explicit transactions) and to Blob Storage (1 KiB blobs, kept as rows in the state
database, and 100 KiB ones, kept as files) from several threads at once, ``kill -9`` the emulator in the
middle, start it again on the same data directory and look for every write that was acknowledged (a blob
with the bytes it was written with).

Prints one JSON object: what was acknowledged, what is missing, timings. Usage:
``python durability_scenario.py <data dir> <write seconds> <at least assignments> <at least rows>``: the kill
comes after the seconds, and once that many assignments and rows are acknowledged (30 s more at most)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pyodbc
import requests

from lib import sql

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # the built-in Reader role's id
RA_API, MI_API = "2022-04-01", "2023-01-31"


def start(data_dir: Path, log: Path, previous_pid: int | None = None) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    command = [sys.executable, "-m", "emulator", "serve", "--data-dir", str(data_dir), "--imds-port", "0",
               "--login-port", "0", "--arm-port", "0", "--sql-port", "0", "--blob-port", "0", "--no-throttling"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    profile_file = data_dir / "profile.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}; see {log}")
        try:
            profile = json.loads(profile_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            profile = None
        if profile and profile.get("pid") == process.pid and profile.get("pid") != previous_pid:
            return process, profile
        time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"the emulator did not start; see {log}")


class Writes:
    """Acknowledged writes, recorded by the threads that made them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.identities: list[str] = []
        self.assignments: list[str] = []
        self.rows: list[str] = []
        self.blobs: dict[str, str] = {}  # name → SHA-256 of what was written
        self.failures_after_kill = 0
        self.stop = threading.Event()

    def add(self, kind: list[str], value: str) -> None:
        with self.lock:
            kind.append(value)


def admin_token(profile: dict[str, Any], resource: str) -> str:
    response = requests.post(
        f"{profile['endpoints']['login']}/{profile['tenant_id']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": profile["admin"]["clientId"],
              "client_secret": profile["admin"]["clientSecret"], "scope": resource.rstrip("/") + "/.default"},
        verify=profile["ca_bundle"], timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


def arm_writer(profile: dict[str, Any], token: str, writes: Writes) -> None:
    """Identity PUT, then a Reader role assignment for its principal: two acknowledged ARM writes."""
    base = profile["endpoints"]["arm"]
    group = f"/subscriptions/{profile['subscription_id']}/resourceGroups/{profile['resource_group']}"
    headers = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    while not writes.stop.is_set():
        name = f"durable-{uuid.uuid4().hex[:12]}"
        try:
            made = session.put(f"{base}{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
                               params={"api-version": MI_API}, json={"location": profile["location"]},
                               headers=headers, verify=profile["ca_bundle"], timeout=5)
            if made.status_code not in (200, 201):
                raise RuntimeError(f"identity PUT {made.status_code}: {made.text}")
            writes.add(writes.identities, name)
            assignment = str(uuid.uuid4())
            granted = session.put(
                f"{base}{group}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
                params={"api-version": RA_API}, headers=headers, verify=profile["ca_bundle"], timeout=5,
                json={"properties": {"roleDefinitionId": f"/subscriptions/{profile['subscription_id']}/providers/"
                                                         f"Microsoft.Authorization/roleDefinitions/{READER}",
                                     "principalId": made.json()["properties"]["principalId"],
                                     "principalType": "ServicePrincipal"}})
            if granted.status_code != 201:
                raise RuntimeError(f"role assignment PUT {granted.status_code}: {granted.text}")
            writes.add(writes.assignments, assignment)
        except (requests.RequestException, ValueError, KeyError):
            writes.failures_after_kill += 1  # the emulator is gone: this write was never acknowledged
            return


def blob_container(profile: dict[str, Any]) -> Any:
    """The declared container, through the account key, with no retries: a write the kill interrupts fails."""
    from azure.storage.blob import BlobServiceClient

    account = profile["extra"]["storage"]["accounts"][0]
    return BlobServiceClient(f"{profile['endpoints']['blob']}/{account['name']}", retry_total=0,
                             credential={"account_name": account["name"], "account_key": account["keys"][0]},
                             connection_verify=profile["ca_bundle"]).get_container_client("mi-workbook")


def blob_writer(profile: dict[str, Any], writes: Writes, size: int) -> None:
    from azure.core.exceptions import AzureError

    container = blob_container(profile)
    while not writes.stop.is_set():
        name, data = f"durable-{size}-{uuid.uuid4().hex[:12]}", os.urandom(size)
        try:
            container.upload_blob(name, data, timeout=5)
        except AzureError:
            writes.failures_after_kill += 1
            return
        with writes.lock:
            writes.blobs[name] = hashlib.sha256(data).hexdigest()


def blobs_as_written(profile: dict[str, Any], written: dict[str, str]) -> set[str]:
    from azure.core.exceptions import ResourceNotFoundError

    container, found = blob_container(profile), set()
    for name, digest in written.items():
        with contextlib.suppress(ResourceNotFoundError):
            if hashlib.sha256(container.download_blob(name).readall()).hexdigest() == digest:
                found.add(name)
    return found


def sql_writer(profile: dict[str, Any], token: str, writes: Writes, transactions: bool) -> None:
    try:
        connection = sql.connect(token, profile["endpoints"]["sql"], "workbookdb", ca_file=profile["ca_bundle"],
                                 autocommit=not transactions, timeout=5)
    except pyodbc.Error:
        writes.failures_after_kill += 1
        return
    try:
        while not writes.stop.is_set():
            tags = [uuid.uuid4().hex for _ in range(3 if transactions else 1)]
            for tag in tags:
                connection.execute("INSERT INTO dbo.Durable (Tag) VALUES (?)", tag)
            if transactions:
                connection.commit()
            for tag in tags:
                writes.add(writes.rows, tag)
    except pyodbc.Error:
        writes.failures_after_kill += 1
    finally:
        with contextlib.suppress(pyodbc.Error):
            connection.close()


def main() -> int:
    data_dir, seconds = Path(sys.argv[1]), float(sys.argv[2])
    at_least_assignments, at_least_rows = int(sys.argv[3]), int(sys.argv[4])
    log = data_dir.parent / "emulator.log"
    started = time.monotonic()
    process, profile = start(data_dir, log)
    arm_token = admin_token(profile, "https://management.azure.com/")
    sql_token = admin_token(profile, "https://database.windows.net/")
    with sql.connect(sql_token, profile["endpoints"]["sql"], "workbookdb", ca_file=profile["ca_bundle"],
                     autocommit=True) as admin:
        admin.execute("CREATE TABLE dbo.Durable (Id INT IDENTITY(1,1) PRIMARY KEY, Tag NVARCHAR(64) NOT NULL)")
    writes = Writes()
    threads = [threading.Thread(target=arm_writer, args=(profile, arm_token, writes)) for _ in range(2)]
    threads += [threading.Thread(target=sql_writer, args=(profile, sql_token, writes, transactions))
                for transactions in (False, False, True)]
    threads += [threading.Thread(target=blob_writer, args=(profile, writes, size)) for size in (1024, 100 * 1024)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    deadline = time.monotonic() + 30  # a loaded machine writes slowly: the kill waits for enough acknowledged writes
    while (len(writes.assignments) < at_least_assignments or len(writes.rows) < at_least_rows) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # in the middle of the writes
    process.wait()
    killed_at = {"identities": len(writes.identities), "assignments": len(writes.assignments),
                 "rows": len(writes.rows), "blobs": len(writes.blobs)}
    writes.stop.set()
    for thread in threads:
        thread.join(timeout=10)

    process, profile = start(data_dir, log, previous_pid=process.pid)
    try:
        arm_token = admin_token(profile, "https://management.azure.com/")
        sql_token = admin_token(profile, "https://database.windows.net/")
        base = profile["endpoints"]["arm"]
        group = f"/subscriptions/{profile['subscription_id']}/resourceGroups/{profile['resource_group']}"
        listed = requests.get(f"{base}{group}/providers/Microsoft.Authorization/roleAssignments",
                              params={"api-version": RA_API}, headers={"Authorization": f"Bearer {arm_token}"},
                              verify=profile["ca_bundle"], timeout=10)
        listed.raise_for_status()
        assignments = {a["name"] for a in listed.json()["value"]}
        identities = set()
        for name in writes.identities:
            found = requests.get(f"{base}{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
                                 params={"api-version": MI_API}, headers={"Authorization": f"Bearer {arm_token}"},
                                 verify=profile["ca_bundle"], timeout=10)
            if found.status_code == 200:
                identities.add(name)
        with sql.connect(sql_token, profile["endpoints"]["sql"], "workbookdb", ca_file=profile["ca_bundle"],
                         autocommit=True) as admin:
            rows = {r[0] for r in admin.execute("SELECT Tag FROM dbo.Durable").fetchall()}
        blobs = blobs_as_written(profile, writes.blobs)
    finally:
        process.terminate()
        process.wait(timeout=10)
    integrity = {path.name: sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
                 for path in sorted(data_dir.rglob("*.sqlite3"))}
    print(json.dumps({
        "acknowledged": {"identities": len(writes.identities), "assignments": len(writes.assignments),
                         "rows": len(writes.rows),
                         "small_blobs": sum(n.startswith("durable-1024-") for n in writes.blobs),
                         "large_blobs": sum(n.startswith("durable-102400-") for n in writes.blobs)},
        "at_kill": killed_at,
        "missing": {"identities": sorted(set(writes.identities) - identities),
                    "assignments": sorted(set(writes.assignments) - assignments),
                    "rows": sorted(set(writes.rows) - rows),
                    "blobs": sorted(set(writes.blobs) - blobs)},
        "writers_stopped_by_the_kill": writes.failures_after_kill,
        "integrity": integrity,
        "seconds": round(time.monotonic() - started, 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
