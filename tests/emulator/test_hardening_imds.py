"""IMDS hardening (issue 11): a bounded token cache, a hot path that reads only what it needs, no 500
on a huge list index, and throttling that can trigger and says when to come back.

Each test here failed on main before the fix: the cache kept every (identity, resource) pair forever,
a token request listed every user-assigned identity in the subscription, a 5,000-digit index was a
500, the handler never yielded while counted (so "5 at once" could not happen) and a throttled 429 had
no ``Retry-After``.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from emu_helpers import ARM, IMDS_API, INSTANCE_API, Azure, HeldClock, imds_model

from emulator.app import Emulator
from emulator.core.directory import USER_ASSIGNED_TYPE
from emulator.core.settings import Settings
from emulator.core.tokens import IssuedToken, Principal
from emulator.services.imds.models import TOKEN_CACHE_SIZE, ImdsModel


# -- the token cache is bounded -------------------------------------------------------------------
def test_distinct_resources_do_not_grow_the_cache_past_its_size(world: Azure, fresh: Emulator) -> None:
    """Wildcard resources (any vault, any storage account) are unbounded in number: over HTTP, with real
    signing, more distinct resources than the cache holds leave it at its size."""
    model = imds_model(fresh)
    first = world.mi_token("https://first.vault.azure.net")
    for index in range(TOKEN_CACHE_SIZE + 60):
        world.mi_token(f"https://v{index}.vault.azure.net")
    assert len(model._cache) <= TOKEN_CACHE_SIZE
    recent = f"https://v{TOKEN_CACHE_SIZE + 59}.vault.azure.net"
    assert world.mi_token(recent) == world.mi_token(recent), "recent entries are still served from the cache"
    assert world.mi_token("https://first.vault.azure.net") != first, "the least recently used one was dropped"


class _CountingIssuer:
    """Signs nothing: the cache's bookkeeping is what is measured, 100,000 times."""

    def __init__(self) -> None:
        self.issued = 0

    def issue(self, principal: Principal, resource: str, **_: Any) -> IssuedToken:
        self.issued += 1
        now = int(time.time())
        return IssuedToken(f"token-{self.issued}", now, now, now + 86399, resource)


def test_one_hundred_thousand_distinct_resources_keep_the_cache_bounded() -> None:
    issuer = _CountingIssuer()
    context = SimpleNamespace(settings=Settings(), reset_hooks=[], issuer=issuer)
    model = ImdsModel(context)  # type: ignore[arg-type]
    try:
        principal = Principal("oid", "cid", "vm", "SystemAssigned")
        hot = model.new_token(principal, "https://management.azure.com/")
        for index in range(100_000):
            resource = f"https://account{index}.blob.core.windows.net"
            assert model.cached_token(principal, resource) is None
            model.new_token(principal, resource)
            if index % 200 == 0:  # a resource the VM keeps using (more often than the cache turns over) stays
                assert model.cached_token(principal, "https://management.azure.com/") is hot
        assert model.cache_size() == TOKEN_CACHE_SIZE
        assert model.cached_token(principal, "https://management.azure.com/") is hot
        assert model.cached_token(principal, "https://account0.blob.core.windows.net") is None
    finally:
        model.close()


# -- the hot path reads the VM and its own identities only ----------------------------------------
def test_a_token_request_does_not_read_every_identity(world: Azure, fresh: Emulator,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(5):
        body = {"location": world.location, "tags": {f"t{n}": "v" * 256 for n in range(50)}}
        assert world.put_identity(f"Other{index}", body).status_code == 201
    client_id = world.create_identity("ID1")["properties"]["clientId"]
    world.set_vm_identity("UserAssigned", "ID1")
    listed: list[str] = []
    real_list = fresh.context.store.list

    def spy(resource_type: str, under: str = "") -> list[dict[str, Any]]:
        listed.append(resource_type)
        return real_list(resource_type, under)

    monkeypatch.setattr(fresh.context.store, "list", spy)
    assert world.mi_token() == world.mi_token(ARM, client_id=client_id)  # ID1, the VM's only identity
    assert USER_ASSIGNED_TYPE not in listed, "IMDS listed every user-assigned identity on a token request"


# -- no 500 on a huge list index -------------------------------------------------------------------
@pytest.mark.parametrize("segment", ["1" * 5000, "9" * 30, "٣", "0" * 5000, "-1"])
def test_a_list_index_that_is_not_one_is_not_found(world: Azure, segment: str) -> None:
    response = world.imds(f"/metadata/instance/network/interface/{segment}", params={"api-version": INSTANCE_API})
    assert response.status_code == 404, response.text[:200]
    assert response.json() == {"error": "Not found"}
    assert world.imds("/metadata/instance/network/interface/0/macAddress",
                      params={"api-version": INSTANCE_API, "format": "text"}).text == "000D3A000001"


# -- throttling that can trigger, with Retry-After --------------------------------------------------
def test_the_sixth_concurrent_token_request_gets_429_with_retry_after(world: Azure, fresh: Emulator,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Five requests are held while their tokens are signed; a sixth arriving meanwhile is refused."""
    fresh.settings.imds_throttling = True
    imds_model(fresh).forget()  # an empty rate window and cache: every request below signs a token
    release = threading.Event()
    signing = threading.Semaphore(0)
    real_issue = fresh.context.issuer.issue

    def slow_issue(*args: Any, **kwargs: Any) -> IssuedToken:
        signing.release()
        release.wait(10)
        return real_issue(*args, **kwargs)

    monkeypatch.setattr(fresh.context.issuer, "issue", slow_issue)
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        held = [pool.submit(world.token_response, f"https://held{n}.vault.azure.net") for n in range(5)]
        try:
            for _ in range(5):
                assert signing.acquire(timeout=5), "five token requests should be in flight at once"
            sixth = world.token_response("https://sixth.vault.azure.net")
        finally:
            release.set()
        assert [future.result().status_code for future in held] == [200] * 5
    assert sixth.status_code == 429
    assert sixth.json()["error"] == "too_many_requests"
    assert sixth.headers["Retry-After"] == "1"
    assert world.token_response("https://seventh.vault.azure.net").status_code == 200


def test_a_rate_limited_429_says_when_to_retry(world: Azure, fresh: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = HeldClock()
    monkeypatch.setattr(imds_model(fresh).throttle, "clock", clock)
    fresh.settings.imds_throttling = True
    imds_model(fresh).forget()
    responses = [world.token_response(ARM) for _ in range(21)]
    assert [r.status_code for r in responses[:20]] == [200] * 20
    assert responses[20].status_code == 429
    assert responses[20].headers["Retry-After"] == "1"
    clock.advance(1.05)
    assert world.token_response(ARM).status_code == 200, "after Retry-After the window has moved on"


def test_signing_off_the_event_loop_still_caches(world: Azure) -> None:
    first = world.token_response(ARM)
    second = world.token_response(ARM)
    assert first.status_code == second.status_code == 200
    assert first.json()["access_token"] == second.json()["access_token"]
    assert first.json()["resource"] == ARM


def test_the_signing_workers_stop_with_the_emulator(tmp_path) -> None:
    emulator = Emulator(Settings.for_tests(tmp_path)).start_in_thread()
    model = imds_model(emulator)
    response = requests.get(
        f"{emulator.profile.endpoints['imds']}/metadata/identity/oauth2/token",
        params={"api-version": IMDS_API, "resource": ARM}, headers={"Metadata": "true"}, timeout=10)
    assert response.status_code == 200
    emulator.stop()
    assert model.signers._shutdown
