"""Shared Key authorization: the string a request signs with the account key (``Authorization: SharedKey a:sig``).

Written from the Storage REST reference ("Authorize with Shared Key", Blob/Queue/File services,
version 2015-02-21 and later); azure-storage-blob's SharedKeyCredentialPolicy is the client it is
tested against. No library serves the server side of this, hence by hand.

    VERB \\n Content-Encoding \\n Content-Language \\n Content-Length (empty when 0) \\n Content-MD5 \\n
    Content-Type \\n Date \\n If-Modified-Since \\n If-Match \\n If-None-Match \\n If-Unmodified-Since \\n
    Range \\n CanonicalizedHeaders CanonicalizedResource

CanonicalizedHeaders: every ``x-ms-*`` header, lower-cased, ``name:value\\n``, in the service's
order, which compares names as Windows' string sort does: hyphens are ignored first and only break
ties (the SDK emulates the same order). CanonicalizedResource: ``/<account><encoded path>`` and
then, per query parameter sorted by lower-cased name, ``\\n<name>:<decoded values, sorted, comma-joined>``.
With path-style URLs the path already starts with ``/<account>``, so the account appears twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_STANDARD_HEADERS = ("Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type",
                     "Date", "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range")
_EMPTY_ZERO_LENGTH_SINCE = "2015-02-21"


# The first-level weights of Windows' string sort for ASCII, lowest first (letters ignore case); the
# characters it ignores at that level (hyphen among them) only break ties. Observed through the
# order azure-storage-blob's SharedKeyCredentialPolicy emulates ("_" before digits before letters).
_WEIGHTED = "!#$%&*.^_`|~+0123456789abcdefghijklmnopqrstuvwxyz"
_IGNORED = " \"'(),-/:;<=>?@[\\]{}"


def _header_order(name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    lowered = name.lower()
    primary = tuple(_WEIGHTED.find(c) if c in _WEIGHTED else 100 + ord(c) for c in lowered if c not in _IGNORED)
    return primary, tuple(-i for i, c in enumerate(lowered) if c in _IGNORED)  # a later hyphen sorts first


def canonicalized_headers(headers: Iterable[tuple[str, str]]) -> str:
    found: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered.startswith("x-ms-"):
            found[lowered] = value.strip() if lowered not in found else found[lowered] + "," + value.strip()
    return "".join(f"{name}:{found[name]}\n" for name in sorted(found, key=_header_order))


def canonicalized_resource(account: str, raw_path: str, query: Iterable[tuple[str, str]]) -> str:
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name.lower(), []).append(value)
    lines = "".join(f"\n{name}:{','.join(sorted(values))}" for name, values in sorted(grouped.items()))
    return f"/{account}{raw_path}{lines}"


def string_to_sign(method: str, headers: Mapping[str, str], header_items: Iterable[tuple[str, str]], account: str,
                   raw_path: str, query: Iterable[tuple[str, str]], version: str) -> str:
    """``headers`` looks standard headers up case-insensitively; ``header_items`` are all headers as sent."""
    values = []
    for name in _STANDARD_HEADERS:
        value = headers.get(name, "")
        if name == "Content-Length" and value == "0" and version >= _EMPTY_ZERO_LENGTH_SINCE:
            value = ""
        values.append(value)
    return (method.upper() + "\n" + "\n".join(values) + "\n" + canonicalized_headers(header_items)
            + canonicalized_resource(account, raw_path, query))


def parse_authorization(value: str) -> tuple[str, str, str] | None:
    """``SharedKey account:signature`` → (scheme, account, signature); None when malformed."""
    scheme, _, credential = value.strip().partition(" ")
    account, colon, signature = credential.strip().partition(":")
    if scheme not in ("SharedKey", "SharedKeyLite") or not colon or not account or not signature:
        return None
    return scheme, account, signature
