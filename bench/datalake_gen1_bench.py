"""Benchmark of the emulated Data Lake Gen1 (WebHDFS) endpoint, loopback only. Prints figures; asserts nothing.

The emulator runs in its own process (``serve --in-memory``: contents in a temporary folder).

1. One 256 MiB file written as Gen1 clients write it (CREATE with the first 4 MB, then 4 MB APPENDs
   at the right offsets), then read back with one streamed OPEN; throughput, and the emulator's RSS
   sampled all along against its idle RSS (bodies are streamed, never buffered whole).
2. 1,000 small files (1 KiB): one-step CREATE each, then OPEN each; operations per second.

Run: python bench/datalake_gen1_bench.py [--mib 256] [--files 1000]
"""

from __future__ import annotations

import argparse
import os
import time

from common import idle_then_sample, loopback_session, running_emulator

GEN1 = "https://datalake.azure.net/"
CHUNK = 4 * 1024 * 1024  # Gen1's most per CREATE or APPEND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with running_emulator() as (process, profile):
        http = loopback_session(profile.ca_bundle)
        token = http.post(f"{profile.endpoints['login']}/{profile.tenant_id}/oauth2/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": profile.admin["clientId"],
            "client_secret": profile.admin["clientSecret"], "resource": GEN1}).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        base = f"{profile.endpoints['datalake']}/webhdfs/v1"
        idle, sampler = idle_then_sample(process.pid)

        block = os.urandom(CHUNK)
        started = time.perf_counter()
        answer = http.put(f"{base}/bench/big.bin", params={"op": "CREATE", "write": "true"}, data=block)
        assert answer.status_code == 201, answer.text
        for index in range(1, args.mib * 1024 * 1024 // CHUNK):
            answer = http.post(f"{base}/bench/big.bin", data=block,
                               params={"op": "APPEND", "append": "true", "offset": str(index * CHUNK)})
            assert answer.status_code == 200, answer.text
        write_s = time.perf_counter() - started

        started = time.perf_counter()
        received = 0
        with http.get(f"{base}/bench/big.bin", params={"op": "OPEN", "read": "true"}, stream=True) as answer:
            for piece in answer.iter_content(1024 * 1024):
                received += len(piece)
        read_s = time.perf_counter() - started
        assert received == args.mib * 1024 * 1024, received
        sampler.running = False
        sampler.join()

        small = os.urandom(1024)
        started = time.perf_counter()
        for index in range(args.files):
            assert http.put(f"{base}/bench/small/{index}.bin", params={"op": "CREATE", "write": "true"},
                            data=small).status_code == 201
        create_s = time.perf_counter() - started
        started = time.perf_counter()
        for index in range(args.files):
            assert http.get(f"{base}/bench/small/{index}.bin", params={"op": "OPEN", "read": "true"}).content \
                == small
        open_s = time.perf_counter() - started
    mib = 1024 * 1024
    print(f"{args.mib} MiB file, CREATE + {args.mib * mib // CHUNK - 1} APPENDs of 4 MB: {write_s:.2f} s "
          f"= {args.mib / write_s:.0f} MiB/s")
    print(f"{args.mib} MiB file, one streamed OPEN: {read_s:.2f} s = {args.mib / read_s:.0f} MiB/s")
    print(f"emulator RSS: idle {idle / mib:.1f} MiB, peak during write+read {sampler.peak / mib:.1f} MiB "
          f"(+{(sampler.peak - idle) / mib:.1f} MiB)")
    print(f"{args.files} small files (1 KiB): CREATE {args.files / create_s:.0f}/s, OPEN {args.files / open_s:.0f}/s")


if __name__ == "__main__":
    main()
