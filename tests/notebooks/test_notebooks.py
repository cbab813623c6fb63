"""Every notebook runs headless against the emulator: papermill (parametrized) and nbval.

The kernel is forced to ``python3`` (the environment's own ipykernel); each cell has a timeout.
Notebooks clean up after themselves, and the world is reset between runs anyway.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 120
WHOLE_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}")

RUNS = [
    ("00_welcome.ipynb", {}),
    ("01_data_lake.ipynb", {}),
    # both exercises (Gen1, Gen2), answered right, then wrong
    ("01_data_lake.ipynb", {"reports_permissions": "r-x", "gen2_file_permissions": "r--"}),
    ("01_data_lake.ipynb", {"reports_permissions": "r--", "gen2_file_permissions": "rw-"}),
    # Gen1 is retired: Part 1 explains, calls nothing; Part 2 without a Gen2 account named explains too
    ("01_data_lake.ipynb", {"target": "azure"}),
    # exercises: a right and a wrong answer each (the unanswered run is nbval's, on the committed copy)
    ("02_blob_storage.ipynb", {"exercise_answer": {"restype": "container", "comp": "list"}}),
    ("02_blob_storage.ipynb", {"exercise_answer": {"comp": "list"}}),
    ("03_storage_sas.ipynb", {"exercise_answer": "r"}),
    ("03_storage_sas.ipynb", {"exercise_answer": "rcw"}),
    ("04_azure_sql.ipynb", {}),
    ("05_key_vault.ipynb", {}),
    ("05_key_vault.ipynb", {"exercise_answer": 403}),
    ("05_key_vault.ipynb", {"exercise_answer": 200}),
    ("06_resource_manager_system_assigned.ipynb", {}),
    ("07_resource_manager_user_assigned.ipynb", {"selector": "client_id"}),
    ("07_resource_manager_user_assigned.ipynb", {"selector": "object_id"}),
    ("07_resource_manager_user_assigned.ipynb", {"selector": "msi_res_id"}),
]


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    """All outputs as one text. Stream outputs are joined as written: the kernel may cut one print()
    into several outputs anywhere between its writes ("403", " ", "AuthorizationFailed")."""
    chunks = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                chunks.append(output.get("text", ""))
            else:
                chunks.extend(f"\n{v}\n" for v in output.get("data", {}).values())
        chunks.append("\n")
    return "".join(chunks)


def assert_in_order(text: str, steps: list[str]) -> None:
    positions = [text.find(step) for step in steps]
    missing = [step for step, at in zip(steps, positions, strict=True) if at < 0]
    assert not missing, f"missing from the outputs: {missing}"
    assert positions == sorted(positions), "the steps came out of order"


# The az commands each portal step shows beside its REST call (the notebooks run them only where az is installed).
AZ_EQUIVALENTS = {
    "00_welcome.ipynb": ["az login --identity", "az account get-access-token --resource"],
    "06_resource_manager_system_assigned.ipynb": [
        "az vm identity show", "az role assignment create", "az role assignment list", "az group show",
        "az role assignment delete"],
    "07_resource_manager_user_assigned.ipynb": [
        "az identity create", "az vm identity assign", "az role assignment create", "az login --identity --",
        "az vm identity remove", "az role assignment delete", "az identity delete"],
}


@pytest.fixture
def no_az(monkeypatch):
    """A program a test starts may only run in a loopback-only network namespace, which a notebook kernel is not
    in: the notebooks show their az commands and run none (tests/conformance/test_azure_cli.py runs az)."""
    monkeypatch.setenv("WORKBOOK_AZ", "none")


@pytest.mark.parametrize(("name", "parameters"), RUNS,
                         ids=[f"{n[:2]}-{'-'.join(map(str, p.values())) or 'default'}" for n, p in RUNS])
def test_papermill_runs_notebook(name, parameters, fresh, emulator_env, no_az, tmp_path, monkeypatch):
    if parameters.get("target") == "azure":
        # IMDS is the emulator's (AZURE_POD_IDENTITY_AUTHORITY_HOST); any other host would go to this dead
        # loopback proxy instead of the network: the kernel is a subprocess, outside the socket guard.
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    output = tmp_path / name
    papermill.execute_notebook(
        str(NOTEBOOKS / name), str(output), parameters={"target": "emulator", **parameters},
        kernel_name="python3", cwd=str(NOTEBOOKS), execution_timeout=CELL_TIMEOUT, progress_bar=False,
    )
    executed = nbformat.read(output, as_version=4)
    text = outputs_text(executed)
    assert not any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))
    assert WHOLE_JWT.search(text) is None, "an executed notebook shows a whole token"
    if name.startswith(("06", "07")):
        # deny → grant → allow → clean up, in that order
        denied, allowed = text.find("403 AuthorizationFailed"), text.find("200 mi-workbook-rg")
        assert 0 <= denied < allowed, "expected a 403 before the grant and a 200 after it"
        assert "after clean-up: 403 AuthorizationFailed" in text or "ID1 is gone from the VM" in text
    if name.startswith("07"):
        assert "appid is ID1's client id: True" in text
        assert "MultipleIdentities 400" in text
        assert "IdentityNotFound 400" in text
        # off and on again, the system-assigned identity is a new principal; the old one is gone
        steps = ["identity type now: UserAssigned | system-assigned principal: None", "MultipleIdentities 400",
                 "a new principal: True", "granting the old principal: 400 PrincipalNotFound",
                 "ID1 is gone from the VM"]
        positions = [text.find(step) for step in steps]
        assert min(positions) >= 0 and positions == sorted(positions), list(zip(steps, positions, strict=True))
    if name.startswith("04"):
        # refuse → grant → allow, read → refuse write → grant → write, clean up; in that order
        steps = ["refused: 18456 Login failed for user '<token-identified principal>'.",
                 "('mi-workbook-vm', 'EXTERNAL_USER', 'db_datareader')",
                 "300 rows, 7 columns: ProductID, Name, Category, Price, InStock, AddedOn, Sku",
                 "(1, 'Classic Hose', 'Garden', Decimal('58.99'))",  # the same rows through mssql-python
                 "Authentication=ActiveDirectoryMsi (mssql-python): logged in as user mi-workbook-vm",
                 # a managed identity's login is <client id>@<tenant id> (the token's appid and tid)
                 "  = the token's appid@tid: True",
                 "refused: 229 The INSERT permission was denied on the object 'Products'",
                 "insert ok: ('Workbook Test Kettle', 'Kitchen', Decimal('19.99'), True)",
                 "229 The SELECT permission was denied",
                 "✓ Right",
                 "deleted test rows: 1",
                 "after clean-up: 18456 Login failed",
                 "rows in dbo.Products: 300"]
        positions = [text.find(step) for step in steps]
        missing = [step for step, at in zip(steps, positions, strict=True) if at < 0]
        assert not missing, f"missing from the outputs: {missing}"
        assert positions == sorted(positions), "the steps came out of order"
        assert "datetime64" in text and "Decimal" in text, "typed columns: datetimes and Decimals"
        assert re.search(r"SUSER_SNAME\(\): [0-9a-f-]{36}@[0-9a-f-]{36}\n", text), "the login name: clientId@tenantId"
    if name.startswith("01") and parameters.get("target") == "azure":
        assert "before the grant: (not called: Data Lake Storage Gen1 was retired on 2024-02-29" in text
        assert "https://miworkbookadls.azuredatalakestore.net/webhdfs/v1/?op=MODIFYACLENTRIES" in text
        assert "AccessControlException" not in text and "SecurityException" not in text
        assert "Set WORKBOOK_DATALAKE_ACCOUNT" in text
        assert "Gen2 before any grant: (not called: set WORKBOOK_DATALAKE_ACCOUNT" in text
        assert "https://<your Gen2 account>.dfs.core.windows.net" in text
        assert "AuthorizationPermissionMismatch" not in text
    elif name.startswith("01"):
        # Part 1 (Gen1): refuse → grant → allow, the 307, read back, exercise, clean up; in that order
        exercise = {None: "Set your answer above", "r-x": "✓ Right: listing a folder needs read AND execute",
                    "r--": "✗ Not this time: the VM cannot even list"}[parameters.get("reports_permissions")]
        steps = ["before the grant: 403 AccessControlException",
                 "aclspec=user:15a76ff3-0756-4b47-b362-9d74a68a035b:r-x\n   → 200 OK",
                 "without the trailing slash: 401 SecurityException",
                 "LISTSTATUS /: 200 OK ['TestFolder']",
                 "step 1: 307 Temporary Redirect",
                 "Location: /webhdfs/v1/TestFolder/Test1.txt?op=CREATE&write=true",
                 "step 2: 201 Created",
                 "read back: [307] 200 'Test file.\\n'",
                 "hello_world.txt (older than the grant): 403 AccessControlException",
                 "SDK read: b'Test file.\\n'",
                 exercise,
                 "after clean-up: 403 AccessControlException"]
        positions = [text.find(step) for step in steps]
        missing = [step for step, at in zip(steps, positions, strict=True) if at < 0]
        assert not missing, f"missing from the outputs: {missing}"
        assert positions == sorted(positions), "the steps came out of order"
        # Part 2 (Gen2): refused → a role (writes anywhere) → role removed → ACLs only (its folder and nowhere
        # else), raw REST then the SDK → exercise → clean up; in that order, after Part 1
        gen2_answer = parameters.get("gen2_file_permissions")
        gen2_exercise = {None: "Set your answer above (gen2_file_permissions",
                         "r--": "✓ Right: reading a file needs r on it",
                         "rw-": "✗ Not this time: the VM could change the file"}[gen2_answer]
        assert_in_order(text[positions[-1]:], [
            "Gen2 before any grant: 403 AuthorizationPermissionMismatch",
            "granted: True",
            "with the role: list TestFolder → 200 OK",
            "with the role: write /vm-was-here.txt → 201 Created · 202 Accepted · 200 OK",
            "role removed: list TestFolder → 403 AuthorizationPermissionMismatch",
            "$ az storage fs access set --acl",
            "ACL-only, in TestFolder: create · append · flush → 201 Created · 202 Accepted · 200 OK",
            "read back: 200 OK 'Written by the VM with ACLs only.\\n'",
            "create /outside.txt: 403 AuthorizationPermissionMismatch",
            "read TestFolder/hello_world.txt (older than the grant): 403 AuthorizationPermissionMismatch",
            "SDK read: b'region,total",
            "SDK write outside TestFolder: 403 AuthorizationPermissionMismatch",
            gen2_exercise,
            "after clean-up (Gen2): 403 AuthorizationPermissionMismatch"])
    if name.startswith("05"):
        # policy: refuse → grant → allow; the challenge; the SDK; RBAC: refuse → grant → allow; exercise; clean up
        answer = parameters.get("exercise_answer")
        exercise = {None: "Set your answer above", 403: "✓ Right: 403",
                    200: "✗ Not this time: the VM got 403"}[answer]
        steps = ["403 Forbidden AccessDenied",
                 "does not have secrets get permission on key vault 'mi-workbook-kv;location=westus'",
                 "200 Hello from Key Vault: no password in my code",
                 "401 Request is missing a Bearer or PoP token.",
                 'WWW-Authenticate: Bearer authorization="https://login.windows.net/<tenant>", '
                 'resource="https://vault.azure.net"',
                 "SDK: mi-workbook-secret = Hello from Key Vault",
                 "enableRbacAuthorization: True",
                 "403 Forbidden ForbiddenByRbac",
                 "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'",
                 "RBAC: allowed: mi-workbook-secret = Hello from Key Vault",
                 exercise,
                 "purged: True",
                 "access-policy mode again: True",
                 "after clean-up: 403 Forbidden"]
        positions = [text.find(step) for step in steps]
        missing = [step for step, at in zip(steps, positions, strict=True) if at < 0]
        assert not missing, f"missing from the outputs: {missing}"
        assert positions == sorted(positions), "the steps came out of order"
    if name.startswith("02"):
        # refuse → grant → allow (raw REST, then the SDK) → a reader cannot write → exercise → clean up
        assert_in_order(text, ["403 AuthorizationPermissionMismatch", "granted: True", "200 Hello world! :)",
                               "hello_world.txt", "refused write: 403 AuthorizationPermissionMismatch",
                               "✓ Right" if parameters["exercise_answer"].get("restype") else "✗ Not yet",
                               "after clean-up: 403 AuthorizationPermissionMismatch"])
    if name.startswith("03"):
        # refuse → grant → SAS → upload/download → what a SAS cannot do → broad role → user delegation SAS → clean up
        assert_in_order(text, ["403 AuthorizationFailed", "200 sv=2015-04-05 sr=c spr=https sp=rcw",
                               "same bytes: True", "PUT 201 | GET 200 Hello from a SAS",
                               "delete without d: 403 AuthorizationPermissionMismatch",
                               "another container: 403 AuthenticationFailed", "expired SAS: 403 AuthenticationFailed",
                               "one signature character changed: 403 AuthenticationFailed",
                               "listKeys: 200 ['key1', 'key2']",
                               "user delegation SAS: signed with a key from the VM's own token",
                               "listKeys without Storage Account Contributor: 403 AuthorizationFailed",
                               "✓ Right" if parameters["exercise_answer"] == "r" else "✗ Not yet",
                               "after clean-up: user delegation SAS 403 AuthorizationPermissionMismatch",
                               "after clean-up: listServiceSas 403 AuthorizationFailed"])
        assert re.search(r"sig=[A-Za-z0-9%+/]{5}", text) is None, "an executed notebook shows a whole SAS signature"
    if name.startswith("00"):
        assert "VM name: mi-workbook-vm" in text
        assert "InvalidResource 400 invalid_resource" in text
    for command in AZ_EQUIVALENTS.get(name, []):  # shown even where az cannot run
        assert f"$ {command}" in text, command
    if name in AZ_EQUIVALENTS:
        assert "az is not installed here" in text


def test_nbval_reexecutes_committed_notebooks(fresh, emulator_env, no_az):
    """nbval re-runs the committed notebooks and compares the cells marked NBVAL_CHECK_OUTPUT."""
    notebooks = sorted(str(p) for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-kernel-name", "python3", "--nbval-cell-timeout", str(CELL_TIMEOUT),
         "--sanitize-with", str(Path(__file__).with_name("sanitize.cfg")), "--rootdir", str(NOTEBOOKS),
         "-o", "addopts=", *notebooks],
        cwd=NOTEBOOKS, env={**os.environ}, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-2000:]


ACCOUNT_KEYS = [key for account in json.loads((ROOT / "emulator" / "world.json").read_text(encoding="utf-8"))
                .get("storage", {}).get("accounts", []) for key in account["keys"]]
WHOLE_SIGNATURE = re.compile(r"sig=[A-Za-z0-9%+/=]{5,}")


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebook_holds_no_whole_token(path):
    raw = path.read_text(encoding="utf-8")
    assert WHOLE_JWT.search(raw) is None
    assert WHOLE_SIGNATURE.search(raw) is None, "a SAS signature is shown whole"
    assert not any(key[:12] in raw for key in ACCOUNT_KEYS), "an account key is shown"
    assert json.loads(raw)["metadata"]["kernelspec"]["name"] == "python3"


def test_committed_notebooks_carry_outputs_and_a_parameters_cell():
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
        assert "os.environ.get(" in tagged[0].source, f"{path.name}: parameter defaults come from the environment"
        with_output = [c for c in notebook.cells if c.cell_type == "code" and c.get("outputs")]
        assert with_output, f"{path.name}: committed without outputs from an emulator run"


@pytest.mark.parametrize("name", sorted(AZ_EQUIVALENTS))
def test_committed_notebooks_show_az_run_against_the_emulator(name):
    """Committed from a run where az was installed (in a loopback-only namespace): the outputs show az at work."""
    text = outputs_text(nbformat.read(NOTEBOOKS / name, as_version=4))
    assert "az found: the notebook runs its az commands against the emulator" in text
    for command in AZ_EQUIVALENTS[name]:
        assert f"$ {command}" in text, command
