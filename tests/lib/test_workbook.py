"""lib.workbook.preflight: the target and its summary, or one clear message that stops *Run All*."""

from __future__ import annotations

import json

import pytest

from lib.workbook import PreflightFailed, preflight, wait_until


def test_preflight_finds_the_running_emulator(emulator, emulator_env):
    resolved, summary = preflight("emulator")
    assert resolved.is_emulator
    values = summary["value"].to_dict()
    assert values["target"] == "emulator" and values["VM"] == "mi-workbook-vm"
    assert values["imds endpoint"] == emulator.profile.endpoints["imds"]


def test_preflight_without_an_emulator_stops_with_one_message(tmp_path, monkeypatch):
    stale = tmp_path / "profile.json"
    stale.write_text(json.dumps({"control": "http://127.0.0.1:9/__emulator", "control_secret": "x"}))
    monkeypatch.setenv("WORKBOOK_PROFILE", str(stale))
    with pytest.raises(PreflightFailed) as stopped:
        preflight("emulator")
    shown = "\n".join(stopped.value._render_traceback_())
    assert "Preflight failed: The emulator is not running" in shown
    assert "azure-emulator start" in shown and "NO_PROXY" in shown
    assert "Traceback" not in shown and "File " not in shown


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _target(name: str):
    from lib.target import Target
    return Target(name=name, endpoints={})


def test_wait_until_tries_again_on_azure_and_says_why():
    answers, said, clock = iter([403, 403, 200, 200]), [], _Clock()
    result = wait_until(lambda: next(answers), lambda status: status == 200, target=_target("azure"),
                        why="a new role assignment takes up to 10 minutes", on_retry=said.append,
                        sleep=clock.sleep, clock=clock)
    assert result == 200 and clock.slept == [15.0, 15.0]
    assert said[0] == ("not yet after 0 s (a new role assignment takes up to 10 minutes); trying again in 15 s")


def test_wait_until_gives_up_with_the_last_answer():
    clock = _Clock()
    result = wait_until(lambda: 403, lambda status: status == 200, target=_target("emulator"), why="x",
                        sleep=clock.sleep, clock=clock, timeout=5, interval=1)
    assert result == 403 and len(clock.slept) == 5  # tries at 0, 1, … 5 s: one more would pass the 5 s


def test_wait_until_on_the_emulator_settles_at_once_without_a_word():
    said, clock = [], _Clock()
    assert wait_until(lambda: 200, lambda status: status == 200, target=_target("emulator"), why="x",
                      on_retry=said.append, sleep=clock.sleep, clock=clock) == 200
    assert said == [] and clock.slept == []
