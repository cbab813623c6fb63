"""`azure-emulator az-profile`: what the Azure CLI needs to use the emulator, for az's own process only.

The real `az` runs with it in tests/conformance/test_azure_cli.py (inside a loopback-only namespace).
Here a stand-in `az` that only reports what it was given checks the shell lines: the variables reach
az's process and nothing else, the learner's own ~/.azure is never the config dir, and the cloud is
registered from Resource Manager's address.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from emulator import cli
from emulator.app import Emulator
from lib.azcli import CLOUD_NAME, AzCli, AzResult, shell_profile

STAND_IN = """#!/bin/sh
echo "az $* | config=$AZURE_CONFIG_DIR | ca=$REQUESTS_CA_BUNDLE | discovery=$AZURE_CORE_INSTANCE_DISCOVERY \
| telemetry=$AZURE_CORE_COLLECT_TELEMETRY | imds=$AZURE_POD_IDENTITY_AUTHORITY_HOST"
"""


def _printed(emulator: Emulator, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = cli.main(["az-profile", "--data-dir", str(emulator.settings.data_dir), *extra])
    return code, capsys.readouterr().out


def test_az_profile_prints_a_function_and_the_cloud_registration(emulator: Emulator, capsys) -> None:
    assert emulator.profile is not None
    code, out = _printed(emulator, capsys)
    assert code == 0
    config_dir = Path(emulator.settings.data_dir) / "az"
    assert f"AZURE_CONFIG_DIR={config_dir}" in out
    assert f"REQUESTS_CA_BUNDLE={emulator.profile.ca_bundle}" in out
    assert "AZURE_CORE_INSTANCE_DISCOVERY=false" in out
    assert f"az cloud register --name {CLOUD_NAME} --endpoint-resource-manager {emulator.profile.endpoints['arm']}" \
        in out
    assert f"az cloud set --name {CLOUD_NAME}" in out
    assert "export " not in out  # nothing is set for the shell itself


def test_the_variables_reach_az_and_nothing_else(emulator: Emulator, capsys, tmp_path: Path) -> None:
    assert emulator.profile is not None
    _, out = _printed(emulator, capsys)
    (tmp_path / "az").write_text(STAND_IN)
    (tmp_path / "az").chmod(0o755)
    script = f'{out}\naz group show\necho "shell: ca=$REQUESTS_CA_BUNDLE config=$AZURE_CONFIG_DIR"'
    ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False,
                         env={"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    config_dir = Path(emulator.settings.data_dir) / "az"
    register, set_cloud, show, shell = lines
    assert register.startswith(f"az cloud register --name {CLOUD_NAME} --endpoint-resource-manager https://127.0.0.1:")
    assert set_cloud.startswith(f"az cloud set --name {CLOUD_NAME} |")
    assert show == (f"az group show | config={config_dir} | ca={emulator.profile.ca_bundle} | discovery=false "
                    f"| telemetry=false | imds={emulator.profile.endpoints['imds']}")
    assert shell == "shell: ca= config="  # the learner's shell keeps its own settings


@pytest.mark.parametrize("shell", ["powershell", "cmd"])
def test_other_shells_scope_the_variables_to_az(emulator: Emulator, capsys, shell: str) -> None:
    _, out = _printed(emulator, capsys, "--shell", shell)
    assert "AZURE_CONFIG_DIR" in out and "AZURE_CORE_INSTANCE_DISCOVERY" in out
    assert f"az cloud set --name {CLOUD_NAME}" in out
    if shell == "powershell":
        assert "finally" in out  # the session's variables are put back after az returns
    else:
        assert out.startswith('doskey az=cmd /c "')  # a child cmd holds them


def test_az_profile_needs_a_running_emulator(tmp_path: Path, capsys) -> None:
    assert cli.main(["az-profile", "--data-dir", str(tmp_path)]) == 3
    assert "not running" in capsys.readouterr().err


def test_apply_without_az_says_how_to_get_it(emulator: Emulator, capsys, tmp_path: Path) -> None:
    code = cli.main(["az-profile", "--apply", "--az", str(tmp_path / "no-az"), "--data-dir",
                     str(emulator.settings.data_dir)])
    assert code == 4
    assert "https://aka.ms/azure-cli" in capsys.readouterr().err


def test_shown_command_lines_hide_the_secret() -> None:
    cli_ = AzCli(executable=None)
    assert cli_.command_line("login", "--service-principal", "-u", "app", "-p", "s3cret", "--tenant", "t") == \
        "az login --service-principal -u app -p '***' --tenant t"
    assert AzResult("az x", 1, "", "WARNING: w\nERROR: (AuthorizationFailed) no\n").error == \
        "ERROR: (AuthorizationFailed) no"


def test_profile_lines_without_registration() -> None:
    profile = {"ca_bundle": "/d/ca.pem", "endpoints": {"imds": "http://127.0.0.1:1", "arm": "https://127.0.0.1:2"}}
    lines = shell_profile(profile, Path("/d/az"), register=False)
    assert len(lines) == 2 and lines[1].startswith("az() {")
