"""Emulator and IMDS figures, printed (not asserted). Loopback only.

1. emulator start → first answer (a new process running ``python -m emulator serve``), median of runs;
2. IMDS token latency p50/p99 and throughput, throttling off;
3. ``lib.imds`` vs azure-identity ``ManagedIdentityCredential`` on the same emulator, same run:
   cached ``get_token`` and cold (new client each time) ``get_token``, with the ratio;
4. IMDS token latency with ID1 assigned among 40 user-assigned identities that carry the most tags ARM
   allows (a token request reads the VM's own identities only, so the others cost nothing).

Run: ``.venv/bin/python bench/bench_imds.py`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from common import MOST_TAGS, admin_token, loopback_session, percentile, spawn, stop

RESOURCE = "https://management.azure.com/"
START_RUNS = 5
LATENCY_REQUESTS = 2000
THROUGHPUT_SECONDS = 3.0
THROUGHPUT_THREADS = 4
CACHED_CALLS = 20000
COLD_CALLS = 300


def bench_start(data_dir: Path) -> None:
    times = []
    for _ in range(START_RUNS):
        process, seconds = spawn(data_dir)
        times.append(seconds)
        stop(process)
    print(f"emulator start → first token answer: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; {START_RUNS} runs; "
          "includes Python start-up and imports; floor 500 ms)")


def bench_latency(imds: str) -> None:
    session = requests.Session()
    url = f"{imds}/metadata/identity/oauth2/token"
    params = {"api-version": "2018-02-01", "resource": RESOURCE}
    latencies = []
    for _ in range(LATENCY_REQUESTS):
        began = time.perf_counter()
        answer = session.get(url, params=params, headers={"Metadata": "true"}, timeout=5)
        latencies.append(time.perf_counter() - began)
        assert answer.status_code == 200, answer.text
    print(f"IMDS token latency (keep-alive, throttling off, {LATENCY_REQUESTS} requests): "
          f"p50 {percentile(latencies, 0.5) * 1000:.2f} ms, p99 {percentile(latencies, 0.99) * 1000:.2f} ms "
          "(floor: p50 ≤ 5 ms)")

    count = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + THROUGHPUT_SECONDS

    def worker() -> None:
        nonlocal count
        own = requests.Session()
        done = 0
        while time.perf_counter() < deadline:
            own.get(url, params=params, headers={"Metadata": "true"}, timeout=5)
            done += 1
        with lock:
            count += done

    threads = [threading.Thread(target=worker) for _ in range(THROUGHPUT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"IMDS token throughput ({THROUGHPUT_THREADS} client threads, {THROUGHPUT_SECONDS:.0f} s): "
          f"{count / THROUGHPUT_SECONDS:.0f} requests/s")


def per_call(function, calls: int) -> float:
    began = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - began) / calls


def bench_clients(imds: str) -> None:
    os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = imds
    for name in ("IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT"):
        os.environ.pop(name, None)
    from azure.identity import ManagedIdentityCredential

    from lib import imds as lib_imds

    client = lib_imds.ImdsClient(imds)
    credential = ManagedIdentityCredential()
    client.get_token(RESOURCE)
    credential.get_token(RESOURCE + ".default")
    ours = per_call(lambda: client.get_token(RESOURCE), CACHED_CALLS)
    theirs = per_call(lambda: credential.get_token(RESOURCE + ".default"), CACHED_CALLS)
    print(f"cached get_token: lib.imds {ours * 1e6:.2f} µs, azure-identity {theirs * 1e6:.2f} µs "
          f"→ lib is {theirs / ours:.0f}× faster (floor ≥ 10×)")
    ours_cold = per_call(lambda: lib_imds.ImdsClient(imds).get_token(RESOURCE), COLD_CALLS)
    theirs_cold = per_call(lambda: ManagedIdentityCredential().get_token(RESOURCE + ".default"), COLD_CALLS)
    print(f"cold get_token (new client each call): lib.imds {ours_cold * 1000:.2f} ms, "
          f"azure-identity {theirs_cold * 1000:.2f} ms → ratio {theirs_cold / ours_cold:.1f}×")


def bench_many_identities(profile: dict) -> None:
    session = loopback_session(profile["ca_bundle"])
    arm, imds = profile["endpoints"]["arm"], profile["endpoints"]["imds"]
    headers = {"Authorization": f"Bearer {admin_token(profile, RESOURCE)}"}
    group = f"/subscriptions/{profile['subscription_id']}/resourceGroups/{profile['resource_group']}"
    identities = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    for name in ["ID1", *(f"Other{n}" for n in range(40))]:
        answer = session.put(f"{arm}{identities}/{name}?api-version=2023-01-31", headers=headers, timeout=30,
                             json={"location": profile["location"], "tags": MOST_TAGS})
        assert answer.status_code in (200, 201), answer.text[:200]
    vm = f"{group}/providers/Microsoft.Compute/virtualMachines/{profile['vm_name']}"
    session.patch(f"{arm}{vm}?api-version=2024-03-01", headers=headers, timeout=30, json={"identity": {
        "type": "UserAssigned", "userAssignedIdentities": {f"{identities}/ID1": {}}}}).raise_for_status()
    url, latencies = f"{imds}/metadata/identity/oauth2/token", []
    for _ in range(LATENCY_REQUESTS // 2):
        began = time.perf_counter()
        answer = session.get(url, params={"api-version": "2018-02-01", "resource": RESOURCE},
                             headers={"Metadata": "true"}, timeout=5)
        latencies.append(time.perf_counter() - began)
        assert answer.status_code == 200, answer.text
    print(f"IMDS token latency, ID1 among 41 identities with 50 tags of 512+256 characters each: "
          f"p50 {percentile(latencies, 0.5) * 1000:.2f} ms, p99 {percentile(latencies, 0.99) * 1000:.2f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        first, seconds = spawn(data_dir)  # first start in a new data dir also creates CA and signing key
        stop(first)
        print(f"first start in a new data dir (creates CA, certificate, signing key): {seconds * 1000:.0f} ms")
        bench_start(data_dir)
        process, _ = spawn(data_dir, "--no-throttling")
        try:
            profile = json.loads((data_dir / "profile.json").read_text())
            imds = profile["endpoints"]["imds"]
            bench_latency(imds)
            bench_clients(imds)
            bench_many_identities(profile)
        finally:
            stop(process)


if __name__ == "__main__":
    main()
