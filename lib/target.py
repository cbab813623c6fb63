"""Which Azure the notebooks talk to: a real VM's (``azure``) or the local emulator's (``emulator``).

The notebooks' code is the same for both; only what this module returns differs: endpoints, the
CA bundle to trust, and where ids come from (the emulator's profile, or IMDS instance metadata on a
VM). ``auto`` picks the emulator when its profile names a running one, else Azure.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .emulator import EmulatorControl

AZURE_IMDS = "http://169.254.169.254"
AZURE_ENDPOINTS = {
    "imds": AZURE_IMDS,
    "login": "https://login.microsoftonline.com",
    "arm": "https://management.azure.com",
}
TARGETS = ("auto", "azure", "emulator")
AZURE_VAULT_DNS_SUFFIX = "vault.azure.net"  # public cloud; sovereign clouds use others (vault.usgovcloudapi.net …)


class TargetError(RuntimeError):
    """The requested target cannot be used (e.g. emulator asked for but not running)."""


def default_profile_path() -> Path:
    """Where ``azure-emulator start`` writes its profile (mirrors the emulator's default data dir)."""
    if os.environ.get("WORKBOOK_PROFILE"):
        return Path(os.environ["WORKBOOK_PROFILE"])
    home = os.environ.get("WORKBOOK_EMULATOR_HOME")
    data_dir = Path(home) if home else Path.home() / ".mi-workbook" / "emulator"
    return data_dir / "profile.json"


def read_profile(path: Path | None = None) -> dict[str, Any] | None:
    path = path or default_profile_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def emulator_is_up(profile: dict[str, Any], timeout: float = 1.0) -> bool:
    return EmulatorControl.from_profile(profile).is_up(timeout)


@dataclass(frozen=True)
class Target:
    name: str  # "azure" or "emulator"
    endpoints: dict[str, str]
    ca_bundle: str | None = None  # None: the system's trust store (Azure)
    subscription_id: str = ""
    resource_group: str = ""
    vm_name: str = ""
    tenant_id: str = ""
    profile: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_emulator(self) -> bool:
        return self.name == "emulator"

    @property
    def verify(self) -> str | bool:
        """What ``requests`` should verify TLS against."""
        return self.ca_bundle or True

    def sdk_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for Azure SDK clients: trust the emulator's CA, nothing on Azure."""
        return {"connection_verify": self.ca_bundle} if self.ca_bundle else {}

    def vault_url(self, vault_name: str) -> str:
        """The vault's data-plane URL: ``https://<vault>.vault.azure.net/`` on Azure.

        The emulator serves its one vault at the root of its Key Vault listener (``https://127.0.0.1:<port>/``):
        azure-keyvault-secrets rebuilds a vault URL from a secret id's scheme, host and port only, so a
        path prefix per vault could not survive a round trip through the SDK.
        """
        if self.is_emulator:
            return self.endpoints["keyvault"].rstrip("/") + "/"
        return f"https://{vault_name}.{AZURE_VAULT_DNS_SUFFIX}/"

    def keyvault_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for azure-keyvault-* clients.

        On the emulator, besides its CA: ``verify_challenge_resource=False``. The SDK checks that the vault's
        host ends with the challenge resource's domain (``vault.azure.net``); a vault on 127.0.0.1 cannot.
        On Azure nothing: keep the check.
        """
        if not self.is_emulator:
            return {}
        return {**self.sdk_kwargs(), "verify_challenge_resource": False}

    @property
    def imds(self) -> str:
        return self.endpoints["imds"]

    @property
    def arm(self) -> str:
        return self.endpoints["arm"]

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    @property
    def vm_id(self) -> str:
        return f"{self.resource_group_id}/providers/Microsoft.Compute/virtualMachines/{self.vm_name}"

    def datalake_gen1_url(self, account: str) -> str:
        """Where a Data Lake Storage Gen1 account's WebHDFS API is (``…/webhdfs/v1/<path>?op=…``).

        Emulator: its Gen1 listener. Azure: ``https://<account>.azuredatalakestore.net`` — a service
        retired on 2024-02-29, so on a real VM nothing answers there any more.
        """
        if self.is_emulator:
            return self.endpoints["datalake"]
        return f"https://{account}.azuredatalakestore.net"

    def admin_credential(self) -> Any:
        """The credential of whoever does the portal's steps (an Owner of the resource group).

        Emulator: the world's admin app, by OAuth2 client credentials against the emulated Entra.
        Azure: you, signed in with ``az login`` on the VM (Azure CLI credential).
        """
        from azure.identity import AzureCliCredential, ClientSecretCredential

        if not self.is_emulator:
            return AzureCliCredential()
        admin = self.profile["admin"]
        return ClientSecretCredential(
            self.tenant_id, admin["clientId"], admin["clientSecret"], authority=self.endpoints["login"],
            disable_instance_discovery=True, **self.sdk_kwargs(),
        )

    def summary(self) -> dict[str, str]:
        ca = self.ca_bundle
        shown_ca = "(system trust store)" if not ca else str(Path(ca)).replace(str(Path.home()), "~")
        return {"target": self.name, **{f"{k} endpoint": v for k, v in self.endpoints.items()},
                "CA bundle": shown_ca,
                "subscription": self.subscription_id, "resource group": self.resource_group,
                "VM": self.vm_name}


def _emulator_target(profile: dict[str, Any]) -> Target:
    # azure-identity and MSAL send IMDS requests to this host when it is set (and skip their probe).
    os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = profile["endpoints"]["imds"]
    return Target(
        name="emulator", endpoints=dict(profile["endpoints"]), ca_bundle=profile["ca_bundle"],
        subscription_id=profile["subscription_id"], resource_group=profile["resource_group"],
        vm_name=profile["vm_name"], tenant_id=profile["tenant_id"], profile=profile,
    )


def _azure_target(imds_endpoint: str | None = None) -> Target:
    from . import imds

    endpoints = dict(AZURE_ENDPOINTS)
    endpoints["imds"] = imds.resolve_endpoint(imds_endpoint)
    client = imds.ImdsClient(endpoints["imds"])
    compute = client.instance_metadata("compute")
    return Target(
        name="azure", endpoints=endpoints, subscription_id=compute["subscriptionId"],
        resource_group=compute["resourceGroupName"], vm_name=compute["name"],
        tenant_id=os.environ.get("AZURE_TENANT_ID", ""),
    )


def resolve(target: str = "auto", *, profile_path: str | Path | None = None) -> Target:
    """The target to use. ``azure`` reads ids from IMDS instance metadata (only inside a VM)."""
    if target not in TARGETS:
        raise TargetError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    profile = read_profile(Path(profile_path) if profile_path else None)
    if target in ("auto", "emulator") and profile is not None and emulator_is_up(profile):
        return _emulator_target(profile)
    if target == "emulator":
        raise TargetError(
            "The emulator is not running. Start it with `azure-emulator start` (or `make workbook`), "
            "then run this cell again."
        )
    return _azure_target()
