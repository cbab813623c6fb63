"""What several bench scripts do alike: the emulator started and stopped, the world's admin signing in,
the emulator's RSS sampled, percentiles.

Imported by the scripts as ``from common import …`` (each runs as ``python bench/<script>.py``, so this
folder is first on sys.path; tests that reuse a bench put it there).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil
import requests

from emulator.core.settings import DEFAULT_PORTS
from emulator.profile import Profile, read_profile

_ARM = "https://management.azure.com/"  # the resource spawn asks IMDS for, to know the emulator answers


def spawn(data_dir: Path, *extra: str, in_memory: bool = True,
          launcher: tuple[str, ...] = (sys.executable, "-m", "emulator")) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``<launcher> serve`` on free ports; return the process and seconds until IMDS answered a token."""
    profile = data_dir / "profile.json"
    profile.unlink(missing_ok=True)
    ports = [arg for name in DEFAULT_PORTS for arg in (f"--{name}-port", "0")]  # every listener on a free port
    started = time.perf_counter()
    process = subprocess.Popen(
        [*launcher, "serve", "--data-dir", str(data_dir),
         *(["--in-memory"] if in_memory else []), *ports, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    session = requests.Session()
    while True:
        if process.poll() is not None:
            raise RuntimeError("the emulator exited during start")
        try:
            imds = json.loads(profile.read_text())["endpoints"]["imds"]
            answer = session.get(f"{imds}/metadata/identity/oauth2/token",
                                 params={"api-version": "2018-02-01", "resource": _ARM},
                                 headers={"Metadata": "true"}, timeout=1)
            if answer.status_code == 200:
                return process, time.perf_counter() - started
        except (OSError, ValueError, KeyError, requests.RequestException):
            pass
        time.sleep(0.002)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@contextlib.contextmanager
def running_emulator(*extra: str) -> Iterator[tuple[subprocess.Popen[bytes], Profile]]:
    """An emulator process (``serve --in-memory`` plus ``extra``) on a new temporary data dir, and its profile;
    stopped on leaving."""
    with tempfile.TemporaryDirectory() as directory:
        process, _ = spawn(Path(directory), *extra)
        try:
            profile = read_profile(Path(directory))
            assert profile is not None
            yield process, profile
        finally:
            stop(process)



# The most tags Resource Manager allows on a resource: 50, each name 512 characters and each value 256.
MOST_TAGS = {f"{n:02d}" + "n" * 510: "v" * 256 for n in range(50)}


def loopback_session(ca_bundle: str) -> requests.Session:
    """A session that trusts the emulator's CA, and no proxy or CA bundle from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle
    return session


def admin_token(profile: Profile | Mapping[str, Any], resource: str, timeout: float = 30) -> str:
    """An access token for ``resource`` of the world's admin app (client credentials, v2.0 endpoint).

    ``profile`` is the emulator's profile, read (Profile) or as its JSON (a dict of the same fields).
    """
    fields = profile if isinstance(profile, Mapping) else asdict(profile)
    with loopback_session(fields["ca_bundle"]) as session:
        answer = session.post(f"{fields['endpoints']['login']}/{fields['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": fields["admin"]["clientId"],
            "client_secret": fields["admin"]["clientSecret"], "scope": resource.rstrip("/") + "/.default"},
            timeout=timeout)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


class RssSampler(threading.Thread):
    """The peak RSS of a process, sampled every 10 ms until ``running`` is set False."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)


def idle_then_sample(pid: int) -> tuple[int, RssSampler]:
    """The process's RSS once it has settled (half a second), and a started sampler of its peak from then on."""
    time.sleep(0.5)
    idle = psutil.Process(pid).memory_info().rss
    sampler = RssSampler(pid)
    sampler.start()
    return idle, sampler
