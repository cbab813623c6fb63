"""Shared access signatures: the strings to sign, per signed version, and the keys that sign them.

A service SAS is signed with an account key; a user delegation SAS with a *user delegation key*
that Get User Delegation Key handed to a principal. Both are ``base64(HMAC-SHA256(key, string to
sign))`` over fields joined by ``\\n`` (reference/storage.md). Which fields, and in which order,
depends on ``sv``; the forms below are the ones the Storage REST reference documents, checked
against the current clients (azure-storage-blob 12.31 signs ``sv=2026-10-06``; the Java SDK's
BlobSasImplUtil gates the user-delegation form at 2020-02-10, 2020-12-06, 2025-07-05 and 2026-04-06).

User delegation keys are not stored: the key's value is an HMAC of its own fields (``skoid``,
``sktid``, ``skt``, ``ske``, ``sks``, ``skv``) under a secret of the account, so the endpoint can
recompute it from the SAS alone — and the key dies with its ``ske``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

from emulator.core.versions import release_date

OLDEST_SAS_VERSION = "2015-04-05"
ARM_SAS_VERSION = "2015-04-05"  # what Resource Manager's listServiceSas mints
_RESPONSE_HEADERS = ("rscc", "rscd", "rsce", "rscl", "rsct")

# (first signed version with this form, its fields); "canonical" is the canonicalized resource
SERVICE_FORMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("2020-12-06", ("sp", "st", "se", "canonical", "si", "sip", "spr", "sv", "sr", "snapshot", "ses",
                    *_RESPONSE_HEADERS)),
    ("2018-11-09", ("sp", "st", "se", "canonical", "si", "sip", "spr", "sv", "sr", "snapshot", *_RESPONSE_HEADERS)),
    ("2015-04-05", ("sp", "st", "se", "canonical", "si", "sip", "spr", "sv", *_RESPONSE_HEADERS)),
)
_KEY = ("skoid", "sktid", "skt", "ske", "sks", "skv")
DELEGATION_FORMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("2026-04-06", ("sp", "st", "se", "canonical", *_KEY, "saoid", "suoid", "scid", "skdutid", "sduoid", "sip",
                    "spr", "sv", "sr", "snapshot", "ses", "srh", "srq", *_RESPONSE_HEADERS)),
    ("2025-07-05", ("sp", "st", "se", "canonical", *_KEY, "saoid", "suoid", "scid", "skdutid", "sduoid", "sip",
                    "spr", "sv", "sr", "snapshot", "ses", *_RESPONSE_HEADERS)),
    ("2020-12-06", ("sp", "st", "se", "canonical", *_KEY, "saoid", "suoid", "scid", "sip", "spr", "sv", "sr",
                    "snapshot", "ses", *_RESPONSE_HEADERS)),
    ("2020-02-10", ("sp", "st", "se", "canonical", *_KEY, "saoid", "suoid", "scid", "sip", "spr", "sv", "sr",
                    "snapshot", *_RESPONSE_HEADERS)),
    ("2018-11-09", ("sp", "st", "se", "canonical", *_KEY, "sip", "spr", "sv", "sr", "snapshot", *_RESPONSE_HEADERS)),
)
# Permissions in the order Azure writes them; a SAS lists a subset.
BLOB_PERMISSIONS = "racwdxyltmeopi"


def form_for(version: str, delegated: bool) -> tuple[str, ...] | None:
    """The fields of the string to sign for ``sv``; None when ``sv`` predates every form we know."""
    for since, fields in DELEGATION_FORMS if delegated else SERVICE_FORMS:
        if version >= since:
            return fields
    return None


def string_to_sign(values: Mapping[str, str], canonical: str, version: str, delegated: bool) -> str:
    fields = form_for(version, delegated)
    if fields is None:
        raise ValueError(f"no string-to-sign form for sv={version}")
    return "\n".join(canonical if name == "canonical" else values.get(name, "") for name in fields)


def sign(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii", "replace"), given.encode("ascii", "replace"))


def canonical_resource(account: str, container: str, blob: str | None) -> str:
    """``/blob/<account>/<container>[/<blob>]`` with the names unencoded."""
    return f"/blob/{account}/{container}" + (f"/{blob}" if blob else "")


def is_known_version(version: str) -> bool:
    """Well-formed, not before 2015-04-05 (older forms are not emulated) and not from the future."""
    date = release_date(version)
    if date is None or version != date:
        return False
    tomorrow = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)).isoformat()
    return OLDEST_SAS_VERSION <= date <= tomorrow


def parse_time(value: str) -> dt.datetime | None:
    """ISO 8601 as SAS fields use it: a date, or date and time in UTC (``Z``), seconds optional."""
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
        if not text.endswith("Z"):
            return None
        parsed = dt.datetime.fromisoformat(text[:-1])
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.timezone.utc)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc1123(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


# -- user delegation keys ------------------------------------------------------------------------------
def delegation_key(account_key: bytes, fields: Mapping[str, str]) -> bytes:
    """The key Get User Delegation Key hands out for these fields (recomputed when a SAS is checked)."""
    secret = hmac.new(account_key, b"mi-workbook user delegation keys", hashlib.sha256).digest()
    material = "\n".join(fields.get(name, "") for name in _KEY)
    return hmac.new(secret, material.encode("utf-8"), hashlib.sha256).digest()


# -- minting (Resource Manager's listServiceSas) ---------------------------------------------------------
def service_sas(account_key: bytes, canonical: str, fields: Mapping[str, str]) -> str:
    """A service SAS query string (``sv=2015-04-05``), as listServiceSas returns it: values percent-encoded."""
    values = {**fields, "sv": ARM_SAS_VERSION}
    signature = sign(account_key, string_to_sign(values, canonical, ARM_SAS_VERSION, delegated=False))
    order = ("sv", "sr", "si", "sip", "spr", "st", "se", "sp", *_RESPONSE_HEADERS)
    parts = [f"{name}={quote(values[name], safe='')}" for name in order if values.get(name)]
    return "&".join([*parts, f"sig={quote(signature, safe='')}"])


def mask_signature(query: str) -> str:
    """A SAS with its signature cut to four characters: enough to tell two apart, never usable."""
    parts = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        parts.append(f"{name}={value[:4]}…" if name == "sig" and value else part)
    return "&".join(parts)
