"""The emulated vault: its secrets (versions, attributes, soft delete) and who may touch them.

State lives in the emulator's store (SQLite): the vault itself is a Resource Manager document (see
vaults.py), secrets are two tables. Every write runs in one transaction and validates everything
before it writes, so a refused request leaves nothing half-written.

One vault per Key Vault listener: a vault's data plane is its own host (``<vault>.vault.azure.net``),
and the azure-keyvault-secrets client turns the ids it receives back into a vault URL from scheme,
host and port only (``parse_key_vault_id`` allows no path prefix). So the emulator serves the world's
vault at the listener's root, ``https://127.0.0.1:<port>/``, and Resource Manager reports that as the
vault's ``vaultUri``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from emulator.core.context import EmulatorContext
from emulator.core.versions import effective_date

from . import errors
from .vaults import VaultResources

_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")  # Key Vault object names: 1-127 letters, digits and dashes
_VERSION = re.compile(r"^[0-9a-fA-F]{32}$")
MAX_PAGE = 25  # Key Vault's page size and the largest maxresults it accepts
MAX_TAGS = 15
_RECOVERABLE_DAYS_SINCE = effective_date("7.1", errors.NAMED_VERSIONS) or "2020-06-01"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keyvault_secrets (
    vault TEXT NOT NULL,             -- lower-cased vault name
    name_key TEXT NOT NULL,          -- lower-cased secret name: Key Vault names are case-insensitive
    name TEXT NOT NULL,              -- as first written
    deleted_date INTEGER,            -- set while the secret is soft-deleted
    scheduled_purge_date INTEGER,
    PRIMARY KEY (vault, name_key)
);
CREATE TABLE IF NOT EXISTS keyvault_secret_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- creation order: the last one is the current version
    vault TEXT NOT NULL,
    name_key TEXT NOT NULL,
    version TEXT NOT NULL,           -- 32 lower-case hex digits
    value TEXT NOT NULL,
    content_type TEXT,
    tags TEXT,                       -- JSON object, or NULL
    enabled INTEGER NOT NULL,
    nbf INTEGER,
    exp INTEGER,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (vault, name_key, version)
);
"""
_VERSION_COLUMNS = "version, value, content_type, tags, enabled, nbf, exp, created, updated"


@dataclass(frozen=True)
class SecretVersion:
    name: str
    version: str
    value: str
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    nbf: int | None
    exp: int | None
    created: int
    updated: int

    @classmethod
    def from_row(cls, name: str, row: tuple[Any, ...]) -> SecretVersion:
        version, value, content_type, tags, enabled, nbf, exp, created, updated = row
        return cls(name, version, value, content_type, json.loads(tags) if tags else None, bool(enabled),
                   nbf, exp, created, updated)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_offset: int | None


class KeyVaultModel:
    """The world's vault: its Resource Manager document (``resources``) and its secrets."""

    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        self.store = context.store
        self.store.ensure_table(_SCHEMA)
        self.resources = VaultResources(context)
        self.vault_key = self.resources.name.lower()

    @property
    def endpoint(self) -> str:
        """The vault URL (no trailing slash): the Key Vault listener's bound address."""
        return self.resources.endpoint

    # -- who may do what -------------------------------------------------------------------------
    def authorize(self, claims: dict[str, Any], permission: str, data_action: str, name: str | None) -> None:
        """Access policies or RBAC, by the vault's mode; a refusal names the caller and what was missing."""
        vault = self.resources.document()
        properties = vault["properties"]
        caller = f"appid={claims.get('appid', '')};oid={claims['oid']};iss={claims['iss']}"
        location = vault.get("location", "")
        if properties.get("enableRbacAuthorization"):
            scope = vault["id"] + (f"/secrets/{name}" if name else "")
            if not self.context.rbac.is_allowed(claims["oid"], data_action, scope, data=True):
                raise errors.forbidden_by_rbac(caller, data_action, scope, vault["name"], location)
            return
        for entry in properties.get("accessPolicies") or []:
            if str(entry.get("objectId", "")).lower() != str(claims["oid"]).lower():
                continue
            if str(entry.get("tenantId", "")).lower() != str(claims.get("tid", "")).lower():
                continue
            application = entry.get("applicationId")  # compound identity: only that app on the principal's behalf
            if application and str(application).lower() != str(claims.get("appid", "")).lower():
                continue
            granted = {str(p).lower() for p in (entry.get("permissions") or {}).get("secrets") or []}
            if permission in granted or "all" in granted:
                return
        raise errors.access_denied(caller, permission, vault["name"], location)

    # -- names and ids ---------------------------------------------------------------------------
    @staticmethod
    def check_name(name: str) -> None:
        if not _NAME.match(name):
            raise errors.invalid_name(name)

    def secret_id(self, name: str, version: str | None = None) -> str:
        return f"{self.endpoint}/secrets/{name}" + (f"/{version}" if version else "")

    def recovery_id(self, name: str) -> str:
        return f"{self.endpoint}/deletedsecrets/{name}"

    # -- the wire shapes ---------------------------------------------------------------------------
    def _recovery(self) -> tuple[str, int | None]:
        properties = self.resources.document()["properties"]
        if not properties.get("enableSoftDelete", True):
            return "Purgeable", None
        days = int(properties.get("softDeleteRetentionInDays") or 90)
        level = "Recoverable" if properties.get("enablePurgeProtection") else "Recoverable+Purgeable"
        return (level if days >= 90 else f"CustomizedRecoverable{level.removeprefix('Recoverable')}"), days

    def attributes(self, secret: SecretVersion, api_version: str) -> dict[str, Any]:
        shown: dict[str, Any] = {"enabled": secret.enabled}
        if secret.nbf is not None:
            shown["nbf"] = secret.nbf
        if secret.exp is not None:
            shown["exp"] = secret.exp
        shown.update(created=secret.created, updated=secret.updated)
        level, days = self._recovery()
        shown["recoveryLevel"] = level
        if days is not None and (effective_date(api_version, errors.NAMED_VERSIONS) or "") >= _RECOVERABLE_DAYS_SINCE:
            shown["recoverableDays"] = days  # added to the attributes in 7.1
        return shown

    def bundle(self, secret: SecretVersion, api_version: str, *, with_value: bool) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if with_value:
            body["value"] = secret.value
        if secret.content_type is not None:
            body["contentType"] = secret.content_type
        body["id"] = self.secret_id(secret.name, secret.version)
        body["attributes"] = self.attributes(secret, api_version)
        if secret.tags is not None:
            body["tags"] = secret.tags
        return body

    def item(self, secret: SecretVersion, api_version: str, *, versioned: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.secret_id(secret.name, secret.version if versioned else None),
                                "attributes": self.attributes(secret, api_version)}
        if secret.content_type is not None:
            item["contentType"] = secret.content_type
        if secret.tags is not None:
            item["tags"] = secret.tags
        return item

    def deleted_bundle(self, secret: SecretVersion, deleted: tuple[int, int], api_version: str,
                       *, item: bool = False) -> dict[str, Any]:
        body = {"recoveryId": self.recovery_id(secret.name), "deletedDate": deleted[0],
                "scheduledPurgeDate": deleted[1]}
        shown = self.item(secret, api_version, versioned=False) if item else self.bundle(
            secret, api_version, with_value=False)
        return {**body, **shown}

    # -- reading ---------------------------------------------------------------------------------
    def _secret_row(self, db: sqlite3.Connection, name: str) -> tuple[str, int | None, int | None] | None:
        return db.execute("SELECT name, deleted_date, scheduled_purge_date FROM keyvault_secrets "
                          "WHERE vault = ? AND name_key = ?", (self.vault_key, name.lower())).fetchone()

    def _latest(self, db: sqlite3.Connection, name: str, stored_name: str) -> SecretVersion:
        row = db.execute(f"SELECT {_VERSION_COLUMNS} FROM keyvault_secret_versions WHERE vault = ? AND name_key = ? "
                         "ORDER BY seq DESC LIMIT 1", (self.vault_key, name.lower())).fetchone()
        return SecretVersion.from_row(stored_name, row)

    def _live(self, db: sqlite3.Connection, name: str, version: str = "") -> SecretVersion:
        """A version of a secret that is not deleted; the current one when ``version`` is empty."""
        found = self._secret_row(db, name)
        if found is None or found[1] is not None:
            raise errors.secret_not_found(name, version)
        if not version:
            return self._latest(db, name, found[0])
        row = db.execute(f"SELECT {_VERSION_COLUMNS} FROM keyvault_secret_versions "
                         "WHERE vault = ? AND name_key = ? AND version = ?",
                         (self.vault_key, name.lower(), version.lower())).fetchone()
        if row is None:
            raise errors.secret_not_found(name, version)
        return SecretVersion.from_row(found[0], row)

    def get(self, name: str, version: str = "") -> SecretVersion:
        with self.store.reading() as db:
            secret = self._live(db, name, version)
        if not secret.enabled:
            raise errors.secret_disabled()
        return secret

    def list_secrets(self, offset: int, size: int) -> tuple[list[SecretVersion], int | None]:
        with self.store.reading() as db:
            names = db.execute("SELECT name FROM keyvault_secrets WHERE vault = ? AND deleted_date IS NULL "
                               "ORDER BY name_key LIMIT ? OFFSET ?", (self.vault_key, size + 1, offset)).fetchall()
            secrets = [self._latest(db, n, n) for (n,) in names[:size]]
        return secrets, (offset + size if len(names) > size else None)

    def list_versions(self, name: str, offset: int, size: int) -> tuple[list[SecretVersion], int | None]:
        with self.store.reading() as db:
            found = self._secret_row(db, name)
            if found is None or found[1] is not None:
                return [], None  # Key Vault lists no versions for a name it does not hold
            rows = db.execute(f"SELECT {_VERSION_COLUMNS} FROM keyvault_secret_versions WHERE vault = ? AND "
                              "name_key = ? ORDER BY seq LIMIT ? OFFSET ?",
                              (self.vault_key, name.lower(), size + 1, offset)).fetchall()
        secrets = [SecretVersion.from_row(found[0], row) for row in rows[:size]]
        return secrets, (offset + size if len(rows) > size else None)

    # -- writing -----------------------------------------------------------------------------------
    def set(self, name: str, body: Any) -> SecretVersion:
        """A new version (the secret is created with its first one)."""
        if not isinstance(body, dict):
            raise errors.bad_parameter("The request body must be a JSON object with a 'value'.")
        value = body.get("value")
        if not isinstance(value, str):
            raise errors.bad_parameter("Property 'value' is required and must be a string.")
        size = len(value.encode("utf-8"))
        if size > errors.MAX_SECRET_BYTES:
            raise errors.value_too_large(size)
        content_type, tags, attributes = _metadata(body)
        now = int(time.time())
        version = uuid.uuid4().hex
        enabled = attributes.get("enabled", True)
        with self.store.transaction() as db:
            self._purge_expired(db, now)
            found = self._secret_row(db, name)
            if found is not None and found[1] is not None:
                raise errors.deleted_but_recoverable(name)
            stored_name = found[0] if found is not None else name
            if found is None:
                db.execute("INSERT INTO keyvault_secrets(vault, name_key, name) VALUES (?, ?, ?)",
                           (self.vault_key, name.lower(), name))
            db.execute(f"INSERT INTO keyvault_secret_versions(vault, name_key, {_VERSION_COLUMNS}) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (self.vault_key, name.lower(), version, value, content_type,
                        json.dumps(tags) if tags is not None else None, int(enabled), attributes.get("nbf"),
                        attributes.get("exp"), now, now))
        return SecretVersion(stored_name, version, value, content_type, tags, enabled, attributes.get("nbf"),
                             attributes.get("exp"), now, now)

    def update(self, name: str, version: str, body: Any) -> SecretVersion:
        """contentType, tags and attributes of one version (the current one when ``version`` is empty)."""
        if not isinstance(body, dict):
            raise errors.bad_parameter("The request body must be a JSON object.")
        content_type, tags, attributes = _metadata(body)
        with self.store.transaction() as db:
            secret = self._live(db, name, version)
            changes = {
                "content_type": content_type if "contentType" in body else secret.content_type,
                "tags": json.dumps(tags) if tags is not None else (
                    None if "tags" in body else (json.dumps(secret.tags) if secret.tags is not None else None)),
                "enabled": int(attributes.get("enabled", secret.enabled)),
                "nbf": attributes.get("nbf", secret.nbf),
                "exp": attributes.get("exp", secret.exp),
                "updated": int(time.time()),
            }
            db.execute("UPDATE keyvault_secret_versions SET content_type = :content_type, tags = :tags, "
                       "enabled = :enabled, nbf = :nbf, exp = :exp, updated = :updated "
                       "WHERE vault = :vault AND name_key = :name_key AND version = :version",
                       {**changes, "vault": self.vault_key, "name_key": name.lower(), "version": secret.version})
            row = db.execute(f"SELECT {_VERSION_COLUMNS} FROM keyvault_secret_versions WHERE vault = ? AND "
                             "name_key = ? AND version = ?", (self.vault_key, name.lower(), secret.version)).fetchone()
        return SecretVersion.from_row(secret.name, row)

    def delete(self, name: str) -> tuple[SecretVersion, tuple[int, int] | None]:
        """Soft delete (all versions) when the vault has it; otherwise gone for good."""
        now = int(time.time())
        _level, days = self._recovery()
        with self.store.transaction() as db:
            secret = self._live(db, name)
            if days is None:
                self._erase(db, name)
                return secret, None
            deleted = (now, now + days * 86400)
            db.execute("UPDATE keyvault_secrets SET deleted_date = ?, scheduled_purge_date = ? "
                       "WHERE vault = ? AND name_key = ?", (*deleted, self.vault_key, name.lower()))
        return secret, deleted

    def _deleted(self, db: sqlite3.Connection, name: str) -> tuple[SecretVersion, tuple[int, int]]:
        self._purge_expired(db, int(time.time()))
        found = self._secret_row(db, name)
        if found is None or found[1] is None:
            raise errors.deleted_secret_not_found()
        return self._latest(db, name, found[0]), (found[1], found[2])

    def get_deleted(self, name: str) -> tuple[SecretVersion, tuple[int, int]]:
        with self.store.transaction() as db:
            return self._deleted(db, name)

    def list_deleted(self, offset: int, size: int) -> tuple[list[tuple[SecretVersion, tuple[int, int]]], int | None]:
        with self.store.transaction() as db:
            self._purge_expired(db, int(time.time()))
            rows = db.execute("SELECT name, deleted_date, scheduled_purge_date FROM keyvault_secrets WHERE vault = ? "
                              "AND deleted_date IS NOT NULL ORDER BY name_key LIMIT ? OFFSET ?",
                              (self.vault_key, size + 1, offset)).fetchall()
            found = [(self._latest(db, n, n), (d, p)) for n, d, p in rows[:size]]
        return found, (offset + size if len(rows) > size else None)

    def recover(self, name: str) -> SecretVersion:
        with self.store.transaction() as db:
            secret, _deleted = self._deleted(db, name)
            db.execute("UPDATE keyvault_secrets SET deleted_date = NULL, scheduled_purge_date = NULL "
                       "WHERE vault = ? AND name_key = ?", (self.vault_key, name.lower()))
        return secret

    def purge(self, name: str) -> None:
        purge_protected = bool(self.resources.document()["properties"].get("enablePurgeProtection"))
        with self.store.transaction() as db:
            self._deleted(db, name)
            if purge_protected:
                raise errors.purge_protected(name)
            self._erase(db, name)

    def _erase(self, db: sqlite3.Connection, name: str) -> None:
        db.execute("DELETE FROM keyvault_secret_versions WHERE vault = ? AND name_key = ?",
                   (self.vault_key, name.lower()))
        db.execute("DELETE FROM keyvault_secrets WHERE vault = ? AND name_key = ?", (self.vault_key, name.lower()))

    def _purge_expired(self, db: sqlite3.Connection, now: int) -> None:
        """Key Vault purges a soft-deleted secret by itself when its retention ends."""
        expired = db.execute("SELECT name_key FROM keyvault_secrets WHERE vault = ? AND scheduled_purge_date <= ?",
                             (self.vault_key, now)).fetchall()
        for (name_key,) in expired:
            self._erase(db, name_key)

    def seed(self) -> None:
        self.resources.seed()


def _metadata(body: dict[str, Any]) -> tuple[str | None, dict[str, str] | None, dict[str, Any]]:
    """contentType, tags and attributes of a set or update body, validated (nothing is written before)."""
    content_type = body.get("contentType")
    if content_type is not None and (not isinstance(content_type, str) or len(content_type) > 255):
        raise errors.bad_parameter("Property 'contentType' must be a string of at most 255 characters.")
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise errors.bad_parameter("Property 'tags' must be an object of string values.")
        if len(tags) > MAX_TAGS:
            raise errors.bad_parameter(f"A secret may carry at most {MAX_TAGS} tags; {len(tags)} were given.")
        if any(len(k) > 512 or len(v) > 256 for k, v in tags.items()):
            raise errors.bad_parameter("A tag name may be at most 512 characters and a tag value at most 256.")
    attributes = body.get("attributes")
    attributes = {} if attributes is None else attributes
    if not isinstance(attributes, dict):
        raise errors.bad_parameter("Property 'attributes' must be an object.")
    checked: dict[str, Any] = {}
    if "enabled" in attributes and attributes["enabled"] is not None:
        if not isinstance(attributes["enabled"], bool):
            raise errors.bad_parameter("Property 'attributes.enabled' must be true or false.")
        checked["enabled"] = attributes["enabled"]
    for field in ("nbf", "exp"):
        if field in attributes:
            moment = attributes[field]
            if moment is not None and (isinstance(moment, bool) or not isinstance(moment, int)
                                       or not 0 <= moment < 2**40):
                raise errors.bad_parameter(f"Property 'attributes.{field}' must be a time in seconds since 1970.")
            checked[field] = moment
    return content_type, tags, checked


def check_version(version: str) -> None:
    if version and not _VERSION.match(version):
        raise errors.invalid_name(version)


def page_request(query: Any) -> tuple[int, int]:
    """(offset, size) from ``maxresults`` and our own ``$skiptoken`` (an opaque offset)."""
    raw_size = query.get("maxresults")
    size = MAX_PAGE
    if raw_size is not None:
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE:
            raise errors.bad_parameter(f"The 'maxresults' parameter must be an integer from 1 to {MAX_PAGE}.")
        size = int(raw_size)
    token = query.get("$skiptoken")
    if token is None:
        return 0, size
    try:
        offset = int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.bad_parameter("The '$skiptoken' parameter is not one this vault issued.") from None
    if offset < 0:
        raise errors.bad_parameter("The '$skiptoken' parameter is not one this vault issued.")
    return offset, size


def skip_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode("ascii")).rstrip(b"=").decode("ascii")


_MODELS: dict[int, tuple[EmulatorContext, KeyVaultModel]] = {}
_MODELS_LOCK = threading.Lock()


def model_for(context: EmulatorContext) -> KeyVaultModel:
    """The one vault model of an emulator, shared by its Key Vault listener, Resource Manager and seeder."""
    with _MODELS_LOCK:
        found = _MODELS.get(id(context))
        if found is None or found[0] is not context:
            found = (context, KeyVaultModel(context))
            _MODELS[id(context)] = found
        return found[1]
