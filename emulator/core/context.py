"""What every service is handed: the world, its state, the token machinery and the certificates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .directory import Directory
from .faults import FaultInjector
from .rbac import Rbac
from .settings import Settings
from .store import Store
from .tls import CertificateFiles
from .tokens import TokenIssuer, TokenVerifier
from .world import World


@dataclass
class EmulatorContext:
    settings: Settings
    world: World
    store: Store
    certificates: CertificateFiles
    issuer: TokenIssuer
    verifier: TokenVerifier
    directory: Directory
    rbac: Rbac
    faults: FaultInjector
    # What services forget on reset besides the store (caches, throttling windows).
    reset_hooks: list[Callable[[], None]] = field(default_factory=list)
    # Scopes below a resource that services own (a storage container): role assignments may name them.
    scope_resolvers: list[Callable[[str], bool]] = field(default_factory=list)
    # Where each listener answers ("login": "https://127.0.0.1:29401" …), filled once they are bound:
    # what a service names itself by (OIDC discovery, Resource Manager's /metadata/endpoints), never
    # the caller's Host header.
    endpoints: dict[str, str] = field(default_factory=dict)
