"""Blob Storage, side by side with Azurite: the same workloads from the same client, one server at a time.

    .venv/bin/python bench/storage_bench.py [--ops 300] [--big-mib 256] [--start-runs 5]

Azurite (Microsoft's storage emulator) is installed with npm into ~/.cache/mi-workbook/azurite the
first time (never by the tests or CI) and started as ``azurite-blob`` with HTTPS (the emulator's own
certificate and key, so both pay the same TLS), ``--oauth basic --skipApiVersionCheck
--disableTelemetry --inMemoryPersistence`` on loopback. The emulator runs as ``azure-emulator serve
--in-memory`` in its own process, as the workbook runs it. After npm, the bench re-runs itself in a
loopback-only network namespace (when it can make one) so neither server can send a packet off the
machine.

Client: azure-storage-blob with a bearer token (a managed-identity token from the emulator's IMDS,
held fixed so the token source costs neither server anything). The emulator verifies its signature
and checks RBAC on every request; Azurite ("--oauth basic") decodes it without checking the signature.

Workloads: start to first answer (median of --start-runs, the two servers started in turn); 1 KiB put
then get, sequential (pairs per second, p50/p99 of each; then the same with a minimal client, and the
server process's CPU per pair under it: what each server costs, apart from the SDK's own time, which
is most of a pair's); 256 MiB upload and download (4 MiB blocks, 4
at a time), MiB/s, best of --big-rounds; resident memory of the server process sampled every 20 ms
during the big transfers, and before them (idle). Both servers run side by side and the workloads
alternate between them round by round, so a machine shared with other work slows both alike.
Prints one table with the ratios and the issue's floors.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from netns import NoNamespace, check_namespaces, loopback_only  # noqa: E402

CACHE = Path(os.environ.get("WORKBOOK_AZURITE_CACHE", Path.home() / ".cache" / "mi-workbook" / "azurite"))
AZURITE_VERSION = "3"
ISOLATED = "MI_WORKBOOK_BENCH_ISOLATED"
MIB = 1024 * 1024
CPU_ROUNDS, CPU_ROUND_PAIRS = 4, 250  # the server-CPU measure: 1,000 minimal-client pairs per server
STORAGE = "https://storage.azure.com/"
CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # Storage Blob Data Contributor
# A learner's Python caches compiled modules (__pycache__) after the first start, as node keeps Azurite's
# compiled code in memory only per start; a shell that forbids the cache would time compilation instead.
BYTECODE_ALLOWED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def azurite_binary() -> Path:
    binary = CACHE / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"installing azurite@{AZURITE_VERSION} into {CACHE} (npm) …", flush=True)
        subprocess.run(["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--loglevel=error",
                        f"azurite@{AZURITE_VERSION}"], check=True)
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_answer(port: int, ca: Path | None, process: subprocess.Popen[bytes], started: float) -> float:
    """Seconds from ``started`` until the port answers an HTTPS request (any status)."""
    context = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()  # noqa: S323
    request = b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited during start (code {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as raw, \
                    context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(request)
                if tls.recv(12).startswith(b"HTTP/1.1"):
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.002)


# -- the two servers ---------------------------------------------------------------------------------------
class Server:
    def __init__(self, name: str, process: subprocess.Popen[bytes], url: str, start_seconds: float) -> None:
        self.name = name
        self.process = process
        self.url = url
        self.start_seconds = start_seconds

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_emulator(data_dir: Path) -> Server:
    port = free_port()
    others = [arg for name in ("imds", "login", "arm", "dfs", "datalake", "keyvault", "sql")
              for arg in (f"--{name}-port", "0")]
    (data_dir / "profile.json").unlink(missing_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--data-dir", str(data_dir), "--in-memory",
                                "--no-throttling", "--blob-port", str(port), *others],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=BYTECODE_ALLOWED)
    seconds = first_answer(port, None, process, started)
    return Server("emulator", process, f"https://127.0.0.1:{port}/miworkbookstore", seconds)


def start_azurite(binary: Path, certificate: Path, key: Path, workdir: Path) -> Server:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--cert",
                                str(certificate), "--key", str(key), "--oauth", "basic", "--skipApiVersionCheck",
                                "--disableTelemetry", "--inMemoryPersistence", "--silent"],
                               cwd=workdir,  # where Azurite writes whatever it writes besides memory
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = first_answer(port, None, process, started)
    return Server("Azurite", process, f"https://127.0.0.1:{port}/devstoreaccount1", seconds)


def median_starts(starters: dict[str, Callable[[], Server]], runs: int) -> dict[str, float]:
    """Median start of each server, the servers started in turn (so a busy machine slows both alike)."""
    times: dict[str, list[float]] = {name: [] for name in starters}
    for start in starters.values():
        start().stop()  # warm-up: certificates made, modules in the page cache
    for _ in range(runs):
        for name, start in starters.items():
            server = start()
            times[name].append(server.start_seconds)
            server.stop()
    return {name: statistics.median(found) for name, found in times.items()}


def serve_null(port: int, certificate: str, key: str) -> None:
    """A server that does no storage work: keeps one body in memory and answers with the response headers
    Azure sends for Put Blob and Get Blob (the emulator and Azurite send the same ones), since the SDK's
    work grows with each header it reads. Its figures are the client's own cost, the part of a put+get no
    server can remove."""
    import base64
    import hashlib

    from aiohttp import web

    bodies: dict[str, bytes] = {}
    stamp = "Thu, 03 Dec 2026 08:00:00 GMT"
    common = {"ETag": '"0x8DE0000000000000"', "Last-Modified": stamp, "x-ms-version": "2026-10-06",
              "x-ms-request-id": "00000000-0000-0000-0000-000000000000"}
    properties = {"x-ms-creation-time": stamp, "x-ms-blob-type": "BlockBlob", "x-ms-lease-status": "unlocked",
                  "x-ms-lease-state": "available", "x-ms-server-encrypted": "true", "x-ms-access-tier": "Hot",
                  "x-ms-access-tier-inferred": "true", "Accept-Ranges": "bytes",
                  "Content-Type": "application/octet-stream"}

    async def handle(request: web.Request) -> web.Response:
        echo = {"x-ms-client-request-id": request.headers.get("x-ms-client-request-id", "")}
        if request.method == "PUT":
            body = bodies[request.path] = await request.read()
            md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - Content-MD5, as Azure
            return web.Response(status=201, headers={**common, **echo, "Content-MD5": md5,
                                                     "x-ms-request-server-encrypted": "true"})
        body = bodies.get(request.path, b"")
        headers = {**common, **echo, **properties}
        if "x-ms-range" in request.headers:
            headers["Content-Range"] = f"bytes 0-{len(body) - 1}/{len(body)}"
            headers["x-ms-blob-content-md5"] = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
            return web.Response(status=206, body=body, headers=headers)
        return web.Response(status=200, body=body, headers=headers)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, ssl_context=context, print=None, access_log=None)


def start_null(certificate: Path, key: Path) -> Server:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--null-server", str(port),
                                str(certificate), str(key)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=BYTECODE_ALLOWED)
    seconds = first_answer(port, None, process, started)
    return Server("null server", process, f"https://127.0.0.1:{port}/nullaccount", seconds)


# -- the client ----------------------------------------------------------------------------------------------
class FixedToken:
    """A credential that hands out one token (the emulator's IMDS made it): no token cost in the figures."""

    def __init__(self, token: str, expires_on: int) -> None:
        from azure.core.credentials import AccessToken

        self._token = AccessToken(token, expires_on)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._token


def vm_token_with_contributor(data_dir: Path) -> FixedToken:
    """Grant the VM's identity Storage Blob Data Contributor (as the admin) and take its storage token."""
    profile = json.loads((data_dir / "profile.json").read_text())
    http = requests.Session()
    http.trust_env = False
    http.verify = profile["ca_bundle"]
    admin = http.post(f"{profile['endpoints']['login']}/{profile['tenant_id']}/oauth2/v2.0/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": profile["admin"]["clientId"],
        "client_secret": profile["admin"]["clientSecret"], "scope": "https://management.azure.com/.default"}).json()
    scope = (f"/subscriptions/{profile['subscription_id']}/resourceGroups/{profile['resource_group']}"
             "/providers/Microsoft.Storage/storageAccounts/miworkbookstore")
    granted = http.put(f"{profile['endpoints']['arm']}{scope}/providers/Microsoft.Authorization/roleAssignments/"
                       f"{uuid.uuid4()}", params={"api-version": "2022-04-01"}, timeout=10,
                       headers={"Authorization": f"Bearer {admin['access_token']}"}, json={"properties": {
                           "roleDefinitionId": f"/subscriptions/{profile['subscription_id']}/providers/"
                                               f"Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}",
                           "principalId": profile_vm_principal(data_dir), "principalType": "ServicePrincipal"}})
    granted.raise_for_status()
    token = http.get(f"{profile['endpoints']['imds']}/metadata/identity/oauth2/token", headers={"Metadata": "true"},
                     params={"api-version": "2018-02-01", "resource": STORAGE}, timeout=10).json()
    return FixedToken(token["access_token"], int(token["expires_on"]))


def profile_vm_principal(data_dir: Path) -> str:
    world = json.loads((ROOT / "emulator" / "world.json").read_text())
    return str(world["virtualMachine"]["systemAssignedIdentity"]["principalId"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Discard:
    """A seekable sink (parallel downloads seek) that only counts: the client keeps no 256 MiB copy."""

    def __init__(self) -> None:
        self.size = 0
        self._position = 0

    def seekable(self) -> bool:
        return True

    def seek(self, position: int, whence: int = 0) -> int:
        self._position = position
        return position

    def tell(self) -> int:
        return self._position

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self._position += len(data)
        return len(data)


class Subject:
    """One server under load: its container, the figures gathered so far."""

    def __init__(self, server: Server, credential: FixedToken, ca: Path) -> None:
        from azure.storage.blob import BlobServiceClient

        self.server = server
        service = BlobServiceClient(server.url, credential=credential, connection_verify=str(ca))
        self.container = service.get_container_client(f"bench{uuid.uuid4().hex[:8]}")
        self.container.create_container()
        self.small = self.container.get_blob_client("small.bin")
        self.large = self.container.get_blob_client("large.bin")
        self.puts: list[float] = []
        self.gets: list[float] = []
        self.raw_pairs: list[float] = []
        self.raw_cpu = 0.0  # seconds of the server process's CPU during the CPU rounds' pairs (minimal client)
        self.raw_cpu_pairs = 0
        self._token = credential.get_token(STORAGE).token
        self._ca = ca
        self.uploads: list[float] = []
        self.downloads: list[float] = []
        self.peak = 0
        self.idle = 0

    def small_pairs(self, count: int, payload: bytes, record: bool = True) -> None:
        for _ in range(count):
            began = time.perf_counter()
            self.small.upload_blob(payload, overwrite=True)
            uploaded = time.perf_counter()
            assert self.small.download_blob().readall() == payload
            if record:
                self.puts.append(uploaded - began)
                self.gets.append(time.perf_counter() - uploaded)

    def raw_pairs_round(self, count: int, payload: bytes, *, cpu: bool = False) -> None:
        """The same put+get with a minimal client (http.client, one kept-alive connection): what the server
        costs, without azure-storage-blob's own per-request work. ``cpu``: count the server process's CPU time
        over the round instead of timing each pair (long rounds: the clock ticks in 10 ms)."""
        import http.client

        host, _, rest = self.server.url.removeprefix("https://").partition("/")
        path = f"/{rest}/{self.container.container_name}/raw.bin"
        connection = http.client.HTTPSConnection(host, context=ssl.create_default_context(cafile=str(self._ca)))
        headers = {"Authorization": f"Bearer {self._token}", "x-ms-version": "2026-10-06"}
        server = psutil.Process(self.server.process.pid)
        before = server.cpu_times()
        try:
            for _ in range(count):
                began = time.perf_counter()
                connection.request("PUT", path, body=payload, headers={**headers, "x-ms-blob-type": "BlockBlob"})
                put = connection.getresponse()
                put.read()
                connection.request("GET", path, headers=headers)
                got = connection.getresponse()
                assert put.status == 201 and got.read() == payload, (put.status, got.status)
                if not cpu:
                    self.raw_pairs.append(time.perf_counter() - began)
            if cpu:
                after = server.cpu_times()
                self.raw_cpu += (after.user + after.system) - (before.user + before.system)
                self.raw_cpu_pairs += count
        finally:
            connection.close()

    def big_round(self, big: bytes) -> None:
        sampling = threading.Event()
        samples = [self.server.rss()]

        def sample() -> None:
            while not sampling.is_set():
                try:
                    samples.append(self.server.rss())
                except psutil.Error:
                    return  # the server is gone; the workload reports why
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.perf_counter()
        self.large.upload_blob(big, max_concurrency=4, overwrite=True)
        uploaded = time.perf_counter()
        sink = _Discard()
        self.large.download_blob(max_concurrency=4).readinto(sink)
        done = time.perf_counter()
        sampling.set()
        sampler.join()
        assert sink.size == len(big)
        self.uploads.append(len(big) / MIB / (uploaded - began))
        self.downloads.append(len(big) / MIB / (done - uploaded))
        self.peak = max(self.peak, *samples)

    def figures(self) -> dict[str, float]:
        return {"ops": len(self.puts) / (sum(self.puts) + sum(self.gets)),
                "raw_ops": len(self.raw_pairs) / sum(self.raw_pairs),
                "raw_cpu": 1000 * self.raw_cpu / self.raw_cpu_pairs,
                "put_p50": percentile(self.puts, 0.5), "put_p99": percentile(self.puts, 0.99),
                "get_p50": percentile(self.gets, 0.5), "get_p99": percentile(self.gets, 0.99),
                "upload": max(self.uploads), "download": max(self.downloads),
                "idle_rss": self.idle / MIB, "peak_rss": self.peak / MIB}


def interleaved(subjects: list[Subject], ops: int, big: bytes, rounds: int, big_rounds: int,
                extra: Subject) -> None:
    """Both servers run side by side; the workloads alternate between them round by round (``extra``, the
    null server, takes its turn in the small rounds only)."""
    payload = os.urandom(1024)
    small = [*subjects, extra]
    for subject in small:
        subject.small_pairs(20, payload, record=False)  # warm the connection and both servers' code paths
    for index in range(rounds):
        for subject in small if index % 2 == 0 else reversed(small):
            subject.small_pairs(ops // rounds, payload)
            subject.raw_pairs_round(ops // rounds, payload)
    for subject in subjects:
        subject.idle = subject.server.rss()
    for index in range(big_rounds):
        for subject in subjects if index % 2 == 0 else reversed(subjects):
            subject.big_round(big)
    for index in range(CPU_ROUNDS):  # last: the memory figures above are taken as before
        for subject in subjects if index % 2 == 0 else reversed(subjects):
            subject.raw_pairs_round(CPU_ROUND_PAIRS, payload, cpu=True)


# -- the report ----------------------------------------------------------------------------------------------
def report(ours: dict[str, float], theirs: dict[str, float], big_mib: int, ops: int) -> None:
    def ratio(name: str) -> float:
        return ours[name] / theirs[name]

    rows = [
        ("start to first answer (s, median)", "start", "{:.3f}", "≤ 0.6×", ratio("start") <= 0.6),
        (f"1 KiB put+get pairs/s ({ops} sequential)", "ops", "{:.0f}", "≥ 1.5×", ratio("ops") >= 1.5),
        ("  put p50 / p99 (ms)", None, None, "", None),
        ("  get p50 / p99 (ms)", None, None, "", None),
        ("  the same with a minimal client (pairs/s)", "raw_ops", "{:.0f}", "", None),
        ("  server CPU per pair, minimal client (ms)", "raw_cpu", "{:.2f}", "", None),
        (f"{big_mib} MiB upload (MiB/s)", "upload", "{:.1f}", "≥ 1.0×", ratio("upload") >= 1.0),
        (f"{big_mib} MiB download (MiB/s)", "download", "{:.1f}", "≥ 1.0×", ratio("download") >= 1.0),
        ("server RSS idle (MiB)", "idle_rss", "{:.1f}", "", None),
        ("server RSS peak in the big transfer (MiB)", "peak_rss", "{:.1f}", "≤ 0.5×", ratio("peak_rss") <= 0.5),
    ]
    print(f"\n{'':46} {'emulator':>12} {'Azurite':>12} {'ratio':>8} {'floor':>8}  met")
    for label, key, shape, floor, met in rows:
        if key is None:
            kind = "put" if "put" in label else "get"
            pair = [f"{v[f'{kind}_p50'] * 1000:.2f} / {v[f'{kind}_p99'] * 1000:.2f}" for v in (ours, theirs)]
            print(f"{label:46} {pair[0]:>12} {pair[1]:>12}")
            continue
        print(f"{label:46} {shape.format(ours[key]):>12} {shape.format(theirs[key]):>12} {ratio(key):>7.2f}× "
              f"{floor:>8}  {'' if met is None else 'yes' if met else 'NO'}")
    growth = ours["peak_rss"] - ours["idle_rss"]
    print(f"{'emulator RSS growth in the big transfer (MiB)':46} {growth:>12.1f} "
          f"{theirs['peak_rss'] - theirs['idle_rss']:>12.1f} {'':>8} {'≤ 30':>8}  {'yes' if growth <= 30 else 'NO'}")


def run(args: argparse.Namespace) -> None:
    binary = azurite_binary()
    with tempfile.TemporaryDirectory(prefix="storage-bench-") as scratch:
        data_dir = Path(scratch) / "emulator"
        data_dir.mkdir()
        start_emulator(data_dir).stop()  # makes the certificates Azurite is given too
        certificate, key, ca = data_dir / "server.pem", data_dir / "server-key.pem", data_dir / "ca.pem"
        azurite_dir = Path(scratch) / "azurite"
        azurite_dir.mkdir()
        starts = median_starts({"emulator": lambda: start_emulator(data_dir),
                                "Azurite": lambda: start_azurite(binary, certificate, key, azurite_dir)},
                               args.start_runs)
        big = os.urandom(args.big_mib * MIB)
        emulator = start_emulator(data_dir)
        azurite = start_azurite(binary, certificate, key, azurite_dir)
        try:
            credential = vm_token_with_contributor(data_dir)
            null = start_null(certificate, key)
            subjects = [Subject(emulator, credential, ca), Subject(azurite, credential, ca)]
            floor = Subject(null, credential, ca)
            interleaved(subjects, args.ops, big, rounds=10, big_rounds=args.big_rounds, extra=floor)
            ours, theirs = (subject.figures() for subject in subjects)
            client_only = len(floor.puts) / (sum(floor.puts) + sum(floor.gets))
            raw_client_only = len(floor.raw_pairs) / sum(floor.raw_pairs)
        finally:
            emulator.stop()
            azurite.stop()
            null.stop()
    ours["start"], theirs["start"] = starts["emulator"], starts["Azurite"]
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Blob Storage: the emulator vs Azurite {version}, azure-storage-blob with a bearer token, "
          f"{os.cpu_count()} CPUs (load average {load:.1f}), "
          f"{'loopback-only namespace' if os.environ.get(ISOLATED) else 'host network'}; both servers up, "
          f"workloads alternating between them; big transfers: best of {args.big_rounds}")
    report(ours, theirs, args.big_mib, args.ops)
    print(f"\nThe client's own share: against a server that does no storage work but answers with Azure's "
          f"headers, azure-storage-blob manages "
          f"{client_only:.0f} put+get pairs/s ({1000 / client_only:.2f} ms a pair) and the minimal client "
          f"{raw_client_only:.0f}. Even a server that took no time at all would reach "
          f"{client_only / theirs['ops']:.2f}× Azurite's {theirs['ops']:.0f} pairs/s with this client; "
          f"1.5× needs the emulator's own share of a pair under "
          f"{max(0.0, 1000 / (1.5 * theirs['ops']) - 1000 / client_only):.2f} ms (now "
          f"{1000 / ours['ops'] - 1000 / client_only:.2f} ms; Azurite's "
          f"{1000 / theirs['ops'] - 1000 / client_only:.2f} ms).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=300, help="1 KiB put+get pairs (after 20 warm-up pairs)")
    parser.add_argument("--big-mib", type=int, default=256, help="size of the large upload/download")
    parser.add_argument("--start-runs", type=int, default=5, help="starts of each server (median)")
    parser.add_argument("--big-rounds", type=int, default=2, help="large upload+download rounds per server")
    parser.add_argument("--null-server", nargs=3, metavar=("PORT", "CERT", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.null_server:
        serve_null(int(args.null_server[0]), args.null_server[1], args.null_server[2])
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        sys.exit("Node.js and npm are needed to run Azurite (Debian: apt-get install nodejs npm).")
    azurite_binary()  # npm needs the network: before isolating
    if not os.environ.get(ISOLATED):
        try:
            check_namespaces()
        except NoNamespace as reason:
            print(f"(no loopback-only namespace: {reason}; running on the host network, loopback addresses only)")
        else:
            command = loopback_only([sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])
            sys.exit(subprocess.run(command, env={**os.environ, ISOLATED: "1"}).returncode)
    run(args)


if __name__ == "__main__":
    main()
