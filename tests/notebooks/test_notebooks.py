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
from ipc_kernels import papermill_config

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 120
WHOLE_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}")

WORLD = json.loads((ROOT / "emulator" / "world.json").read_text(encoding="utf-8"))
ID1_RESOURCE_ID = (f"/subscriptions/{WORLD['subscription']['id']}/resourceGroups/mi-workbook-rg/providers/"
                   "Microsoft.ManagedIdentity/userAssignedIdentities/ID1")
SQL_RIGHT = "GRANT SELECT ON dbo.Products TO [mi-workbook-vm]"
SQL_WRONG = "ALTER ROLE db_datareader ADD MEMBER [mi-workbook-vm]"
# 06's exercise: the role assignments on the resource group, listed with the VM's token
RG_ROLE_ASSIGNMENTS = (f"/subscriptions/{WORLD['subscription']['id']}/resourceGroups/mi-workbook-rg/providers/"
                       "Microsoft.Authorization/roleAssignments?api-version=2022-04-01")
# 00's exercise: the raw token request for Storage, written as on a VM (the notebook sends it to the emulator's IMDS)
STORAGE_TOKEN_URL = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" \
                    "https://storage.azure.com/"

# Every exercise is run answered right and answered wrong; unanswered is how it is committed (nbval re-runs that).
RUNS = [
    ("00_welcome.ipynb", {}),
    ("00_welcome.ipynb", {"exercise_answer": {"url": STORAGE_TOKEN_URL, "headers": {"Metadata": "true"}}}),
    ("00_welcome.ipynb", {"exercise_answer": {"url": STORAGE_TOKEN_URL, "headers": {}}}),
    ("01_data_lake.ipynb", {}),
    # both exercises (Gen1, Gen2), answered right, then wrong
    ("01_data_lake.ipynb", {"reports_permissions": "r-x", "gen2_file_permissions": "r--"}),
    ("01_data_lake.ipynb", {"reports_permissions": "r--", "gen2_file_permissions": "rw-"}),
    # Gen1 is retired: Part 1 explains, calls nothing; Part 2 without a Gen2 account named explains too
    ("01_data_lake.ipynb", {"target": "azure"}),
    ("02_blob_storage.ipynb", {"exercise_answer": {"restype": "container", "comp": "list"}}),
    ("02_blob_storage.ipynb", {"exercise_answer": {"comp": "list"}}),
    ("03_storage_sas.ipynb", {"exercise_answer": "r"}),
    ("03_storage_sas.ipynb", {"exercise_answer": "rcw"}),
    ("04_azure_sql.ipynb", {"exercise_answer": SQL_RIGHT}),
    ("04_azure_sql.ipynb", {"exercise_answer": SQL_WRONG}),
    ("05_key_vault.ipynb", {"exercise_answer": "Key Vault Secrets Officer"}),
    ("05_key_vault.ipynb", {"exercise_answer": "Key Vault Contributor"}),
    ("06_resource_manager_system_assigned.ipynb", {}),
    ("06_resource_manager_system_assigned.ipynb", {"exercise_answer": RG_ROLE_ASSIGNMENTS}),
    # the same list at the subscription's scope: the VM's Reader holds only on the resource group
    ("06_resource_manager_system_assigned.ipynb", {"exercise_answer": RG_ROLE_ASSIGNMENTS.replace(
        "/resourceGroups/mi-workbook-rg", "")}),
    # each selector once; the exercise right, wrong, and unanswered
    ("07_resource_manager_user_assigned.ipynb", {"selector": "client_id", "exercise_answer":
     f"api-version=2018-02-01&resource=https://vault.azure.net&msi_res_id={ID1_RESOURCE_ID}"}),
    ("07_resource_manager_user_assigned.ipynb", {"selector": "object_id", "exercise_answer":
     "api-version=2018-02-01&resource=https://vault.azure.net"}),
    ("07_resource_manager_user_assigned.ipynb", {"selector": "msi_res_id"}),
    ("08_troubleshooting.ipynb", {"exercise_answer": "127.0.0.1"}),
    ("08_troubleshooting.ipynb", {"exercise_answer": "localhost"}),
    ("08_troubleshooting.ipynb", {"target": "azure"}),  # only what is safe on a VM; the rest explained
]

# What the learner is told, per notebook and answer (None: unanswered).
EXERCISE_FEEDBACK = {
    "00": lambda answer: "Set your answer above" if answer is None else
    "✓ Right: GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/" if
    answer["headers"] else "✗ Not yet: IMDS answered 400 invalid_request: Required metadata header not specified",
    "02": lambda answer: "✓ Right" if answer.get("restype") else "✗ Not yet",
    "03": lambda answer: "✓ Right" if answer == "r" else "✗ Not yet: reads worked, the write answered 201",
    "04": lambda answer: "✓ Right: GRANT SELECT ON dbo.Products" if answer == SQL_RIGHT else
    "✗ Not yet: the VM reads Products, but as a member of db_datareader it reads every other table too",
    "05": lambda answer: "✓ Right: Key Vault Secrets Officer has the data actions" if answer.endswith("Officer") else
    "✗ Not yet: with Key Vault Contributor the VM still got 403",
    "06": lambda answer: "Set your answer above" if answer is None else
    "✓ Right: GET <resource group id>/providers/Microsoft.Authorization/roleAssignments" if "resourceGroups" in answer
    else "✗ Not yet: 403 AuthorizationFailed: The client",
    "08": lambda answer: "Set your answer above" if answer is None else
    "✓ Right: NO_PROXY=127.0.0.1 sends token requests straight to IMDS" if answer == "127.0.0.1" else
    "✗ Not yet: the request went through the proxy and IMDS answered 400",
    "07": lambda answer: "Set your answer above" if answer is None else
    "✓ Right: msi_res_id names ID1" if "msi_res_id" in answer else
    "✗ Not yet: the token is the VM's system-assigned identity's",
}


# The steps each notebook records in the learner's progress book (lib.progress) on a run against the emulator,
# besides its exercises (recorded only when answered, with whether the answer was right).
PROGRESS_STEPS = {"00": {"denied", "allowed", "finished"},
                  **{key: {"denied", "granted", "allowed", "finished"}
                     for key in ("01", "02", "03", "04", "05", "06", "07", "08")}}
# Each exercise step: the parameter that answers it, and which answers are right (default: "exercise" answered by
# exercise_answer, right when the learner is told "✓ Right").
PROGRESS_EXERCISES = {"01": {"exercise": ("reports_permissions", lambda answer: answer == "r-x"),
                             "exercise-gen2": ("gen2_file_permissions", lambda answer: answer == "r--")}}


def expected_progress(name: str, parameters: dict) -> dict[str, bool | None]:
    """step → None, or for an answered exercise whether the answer given was right."""
    if parameters.get("target") == "azure":
        return {}  # nothing is recorded on Azure
    key = name[:2]
    expected: dict[str, bool | None] = dict.fromkeys(PROGRESS_STEPS[key])
    exercises = PROGRESS_EXERCISES.get(key) or {
        "exercise": ("exercise_answer", lambda answer: EXERCISE_FEEDBACK[key](answer).startswith("✓"))}
    for step, (parameter, is_right) in exercises.items():
        if parameters.get(parameter) is not None:
            expected[step] = is_right(parameters[parameter])
    return expected


def run_id(name: str, parameters: dict) -> str:
    shown = [str(v) if k != "exercise_answer" else ("answer" + str(len(str(v)))) for k, v in parameters.items()]
    return f"{name[:2]}-{'-'.join(shown) or 'default'}"


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
    """Each step appears after the one before it (a step may also appear earlier, e.g. in a request shown)."""
    at = 0
    for step in steps:
        found = text.find(step, at)
        assert found >= 0, f"missing from the outputs, or not after {steps[max(steps.index(step) - 1, 0)]!r}: {step!r}"
        at = found + len(step)


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


@pytest.mark.parametrize(("name", "parameters"), RUNS, ids=[run_id(n, p) for n, p in RUNS])
def test_papermill_runs_notebook(name, parameters, fresh, emulator_env, no_az, tmp_path, monkeypatch):
    if parameters.get("target") == "azure":
        # IMDS is the emulator's (AZURE_POD_IDENTITY_AUTHORITY_HOST); any other host would go to this dead
        # loopback proxy instead of the network: the kernel is a subprocess, outside the socket guard.
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    output = tmp_path / name
    fresh.progress.clear()  # the book outlives the world's reset; this run's records only
    papermill.execute_notebook(
        str(NOTEBOOKS / name), str(output), parameters={"target": "emulator", **parameters},
        kernel_name="python3", cwd=str(NOTEBOOKS), execution_timeout=CELL_TIMEOUT, progress_bar=False,
        **papermill_config(tmp_path),
    )
    executed = nbformat.read(output, as_version=4)
    text = outputs_text(executed)
    assert not any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))
    assert WHOLE_JWT.search(text) is None, "an executed notebook shows a whole token"
    feedback = EXERCISE_FEEDBACK.get(name[:2])
    if feedback is not None:
        told = feedback(parameters.get("exercise_answer"))
        assert told in text, f"the learner should be told {told!r}"
    # the learner's progress book: which steps succeeded, names only (never a token); nothing on Azure
    book = fresh.progress.snapshot()["notebooks"]
    recorded = book.get(name[:2], {})
    assert {step: entry.get("correct") for step, entry in recorded.items()} == expected_progress(name, parameters)
    assert set(book) <= {name[:2]} and "eyJ" not in json.dumps(book)
    if name.startswith(("06", "07")):
        # deny → grant → allow → clean up, in that order
        denied, allowed = text.find("403 AuthorizationFailed"), text.find("200 mi-workbook-rg")
        assert 0 <= denied < allowed, "expected a 403 before the grant and a 200 after it"
        assert "after clean-up: 403 AuthorizationFailed" in text or "ID1 is gone from the VM" in text
    if name.startswith("07"):
        assert f"token request selector: {{'{parameters['selector']}'" in text
        assert "appid is ID1's client id: True" in text
        assert "MultipleIdentities 400" in text
        assert "IdentityNotFound 400" in text
        # off and on again, the system-assigned identity is a new principal; the old one is gone
        steps = ["identity type now: UserAssigned | system-assigned principal: None", "MultipleIdentities 400",
                 "a new principal: True", "granting the old principal: 400 PrincipalNotFound",
                 "no selector → the system-assigned identity: True",
                 EXERCISE_FEEDBACK["07"](parameters.get("exercise_answer")), "ID1 is gone from the VM"]
        assert_in_order(text, steps)
    if name.startswith("04"):
        # refuse → grant → allow, read → refuse write → grant → write, a role taken away, exercise, clean up
        assert_in_order(text, [
            "refused: 18456 Login failed for user '<token-identified principal>'.",
            "('mi-workbook-vm', 'EXTERNAL_USER', 'db_datareader')",
            "300 rows, 7 columns: ProductID, Name, Category, Price, InStock, AddedOn, Sku",
            "(1, 'Classic Hose', 'Garden', Decimal('58.99'))",  # the same rows through mssql-python
            "Authentication=ActiveDirectoryMsi (mssql-python): logged in as user mi-workbook-vm",
            # a managed identity's login is <client id>@<tenant id> (the token's appid and tid)
            "  = the token's appid@tid: True",
            "refused: 229 The INSERT permission was denied on the object 'Products'",
            "insert ok: ('Workbook Test Kettle', 'Kitchen', Decimal('19.99'), True)",
            "229 The SELECT permission was denied",
            EXERCISE_FEEDBACK["04"](parameters["exercise_answer"]),
            "deleted test rows: 1",
            "after clean-up: 18456 Login failed",
            "rows in dbo.Products: 300"])
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
        assert_in_order(text, steps)
        # Part 2 (Gen2): refused → a role (writes anywhere) → role removed → ACLs only (its folder and nowhere
        # else), raw REST then the SDK → exercise → clean up; in that order, after Part 1
        gen2_answer = parameters.get("gen2_file_permissions")
        gen2_exercise = {None: "Set your answer above (gen2_file_permissions",
                         "r--": "✓ Right: reading a file needs r on it",
                         "rw-": "✗ Not this time: the VM could change the file"}[gen2_answer]
        assert_in_order(text[text.find(steps[-1]):], [
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
        # policy: refuse → grant → allow; the challenge; the SDK; RBAC: refuse → grant → allow; a reader cannot
        # write; exercise; clean up
        assert_in_order(text, [
            "403 Forbidden AccessDenied",
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
            "set_secret as Key Vault Secrets User: 403 Forbidden ForbiddenByRbac",
            EXERCISE_FEEDBACK["05"](parameters["exercise_answer"]),
            "purged: True",
            "access-policy mode again: True",
            "after clean-up: 403 Forbidden"])
    if name.startswith("02"):
        # refuse → grant → allow (raw REST, then the SDK) → a reader cannot write → exercise → clean up
        assert_in_order(text, ["403 AuthorizationPermissionMismatch", "granted: True", "200 Hello world! :)",
                               "hello_world.txt", "refused write: 403 AuthorizationPermissionMismatch",
                               EXERCISE_FEEDBACK["02"](parameters["exercise_answer"]),
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
                               EXERCISE_FEEDBACK["03"](parameters["exercise_answer"]),
                               "after clean-up: user delegation SAS 403 AuthorizationPermissionMismatch",
                               "after clean-up: listServiceSas 403 AuthorizationFailed"])
        assert re.search(r"sig=[A-Za-z0-9%+/]{5}", text) is None, "an executed notebook shows a whole SAS signature"
    if name.startswith("08") and parameters.get("target") == "azure":
        assert_in_order(text, [
            "On Azure IMDS cannot be told to fail; a normal request logs:", "IMDS answered 200 after 0 retries",
            "without the header: 400 invalid_request", "requests: 400 invalid_request",
            "Resource Manager cannot be reached from here: ProxyError",  # the test's dead proxy: nothing leaves
            "On Azure: not reproduced (only Entra ID signs tokens)",
            "On Azure: not reproduced here (notebook 06 grants for real and waits)",
            "a client id nobody has:   IdentityNotFound 400",
            "Set sql_server and sql_database to try this on Azure",
            "Set vault_name to try this on Azure", "On Azure nothing was changed."])
        assert "an identity not attached" not in text and "Data Lake Gen1:" not in text
    elif name.startswith("08"):
        # each symptom reproduced, in the notebook's order, then the exercise and the clean-up
        assert_in_order(text, [
            "lib.imds: IMDS answered 200 after 2 retries", "410 once: lib.imds: IMDS answered 200 after 1 retries",
            "429 ten times: ThrottledError after 2 retries",
            "without the header: 400 invalid_request · Required metadata header not specified",
            "requests: 400 invalid_request · Request contains X-Forwarded-For header",
            "azure-identity: CredentialUnavailableError", "NO_PROXY = 127.0.0.1: 200 · forwarded: 0",
            "→ 401 InvalidAuthenticationTokenAudience", "→ 401 Unauthorized\n    AKV10022: Invalid audience",
            "→ 401 SecurityException", "→ 401 ExpiredAuthenticationToken", "asking again: True",
            "right after the grant: 403 · after waiting: 200", "right after revoking: 200 · after waiting: 403",
            "an identity not attached: IdentityNotFound 400", "no selector, two attached: MultipleIdentities 400",
            "system-assigned on again, a new principal: True",
            "no user for the VM in the database: 18456 Login failed",
            "a token for Storage instead:        18456 Login failed",
            "no token: 401 Unauthorized", "a token with the trailing slash: 401 Unauthorized · AKV10022",
            "the VM's token, nothing granted: 403 Forbidden AccessDenied",
            EXERCISE_FEEDBACK["08"](parameters.get("exercise_answer")),
            "RBAC propagation delay: 0.0 s · faults pending: {}"])
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
    plugin_path = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "ipc_kernels", "--nbval-lax",
         "--nbval-kernel-name", "python3", "--nbval-cell-timeout", str(CELL_TIMEOUT),
         "--nbval-sanitize-with", str(Path(__file__).with_name("sanitize.cfg")), "--rootdir", str(NOTEBOOKS),
         "-o", "addopts=", *notebooks],
        cwd=NOTEBOOKS, env={**os.environ, "PYTHONPATH": plugin_path}, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-2000:]


ACCOUNT_KEYS = [key for account in WORLD.get("storage", {}).get("accounts", []) for key in account["keys"]]
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

