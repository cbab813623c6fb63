"""Benchmark of the emulated Data Lake Gen2 (DFS) endpoint beside the blob endpoint, loopback only. Prints figures;
asserts nothing.

The emulator runs in its own process (``serve --in-memory``: bodies in a temporary folder), and both endpoints
serve the same account (``miworkbooklake``, hierarchical namespace on), so the two columns move the same bytes
through the same storage model; only the API and the client differ. Clients are the real SDKs with their
default settings, signed with the account key (the same client-side cost on both sides):

1. One 256 MiB file: azure-storage-file-datalake's ``upload_data`` (create, appends of up to 100 MiB, flush) and
   ``download_file``, beside azure-storage-blob's ``upload_blob`` (4 MiB blocks) and ``download_blob`` of the
   same bytes; runs interleaved (Gen2, blob, Gen2, blob …), medians shown. The emulator's RSS is sampled all
   along against its idle RSS (bodies are streamed to disk, never held whole).
2. 1,000 small files (1 KiB): create + append + flush + read each through the Data Lake SDK (three requests to
   write one file, as Gen2 writes), beside one Put Blob + Get Blob each through the blob SDK, file by file in turn.

Floors (issue 8): the 256 MiB write and read within 1.5× of the blob endpoint's time; RSS within 30 MiB of idle.

Run: python bench/datalake_gen2_bench.py [--mib 256] [--files 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from azure.storage.blob import BlobServiceClient
from azure.storage.filedatalake import DataLakeServiceClient
from common import idle_then_sample, running_emulator

ACCOUNT = "miworkbooklake"
FILESYSTEM = "mi-workbook-fs"
MIB = 1024 * 1024


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="256 MiB rounds per endpoint (interleaved)")
    args = parser.parse_args()
    with running_emulator() as (process, profile):
        key = next(a for a in profile.extra["storage"]["accounts"] if a["name"] == ACCOUNT)["keys"][0]
        credential = {"account_name": ACCOUNT, "account_key": key}
        lake = DataLakeServiceClient(f"{profile.endpoints['dfs']}/{ACCOUNT}", credential=credential,
                                     connection_verify=profile.ca_bundle)
        blobs = BlobServiceClient(f"{profile.endpoints['blob']}/{ACCOUNT}", credential=credential,
                                  connection_verify=profile.ca_bundle)
        filesystem = lake.get_file_system_client(FILESYSTEM)
        container = blobs.get_container_client(FILESYSTEM)
        filesystem.create_directory("bench")  # connections opened, imports done, before the idle reading
        assert container.exists()
        idle, sampler = idle_then_sample(process.pid)

        data = os.urandom(args.mib * MIB)
        gen2_file = filesystem.get_file_client("bench/big-gen2.bin")
        blob_file = container.get_blob_client("bench/big-blob.bin")
        times: dict[str, list[float]] = {"gen2 write": [], "gen2 read": [], "blob write": [], "blob read": []}
        for _ in range(args.runs):
            for name, write, read in (
                    ("gen2", lambda: gen2_file.upload_data(data, overwrite=True),
                     lambda: gen2_file.download_file().readall()),
                    ("blob", lambda: blob_file.upload_blob(data, overwrite=True),
                     lambda: blob_file.download_blob().readall())):
                times[f"{name} write"].append(timed(write))
                started = time.perf_counter()
                got = read()
                times[f"{name} read"].append(time.perf_counter() - started)
                assert got == data
        sampler.running = False
        sampler.join()

        small = os.urandom(1024)
        small_files = [filesystem.get_file_client(f"bench/small/g{index}.bin") for index in range(args.files)]
        small_blobs = [container.get_blob_client(f"bench/small/b{index}.bin") for index in range(args.files)]
        gen2_write = blob_write = gen2_read = blob_read = 0.0
        for gen2_small, blob_small in zip(small_files, small_blobs, strict=True):  # interleaved, file by file
            gen2_write += timed(lambda f=gen2_small: f.upload_data(small, overwrite=True))
            blob_write += timed(lambda b=blob_small: b.upload_blob(small, overwrite=True))
        for gen2_small, blob_small in zip(small_files, small_blobs, strict=True):
            gen2_read += timed(lambda f=gen2_small: f.download_file().readall())
            blob_read += timed(lambda b=blob_small: b.download_blob().readall())
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.mib} MiB file through the SDKs (median of {args.runs}, interleaved):")
    for what in ("write", "read"):
        gen2, blob = median[f"gen2 {what}"], median[f"blob {what}"]
        print(f"  {what:5}  Gen2 (DFS) {gen2:.2f} s = {args.mib / gen2:.0f} MiB/s   blob {blob:.2f} s = "
              f"{args.mib / blob:.0f} MiB/s   ratio {gen2 / blob:.2f}× (floor 1.5×)")
    print(f"emulator RSS: idle {idle / MIB:.1f} MiB, peak during the {args.mib} MiB rounds "
          f"{sampler.peak / MIB:.1f} MiB (+{(sampler.peak - idle) / MIB:.1f} MiB; floor +30 MiB)")
    print(f"{args.files} small files (1 KiB): Gen2 create+append+flush {args.files / gen2_write:.0f} files/s "
          f"(3 requests each), read {args.files / gen2_read:.0f}/s; blob Put Blob {args.files / blob_write:.0f}/s, "
          f"Get Blob {args.files / blob_read:.0f}/s")


if __name__ == "__main__":
    main()
