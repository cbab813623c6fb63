"""How the emulator is started: host, ports, data directory, world file, throttling."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .world import DEFAULT_WORLD_FILE

# One port per kind of Azure host. 0 means "any free port" (tests use that). Below every system's range of
# ephemeral ports (Linux 32768-60999, Windows and macOS 49152-65535): inside it, a loopback client's connection that
# had used one as its own port held it in TIME_WAIT for a minute after closing, and the emulator could not start
# ("port in use") — seen after running the notebooks, which make hundreds of such connections.
DEFAULT_PORTS: dict[str, int] = {
    "imds": 29400,      # plain http, stands in for 169.254.169.254
    "login": 29401,     # Entra: login.microsoftonline.com
    "arm": 29402,       # Resource Manager: management.azure.com
    "blob": 29403,      # Blob Storage: <account>.blob.core.windows.net (path style: /<account>/…)
    "dfs": 29404,       # Data Lake Gen2: <account>.dfs.core.windows.net (path style)
    "datalake": 29405,  # Data Lake Gen1: <account>.azuredatalakestore.net (WebHDFS)
    "keyvault": 29406,  # Key Vault: <vault>.vault.azure.net
    "sql": 29407,       # Azure SQL: <server>.database.windows.net,1433
}


def default_data_dir() -> Path:
    configured = os.environ.get("WORKBOOK_EMULATOR_HOME")
    return Path(configured) if configured else Path.home() / ".mi-workbook" / "emulator"


@dataclass
class Settings:
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    data_dir: Path = field(default_factory=default_data_dir)
    in_memory: bool = False           # no state after stop (SQL: temporary files); certificates, profile in data_dir
    world_file: Path = DEFAULT_WORLD_FILE
    imds_throttling: bool = True      # 20 requests/s and 5 concurrent, as real IMDS
    imds_rate_per_second: int = 20
    imds_max_concurrent: int = 5
    owner_only: bool = False          # answer only this user's processes (shared machines; Linux; core/peers.py)
    # Seconds a role assignment change takes to reach the services that check it (0: at once). Azure's
    # caches take up to 10 minutes (Azure RBAC troubleshooting, "Role assignment changes are not being
    # detected"); the troubleshooting lesson turns this on to show a 403 right after a grant.
    rbac_propagation_seconds: float = 0.0

    @classmethod
    def for_tests(cls, data_dir: Path) -> Settings:
        """Ephemeral ports, state in memory: many emulators can run side by side."""
        return cls(ports={name: 0 for name in DEFAULT_PORTS}, data_dir=data_dir, in_memory=True)
