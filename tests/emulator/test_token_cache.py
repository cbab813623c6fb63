"""The verifier remembers tokens that passed (no second signature check) but never their lifetime."""

from __future__ import annotations

import time

import pytest

from emulator.app import Emulator
from emulator.core import tokens
from emulator.core.tokens import TokenRejected

STORAGE = ("https://storage.azure.com/",)
ARM = ("https://management.azure.com/",)


def test_a_verified_token_is_not_verified_again_but_its_lifetime_is(emulator: Emulator,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = emulator.context.verifier
    token = emulator.context.issuer.issue(emulator.context.world.vm_system_identity, STORAGE[0]).access_token
    calls: list[str] = []
    real = verifier._verify
    monkeypatch.setattr(verifier, "_verify", lambda t, a: calls.append(t) or real(t, a))
    first = verifier.verify(token, STORAGE)
    assert verifier.verify(token, STORAGE) == first
    assert len(calls) == 1
    with pytest.raises(TokenRejected) as other_audience:
        verifier.verify(token, ARM)
    assert other_audience.value.reason == "audience"
    # time passes: the remembered lifetime has ended, so the full check runs again
    verifier._verified[(token, STORAGE)]["exp"] = int(time.time()) - 3600
    verifier.verify(token, STORAGE)
    assert len(calls) == 3


def test_the_cache_is_bounded(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 16)
    verifier = emulator.context.verifier
    identity = emulator.context.world.vm_system_identity
    for _ in range(36):
        verifier.verify(emulator.context.issuer.issue(identity, STORAGE[0]).access_token, STORAGE)
    assert len(verifier._verified) == 16
