"""Azure RBAC: built-in role definitions, role assignments in the store, and the access check.

An assignment grants its role's actions at its scope and every scope below it
(subscription → resource group → resource). Actions match case-insensitively with ``*`` wildcards,
minus ``notActions``; data actions are checked separately, as Azure does.

Propagation: with ``Settings.rbac_propagation_seconds`` above 0, the access check sees the assignments
as they were that many seconds ago, as Azure's caches do (a grant refused at first, a revoked assignment
still honoured for a while). Listing assignments on Resource Manager always shows the current ones.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .settings import Settings
from .store import Store

ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
_ROLES_FILE = Path(__file__).resolve().parent / "roles.json"


@dataclass(frozen=True)
class RoleDefinition:
    id: str
    name: str
    description: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    not_data_actions: tuple[str, ...]

    def permits(self, action: str, *, data: bool = False) -> bool:
        allowed, denied = (
            (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        )
        return any(_matches(p, action) for p in allowed) and not any(_matches(p, action) for p in denied)

    def arm_body(self, subscription_id: str) -> dict[str, Any]:
        return {
            "properties": {
                "roleName": self.name,
                "type": "BuiltInRole",
                "description": self.description,
                "assignableScopes": ["/"],
                "permissions": [{
                    "actions": list(self.actions), "notActions": list(self.not_actions),
                    "dataActions": list(self.data_actions), "notDataActions": list(self.not_data_actions),
                }],
            },
            "id": role_definition_id(subscription_id, self.id),
            "type": ROLE_DEFINITION_TYPE,
            "name": self.id,
        }


def role_definition_id(subscription_id: str, role_id: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def arm_timestamp(moment: dt.datetime | None = None) -> str:
    """``2026-12-03T07:53:58.1234560Z``: seven fraction digits and ``Z``, as ARM writes times."""
    moment = moment or dt.datetime.now(dt.timezone.utc)
    return f"{moment.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%M:%S.%f}0Z"


def assignment_document(scope: str, name: str, definition_id: str, principal_id: str,
                        created_by: str | None) -> dict[str, Any]:
    """A role assignment as ARM returns it (2022-04-01's RoleAssignmentProperties).

    ``createdOn``/``updatedOn``/``createdBy``/``updatedBy`` are read-only properties the service fills
    (azure-rest-api-specs, Microsoft.Authorization stable/2022-04-01 authorization-RoleAssignmentsCalls.json);
    ``createdBy`` is the object id of the caller who made it (null for the world's own grants).
    """
    now = arm_timestamp()
    assignment_id = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    return {
        "properties": {
            "roleDefinitionId": definition_id, "principalId": principal_id, "principalType": "ServicePrincipal",
            "scope": scope, "createdOn": now, "updatedOn": now, "createdBy": created_by, "updatedBy": created_by,
        },
        "id": assignment_id,
        "type": ROLE_ASSIGNMENT_TYPE,
        "name": name,
    }


@lru_cache(maxsize=512)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.IGNORECASE)


def _matches(pattern: str, action: str) -> bool:
    return _pattern(pattern).fullmatch(action) is not None


def scope_covers(assignment_scope: str, target_scope: str) -> bool:
    outer = assignment_scope.lower().rstrip("/")
    inner = target_scope.lower().rstrip("/")
    return outer == "" or inner == outer or inner.startswith(outer + "/")


def load_role_definitions() -> dict[str, RoleDefinition]:
    data = json.loads(_ROLES_FILE.read_text(encoding="utf-8"))
    return {
        r["id"]: RoleDefinition(
            id=r["id"], name=r["roleName"], description=r["description"],
            actions=tuple(r["actions"]), not_actions=tuple(r["notActions"]),
            data_actions=tuple(r["dataActions"]), not_data_actions=tuple(r["notDataActions"]),
        )
        for r in data["roles"]
    }


@dataclass(frozen=True)
class _Change:
    at: float
    document: dict[str, Any]
    removed: bool


class Rbac:
    def __init__(self, store: Store, settings: Settings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.roles = load_role_definitions()
        self.settings = settings
        self._clock = clock
        self._changes: list[_Change] = []  # made within the propagation delay, oldest first
        self._lock = threading.Lock()
        # Assignments by principal, rebuilt when the store has changed: every data-plane request checks
        # its caller's assignments, and reading them all from the store each time was most of a small
        # blob request's cost (bench/storage_bench.py).
        self._index: tuple[int, dict[str, list[dict[str, Any]]]] = (-1, {})

    @property
    def propagation_seconds(self) -> float:
        return self.settings.rbac_propagation_seconds if self.settings is not None else 0.0

    def note_change(self, document: dict[str, Any], *, removed: bool) -> None:
        """A role assignment was created or deleted: the check sees it only after the propagation delay."""
        if self.propagation_seconds <= 0:
            return
        with self._lock:
            self._changes.append(_Change(self._clock(), document, removed))

    def forget_changes(self) -> None:
        """Everything propagated at once (on reset)."""
        with self._lock:
            self._changes.clear()

    def _propagated(self, principal_id: str) -> list[dict[str, Any]]:
        """The principal's assignments as the services' caches see them: the current ones, with the changes
        younger than the propagation delay undone, newest first."""
        current = self.assignments_for(principal_id)
        delay = self.propagation_seconds
        with self._lock:
            if delay <= 0:
                self._changes.clear()
                return current
            horizon = self._clock() - delay
            self._changes = [c for c in self._changes if c.at > horizon]
            recent = list(self._changes)
        if not recent:
            return current
        wanted = principal_id.lower()
        seen = {a["id"].lower(): a for a in current}
        for change in reversed(recent):
            if change.document["properties"]["principalId"].lower() != wanted:
                continue
            key = change.document["id"].lower()
            if change.removed:
                seen[key] = change.document
            else:
                seen.pop(key, None)
        return list(seen.values())

    def role(self, role_id: str) -> RoleDefinition | None:
        return self.roles.get(role_id.lower())

    def role_by_name(self, name: str) -> RoleDefinition:
        return next(r for r in self.roles.values() if r.name.lower() == name.lower())

    def assignments_for(self, principal_id: str) -> list[dict[str, Any]]:
        """The principal's role assignments now, oldest first (callers only read them)."""
        generation, index = self._index
        if generation != self.store.generation:
            generation = self.store.generation  # read before listing: a write meanwhile rebuilds next time
            index = {}
            for assignment in self.store.list(ROLE_ASSIGNMENT_TYPE):
                index.setdefault(assignment["properties"]["principalId"].lower(), []).append(assignment)
            self._index = (generation, index)
        return list(index.get(principal_id.lower(), ()))

    def holds_any_within(self, principal_id: str, scope: str) -> bool:
        """Whether the principal holds any role assignment at ``scope`` or below it.

        What Resource Manager looks at for the reads a caller is entitled to without the action at the
        scope itself: its subscriptions, and a list filtered down to the children it may read.
        """
        return any(scope_covers(scope, a["properties"]["scope"]) for a in self._propagated(principal_id))

    def is_allowed(self, principal_id: str, action: str, scope: str, *, data: bool = False) -> bool:
        for assignment in self._propagated(principal_id):
            properties = assignment["properties"]
            if not scope_covers(properties["scope"], scope):
                continue
            role = self.role(properties["roleDefinitionId"].rsplit("/", 1)[-1])
            if role is not None and role.permits(action, data=data):
                return True
        return False
