"""A class on a real JupyterHub: three learners, each with their own emulator, and a trainer's table.

drive_hub.py runs the class (hub, proxy, single-user servers, kernels and emulators) as root inside ONE
loopback-only network namespace (tests/netns.py) that also has its own mount and pid namespaces: learners
are system users that exist only in there, /home is a tmpfs, and when the driver ends every process it
started ends with the namespace (the hub also stops them itself first). The tests below assert on what the
driver saw. The configurable-http-proxy comes from npm, installed by scripts/setup-test-tools.sh into
~/.cache/mi-workbook/chp (never into the repository).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import hub_harness  # noqa: E402
from netns import NoNamespace, check_namespaces, loopback_only  # noqa: E402

LEARNERS = ["wblearner1", "wblearner2", "wblearner3"]
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
DRIVER_TIMEOUT_SECONDS = 420


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    try:
        check_namespaces()
        hub_harness.chp_command()
    except (NoNamespace, RuntimeError) as exc:
        pytest.fail(f"{exc}. The hub test runs JupyterHub only inside a loopback-only namespace, as root (CI does).")
    folder = tmp_path_factory.mktemp("hub")
    staging, results = folder / "staging", folder / "results.json"
    staging.mkdir()
    command = loopback_only([*hub_harness.PRIVATE_NAMESPACES,
                             sys.executable, str(HERE / "drive_hub.py"), str(staging), str(results)])
    done = subprocess.run(command, capture_output=True, text=True, timeout=DRIVER_TIMEOUT_SECONDS,
                          cwd=hub_harness.ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads(results.read_text())
    assert data.get("ok"), f"{data.get('error')}\n--- hub log ---\n{data.get('hub_log_tail', '')}\n{data['steps']}"
    return data


def _learner(run: dict[str, Any], table: str, name: str) -> dict[str, Any]:
    return next(row for row in run[table]["learners"] if row["name"] == name)


def test_each_learner_has_a_private_emulator_the_notebooks_find_with_no_configuration(run) -> None:
    learners = run["learners"]
    assert sorted(learners) == LEARNERS
    for name, seen in learners.items():
        env = seen["env"]
        assert env["USER"] == name and env["HOME"] == f"/home/{name}"
        assert env["WORKBOOK_TARGET"] == "emulator"
        assert env["WORKBOOK_PROFILE"] == f"/home/{name}/.mi-workbook/emulator/profile.json"
        assert env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == seen["endpoints"]["imds"]
        assert seen["uid"] == run["namespace"]["uids"][name]
        assert seen["emulator_uid"] == seen["uid"] == seen["profile_uid"]  # runs as the learner, owns the files
        assert (seen["data_dir_mode"], seen["profile_mode"], seen["key_mode"]) == ("0o700", "0o600", "0o600")
    ports = [seen["endpoints"]["imds"] for seen in learners.values()]
    assert len(set(ports)) == 3 and not any(port.endswith(":29400") for port in ports)  # free ports, not defaults
    assert len({seen["emulator_pid"] for seen in learners.values()}) == 3


def test_the_notebooks_run_in_each_learners_server(run) -> None:
    for key, notebook in run["notebooks"].items():
        assert notebook["ok"], (key, notebook["failed"], notebook["tail"])
    for key, told in (("wblearner1/06", "✓ Right"), ("wblearner3/06", "✗ Not yet")):  # 3 typed a wrong answer
        assert run["notebook_markers"][key] == {"denied": True, "allowed": True, "cleaned": True, "told": told}, key
    assert run["notebook_markers"]["wblearner1/00"]["told"] == "✓ Right"


def test_grants_identities_and_sql_users_stay_each_learners_own(run) -> None:
    worlds = run["worlds_before_reset"]
    assert worlds["wblearner1"]["reader_grants"] == [READER]
    assert worlds["wblearner1"]["sql_login"] == "ok: mi-workbook-vm"
    assert worlds["wblearner2"]["identities"] == ["ID1"]
    for name in ("wblearner2", "wblearner3"):
        assert worlds[name]["reader_grants"] == [], name
        assert worlds[name]["sql_login"].startswith("refused:") and "18456" in worlds[name]["sql_login"], name
    for name in ("wblearner1", "wblearner3"):
        assert worlds[name]["identities"] == [], name
    # the same declared world (fixed ids) in each, and nothing of one in another
    assert len({world["vm_principal"] for world in worlds.values()}) == 1


def test_another_learners_emulator_files_and_tokens_are_out_of_reach(run) -> None:
    trespass = run["trespass_1_to_2"]
    assert trespass["imds"].startswith("403 This emulator answers only the processes of the user who started it")
    assert trespass["profile"] == "PermissionError"
    assert run["token_of_1_in_world_of_2"] == "401 InvalidAuthenticationToken"  # another signing key
    assert run["token_of_1_in_world_of_1"] == "200 mi-workbook-rg"  # the same token at home (the grant is there)


def test_one_learners_reset_leaves_the_others_alone(run) -> None:
    assert run["reset_by_2"] == "The emulator's world is reset: no grants, no ID1."
    after = run["worlds_after_reset"]
    assert after["wblearner2"]["identities"] == []
    assert after["wblearner1"] == run["worlds_before_reset"]["wblearner1"]
    assert after["wblearner3"] == run["worlds_before_reset"]["wblearner3"]


def test_a_stopped_or_killed_server_takes_only_its_own_emulator(run) -> None:
    assert run["emulator_3_gone_after"] is not None, "stopping wblearner3's server left its emulator running"
    assert run["emulator_2_gone_after_server_killed"] is not None, "a killed server left its emulator running"
    assert run["emulator_1_alive"]
    assert run["world_1_at_the_end"] == run["worlds_before_reset"]["wblearner1"]


def test_the_trainers_table_shows_what_each_learner_did(run) -> None:
    assert run["service_json_status"] == 200
    table = run["service_json"]
    assert table["scenarios"][:8] == ["00", "01", "02", "03", "04", "05", "06", "07"]
    one = _learner(run, "service_json", "wblearner1")
    assert one["server"] == "running"
    assert one["notebooks"]["00"]["finished"] and one["notebooks"]["06"]["finished"]
    assert one["notebooks"]["06"]["summary"] == "denied granted allowed exercise✓ finished"
    assert one["notebooks"]["00"]["summary"] == "denied allowed exercise✓ finished"
    two = _learner(run, "service_json", "wblearner2")
    assert sorted(two["notebooks"]) == ["00"]
    three = _learner(run, "service_json", "wblearner3")
    assert sorted(three["notebooks"]) == ["06"]
    assert three["notebooks"]["06"]["steps"]["exercise"]["correct"] is False
    assert set(three["notebooks"]["06"]["steps"]["denied"]) == {"firstAt", "lastAt", "count"}  # names, times, counts
    raw = json.dumps(table)
    assert "eyJ" not in raw and "secret" not in raw.lower()


def test_a_stopped_learner_keeps_a_row_with_what_was_last_read(run) -> None:
    three = _learner(run, "service_json_after_stop", "wblearner3")
    assert three["server"] == "stopped"
    assert three["notebooks"]["06"]["finished"] and three["seenAt"]
    assert _learner(run, "service_json_after_stop", "wblearner1")["server"] == "running"


def test_only_trainers_see_the_table(run) -> None:
    page = run["service_page_as_trainer"]
    assert page["status"] == 200
    assert any(url.endswith("/hub/api/oauth2/authorize") for url in page["went_through"])  # the hub's OAuth
    for name in LEARNERS:
        assert f"<th>{name}</th>" in page["html"]
    assert "denied granted allowed exercise✗" in page["html"]
    assert run["service_json_as_learner"] == 403
    assert run["service_page_as_learner"] == 403


def test_a_learners_server_tells_its_progress_only_to_those_the_hub_allows(run) -> None:
    answers = run["progress_handler"]
    assert answers["owner"] == 200
    assert answers["other learner"] == 403
    assert answers["nobody"] in (302, 401, 403)  # sent to sign in, never answered


def test_the_trainer_command_prints_the_same_table(run) -> None:
    command = run["trainer_command"]
    assert command["code"] == 0, command["err"]
    lines = command["out"].splitlines()
    assert lines[0].split()[:4] == ["learner", "server", "00", "01"]
    row = next(line for line in lines if line.startswith("wblearner3"))
    assert "denied granted allowed exercise✗" in row
    assert "finished: 00 2/" in command["out"] and "06 2/" in command["out"]
    refused = run["trainer_command_as_learner"]
    assert refused["code"] == 1 and "403" in refused["err"]


def test_a_learner_prints_their_own_progress(run) -> None:
    out = run["learner_progress_command"]
    assert "06        denied granted allowed exercise✓ finished" in out
    assert "2 of 2 notebooks finished." in out


def test_the_hub_stopped_cleanly(run) -> None:
    names = [name for name, _ in run["steps"]]
    assert names[-1] == "hub stopped"
