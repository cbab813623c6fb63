"""core.rbac's propagation delay, with a clock the test moves: what the access check sees, change by change."""

from __future__ import annotations

from pathlib import Path

from emulator.core.rbac import ROLE_ASSIGNMENT_TYPE, Rbac, assignment_document, role_definition_id
from emulator.core.settings import Settings
from emulator.core.store import Store

SUB = "00000000-0000-0000-0000-000000000001"
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
READ_GROUP = "Microsoft.Resources/subscriptions/resourceGroups/read"
VM, OTHER = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, delay: float) -> tuple[Rbac, Store, Clock]:
    store = Store(None)
    clock = Clock()
    return Rbac(store, Settings(data_dir=tmp_path, rbac_propagation_seconds=delay), clock=clock), store, clock


def grant(rbac: Rbac, store: Store, principal: str, name: str) -> dict:
    document = assignment_document(GROUP, name, role_definition_id(SUB, READER), principal, None)
    store.put(document["id"], ROLE_ASSIGNMENT_TYPE, document)
    rbac.note_change(document, removed=False)
    return document


def revoke(rbac: Rbac, store: Store, document: dict) -> None:
    store.delete(document["id"])
    rbac.note_change(document, removed=True)


def allowed(rbac: Rbac, principal: str = VM) -> bool:
    return rbac.is_allowed(principal, READ_GROUP, GROUP)


def test_without_a_delay_changes_count_at_once(tmp_path: Path) -> None:
    rbac, store, _ = make(tmp_path, 0)
    document = grant(rbac, store, VM, "a")
    assert allowed(rbac)
    revoke(rbac, store, document)
    assert not allowed(rbac)


def test_the_assignment_index_follows_every_change_to_the_store(tmp_path: Path) -> None:
    """The check keeps an index of assignments by principal: a grant, a revocation or a reset made after
    it was built must each show at the next check (a stale index would keep a revoked caller in)."""
    rbac, store, _ = make(tmp_path, 0)
    assert not allowed(rbac) and not allowed(rbac, OTHER)  # the index is built, empty
    grant(rbac, store, OTHER, "b")
    assert allowed(rbac, OTHER) and not allowed(rbac)
    document = grant(rbac, store, VM, "a")
    assert allowed(rbac)
    revoke(rbac, store, document)
    assert not allowed(rbac) and allowed(rbac, OTHER)
    store.clear()
    assert not allowed(rbac, OTHER)


def test_a_grant_counts_after_the_delay_and_a_revocation_too(tmp_path: Path) -> None:
    rbac, store, clock = make(tmp_path, 30)
    document = grant(rbac, store, VM, "a")
    assert not allowed(rbac)
    assert rbac.holds_any_within(VM, GROUP) is False
    clock.now += 29
    assert not allowed(rbac)
    clock.now += 2
    assert allowed(rbac) and rbac.holds_any_within(VM, GROUP)
    revoke(rbac, store, document)
    assert allowed(rbac)
    clock.now += 31
    assert not allowed(rbac)


def test_the_check_sees_the_assignments_as_they_were_one_delay_ago(tmp_path: Path) -> None:
    """Granted at 0 and revoked at 10, with a delay of 30: refused until 30, allowed from 30 to 40, then refused."""
    rbac, store, clock = make(tmp_path, 30)
    document = grant(rbac, store, VM, "a")
    clock.now += 10
    revoke(rbac, store, document)
    seen = []
    for _ in range(6):
        clock.now += 6
        seen.append(allowed(rbac))
    assert seen == [False, False, False, True, False, False]  # at 16, 22, 28, 34, 40.0…, 46


def test_only_the_changed_principal_waits(tmp_path: Path) -> None:
    rbac, store, clock = make(tmp_path, 30)
    settings = rbac.settings
    assert settings is not None
    settings.rbac_propagation_seconds = 0
    grant(rbac, store, OTHER, "old")  # made before the delay was switched on: counts
    settings.rbac_propagation_seconds = 30
    grant(rbac, store, VM, "new")
    assert allowed(rbac, OTHER) and not allowed(rbac, VM)
    clock.now += 31
    assert allowed(rbac, VM)


def test_forget_changes_propagates_everything(tmp_path: Path) -> None:
    rbac, store, _ = make(tmp_path, 300)
    grant(rbac, store, VM, "a")
    assert not allowed(rbac)
    rbac.forget_changes()
    assert allowed(rbac)
