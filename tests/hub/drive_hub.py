"""A class of three learners and a trainer on a real JupyterHub; run by test_hub.py inside its namespaces.

    python drive_hub.py <staging dir> <results.json>

What happens (every step's observation goes into results.json; test_hub.py asserts on them):
1. the hub starts with the trainer's recipe; three learners' servers are spawned at once through the REST API;
2. each kernel's environment (set by the server extension: nothing configured by hand), the learner's data dir
   and profile (owner and mode) and the emulator's process (owner, ports);
3. wblearner1 runs notebooks 00 and 06, wblearner2 runs 00, wblearner3 runs 06 with a wrong answer to its
   exercise; then wblearner1 grants Reader to the VM and makes it a SQL user, wblearner2 creates ID1;
4. what each learner's kernel sees of its own world (grants, ID1, SQL login), of another learner's emulator
   (IMDS port: refused; profile: unreadable), and whether another learner's token works in its world;
5. wblearner2 resets its world: the others keep theirs; wblearner3's server is stopped through the API: its
   emulator ends, the others go on; wblearner2's server is killed: its emulator follows;
6. the trainer's table: the service's JSON and HTML (the trainer signed in through the hub's OAuth), a
   learner refused, `workbook-trainer progress` with a trainer's token, and `azure-emulator progress` in a
   learner's kernel.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hub_harness as harness  # noqa: E402

LEARNERS = ["wblearner1", "wblearner2", "wblearner3"]
PASSWORDS = {name: f"pw-{name}" for name in [*LEARNERS, harness.TRAINER]}
SUBSCRIPTION = json.loads((harness.ROOT / "emulator" / "world.json").read_text(encoding="utf-8"))["subscription"]["id"]
# The exercises' answers, as a learner types them (the notebooks are committed unanswered): 00's raw token request,
# 06's list of the role assignments on the resource group (right), or on the subscription (refused: wrong).
ANSWER_00 = {"url": "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
                    "https://storage.azure.com/", "headers": {"Metadata": "true"}}
ANSWER_06 = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/mi-workbook-rg/providers/Microsoft.Authorization/"
             "roleAssignments?api-version=2022-04-01")
WRONG_06 = ANSWER_06.replace("/resourceGroups/mi-workbook-rg", "")

ENVIRONMENT = """
import json, os, stat
from pathlib import Path
profile = Path(os.environ["WORKBOOK_PROFILE"])
data_dir = profile.parent
print(json.dumps({
    "env": {k: os.environ.get(k) for k in ("WORKBOOK_TARGET", "WORKBOOK_PROFILE", "WORKBOOK_EMULATOR_HOME",
                                           "AZURE_POD_IDENTITY_AUTHORITY_HOST", "HOME", "USER")},
    "uid": os.getuid(),
    "profile_mode": oct(stat.S_IMODE(profile.stat().st_mode)), "profile_uid": profile.stat().st_uid,
    "data_dir_mode": oct(stat.S_IMODE(data_dir.stat().st_mode)),
    "key_mode": oct(stat.S_IMODE((data_dir / "token-signing-key.pem").stat().st_mode)),
    "emulator_pid": json.loads(profile.read_text())["pid"],
    "endpoints": json.loads(profile.read_text())["endpoints"],
}))
"""

# How a learner's kernel reaches its world's SQL database (as notebook 04 does).
SQL_CONNECT = """
from lib import sql
def sql_connect(t, token):
    database = t.profile["extra"]["sql"]["databases"][0]["name"]
    return sql.connect(token, t.endpoints["sql"], database, t.profile.get("server_certificate") or t.ca_bundle,
                       autocommit=True)
"""

# What the learner's world holds, seen from the learner's own kernel through the lib the notebooks use.
WORLD = SQL_CONNECT + """
import json, pyodbc
from lib import imds, target as targets
from lib.arm import ArmClient
t = targets.resolve("emulator")
cred = t.admin_credential()
admin = ArmClient(t, lambda: cred.get_token("https://management.azure.com/.default").token)
vm = admin.call("GET", t.vm_id, "2024-07-01")
principal = vm["identity"]["principalId"]
grants = [a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1]
          for a in admin.assignments_for(principal, t.resource_group_id)]
identities = admin.call("GET", f"{t.resource_group_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                        "2023-01-31").get("value", [])
try:
    with sql_connect(t, imds.get_token("https://database.windows.net/").token) as connection:
        # the database user the learner's grant made (SUSER_SNAME is the login: <client id>@<tenant id>)
        login = "ok: " + connection.cursor().execute("SELECT USER_NAME()").fetchone()[0]
except pyodbc.Error as problem:
    login = "refused: " + str(problem)[:160]
print(json.dumps({"vm_principal": principal, "reader_grants": grants,
                  "identities": [i["name"] for i in identities], "sql_login": login}))
"""

GRANT_AND_SQL_USER = SQL_CONNECT + """
import json
from lib import target as targets
from lib.arm import ArmClient
t = targets.resolve("emulator")
cred = t.admin_credential()
admin = ArmClient(t, lambda: cred.get_token("https://management.azure.com/.default").token)
principal = admin.call("GET", t.vm_id, "2024-07-01")["identity"]["principalId"]
admin.grant("Reader", principal, scope=t.resource_group_id)
with sql_connect(t, cred.get_token("https://database.windows.net/.default").token) as connection:
    connection.execute(f"CREATE USER [{t.vm_name}] FROM EXTERNAL PROVIDER")
    connection.execute(f"ALTER ROLE db_datareader ADD MEMBER [{t.vm_name}]")
print(json.dumps("done"))
"""

CREATE_ID1 = """
import json
from lib import target as targets
from lib.arm import ArmClient
t = targets.resolve("emulator")
cred = t.admin_credential()
admin = ArmClient(t, lambda: cred.get_token("https://management.azure.com/.default").token)
admin.call("PUT", f"{t.resource_group_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1",
           "2023-01-31", body={"location": t.profile["location"]})
print(json.dumps("done"))
"""

TOKEN = """
import json
from lib import imds
print(json.dumps(imds.get_token("https://management.azure.com/").token))
"""

# Another learner's emulator and files, from this learner's kernel.
TRESPASS = """
import json, requests
from pathlib import Path
other_imds, other_profile = {imds!r}, {profile!r}
try:
    answer = requests.get(other_imds + "/metadata/identity/oauth2/token", headers={{"Metadata": "true"}},
                          params={{"api-version": "2018-02-01", "resource": "https://management.azure.com/"}},
                          timeout=5)
    imds_seen = f"{{answer.status_code}} {{answer.text[:120]}}"
except requests.RequestException as problem:
    imds_seen = "error: " + type(problem).__name__
try:
    Path(other_profile).read_text()
    profile_seen = "read"
except OSError as problem:
    profile_seen = type(problem).__name__
print(json.dumps({{"imds": imds_seen, "profile": profile_seen}}))
"""

FOREIGN_TOKEN = """
import json, requests
from lib import target as targets
t = targets.resolve("emulator")
answer = requests.get(f"{{t.arm}}{{t.resource_group_id}}", params={{"api-version": "2016-09-01"}},
                      headers={{"Authorization": "Bearer " + {token!r}}}, verify=t.verify, timeout=10)
body = answer.json()
print(json.dumps(f"{{answer.status_code}} {{body.get('error', {{}}).get('code') or body.get('name')}}"))
"""

RESET = """
import json, subprocess, sys
done = subprocess.run([sys.executable, "-m", "emulator", "reset"], capture_output=True, text=True, timeout=60)
print(json.dumps(done.stdout.strip() + done.stderr.strip()))
"""

LEARNER_PROGRESS = """
import json, subprocess, sys
done = subprocess.run([sys.executable, "-m", "emulator", "progress"], capture_output=True, text=True, timeout=60)
print(json.dumps(done.stdout))
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def wait_gone(pid: int, timeout: float = 20) -> float | None:
    started = time.monotonic()
    while alive(pid):
        if time.monotonic() - started > timeout:
            return None
        time.sleep(0.1)
    return round(time.monotonic() - started, 2)


def owner_of(pid: int) -> int:
    return Path(f"/proc/{pid}").stat().st_uid


def browser_login(name: str) -> requests.Session:
    """A person signing in at the hub's login page (form, XSRF cookie), as a browser does."""
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(f"{harness.HUB_URL}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    form = {"username": name, "password": PASSWORDS[name]}
    if xsrf:
        form["_xsrf"] = xsrf.group(1)
    browser.post(f"{harness.HUB_URL}/hub/login?next=", data=form, timeout=30)
    return browser


def main() -> int:
    staging, out = Path(sys.argv[1]), Path(sys.argv[2])
    results: dict[str, Any] = {"steps": []}
    started = time.monotonic()

    def step(name: str) -> None:
        results["steps"].append([name, round(time.monotonic() - started, 1)])
        out.write_text(json.dumps(results, indent=1))

    try:
        results["namespace"] = harness.prepare_namespace(staging, LEARNERS)
        # How the learners' servers load the extension: the file the set-up installs, or (a developer's venv set up
        # before that file existed) the project's own copy through JUPYTER_CONFIG_PATH.
        results["extension_enabled_by"] = "JUPYTER_CONFIG_PATH" if harness._server_config_path() else "installed file"
        state = staging / "hub"
        state.mkdir()
        with harness.Hub(state, LEARNERS, PASSWORDS) as hub:
            step("hub started")
            hub.create_users([*LEARNERS, harness.TRAINER])
            results["spawn_seconds"] = hub.spawn(LEARNERS)
            step("servers spawned")
            kernels = {name: harness.KernelRun(hub, name).start() for name in LEARNERS}
            seen = {name: kernel.value(ENVIRONMENT) for name, kernel in kernels.items()}
            for learner in seen.values():
                learner["emulator_uid"] = owner_of(learner["emulator_pid"])
            results["learners"] = seen
            step("environments read")

            runs = {
                "wblearner1/00": harness.run_notebook(hub, "wblearner1", "00_welcome.ipynb",
                                                      overrides={"exercise_answer": ANSWER_00}),
                "wblearner1/06": harness.run_notebook(hub, "wblearner1", "06_resource_manager_system_assigned.ipynb",
                                                      overrides={"exercise_answer": ANSWER_06}),
                "wblearner2/00": harness.run_notebook(hub, "wblearner2", "00_welcome.ipynb",
                                                      overrides={"exercise_answer": ANSWER_00}),
                # wblearner3 types a wrong answer into the exercise cell
                "wblearner3/06": harness.run_notebook(hub, "wblearner3", "06_resource_manager_system_assigned.ipynb",
                                                      edits={"my_answer = exercise_answer":
                                                             f"my_answer = {WRONG_06!r}"}),
            }
            results["notebooks"] = {key: {k: v for k, v in run.items() if k != "text"} | {"tail": run["text"][-600:]}
                                    for key, run in runs.items()}
            results["notebook_markers"] = {key: {
                "denied": "403 AuthorizationFailed" in run["text"], "allowed": "200 mi-workbook-rg" in run["text"],
                "cleaned": "after clean-up: 403 AuthorizationFailed" in run["text"],
                "told": "✓ Right" if "✓ Right" in run["text"] else "✗ Not yet" if "✗ Not yet" in run["text"] else None}
                for key, run in runs.items()}
            step("notebooks run")

            assert kernels["wblearner1"].value(GRANT_AND_SQL_USER) == "done"
            assert kernels["wblearner2"].value(CREATE_ID1) == "done"
            results["worlds_before_reset"] = {name: kernel.value(WORLD) for name, kernel in kernels.items()}
            step("worlds changed")

            one, two = seen["wblearner1"], seen["wblearner2"]
            results["trespass_1_to_2"] = kernels["wblearner1"].value(TRESPASS.format(
                imds=two["endpoints"]["imds"], profile=two["env"]["WORKBOOK_PROFILE"]))
            token_of_1 = kernels["wblearner1"].value(TOKEN)
            results["token_of_1_in_world_of_2"] = kernels["wblearner2"].value(FOREIGN_TOKEN.format(token=token_of_1))
            results["token_of_1_in_world_of_1"] = kernels["wblearner1"].value(FOREIGN_TOKEN.format(token=token_of_1))
            step("trespass tried")

            results["reset_by_2"] = kernels["wblearner2"].value(RESET)
            results["worlds_after_reset"] = {name: kernel.value(WORLD) for name, kernel in kernels.items()}
            results["learner_progress_command"] = kernels["wblearner1"].value(LEARNER_PROGRESS)
            step("reset by wblearner2")

            # The trainer's view while everyone's server runs.
            trainer_token = hub.token_for(harness.TRAINER, ["access:services!service=workbook-progress"])
            service = f"{harness.HUB_URL}/services/workbook-progress/"
            as_trainer = requests.get(service + "api/progress", headers={"Authorization": f"token {trainer_token}"},
                                      timeout=60)
            results["service_json_status"] = as_trainer.status_code
            results["service_json"] = as_trainer.json() if as_trainer.status_code == 200 else as_trainer.text[:500]
            learner_token = hub.token_for("wblearner1")
            # A learner's server answers its progress to its owner (and the service), not to another learner.
            own_progress = hub.server_url("wblearner1", "workbook/progress")
            results["progress_handler"] = {
                who: requests.get(own_progress, headers={"Authorization": f"token {token}"} if token else {},
                                  timeout=30, allow_redirects=False).status_code
                for who, token in (("owner", learner_token), ("other learner", hub.token_for("wblearner2")),
                                   ("nobody", None))}
            as_learner = requests.get(service + "api/progress", headers={"Authorization": f"token {learner_token}"},
                                      timeout=60, allow_redirects=False)
            results["service_json_as_learner"] = as_learner.status_code
            trainer_browser = browser_login(harness.TRAINER)
            page = trainer_browser.get(service, timeout=60)
            results["service_page_as_trainer"] = {"status": page.status_code, "html": page.text[:6000],
                                                  "went_through": [r.url.split("?")[0] for r in page.history]}
            learner_browser = browser_login("wblearner2")
            refused = learner_browser.get(service, timeout=60)
            results["service_page_as_learner"] = refused.status_code
            command = subprocess.run(
                [sys.executable, "-m", "workbook_jupyter.trainer", "progress", "--hub-url", harness.HUB_URL],
                env={**os.environ, "JUPYTERHUB_API_TOKEN": trainer_token}, capture_output=True, text=True, timeout=60)
            results["trainer_command"] = {"code": command.returncode, "out": command.stdout, "err": command.stderr}
            command_as_learner = subprocess.run(
                [sys.executable, "-m", "workbook_jupyter.trainer", "progress", "--hub-url", harness.HUB_URL],
                env={**os.environ, "JUPYTERHUB_API_TOKEN": learner_token}, capture_output=True, text=True, timeout=60)
            results["trainer_command_as_learner"] = {"code": command_as_learner.returncode,
                                                     "err": command_as_learner.stderr}
            step("trainer's view read")

            # One learner's server stopped through the hub; another's killed outright.
            for kernel in kernels.values():
                kernel.shutdown()
            three = seen["wblearner3"]
            results["stop_3_seconds"] = hub.stop_server("wblearner3")
            results["emulator_3_gone_after"] = wait_gone(three["emulator_pid"])
            server_2 = Path(f"/proc/{two['emulator_pid']}/stat").read_text().rsplit(")", 1)[1].split()[1]
            os.kill(int(server_2), signal.SIGKILL)
            results["emulator_2_gone_after_server_killed"] = wait_gone(two["emulator_pid"])
            results["emulator_1_alive"] = alive(one["emulator_pid"])
            survivor = harness.KernelRun(hub, "wblearner1").start()
            results["world_1_at_the_end"] = survivor.value(WORLD)
            survivor.shutdown()
            after = requests.get(service + "api/progress", headers={"Authorization": f"token {trainer_token}"},
                                 timeout=60)
            results["service_json_after_stop"] = after.json() if after.status_code == 200 else after.text[:500]
            step("servers stopped")
        results["hub_log_tail"] = (state / "jupyterhub.log").read_text(errors="replace")[-3000:]
        step("hub stopped")
        results["ok"] = True
    except Exception:  # noqa: BLE001 - everything goes into the results for the test to show
        results["error"] = traceback.format_exc()
        log = staging / "hub" / "jupyterhub.log"
        if log.exists():
            results["hub_log_tail"] = log.read_text(errors="replace")[-6000:]
    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
