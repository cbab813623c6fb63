"""Display helpers for the notebooks: token claims as a table, ARM answers as DataFrames.

They return values (DataFrames, strings); they never print, and never show a whole token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from . import imds
from .imds import AccessToken, decode_claims

CLAIM_MEANINGS = {
    "aud": "audience: the resource the token is for; the service checks it is itself",
    "iss": "issuer: the Entra tenant's token service that signed it",
    "iat": "issued at",
    "nbf": "not valid before",
    "exp": "expires at",
    "appid": "client id of the identity (what you pass as client_id)",
    "appidacr": "how the client authenticated (2 = certificate: the managed-identity platform)",
    "idtyp": "identity type: app (no user involved)",
    "oid": "object id of the identity's service principal: who RBAC grants are for",
    "sub": "subject: the same principal",
    "tid": "tenant id",
    "ver": "token format version",
    "xms_mirid": "the managed identity's own resource id",
}
_TIME_CLAIMS = {"iat", "nbf", "exp"}
_OPAQUE_CLAIMS = {"aio", "rh", "uti"}


def mask(token: str | AccessToken) -> str:
    """``eyJ0eXAi…(1234 chars)``: enough to tell tokens apart, never the whole token."""
    return imds.mask(token.token if isinstance(token, AccessToken) else token)


def claims_table(token: str | AccessToken) -> pd.DataFrame:
    """The token's claims with what each means; times shown in UTC; opaque claims hidden."""
    rows = []
    for name, value in decode_claims(token).items():
        if name in _OPAQUE_CLAIMS:
            continue
        shown = value
        if name in _TIME_CLAIMS and isinstance(value, int):
            shown = f"{value} ({dt.datetime.fromtimestamp(value, dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC)"
        rows.append({"claim": name, "value": shown, "meaning": CLAIM_MEANINGS.get(name, "")})
    return pd.DataFrame(rows).set_index("claim")


def arm_frame(documents: dict[str, Any] | list[dict[str, Any]]) -> pd.DataFrame:
    """One row per ARM document, nested ``properties`` flattened into columns."""
    if isinstance(documents, dict):
        documents = documents.get("value", [documents])  # a list answer, or one resource
    return pd.json_normalize(documents, sep=".")


def error_frame(status: int, code: str, message: str) -> pd.DataFrame:
    return pd.DataFrame([{"status": status, "code": code, "message": message}])
