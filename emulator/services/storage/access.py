"""Who may do what to a storage account's data: SAS → Bearer → SharedKey → anonymous, in Azure's order.

One function, :func:`authorize`, used by every storage endpoint. It takes the request as an
:class:`Incoming` (no aiohttp here) and what the operation needs (:class:`Need`: an RBAC action or
data action, the SAS permissions that allow it) and returns the :class:`Caller`, or raises the
storage error Azure would answer with:

- a ``sig`` in the query makes it a SAS request, whatever else the request carries (a valid SAS wins
  over a garbage ``Authorization`` header): service SAS (account key) or user delegation SAS (a key from
  Get User Delegation Key, and then the delegating principal's own RBAC must still allow the operation);
- else ``Authorization: Bearer``: the token verified by the shared verifier (signature, ``aud``,
  ``iss``, ``nbf``, ``exp``), then RBAC for the token's ``oid`` at the container's scope, inherited from
  account, resource group and subscription; on an account with a hierarchical namespace a data operation
  that RBAC does not grant goes on to the POSIX ACLs (the caller comes back with ``acl_check``, and the
  model checks the path's ACLs: namespace.py), as Azure evaluates RBAC first and ACLs second;
- else ``Authorization: SharedKey``: the account key's signature over the request (sharedkey.py);
- else anonymous: no container here is public, so the bearer challenge (401) or, for old versions, 404.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.core.context import EmulatorContext
from emulator.core.tokens import TokenRejected

from . import errors, sas, sharedkey
from .namespace import Actor
from .rows import Account

OAUTH_SINCE = "2017-11-09"  # Bearer tokens are accepted from this x-ms-version on
READ_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
DEFAULT_VERSION = "2009-09-19"  # what Azure assumes for a request without x-ms-version
STORAGE_AUDIENCES = ("https://storage.azure.com", "https://storage.azure.com/", "e406a681-f3d4-42a8-90b6-c2b029497af1")
SHARED_KEY_WINDOW = dt.timedelta(minutes=15)  # a SharedKey request's date may be this far from now


@dataclass(frozen=True)
class Incoming:
    """What authorization looks at in a request."""

    method: str
    raw_path: str  # the path as sent, percent-encoding kept (SharedKey signs it so)
    query: Mapping[str, str]  # first value of each parameter, decoded
    query_items: list[tuple[str, str]]  # every parameter, decoded
    headers: Mapping[str, str]  # case-insensitive
    header_items: list[tuple[str, str]]
    secure: bool
    remote: str
    version: str  # x-ms-version, or DEFAULT_VERSION
    account: Account
    container: str | None
    blob: str | None
    service: str = "blob"  # the endpoint: "blob" or "dfs" (token audiences name it)

    @property
    def scope(self) -> str:
        """The RBAC scope an operation is checked at: the container, else the account."""
        return self.account.container_scope(self.container) if self.container else self.account.resource_id


@dataclass(frozen=True)
class Need:
    action: str | None  # RBAC action (``data`` False) or data action; None: no role can do it
    data: bool = True
    sas: str | None = None  # SAS permission letters, any one of which is enough; None: no service SAS can
    create: tuple[str, str] | None = None  # (SAS letter, data action) that may create a new blob but not replace one
    sas_resources: tuple[str, ...] = ("b", "c")
    bearer_only: bool = False
    acl: bool = False  # on an HNS account, POSIX ACLs may allow what RBAC does not (data operations on paths)


@dataclass(frozen=True)
class Caller:
    kind: str  # "sas", "delegation", "bearer" or "sharedkey"
    object_id: str | None = None  # the token's oid, or the delegating principal of a user delegation SAS
    create_only: bool = False
    claims: dict[str, Any] | None = None
    acl_check: bool = False  # RBAC did not grant: the path's ACLs decide (HNS accounts)
    reads_all: bool = False  # … but RBAC grants reading every path here: directories need no x entry

    @property
    def actor(self) -> Actor:
        """The caller as the hierarchical namespace sees it: an object id (tokens) or a key/SAS holder."""
        return Actor(self.object_id if self.kind in ("bearer", "delegation") else None, self.acl_check,
                     self.reads_all)


def audiences_for(account: str, service: str) -> tuple[str, ...]:
    host = f"https://{account}.{service}.core.windows.net"
    return (*STORAGE_AUDIENCES, host, host + "/")


def authorize(context: EmulatorContext, incoming: Incoming, need: Need) -> Caller:
    if "sig" in incoming.query:
        if need.bearer_only:
            raise errors.authentication_failed("This operation accepts only a Microsoft Entra bearer token.")
        return _sas(context, incoming, need)
    authorization = incoming.headers.get("Authorization")
    if authorization is None:
        raise errors.no_authentication(context.world.tenant_id, incoming.version)
    scheme = authorization.strip().split(" ", 1)[0]
    if scheme.lower() == "bearer":
        return _bearer(context, incoming, need, authorization.strip()[len(scheme):].strip())
    if scheme in ("SharedKey", "SharedKeyLite"):
        if need.bearer_only:
            raise errors.authentication_failed("This operation accepts only a Microsoft Entra bearer token.")
        return _shared_key(incoming, authorization)
    raise errors.invalid_authentication_info()


# -- Bearer --------------------------------------------------------------------------------------------
_TOKEN_DETAILS = {
    "expired": "Lifetime validation failed. The token is expired.",
    "not_yet_valid": "Lifetime validation failed. The token is not yet valid.",
    "audience": "Audience validation failed. Audience did not match.",
    "issuer": "Issuer validation failed. Issuer did not match.",
    "signature": "Signature validation failed. The token's signature does not match its content.",
    "unknown_key": "Signature validation failed. Unable to match key: the token's 'kid' is not a key the tenant "
                   "publishes.",
    "algorithm": "Signature validation failed. The token's algorithm is not accepted (RS256 only).",
    "malformed": "The token is not a well-formed JWT.",
}


def _bearer(context: EmulatorContext, incoming: Incoming, need: Need, token: str) -> Caller:
    tenant = context.world.tenant_id
    if not token:
        raise errors.invalid_authentication_info()
    if incoming.version < OAUTH_SINCE:
        raise errors.authentication_failed("Authentication scheme Bearer is not supported in this version.")
    try:
        claims = context.verifier.verify(token, audiences_for(incoming.account.name, incoming.service))
    except TokenRejected as exc:
        detail = _TOKEN_DETAILS.get(exc.reason, f"The token is missing a required claim: {exc.detail}")
        raise errors.invalid_bearer(detail, tenant, incoming.version) from None
    object_id = str(claims["oid"])
    try:
        create_only = _rbac(context, object_id, incoming, need)
    except errors.StorageError:
        if need.acl and incoming.account.hierarchical_namespace:
            reads_all = context.rbac.is_allowed(object_id, READ_BLOBS, incoming.scope, data=True)
            return Caller("bearer", object_id, False, claims, acl_check=True, reads_all=reads_all)
        raise
    return Caller("bearer", object_id, create_only, claims)


def _rbac(context: EmulatorContext, object_id: str, incoming: Incoming, need: Need) -> bool:
    """Allowed (False), allowed to create only (True), or refused (raises)."""
    rbac, scope = context.rbac, incoming.scope
    if need.action is not None and rbac.is_allowed(object_id, need.action, scope, data=need.data):
        return False
    if need.create is not None and rbac.is_allowed(object_id, need.create[1], scope, data=True):
        return True
    raise errors.authorization_permission_mismatch()


# -- SharedKey -----------------------------------------------------------------------------------------
def _shared_key(incoming: Incoming, authorization: str) -> Caller:
    parsed = sharedkey.parse_authorization(authorization)
    if parsed is None:
        raise errors.invalid_authentication_info()
    scheme, account_name, signature = parsed
    if scheme == "SharedKeyLite":
        raise errors.authentication_failed("SharedKeyLite is not emulated; sign with SharedKey.")
    date = incoming.headers.get("x-ms-date") or incoming.headers.get("Date")
    if not date:
        raise errors.authentication_failed("Request date header not specified.")
    try:
        sent = dt.datetime.strptime(date, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise errors.invalid_header_value("x-ms-date", date, "A date in RFC 1123 format is expected.") from None
    if abs(dt.datetime.now(dt.timezone.utc) - sent) > SHARED_KEY_WINDOW:
        raise errors.authentication_failed(f"Request date header too old: '{date}'")
    text = sharedkey.string_to_sign(incoming.method, incoming.headers, incoming.header_items, account_name,
                                    incoming.raw_path, incoming.query_items, incoming.version)
    account = incoming.account
    if account_name != account.name or not any(
            sas.signatures_match(sas.sign(account.key_bytes(i), text), signature) for i in range(len(account.keys))):
        raise errors.authentication_failed(
            f"The MAC signature found in the HTTP request '{signature[:4]}…' is not the same as any computed "
            f"signature. Server used following string to sign: '{text}'.")
    return Caller("sharedkey")


# -- SAS -----------------------------------------------------------------------------------------------
_NOT_WELL_FORMED = "Signature fields not well formed."


def _sas(context: EmulatorContext, incoming: Incoming, need: Need) -> Caller:
    q = incoming.query
    if "ss" in q or "srt" in q:
        raise errors.authentication_failed("An account SAS (ss, srt) is not emulated; use a service SAS or a "
                                           "user delegation SAS.")
    version = q.get("sv", "")
    if not version:
        raise errors.authentication_failed("sv is mandatory. Cannot be empty")
    if not sas.is_known_version(version):
        raise errors.authentication_failed(f"The signed version (sv) '{version}' is not accepted: a service version "
                                           f"from {sas.OLDEST_SAS_VERSION} to today is expected.")
    delegated = "skoid" in q
    resource = q.get("sr", "")
    if not resource:
        raise errors.authentication_failed("sr is mandatory. Cannot be empty")
    if resource not in ("b", "c"):
        raise errors.authentication_failed(f"The signed resource (sr) '{resource}' is not emulated (b and c are).")
    for unsupported, what in (("si", "Stored access policies (si)"), ("snapshot", "Snapshots"),
                              ("sduoid", "User-bound SAS (sduoid)"), ("srh", "Signed request headers (srh)"),
                              ("srq", "Signed request query parameters (srq)")):
        if q.get(unsupported):
            raise errors.authentication_failed(f"{what} are not emulated.")
    permissions, expiry_text = q.get("sp", ""), q.get("se", "")
    expiry = sas.parse_time(expiry_text) if expiry_text else None
    start = sas.parse_time(q["st"]) if q.get("st") else None
    if (not permissions or expiry is None or (q.get("st") and start is None)
            or any(p not in sas.BLOB_PERMISSIONS for p in permissions)):
        raise errors.authentication_failed(_NOT_WELL_FORMED)
    if incoming.container is None:
        raise errors.authorization_resource_type_mismatch()
    canonical = sas.canonical_resource(incoming.account.name, incoming.container,
                                       (incoming.blob or "") if resource == "b" else None)
    text = sas.string_to_sign(q, canonical, version, delegated)
    keys = [_delegation_key(context, incoming)] if delegated else [
        incoming.account.key_bytes(i) for i in range(len(incoming.account.keys))]
    if not any(sas.signatures_match(sas.sign(key, text), q["sig"]) for key in keys):
        raise errors.authentication_failed(f"Signature did not match. String to sign used was {text}")
    now = dt.datetime.now(dt.timezone.utc)
    if (start is not None and now < start) or now > expiry:
        shown_start = sas.rfc1123(start) if start else ""
        raise errors.authentication_failed(
            f"Signature not valid in the specified time frame: Start [{shown_start}] - Expiry "
            f"[{sas.rfc1123(expiry)}] - Current [{sas.rfc1123(now)}]")
    protocols = q.get("spr", "https,http")
    if not incoming.secure and "http" not in protocols.replace("https", "").split(","):
        raise errors.authorization_protocol_mismatch()
    if q.get("sip") and not _ip_allowed(incoming.remote, q["sip"]):
        raise errors.authorization_source_ip_mismatch(incoming.remote)
    if resource not in need.sas_resources:
        raise errors.authorization_resource_type_mismatch()
    create_only = False
    if need.sas is None or not any(p in permissions for p in need.sas):
        if need.create is None or need.create[0] not in permissions:
            raise errors.authorization_permission_mismatch()
        create_only = True
    if not delegated:
        return Caller("sas", None, create_only)
    # A user delegation SAS carries no more than its principal may do now (RBAC is checked per request).
    delegating = q["skoid"]
    create_only = _rbac(context, delegating, incoming, need) or create_only
    return Caller("delegation", delegating, create_only)


def _delegation_key(context: EmulatorContext, incoming: Incoming) -> bytes:
    q = incoming.query
    if q.get("sktid", "").lower() != context.world.tenant_id.lower() or q.get("sks") != "b":
        raise errors.authentication_failed(_NOT_WELL_FORMED)
    key_start, key_expiry = sas.parse_time(q.get("skt", "")), sas.parse_time(q.get("ske", ""))
    if key_start is None or key_expiry is None or not q.get("skv"):
        raise errors.authentication_failed(_NOT_WELL_FORMED)
    now = dt.datetime.now(dt.timezone.utc)
    if now > key_expiry or now < key_start - dt.timedelta(minutes=15):
        raise errors.authentication_failed(
            f"The user delegation key is not valid now: Start [{sas.rfc1123(key_start)}] - Expiry "
            f"[{sas.rfc1123(key_expiry)}] - Current [{sas.rfc1123(now)}]")
    return sas.delegation_key(incoming.account.key_bytes(0), q)


def _ip_allowed(remote: str, allowed: str) -> bool:
    low, _, high = allowed.partition("-")
    try:
        address = ipaddress.ip_address(remote)
        return ipaddress.ip_address(low) <= address <= ipaddress.ip_address(high or low)
    except ValueError:
        return False


def first_values(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in items:
        found.setdefault(name, value)
    return found
