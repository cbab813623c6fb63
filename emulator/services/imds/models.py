"""IMDS state and rules: which identities the VM has, which one a request selects, token cache,
throttling, and the instance metadata document.

Memory stays bounded whatever callers send: the token cache is a least-recently-used map of
``TOKEN_CACHE_SIZE`` entries (the wildcard resources, ``https://<anything>.vault.azure.net`` …, are
unbounded in number), and a token request reads the VM and only the identities assigned to it.
Signing a new token (an RSA signature, about a millisecond) runs on IMDS's own worker threads, so
the event loop keeps serving other requests and concurrent requests really are concurrent: the
"5 at once" limit is reachable, as on a real VM.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emulator.core.context import EmulatorContext
from emulator.core.settings import Settings
from emulator.core.tokens import IssuedToken, Principal

from . import errors

VM_TYPE = "Microsoft.Compute/virtualMachines"
CACHE_MARGIN_SECONDS = 300  # hand out a fresh token once the cached one has under 5 minutes left
TOKEN_CACHE_SIZE = 512  # (identity, resource) pairs; a VM's code uses a handful, the rest is churn
SIGNING_WORKERS = 8  # above the 5-at-once limit, so a throttled VM never waits on a worker
_WILDCARD_RESOURCE_SUFFIXES = (
    ".blob.core.windows.net", ".dfs.core.windows.net", ".vault.azure.net", ".database.windows.net",
    ".azuredatalakestore.net",
)


class Throttle:
    """The identity category's limits: ``rate`` requests per second and ``concurrent`` at once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings  # read on every request: the control plane can switch it off
        self.clock: Callable[[], float] = time.monotonic  # tests hold it still: a loaded machine's requests are slow
        self._recent: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        if not self.settings.imds_throttling:
            return True
        now = self.clock()
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if (len(self._recent) >= self.settings.imds_rate_per_second
                    or self._in_flight >= self.settings.imds_max_concurrent):
                return False
            self._recent.append(now)
            self._in_flight += 1
            return True

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()

    def leave(self) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)


class ImdsModel:
    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        self.throttle = Throttle(context.settings)
        self._cache: collections.OrderedDict[tuple[str, str], IssuedToken] = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self.signers = ThreadPoolExecutor(max_workers=SIGNING_WORKERS, thread_name_prefix="imds-signer")
        context.reset_hooks.append(self.forget)

    def close(self) -> None:
        self.signers.shutdown(wait=False, cancel_futures=True)

    # -- identities ----------------------------------------------------------------------------
    def _vm(self) -> dict[str, Any]:
        vm = self.context.store.get(self.context.world.vm_resource_id)
        return vm or {}

    def identities(self) -> tuple[Principal | None, list[Principal]]:
        """(system-assigned or None, user-assigned identities assigned to the VM)."""
        identity = self._vm().get("identity") or {}
        kinds = {k.strip().lower() for k in str(identity.get("type", "None")).split(",")}
        # The current principal: switched off and on again, the VM's identity is a new one (core.directory).
        system = self.context.directory.vm_system_identity() if "systemassigned" in kinds else None
        # Only the identities assigned to this VM are read, never every identity in the subscription.
        found = (self.context.directory.user_assigned_identity(rid)
                 for rid in (identity.get("userAssignedIdentities") or {}))
        users = [principal for principal in found if principal is not None]
        return system, users

    def select(self, client_id: str | None, object_id: str | None, msi_res_id: str | None) -> Principal:
        system, users = self.identities()
        if client_id or object_id or msi_res_id:
            candidates = [p for p in [system, *users] if p is not None]
            for principal in candidates:
                if client_id and principal.client_id.lower() == client_id.lower():
                    return principal
                if object_id and principal.object_id.lower() == object_id.lower():
                    return principal
                if msi_res_id and principal.resource_id and \
                        principal.resource_id.lower() == msi_res_id.lower().rstrip("/"):
                    return principal
            raise errors.identity_not_found()
        if system is not None:
            return system
        if len(users) == 1:
            return users[0]
        if len(users) > 1:
            raise errors.multiple_user_assigned()
        raise errors.identity_not_found()

    # -- tokens --------------------------------------------------------------------------------
    def is_known_resource(self, resource: str) -> bool:
        wanted = resource.strip().rstrip("/").lower()
        if any(wanted == r.rstrip("/").lower() for r in self.context.world.known_resources):
            return True
        host = wanted.removeprefix("https://")
        return wanted.startswith("https://") and "/" not in host and host.endswith(_WILDCARD_RESOURCE_SUFFIXES)

    def cached_token(self, principal: Principal, resource: str) -> IssuedToken | None:
        """IMDS caches tokens too: the same token comes back until it nears expiry."""
        key = (principal.object_id, resource)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is None:
                return None
            if cached.expires_on - time.time() <= CACHE_MARGIN_SECONDS:
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return cached

    def new_token(self, principal: Principal, resource: str) -> IssuedToken:
        """Sign a token and remember it, forgetting the least recently used one past the cache's size."""
        issued = self.context.issuer.issue(principal, resource)
        with self._cache_lock:
            self._cache[(principal.object_id, resource)] = issued
            self._cache.move_to_end((principal.object_id, resource))
            while len(self._cache) > TOKEN_CACHE_SIZE:
                self._cache.popitem(last=False)
        return issued

    def cache_size(self) -> int:
        with self._cache_lock:
            return len(self._cache)

    def forget(self) -> None:
        """On reset: tokens of identities that may be gone, and the throttling window."""
        with self._cache_lock:
            self._cache.clear()
        self.throttle.clear()

    # -- instance metadata ---------------------------------------------------------------------
    def instance_document(self) -> dict[str, Any]:
        world = self.context.world
        vm = world.vm
        tags = world.resource_groups[0].get("tags", {}) if world.resource_groups else {}
        return {
            "compute": {
                "azEnvironment": "AzurePublicCloud",
                "location": world.location,
                "name": vm["name"],
                "offer": "debian-12",
                "osType": vm["osType"],
                "provider": "Microsoft.Compute",
                "publisher": "Debian",
                "resourceGroupName": vm["resourceGroup"],
                "resourceId": world.vm_resource_id,
                "sku": "12-gen2",
                "subscriptionId": world.subscription_id,
                "tags": ";".join(f"{k}:{v}" for k, v in tags.items()),
                "tagsList": [{"name": k, "value": v} for k, v in tags.items()],
                "userData": "",
                "version": "latest",
                "vmId": vm["vmId"],
                "vmScaleSetName": "",
                "vmSize": vm["vmSize"],
                "zone": "",
            },
            "network": {
                "interface": [{
                    "ipv4": {"ipAddress": [{"privateIpAddress": "10.0.0.4", "publicIpAddress": ""}],
                             "subnet": [{"address": "10.0.0.0", "prefix": "24"}]},
                    "ipv6": {"ipAddress": []},
                    "macAddress": "000D3A000001",
                }]
            },
        }
