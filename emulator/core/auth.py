"""Bearer-token authentication shared by every data plane and Resource Manager.

``authenticate`` returns the verified claims or raises :class:`TokenRejected` whose ``reason`` adds
``missing_header`` and ``bad_scheme`` to the verifier's reasons. Services translate reasons into their
own wire errors (each service's errors.py), so the rule lives once and the wire shape per service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .tokens import TokenRejected, TokenVerifier


def bearer_token(headers: Mapping[str, str]) -> str:
    value = headers.get("Authorization")
    if value is None:
        raise TokenRejected("missing_header", "The 'Authorization' header is missing.")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("bad_scheme", "The 'Authorization' header is provided in an invalid format.")
    return token.strip()


def authenticate(
    verifier: TokenVerifier, headers: Mapping[str, str], audiences: Iterable[str]
) -> dict[str, Any]:
    return verifier.verify(bearer_token(headers), audiences)
