"""Real RS256 access tokens: the emulator's Entra signs them, every service verifies them.

Signing and verification use PyJWT; this module only decides the claims (those of a v1
managed-identity token, see reference/imds.md) and turns verification failures into one
:class:`TokenRejected` with a machine-readable ``reason`` that each service maps to its own wire
error.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .files import HARD_RESET_HINT, DataDirError, write_private

SIGNING_KEY_FILE = "token-signing-key.pem"
TOKEN_LIFETIME_SECONDS = 86399  # what IMDS hands out: about 24 hours
CLOCK_SKEW_SECONDS = 300  # Entra-protected services tolerate five minutes of skew
VERIFIED_CACHE_SIZE = 1024  # tokens remembered as verified (a client sends the same token many times)


def issuer_for(tenant_id: str) -> str:
    return f"https://sts.windows.net/{tenant_id}/"


@dataclass(frozen=True)
class Principal:
    """A service principal that can hold a token: a managed identity or an app registration."""

    object_id: str
    client_id: str
    display_name: str
    kind: str  # "SystemAssigned", "UserAssigned" or "Application"
    resource_id: str | None = None  # the identity's ARM id (xms_mirid) for managed identities


class SigningKey:
    """The tenant's RSA key, published in JWKS under a stable ``kid``."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.private_key = private_key
        public_der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashlib.sha1(public_der).digest()  # noqa: S324 - a key id (x5t style), not security
        self.kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @classmethod
    def load_or_create(cls, directory: Path | None) -> SigningKey:
        path = directory / SIGNING_KEY_FILE if directory is not None else None
        if path is not None and path.exists():
            # We generated this key ourselves: skip cryptography's slow RSA consistency check (~50 ms
            # of the emulator's start-up). A damaged file still fails to parse.
            try:
                key = serialization.load_pem_private_key(
                    path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True)
            except (ValueError, TypeError) as exc:
                raise DataDirError(f"The token-signing key {path} is damaged ({exc}); {HARD_RESET_HINT}.") from None
            if not isinstance(key, rsa.RSAPrivateKey):
                raise DataDirError(f"The token-signing key {path} is not an RSA key; {HARD_RESET_HINT}.")
            return cls(key)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if path is not None:
            write_private(path, key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return cls(key)

    def jwk(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256", "x5t": self.kid}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    issued_at: int
    not_before: int
    expires_on: int
    resource: str


class TokenIssuer:
    """Mints v1 access tokens with the claims Entra puts in a managed-identity token."""

    def __init__(self, key: SigningKey, tenant_id: str, lifetime: int = TOKEN_LIFETIME_SECONDS):
        self.key = key
        self.tenant_id = tenant_id
        self.issuer = issuer_for(tenant_id)
        self.lifetime = lifetime

    def issue(
        self, principal: Principal, resource: str, *, now: float | None = None,
        lifetime: int | None = None, extra: dict[str, Any] | None = None,
    ) -> IssuedToken:
        issued = int(now if now is not None else time.time())
        expires = issued + (lifetime if lifetime is not None else self.lifetime)
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": self.issuer,
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            "aio": _opaque(),
            "appid": principal.client_id,
            "appidacr": "2" if principal.kind != "Application" else "1",
            "idp": self.issuer,
            "idtyp": "app",
            "oid": principal.object_id,
            "rh": _opaque(),
            "sub": principal.object_id,
            "tid": self.tenant_id,
            "uti": _opaque(16),
            "ver": "1.0",
        }
        if principal.resource_id:
            claims["xms_mirid"] = principal.resource_id
        if extra:
            claims.update(extra)
        token = jwt.encode(
            claims, self.key.private_key, algorithm="RS256",
            headers={"kid": self.key.kid, "x5t": self.key.kid, "typ": "JWT"},
        )
        return IssuedToken(token, issued, issued, expires, resource)


def _opaque(size: int = 24) -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes)[:size].decode()


class TokenRejected(Exception):
    """A bearer token that a service must refuse.

    ``reason`` is one of: ``malformed``, ``algorithm``, ``unknown_key``, ``signature``, ``expired``,
    ``not_yet_valid``, ``audience``, ``issuer``, ``missing_claim``. ``claims`` holds the unverified
    claims when they could be read, so services can quote them (as Azure does) in messages.
    """

    def __init__(self, reason: str, detail: str, claims: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.claims = claims or {}


class TokenVerifier:
    """Verifies signature, ``alg``, ``kid``, ``aud``, ``iss``, ``nbf`` and ``exp`` with PyJWT.

    A token that passed is remembered (bounded, least recently used first out) with the audiences it was
    checked against: its signature, issuer and audience cannot change, so a repeat only needs its
    lifetime checked again. A client sends one token for an hour; PyJWT's full check costs about a
    millisecond a time (it validates base64 character by character in Python). Refusals are never
    remembered: every bad token is checked in full.
    """

    def __init__(self, keys: Iterable[SigningKey], tenant_id: str) -> None:
        self.public_keys = {k.kid: k.private_key.public_key() for k in keys}
        self.issuer = issuer_for(tenant_id)
        self._verified: OrderedDict[tuple[str, tuple[str, ...]], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str, audiences: Iterable[str]) -> dict[str, Any]:
        key = (token, tuple(audiences))
        with self._lock:
            claims = self._verified.get(key)
            if claims is not None:
                self._verified.move_to_end(key)
        now = time.time()
        if claims is not None and claims["nbf"] - CLOCK_SKEW_SECONDS <= now <= claims["exp"] + CLOCK_SKEW_SECONDS:
            return claims
        claims = self._verify(token, key[1])  # first sight, or out of its lifetime: the full check (it raises)
        with self._lock:
            self._verified[key] = claims
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str, audiences: Iterable[str]) -> dict[str, Any]:
        if not token.isascii():  # a JWT is base64url and dots; other bytes (even undecodable ones) are no token
            raise TokenRejected("malformed", "The token is not a well-formed JWT: it has characters outside ASCII.")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenRejected("malformed", f"The token is not a well-formed JWT: {exc}") from None
        if header.get("alg") != "RS256":
            raise TokenRejected(
                "algorithm", f"The token's algorithm '{header.get('alg')}' is not accepted.", unverified
            )
        key = self.public_keys.get(str(header.get("kid")))
        if key is None:
            raise TokenRejected(
                "unknown_key", "The token is signed with a key the tenant does not publish.", unverified
            )
        try:
            return jwt.decode(
                token, key, algorithms=["RS256"], audience=list(audiences), issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "nbf", "iat", "aud", "iss", "oid", "tid"]},
            )
        except jwt.InvalidSignatureError:
            raise TokenRejected("signature", "The token's signature is invalid.", unverified) from None
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", "The token is expired.", unverified) from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("not_yet_valid", "The token is not yet valid.", unverified) from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("audience", "The token's audience is not accepted.", unverified) from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("issuer", "The token's issuer is not accepted.", unverified) from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected("missing_claim", str(exc), unverified) from None
        except jwt.PyJWTError as exc:
            raise TokenRejected("malformed", f"The token could not be validated: {exc}", unverified) from None
