"""Display helpers for the notebooks: the requests the lessons send, token claims, role assignments.

They return values (DataFrames, strings, displayable objects); they never print, and never show a whole
token. :func:`readable_tables` sets pandas to show tables whole (``lib.workbook.preflight`` calls it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import imds
from .imds import AccessToken, decode_claims
from .roles import role_name

CLAIM_MEANINGS = {
    "aud": "audience: the resource the token was asked for, verbatim; a service accepts only tokens meant for it",
    "iss": "issuer: the token service of the tenant that signed it (https://sts.windows.net/<tenant id>/)",
    "iat": "issued at",
    "nbf": "not before: the token is not valid earlier than this",
    "exp": "expires at; ask for a new token before then (lib.imds and the Azure SDKs refresh 5 minutes early)",
    "appid": "application (client) id of the identity: what you pass as client_id to choose it",
    "appidacr": "how the application proved itself: 2 = a certificate (the managed-identity platform's), "
                "1 = a secret, 0 = none",
    "idp": "identity provider that authenticated the identity: the tenant's own token service",
    "idtyp": "identity type: app, an application acting as itself (no user involved)",
    "oid": "object id of the identity's service principal: what role assignments, access policies and "
           "ACL entries name",
    "sub": "subject: the principal the token is about; for an app, its object id again",
    "tid": "tenant (directory) id",
    "ver": "token format version: 1.0, the resource-style token IMDS issues",
    "xms_mirid": "the managed identity's own resource id: the VM (system-assigned) or the "
                 "userAssignedIdentities resource (user-assigned)",
}
_TIME_CLAIMS = {"iat", "nbf", "exp"}
_OPAQUE_CLAIMS = {"aio", "rh", "uti"}  # Entra's internal bookkeeping: nothing a service or a learner uses


def readable_tables() -> None:
    """Tables shown whole: no column cut to 50 characters, no ``...`` in place of columns."""
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.width", 250)


def mask(token: str | AccessToken) -> str:
    """``eyJ0eXAi…(1234 chars)``: enough to tell tokens apart, never the whole token."""
    return imds.mask(token.token if isinstance(token, AccessToken) else token)


def _lifetime(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0) + 30, 3600)  # to the nearest minute: 86399 s is "24 h"
    minutes = rest // 60
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def claims_table(token: str | AccessToken) -> pd.DataFrame:
    """The token's claims with what each means; times in UTC; Entra's opaque bookkeeping claims left out."""
    claims = decode_claims(token)
    rows = []
    for name, value in claims.items():
        if name in _OPAQUE_CLAIMS:
            continue
        shown = value
        if name in _TIME_CLAIMS and isinstance(value, int):
            shown = f"{value} ({dt.datetime.fromtimestamp(value, dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC)"
        meaning = CLAIM_MEANINGS.get(name, "")
        if name == "exp" and isinstance(value, int) and isinstance(claims.get("iat"), int):
            meaning = f"expires {_lifetime(value - claims['iat'])} after iat; " + meaning.removeprefix("expires at; ")
        rows.append({"claim": name, "value": shown, "meaning": meaning})
    return pd.DataFrame(rows).set_index("claim")


def arm_frame(documents: dict[str, Any] | list[dict[str, Any]]) -> pd.DataFrame:
    """One row per ARM document, nested ``properties`` flattened into columns."""
    if isinstance(documents, dict):
        documents = documents.get("value", [documents])  # a list answer, or one resource
    return pd.json_normalize(documents, sep=".")


def assignments_frame(assignments: dict[str, Any] | Sequence[Mapping[str, Any]],
                      names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Role assignments as a table: the role's name beside its id, who holds it, where.

    ``names`` maps principal ids to something a learner recognises (``{vm_principal: "the VM"}``).
    """
    if isinstance(assignments, Mapping):
        assignments = assignments.get("value", [assignments])
    names = {k.lower(): v for k, v in (names or {}).items()}
    rows = []
    for assignment in assignments:
        properties = assignment["properties"]
        definition = properties["roleDefinitionId"]
        principal = properties["principalId"]
        rows.append({
            "role": role_name(definition),
            "role definition id": definition.rsplit("/", 1)[-1],
            "principal": names.get(principal.lower(), principal),
            "scope": properties["scope"],
            "assignment (name)": assignment["name"],
        })
    return pd.DataFrame(rows)


def error_frame(status: int, code: str, message: str) -> pd.DataFrame:
    return pd.DataFrame([{"status": status, "code": code, "message": message}])


@dataclass(frozen=True)
class ShownCall:
    """A request as the lesson shows it: method, URL, headers and body, then the same step with the Azure CLI,
    PowerShell or curl. Displays as Markdown in Jupyter, as plain text elsewhere (``$ az …``, ``PS> …``)."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    az: Sequence[str] = ()
    powershell: Sequence[str] = ()
    curl: Sequence[str] = ()
    title: str = ""

    def _body_text(self) -> str:
        if self.body is None:
            return ""
        if isinstance(self.body, (bytes, str)):
            return self.body.decode() if isinstance(self.body, bytes) else self.body
        return json.dumps(self.body, indent=2)

    def _request_lines(self) -> list[str]:
        lines = [f"{self.method} {self.url}", *(f"{k}: {v}" for k, v in self.headers.items())]
        body = self._body_text()
        return lines + (["", body] if body else [])

    def __repr__(self) -> str:
        lines = [self.title] if self.title else []
        lines += self._request_lines()
        lines += [f"$ {line}" for line in (*self.curl, *self.az)]
        lines += [f"PS> {line}" for line in self.powershell]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_markdown_(self) -> str:
        parts = [f"**{self.title}**\n"] if self.title else []
        parts.append("```http\n" + "\n".join(self._request_lines()) + "\n```")
        if self.curl:
            parts.append("curl:\n```bash\n" + "\n".join(self.curl) + "\n```")
        if self.az:
            parts.append("Azure CLI:\n```bash\n" + "\n".join(self.az) + "\n```")
        if self.powershell:
            parts.append("PowerShell:\n```powershell\n" + "\n".join(self.powershell) + "\n```")
        return "\n".join(parts)


def _listed(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def shown_call(method: str, url: str, body: Any = None, *, headers: Mapping[str, str] | None = None,
               az: str | Sequence[str] | None = None, powershell: str | Sequence[str] | None = None,
               curl: str | Sequence[str] | None = None, title: str = "") -> ShownCall:
    """What a cell displays before it sends a request: ``display(shown_call("PUT", url, body, az=…))``."""
    return ShownCall(method, url, body, dict(headers or {}), _listed(az), _listed(powershell), _listed(curl), title)
