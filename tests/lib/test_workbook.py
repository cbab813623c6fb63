"""lib.workbook.preflight: the target and its summary, or one clear message that stops *Run All*."""

from __future__ import annotations

import json

import pytest

from lib.workbook import PreflightFailed, preflight


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
