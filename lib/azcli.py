"""The Azure CLI (`az`) against the workbook's target: the command lines the notebooks show, and running them.

On Azure, `az` is the learner's own, unchanged. On the emulator, `az` needs five things, and gets them
for its own process only (the learner's shell and their own `~/.azure` profile are never touched):

- ``AZURE_CONFIG_DIR``: a config dir of its own, in the emulator's data dir;
- the emulator registered there as a cloud (``az cloud register --endpoint-resource-manager …``, which
  reads the cloud's other endpoints from Resource Manager's ``/metadata/endpoints``) and made active;
- ``REQUESTS_CA_BUNDLE``: the emulator's CA, which az's HTTP stack (requests) trusts for this process;
- ``AZURE_CORE_INSTANCE_DISCOVERY=false``: MSAL would otherwise ask login.microsoftonline.com whether the
  emulator's login host is a known authority (az's ``core.instance_discovery`` setting, env form);
- ``AZURE_POD_IDENTITY_AUTHORITY_HOST``: where MSAL's managed-identity client sends IMDS requests
  (``az login --identity`` goes through it), and telemetry off (``AZURE_CORE_COLLECT_TELEMETRY=false``).

Standard library only: ``azure-emulator az-profile`` imports it and must start fast.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOUD_NAME = "AzureWorkbookEmulator"
CONFIG_DIR_NAME = "az"  # in the emulator's data dir
AZ_TIMEOUT_SECONDS = 120
_SECRET_OPTIONS = ("--password", "-p", "--client-secret")


class AzCliError(RuntimeError):
    """`az` is missing, or it could not be set up against the emulator."""


@dataclass(frozen=True)
class AzResult:
    """What one `az` process did. ``ok`` is a zero exit code; ``value`` the parsed JSON output."""

    command: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def value(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None

    def summary(self, pick: Callable[[Any], Any] = lambda value: value) -> Any:
        """``pick(value)`` when az succeeded, else its error line: what a notebook shows either way."""
        if not self.ok:
            return self.error
        try:
            return pick(self.value)
        except (LookupError, TypeError, ValueError) as exc:  # an answer of another shape: say so, do not fail
            return f"(unexpected answer from az: {exc!r})"

    @property
    def error(self) -> str:
        """The first ``ERROR:`` line az printed (what a learner would read), else the last line."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR:")]
        return (errors or lines or [""])[0]


def emulator_environment(profile: Mapping[str, Any], config_dir: Path) -> dict[str, str]:
    """The variables an `az` process needs to use the emulator (see the module's docstring)."""
    return {
        "AZURE_CONFIG_DIR": str(config_dir),
        "REQUESTS_CA_BUNDLE": str(profile["ca_bundle"]),
        "AZURE_CORE_INSTANCE_DISCOVERY": "false",
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": str(profile["endpoints"]["imds"]),
    }


def default_config_dir(profile: Mapping[str, Any]) -> Path:
    """``<emulator data dir>/az``: the data dir is where the profile's CA bundle lives."""
    return Path(str(profile["ca_bundle"])).parent / CONFIG_DIR_NAME


def register_cloud_commands(profile: Mapping[str, Any]) -> list[list[str]]:
    """The two `az` steps that make the emulator the active cloud (the first discovers its endpoints)."""
    arm = str(profile["endpoints"]["arm"])
    return [["cloud", "register", "--name", CLOUD_NAME, "--endpoint-resource-manager", arm],
            ["cloud", "set", "--name", CLOUD_NAME]]


def shell_profile(profile: Mapping[str, Any], config_dir: Path, shell: str = "sh",
                  register: bool = True) -> list[str]:
    """Lines for a shell: an `az` function with the emulator's variables for az's process only, then
    (``register``) the cloud registration, or its update when the config dir has it already."""
    variables = emulator_environment(profile, config_dir)
    arm = str(profile["endpoints"]["arm"])
    register_line = (f"az cloud register --name {CLOUD_NAME} --endpoint-resource-manager {arm} --output none")
    update_line = register_line.replace("cloud register", "cloud update")
    set_line = f"az cloud set --name {CLOUD_NAME}"
    if shell == "powershell":
        pairs = "; ".join(f"{k} = '{v}'" for k, v in variables.items())
        lines = [
            "# az against the emulator: these variables for az's own process, your ~/.azure untouched",
            "function az { $vars = @{ " + pairs + " }; $saved = @{}; "
            "foreach ($k in $vars.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); "
            "[Environment]::SetEnvironmentVariable($k, $vars[$k]) }; "
            "try { & (Get-Command az -CommandType Application | Select-Object -First 1).Source @args } "
            "finally { foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) } } }",
        ]
        if register:
            lines += [f"{register_line} 2>$null; if (-not $?) {{ {update_line} }}", set_line]
        return lines
    if shell == "cmd":
        sets = " && ".join(f'set "{k}={v}"' for k, v in variables.items())
        lines = [f'doskey az=cmd /c "{sets} && az.cmd $*"']
        if register:
            lines += [f"{register_line} 2>nul || {update_line}", set_line]
        return lines
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
    lines = [
        "# az against the emulator: these variables for az's own process, your ~/.azure untouched",
        f'az() {{ {assignments} command az "$@"; }}',
    ]
    if register:
        lines += [f"{register_line} 2>/dev/null || {update_line}", set_line]
    return lines


@dataclass
class AzCli:
    """Runs `az` with the target's environment; ``launcher`` prefixes the command (tests: ``nsenter …``)."""

    executable: str | None
    environment: dict[str, str] = field(default_factory=dict)
    profile: Mapping[str, Any] | None = None  # set on the emulator
    launcher: Sequence[str] = ()
    inherit_environment: bool = True

    @classmethod
    def for_emulator(cls, profile: Mapping[str, Any], az: str | None = None, config_dir: Path | None = None,
                     launcher: Sequence[str] = (), inherit_environment: bool = True) -> AzCli:
        config_dir = config_dir or default_config_dir(profile)
        return cls(az or shutil.which("az"), emulator_environment(profile, config_dir), profile, tuple(launcher),
                   inherit_environment)

    @classmethod
    def for_azure(cls, az: str | None = None) -> AzCli:
        return cls(az or shutil.which("az"))

    @classmethod
    def for_target(cls, target: Any, az: str | None = None, config_name: str = CONFIG_DIR_NAME) -> AzCli:
        """The right `az` for a ``lib.target.Target``: az on PATH, or ``WORKBOOK_AZ`` (a path, or ``none``:
        show the commands, run nothing; the notebook tests set that, since az may only run in a test inside
        a loopback-only network namespace). ``config_name``: another config dir in the emulator's data dir,
        for a second signed-in identity (the admin in one, the VM's identity in another)."""
        chosen = az or os.environ.get("WORKBOOK_AZ") or None
        if chosen == "none":
            return cls(None, profile=target.profile if target.is_emulator else None)
        if not target.is_emulator:
            return cls.for_azure(chosen)
        config_dir = default_config_dir(target.profile).with_name(config_name)
        return cls.for_emulator(target.profile, chosen, config_dir=config_dir)

    @property
    def runs_here(self) -> bool:
        """Whether the notebooks run az commands: on the emulator, with az installed. On Azure they only
        show them (your own az is signed in as you: its commands would change your subscription)."""
        return self.profile is not None and self.available

    def explain(self) -> str:
        """One line for a learner: what happens to the az commands the notebook shows."""
        if self.runs_here:
            shown = str(self.config_dir).replace(str(Path.home()), "~")
            return f"az found: the notebook runs its az commands against the emulator (az's config dir: {shown})."
        if self.profile is not None:
            return ("az is not installed here: the notebook shows the az commands without running them "
                    "(install the Azure CLI, https://aka.ms/azure-cli, to run them against the emulator).")
        return "On Azure the notebook shows the az commands; run them yourself in a terminal signed in with az login."

    def try_run(self, *args: str, output_json: bool = True) -> AzResult | None:
        """``run`` where the notebooks run az (``runs_here``), else None."""
        return self.run(*args, output_json=output_json) if self.runs_here else None

    @property
    def available(self) -> bool:
        return bool(self.executable) and Path(str(self.executable)).exists()

    @property
    def config_dir(self) -> Path | None:
        value = self.environment.get("AZURE_CONFIG_DIR")
        return Path(value) if value else None

    def command_line(self, *args: str) -> str:
        """``az group show --name mi-workbook-rg``: what a learner types (no environment, no launcher).

        A ``--password``/``-p`` value is shown as ``***``: a command line is something notebooks print.
        """
        previous = ("", *args)[: len(args)]
        shown = [("***" if before in _SECRET_OPTIONS else arg) for before, arg in zip(previous, args, strict=True)]
        return shlex.join(["az", *shown])

    def run(self, *args: str, timeout: float = AZ_TIMEOUT_SECONDS, output_json: bool = True) -> AzResult:
        if not self.available:
            raise AzCliError("The Azure CLI (az) is not installed here; see https://aka.ms/azure-cli.")
        arguments = [*args, "--output", "json"] if output_json and "--output" not in args and "-o" not in args \
            else list(args)
        base = dict(os.environ) if self.inherit_environment else {
            k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")}
        completed = subprocess.run(
            [*self.launcher, str(self.executable), *arguments], capture_output=True, text=True, timeout=timeout,
            env={**base, **self.environment}, stdin=subprocess.DEVNULL, check=False,
        )
        return AzResult(self.command_line(*args), completed.returncode, completed.stdout, completed.stderr)

    def use_emulator_cloud(self) -> None:
        """Register the emulator as the active cloud in this config dir (again, if its ports changed)."""
        if self.profile is None:
            return
        if self.config_dir is not None:
            self.config_dir.mkdir(parents=True, exist_ok=True)
        arm = str(self.profile["endpoints"]["arm"])
        if self.config_dir is not None and not (self.config_dir / "clouds.config").exists():
            self._must(self.run("cloud", "register", "--name", CLOUD_NAME, "--endpoint-resource-manager", arm,
                                output_json=False))  # a new config dir: no need to ask what it has
            self._must(self.run("cloud", "set", "--name", CLOUD_NAME, output_json=False))
            return
        shown = self.run("cloud", "show", "--name", CLOUD_NAME)
        if shown.ok and (shown.value or {}).get("endpoints", {}).get("resourceManager", "").rstrip("/") == arm:
            if not (shown.value or {}).get("isActive"):
                self._must(self.run("cloud", "set", "--name", CLOUD_NAME, output_json=False))
            return
        verb = "update" if shown.ok else "register"
        self._must(self.run("cloud", verb, "--name", CLOUD_NAME, "--endpoint-resource-manager", arm,
                            output_json=False))
        self._must(self.run("cloud", "set", "--name", CLOUD_NAME, output_json=False))

    def login_admin(self) -> AzResult:
        """`az login --service-principal` as the emulated world's admin app (the emulator only)."""
        if self.profile is None:
            raise AzCliError("On Azure, sign in yourself: az login")
        admin = self.profile["admin"]
        return self.run("login", "--service-principal", "--username", admin["clientId"],
                        "--password", admin["clientSecret"], "--tenant", str(self.profile["tenant_id"]))

    @staticmethod
    def _must(result: AzResult) -> AzResult:
        if not result.ok:
            raise AzCliError(f"`{result.command}` failed: {result.error}")
        return result
