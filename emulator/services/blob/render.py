"""What the blob endpoint sends: XML listings and the headers that describe containers and blobs.

Element names follow the Blob REST reference (and the generated models of azure-storage-blob, which
parse them): ``EnumerationResults`` for listings, ``UserDelegationKey``, and the ``x-ms-*``/``Content-*``
headers of Get Blob Properties.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from html import escape as _html_escape

from emulator.services.storage.rows import Blob, Container, http_date

_XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>'
# Blob properties kept under our names → the header that carries each on reads
CONTENT_HEADERS = {"content_type": "Content-Type", "content_encoding": "Content-Encoding",
                   "content_language": "Content-Language", "content_disposition": "Content-Disposition",
                   "cache_control": "Cache-Control", "content_md5": "Content-MD5"}
# … and the x-ms-blob-content-* headers that set them on Put Blob / Put Block List / Set Blob Properties
SET_HEADERS = {"content_type": "x-ms-blob-content-type", "content_encoding": "x-ms-blob-content-encoding",
               "content_language": "x-ms-blob-content-language",
               "content_disposition": "x-ms-blob-content-disposition", "cache_control": "x-ms-blob-cache-control",
               "content_md5": "x-ms-blob-content-md5"}
_LISTING_PROPERTIES = (("Content-Type", "content_type"), ("Content-Encoding", "content_encoding"),
                       ("Content-Language", "content_language"), ("Content-MD5", "content_md5"),
                       ("Cache-Control", "cache_control"), ("Content-Disposition", "content_disposition"))


# Characters XML 1.0 cannot carry at all, not even escaped (C0 controls but tab, CR, LF; surrogates;
# U+FFFE, U+FFFF): an echoed path or header value holding one is shown as \uXXXX instead.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """XML text: &, < and > escaped, characters XML cannot hold spelled out (no xml.sax: it imports http.client)."""
    return _NOT_XML.sub(lambda found: f"\\u{ord(found.group()):04x}", _html_escape(text, quote=False))


def quoteattr(text: str) -> str:
    return '"' + _NOT_XML.sub(lambda found: f"\\u{ord(found.group()):04x}", _html_escape(text, quote=True)) + '"'


def _element(name: str, value: str | int | None) -> str:
    return f"<{name} />" if value in (None, "") else f"<{name}>{escape(str(value))}</{name}>"


def _metadata(metadata: Mapping[str, str]) -> str:
    return "<Metadata>" + "".join(_element(k, v) for k, v in metadata.items()) + "</Metadata>"


def etag_header(etag: str) -> str:
    return f'"{etag}"'


def container_headers(container: Container) -> dict[str, str]:
    headers = {"ETag": etag_header(container.etag), "Last-Modified": http_date(container.last_modified),
               "x-ms-lease-status": "unlocked", "x-ms-lease-state": "available",
               "x-ms-has-immutability-policy": "false", "x-ms-has-legal-hold": "false",
               "x-ms-default-encryption-scope": "$account-encryption-key",
               "x-ms-deny-encryption-scope-override": "false"}
    headers.update({f"x-ms-meta-{k}": v for k, v in container.metadata.items()})
    return headers


def blob_headers(blob: Blob) -> dict[str, str]:
    headers = {"ETag": etag_header(blob.etag), "Last-Modified": http_date(blob.last_modified),
               "x-ms-creation-time": http_date(blob.created), "x-ms-blob-type": "BlockBlob",
               "x-ms-lease-status": "unlocked", "x-ms-lease-state": "available", "x-ms-server-encrypted": "true",
               "x-ms-access-tier": "Hot", "x-ms-access-tier-inferred": "true", "Accept-Ranges": "bytes"}
    for name, header in CONTENT_HEADERS.items():
        if blob.properties.get(name):
            headers[header] = blob.properties[name]
    headers.setdefault("Content-Type", "application/octet-stream")
    headers.update({f"x-ms-meta-{k}": v for k, v in blob.metadata.items()})
    headers.update(blob.namespace_headers)  # HNS accounts: resource type, owner, group, permissions, ACL
    return headers


def container_list(endpoint: str, prefix: str, marker: str | None, limit: int | None,
                   containers: list[Container], next_marker: str | None, with_metadata: bool) -> bytes:
    items = []
    for container in containers:
        properties = (f"<Properties><Last-Modified>{http_date(container.last_modified)}</Last-Modified>"
                      f'<Etag>"{container.etag}"</Etag><LeaseStatus>unlocked</LeaseStatus>'
                      "<LeaseState>available</LeaseState><HasImmutabilityPolicy>false</HasImmutabilityPolicy>"
                      "<HasLegalHold>false</HasLegalHold>"
                      "<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope>"
                      "<DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride></Properties>")
        metadata = _metadata(container.metadata) if with_metadata else ""
        items.append(f"<Container>{_element('Name', container.name)}{properties}{metadata}</Container>")
    return (f"{_XML_HEAD}<EnumerationResults ServiceEndpoint={quoteattr(endpoint)}>"
            f"{_paging(prefix, marker, limit)}<Containers>{''.join(items)}</Containers>"
            f"{_element('NextMarker', next_marker)}</EnumerationResults>").encode()


def _paging(prefix: str, marker: str | None, limit: int | None) -> str:
    """A listing's echo of what was asked: each element only when the request gave it."""
    return (f"{_element('Prefix', prefix) if prefix else ''}{_element('Marker', marker) if marker else ''}"
            f"{_element('MaxResults', limit) if limit else ''}")


def blob_list(endpoint: str, container: str, prefix: str, delimiter: str, marker: str | None, limit: int | None,
              items: list[Blob | str], next_marker: str | None, with_metadata: bool) -> bytes:
    entries = []
    for item in items:
        if isinstance(item, str):
            entries.append(f"<BlobPrefix>{_element('Name', item)}</BlobPrefix>")
            continue
        content = "".join(_element(tag, item.properties.get(name)) for tag, name in _LISTING_PROPERTIES)
        properties = (f"<Properties><Creation-Time>{http_date(item.created)}</Creation-Time>"
                      f"<Last-Modified>{http_date(item.last_modified)}</Last-Modified><Etag>{item.etag}</Etag>"
                      f"<Content-Length>{item.size}</Content-Length>{content}<BlobType>BlockBlob</BlobType>"
                      "<AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>"
                      "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
                      "<ServerEncrypted>true</ServerEncrypted></Properties>")
        metadata = _metadata(item.metadata) if with_metadata else ""
        entries.append(f"<Blob>{_element('Name', item.name)}{properties}{metadata}</Blob>")
    return (f"{_XML_HEAD}<EnumerationResults ServiceEndpoint={quoteattr(endpoint)} "
            f"ContainerName={quoteattr(container)}>"
            f"{_paging(prefix, marker, limit)}{_element('Delimiter', delimiter) if delimiter else ''}"
            f"<Blobs>{''.join(entries)}</Blobs>"
            f"{_element('NextMarker', next_marker)}</EnumerationResults>").encode()


def block_list(committed: list[tuple[str, int]], uncommitted: list[tuple[str, int]], which: str) -> bytes:
    def blocks(found: list[tuple[str, int]]) -> str:
        return "".join(f"<Block><Name>{escape(block_id)}</Name><Size>{size}</Size></Block>"
                       for block_id, size in found)

    parts = [_XML_HEAD, "<BlockList>"]
    if which in ("committed", "all"):
        parts.append(f"<CommittedBlocks>{blocks(committed)}</CommittedBlocks>")
    if which in ("uncommitted", "all"):
        parts.append(f"<UncommittedBlocks>{blocks(uncommitted)}</UncommittedBlocks>")
    parts.append("</BlockList>")
    return "".join(parts).encode("utf-8")


def user_delegation_key(fields: Mapping[str, str], value: bytes) -> bytes:
    return (f"{_XML_HEAD}<UserDelegationKey><SignedOid>{fields['skoid']}</SignedOid>"
            f"<SignedTid>{fields['sktid']}</SignedTid><SignedStart>{fields['skt']}</SignedStart>"
            f"<SignedExpiry>{fields['ske']}</SignedExpiry><SignedService>{fields['sks']}</SignedService>"
            f"<SignedVersion>{fields['skv']}</SignedVersion><Value>{base64.b64encode(value).decode()}</Value>"
            "</UserDelegationKey>").encode()
