"""The profile: where a running emulator listens and which ids its world has.

Written as ``profile.json`` in the data directory; ``lib.target`` reads it. ``env_lines`` prints
it as environment variables, ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` among them, which is the one
variable azure-identity and MSAL honour to send IMDS requests somewhere else. We never set
IDENTITY_ENDPOINT / IMDS_ENDPOINT / MSI_ENDPOINT: they switch azure-identity to other code paths.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.context import EmulatorContext

PROFILE_FILE = "profile.json"
CONTROL_PREFIX = "/__emulator"


@dataclass
class Profile:
    target: str
    endpoints: dict[str, str]
    control: str
    ca_bundle: str
    tenant_id: str
    subscription_id: str
    resource_group: str
    location: str
    vm_name: str
    admin: dict[str, str]
    pid: int
    # What the ODBC driver's ServerCertificate= needs: the server's certificate itself, not the CA.
    server_certificate: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, context: EmulatorContext, ports: dict[str, int], host: str) -> Profile:
        world = context.world
        endpoints: dict[str, str] = {}
        for name, port in ports.items():
            if name == "imds":
                endpoints[name] = f"http://{host}:{port}"
            elif name == "sql":
                # The ODBC driver checks host names, not IP SANs: SQL is reached as localhost.
                endpoints[name] = f"localhost,{port}"
            else:
                endpoints[name] = f"https://{host}:{port}"
        return cls(
            target="emulator",
            endpoints=endpoints,
            control=endpoints["imds"] + CONTROL_PREFIX,
            ca_bundle=str(context.certificates.ca),
            tenant_id=world.tenant_id,
            subscription_id=world.subscription_id,
            resource_group=world.vm["resourceGroup"],
            location=world.location,
            vm_name=world.vm["name"],
            admin={
                "clientId": world.admin["clientId"],
                "clientSecret": world.admin["clientSecret"],
                "objectId": world.admin["objectId"],
                "displayName": world.admin["displayName"],
            },
            pid=os.getpid(),
            server_certificate=str(context.certificates.cert),
            extra=dict(world.extra),
        )

    def env(self, profile_path: Path) -> dict[str, str]:
        return {
            "WORKBOOK_TARGET": "emulator",
            "WORKBOOK_PROFILE": str(profile_path),
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": self.endpoints["imds"],
        }


def write_profile(profile: Profile, directory: Path) -> Path:
    path = directory / PROFILE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(profile), indent=2), encoding="utf-8")
    temporary.replace(path)
    return path


def read_profile(directory: Path) -> Profile | None:
    path = directory / PROFILE_FILE
    if not path.exists():
        return None
    return Profile(**json.loads(path.read_text(encoding="utf-8")))


def env_lines(profile: Profile, profile_path: Path, shell: str = "sh") -> list[str]:
    variables = profile.env(profile_path)
    if shell == "powershell":
        return [f'$env:{k} = "{v}"' for k, v in variables.items()]
    if shell == "cmd":
        return [f"set {k}={v}" for k, v in variables.items()]
    return [f"export {k}='{v}'" for k, v in variables.items()]
