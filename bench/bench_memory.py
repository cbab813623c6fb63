"""The emulator's memory through issue 11's memory cases, printed (resident set size of the emulator's
own process, read from /proc, so Linux only). Loopback only; every loop is bounded.

Cases, in order, on one emulator (``python -m emulator serve --in-memory --no-throttling``):
1. four concurrent 250 MiB unauthenticated token requests (declared Content-Length), and four chunked;
2. a 300 MiB body to Resource Manager (declared, and chunked), and 120 unauthenticated 4 MiB bodies;
3. 200 sockets that trickle their headers (a byte every 100 ms) for 2 s;
4. N distinct resource strings asked of IMDS (wildcard hosts: https://r<i>.vault.azure.net);
5. an identity with the most tags ARM allows, assigned to the VM, then token requests, and four
   concurrent 3.9 MiB tag bodies (refused).

Run: ``.venv/bin/python bench/bench_memory.py [distinct resources, default 100000]``.
tests/emulator/test_hardening_memory.py runs the same cases with fewer resources and asserts the
emulator stays under 200 MiB.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MOST_TAGS, admin_token, loopback_session, spawn, stop  # noqa: E402

MIB = 1024 * 1024
TOKEN_PATH = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of ``pid`` in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _connect(url: str, ca: str) -> socket.socket:
    parts = urllib.parse.urlsplit(url)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=30)
    if parts.scheme == "https":
        return ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname=parts.hostname)
    return raw


def big_upload(url: str, ca: str, method: str, path: str, size: int, chunked: bool,
               extra_headers: str = "") -> tuple[int, int]:
    """Send a ``size``-byte body (declared or chunked) until the server answers; (status, bytes sent)."""
    host = urllib.parse.urlsplit(url).netloc
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}{framing}\r\n\r\n".encode()
    block = b"x" * MIB
    sent = 0
    with _connect(url, ca) as stream:
        stream.sendall(head)
        stream.settimeout(0.0001)
        answer = b""
        try:
            while sent < size:
                stream.settimeout(30)
                stream.sendall(f"{MIB:x}\r\n".encode() + block + b"\r\n" if chunked else block)
                sent += MIB
                stream.settimeout(0.001)
                try:
                    answer = stream.recv(4096)
                    if answer:
                        break
                except (TimeoutError, ssl.SSLWantReadError, BlockingIOError):
                    pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            pass
        if not answer:
            stream.settimeout(10)
            try:
                answer = stream.recv(4096)
            except (OSError, ssl.SSLError):
                answer = b""
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0
    return status, sent


def trickle(url: str, sockets: int, seconds: float) -> dict[str, int]:
    """Open ``sockets`` connections that each send a header byte every 100 ms for ``seconds``; count those
    the listener refused at once (503, over its connection cap) and those it still held at the end."""
    parts = urllib.parse.urlsplit(url)
    opened = []
    for _ in range(sockets):
        connection = socket.create_connection((parts.hostname, parts.port), timeout=5)
        connection.sendall(b"GET " + TOKEN_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        opened.append(connection)
    time.sleep(0.3)
    outcome = {"refused_503": 0, "held_to_the_end": 0, "closed_early": 0}
    trickling = []
    for connection in opened:
        connection.setblocking(False)
        try:
            first = connection.recv(100, socket.MSG_PEEK)
        except BlockingIOError:
            trickling.append(connection)
            continue
        except OSError:
            first = b""
        outcome["refused_503" if first.startswith(b"HTTP/1.1 503") else "closed_early"] += 1
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for connection in trickling:
            with contextlib.suppress(OSError):  # a socket the listener closed: counted below
                connection.send(b"X")
        time.sleep(0.1)
    for connection in trickling:
        try:
            still_open = connection.recv(100, socket.MSG_PEEK) is None
        except BlockingIOError:
            still_open = True
        except OSError:
            still_open = False
        outcome["held_to_the_end" if still_open else "closed_early"] += 1
    for connection in opened:
        connection.close()
    return outcome


def unauthenticated_arm_bodies(arm: str, ca: str, path: str, connections: int) -> dict[int, int]:
    """``connections`` concurrent 4 MiB chunked bodies without a token: refused before they are buffered."""
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: big_upload(arm, ca, "PUT", path, 4 * MIB, True,
                                                     "Content-Type: application/json\r\n"), range(connections)))
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def distinct_resources(imds: str, count: int, threads: int = 4) -> dict[int, int]:
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def work(offset: int) -> None:
        session = requests.Session()
        session.trust_env = False
        local: dict[int, int] = {}
        for index in range(offset, count, threads):
            for _ in range(3):  # a 503 is the connection cap while the previous case's sockets still close
                answer = session.get(f"{imds}/metadata/identity/oauth2/token", headers={"Metadata": "true"},
                                     params={"api-version": "2018-02-01", "resource": f"https://r{index}.vault.azure.net"},
                                     timeout=30)
                if answer.status_code != 503:
                    break
                time.sleep(0.5)
            local[answer.status_code] = local.get(answer.status_code, 0) + 1
        with lock:
            for status, seen in local.items():
                statuses[status] = statuses.get(status, 0) + seen

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return statuses


def tags_case(profile: dict[str, Any]) -> dict[str, Any]:
    session = loopback_session(profile["ca_bundle"])
    arm, imds = profile["endpoints"]["arm"], profile["endpoints"]["imds"]
    headers = {"Authorization": f"Bearer {admin_token(profile, 'https://management.azure.com/')}"}
    group = f"/subscriptions/{profile['subscription_id']}/resourceGroups/{profile['resource_group']}"
    identity = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
    created = session.put(f"{arm}{identity}?api-version=2023-01-31", headers=headers, timeout=30,
                          json={"location": profile["location"], "tags": MOST_TAGS})
    vm = f"{group}/providers/Microsoft.Compute/virtualMachines/{profile['vm_name']}"
    session.patch(f"{arm}{vm}?api-version=2024-03-01", headers=headers, timeout=30,
                  json={"identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {identity: {}}}})
    client_id = created.json()["properties"]["clientId"]
    tokens = [session.get(f"{imds}/metadata/identity/oauth2/token", headers={"Metadata": "true"}, timeout=30,
                          params={"api-version": "2018-02-01", "resource": "https://management.azure.com/",
                                  "client_id": client_id}).status_code for _ in range(200)]
    huge = json.dumps({"location": profile["location"],
                       "tags": {f"t{n}": "v" * 250 for n in range(15_000)}}).encode()  # about 3.9 MiB

    def refused(_: int) -> int:
        return session.put(f"{arm}{identity}?api-version=2023-01-31", headers={**headers, "Content-Type":
                           "application/json"}, data=huge, timeout=60).status_code

    with ThreadPoolExecutor(4) as pool:
        refusals = list(pool.map(refused, range(4)))
    return {"identity": created.status_code, "tokens_200": tokens.count(200), "huge_bodies": refusals,
            "body_mib": round(len(huge) / MIB, 2)}


def run_cases(process_pid: int, profile: dict[str, Any], resources: int,
              report: Callable[[str], None] = print) -> dict[str, float]:
    """Run the cases on a running emulator; returns the peak RSS (MiB) after each case."""
    imds, arm, ca = profile["endpoints"]["imds"], profile["endpoints"]["arm"], profile["ca_bundle"]
    peaks: dict[str, float] = {}

    def measure(case: str, detail: Any) -> None:
        current, peak = rss_mib(process_pid)
        peaks[case] = peak
        report(f"{case:44} RSS {current:6.1f} MiB, peak so far {peak:6.1f} MiB   {detail}")

    measure("started", "")
    with ThreadPoolExecutor(8) as pool:
        uploads = list(pool.map(lambda chunked: big_upload(imds, ca, "GET", TOKEN_PATH, 250 * MIB, chunked,
                                                           "Metadata: true\r\n"), [False] * 4 + [True] * 4))
    measure("4+4 concurrent 250 MiB token requests", [(status, f"{sent // MIB} MiB sent") for status, sent in uploads])
    group = f"/subscriptions/{profile['subscription_id']}/resourceGroups/{profile['resource_group']}"
    arm_path = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Big?api-version=2023-01-31"
    big = [big_upload(arm, ca, "PUT", arm_path, 300 * MIB, chunked, "Content-Type: application/json\r\n")
           for chunked in (False, True)]
    measure("300 MiB body to ARM (declared, chunked)", [(status, f"{sent // MIB} MiB sent") for status, sent in big])
    measure("120 unauthenticated 4 MiB bodies to ARM", unauthenticated_arm_bodies(arm, ca, arm_path, 120))
    measure("200 trickling sockets for 2 s", trickle(imds, 200, 2.0))
    began = time.monotonic()
    statuses = distinct_resources(imds, resources)
    measure(f"{resources} distinct resources", f"{statuses} in {time.monotonic() - began:.0f} s")
    measure("most tags ARM allows, tokens, 4×3.9 MiB tags", tags_case(profile))
    return peaks


def main() -> None:
    resources = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        process, _ = spawn(Path(folder), "--no-throttling")
        try:
            profile = json.loads((Path(folder) / "profile.json").read_text())
            peaks = run_cases(process.pid, profile, resources)
            print(f"peak RSS of the emulator through all cases: {max(peaks.values()):.1f} MiB (floor: under 200 MiB)")
        finally:
            stop(process)


if __name__ == "__main__":
    main()
