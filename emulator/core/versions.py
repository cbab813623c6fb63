"""One api-version rule for every versioned service (DESIGN.md §2).

Shipping clients pin versions newer than any list we could keep (the Azure CLI, azure-mgmt-compute,
Node's SDKs each moved past ours within months), and Azure itself accepts them. So a service
accepts any *well-formed* version (``YYYY-MM-DD`` with an optional ``-preview``-style suffix) that
is not older than the first version it supports and not dated after today, and refuses malformed,
older or future ones with its own error. A route's ``api_versions`` tuple names the versions known
to work; the oldest of them is the floor.

Some services also name versions without a date (Key Vault's ``7.0`` … ``7.6``); such a service passes
``named``, a map from each such name to its release date, and the same rule applies to that date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

_VERSION = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})(?:-(?:preview|privatepreview|alpha|beta))?")


def release_date(version: str) -> str | None:
    """``"2024-07-01"`` for ``"2024-07-01-preview"``; None for anything malformed (incl. impossible dates)."""
    found = _VERSION.fullmatch(version or "")
    if found is None:
        return None
    try:
        dt.date.fromisoformat(found["date"])
    except ValueError:
        return None
    return found["date"]


def effective_date(version: str, named: Mapping[str, str] | None = None) -> str | None:
    """The release date a version stands for: its own date, or the one ``named`` gives a dateless name."""
    return release_date(version) or (named or {}).get(version)


def is_supported(version: str, known: tuple[str, ...], named: Mapping[str, str] | None = None) -> bool:
    """Well-formed, not older than the oldest known version and not from the future (no such release yet).

    ``known`` empty: any well-formed version up to today. ``named``: release dates of dateless versions.
    """
    date = effective_date(version, named)
    if date is None:
        return False
    tomorrow = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)).isoformat()
    if date > tomorrow:
        return False
    return not known or date >= min(effective_date(v, named) or v for v in known)
