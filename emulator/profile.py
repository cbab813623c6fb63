"""The profile: where a running emulator listens and which ids its world has.

Written as ``profile.json`` in the data directory; ``lib.target`` reads it. ``env_lines`` prints
it as environment variables, ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` among them, which is the one
variable azure-identity and MSAL honour to send IMDS requests somewhere else. We never set
IDENTITY_ENDPOINT / IMDS_ENDPOINT / MSI_ENDPOINT: they switch azure-identity to other code paths.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.files import HARD_RESET_HINT, DataDirError, write_private

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
    # Per start: the control plane answers only callers that send it (the file is 0600).
    control_secret: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # What the running emulator's world was read from (core/world.py's fingerprint): `start` compares it with its own
    world_fingerprint: str = ""

    @classmethod
    def build(cls, context: EmulatorContext, ports: dict[str, int], host: str, control_secret: str) -> Profile:
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
            control_secret=control_secret,
            extra=_extra_with_endpoints(world.extra, endpoints),
            world_fingerprint=world.fingerprint,
        )

    def env(self, profile_path: Path) -> dict[str, str]:
        return {
            "WORKBOOK_TARGET": "emulator",
            "WORKBOOK_PROFILE": str(profile_path),
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": self.endpoints["imds"],
        }


def _extra_with_endpoints(extra: dict[str, Any], endpoints: dict[str, str]) -> dict[str, Any]:
    """World sections for the notebooks, each Gen1 account with the URL that stands in for its host."""
    sections = dict(extra)
    gen1 = sections.get("dataLakeGen1")
    if isinstance(gen1, dict) and "datalake" in endpoints:
        accounts = [{**a, "endpoint": endpoints["datalake"]} for a in gen1.get("accounts", [])]
        sections["dataLakeGen1"] = {**gen1, "accounts": accounts}
    return sections


def write_profile(profile: Profile, directory: Path) -> Path:
    path = directory / PROFILE_FILE
    write_private(path, json.dumps(asdict(profile), indent=2).encode("utf-8"))
    return path


def read_profile(directory: Path) -> Profile | None:
    """The profile of the emulator last started on ``directory``; None if there is none.

    Fields this version does not know (a newer emulator wrote the file) are ignored; a file that
    is not a profile raises :class:`DataDirError` with the fix.
    """
    path = directory / PROFILE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DataDirError(f"The profile {path} cannot be read ({exc}); start the emulator again to rewrite "
                           f"it, or {HARD_RESET_HINT}.") from None
    known = {f.name for f in dataclasses.fields(Profile)}
    required = {f.name for f in dataclasses.fields(Profile)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if not isinstance(data, dict) or not required <= set(data):
        raise DataDirError(f"The file {path} is not an emulator profile; start the emulator again to rewrite "
                           f"it, or {HARD_RESET_HINT}.")
    return Profile(**{k: v for k, v in data.items() if k in known})


def env_lines(profile: Profile, profile_path: Path, shell: str = "sh") -> list[str]:
    variables = profile.env(profile_path)
    if shell == "powershell":
        return [f'$env:{k} = "{v}"' for k, v in variables.items()]
    if shell == "cmd":
        return [f"set {k}={v}" for k, v in variables.items()]
    return [f"export {k}='{v}'" for k, v in variables.items()]
