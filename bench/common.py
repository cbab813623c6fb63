"""What several bench scripts do alike: the world's admin signing in, the emulator's RSS sampled.

Imported by the scripts as ``from common import …`` (each runs as ``python bench/<script>.py``, so this
folder is first on sys.path). Starting and stopping the emulator stays in bench_imds.py (spawn, stop).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import psutil
import requests

from emulator.profile import Profile


def admin_token(profile: Profile | Mapping[str, Any], resource: str, timeout: float = 30) -> str:
    """An access token for ``resource`` of the world's admin app (client credentials, v2.0 endpoint).

    ``profile`` is the emulator's profile, read (Profile) or as its JSON (a dict of the same fields).
    """
    fields = profile if isinstance(profile, Mapping) else asdict(profile)
    with requests.Session() as session:
        session.trust_env = False  # loopback only: never through a proxy from the environment
        answer = session.post(f"{fields['endpoints']['login']}/{fields['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": fields["admin"]["clientId"],
            "client_secret": fields["admin"]["clientSecret"], "scope": resource.rstrip("/") + "/.default"},
            verify=fields["ca_bundle"], timeout=timeout)
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
