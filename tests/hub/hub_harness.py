"""A real JupyterHub with real learners, inside the namespace the test (or the bench) runs it in.

Runs as root in a loopback-only network namespace with its own mount and pid namespaces (see test_hub.py):
- learners are system users that exist only in here: copies of /etc/passwd and /etc/group with them added
  are bind-mounted over the real ones, and /home is a fresh tmpfs holding their homes. The host's users,
  files and homes are untouched; when the namespace ends, so does all of it.
- folders the learners' processes must read (the Python installation, the venv, the project) may sit under a
  folder other users cannot enter (/root in CI): such a folder is covered, in here only, by a tmpfs that
  other users may enter, with just the needed subfolders bound back into it.
- the hub runs the trainer's recipe (deploy/jupyterhub/jupyterhub_config.py) with test settings on top:
  DummyAuthenticator (each learner's password is set), a driver service holding an admin token, the
  configurable-http-proxy that scripts/setup-test-tools.sh installed.

Kernels are driven through each learner's Jupyter server API (REST + the kernel's websocket), through the
hub's proxy, as a browser would: the notebooks run exactly where a learner's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
HUB_URL = "http://127.0.0.1:8000"  # the namespace is ours alone: the recipe's default port
FIRST_UID = 64101
TRAINER = "wbtrainer"
# Inside the loopback-only network namespace: own mounts (users, homes) and own pids. --kill-child: if whoever ran
# it is killed (a test's timeout), the namespace's first process gets SIGKILL, and with it every process inside.
PRIVATE_NAMESPACES = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation",
                      "private"]
CHP_CACHE = Path(os.environ.get("MI_WORKBOOK_CHP_DIR", Path.home() / ".cache" / "mi-workbook" / "chp"))


def chp_command() -> str:
    """The configurable-http-proxy that scripts/setup-test-tools.sh installs (npm, into a cache folder)."""
    found = CHP_CACHE / "node_modules" / ".bin" / "configurable-http-proxy"
    if not found.exists():
        raise RuntimeError(f"configurable-http-proxy is not installed in {CHP_CACHE}: run scripts/setup-test-tools.sh")
    return str(found)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)


# -- the namespace's own users, homes and readable folders ------------------------------------------------------
def _others_may_enter(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o001)


def _first_blocking_ancestor(path: Path) -> tuple[Path, str] | None:
    """The first folder above ``path`` other users cannot enter, and the name of its child on the way."""
    parts = path.parts
    for depth in range(1, len(parts)):
        folder = Path(*parts[:depth])
        if not _others_may_enter(folder):
            return folder, parts[depth]
    return None


def expose_to_learners(paths: Iterable[Path], staging: Path) -> list[str]:
    """Make ``paths`` reachable for other users, in this mount namespace only; what was done, for the log."""
    done = []
    for _round in range(8):  # nested blocking folders take one round each
        blocked: dict[Path, set[str]] = {}
        for path in paths:
            found = _first_blocking_ancestor(path.resolve())
            if found:
                blocked.setdefault(found[0], set()).add(found[1])
        if not blocked:
            return done
        for folder, children in blocked.items():
            kept = []
            for child in sorted(children):
                holder = staging / f"kept-{uuid.uuid4().hex}"
                holder.mkdir()
                _run("mount", "--bind", str(folder / child), str(holder))
                kept.append((child, holder))
            mode = folder.stat().st_mode & 0o777 | 0o711
            _run("mount", "-t", "tmpfs", "-o", f"mode={mode:o}", "tmpfs", str(folder))
            for child, holder in kept:
                (folder / child).mkdir()
                _run("mount", "--bind", str(holder), str(folder / child))
            done.append(f"{folder}: tmpfs with {', '.join(sorted(children))} bound back")
    raise RuntimeError(f"could not expose {list(paths)}")


def add_users(names: list[str], staging: Path) -> dict[str, int]:
    """System users that exist only in this namespace (/etc/passwd and /etc/group copies bound over)."""
    uids = {name: FIRST_UID + index for index, name in enumerate(names)}
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    for name, uid in uids.items():
        passwd += f"{name}:x:{uid}:{uid}:workbook learner:/home/{name}:/bin/bash\n"
        group += f"{name}:x:{uid}:\n"
    for file, text in (("passwd", passwd), ("group", group)):
        copy = staging / file
        copy.write_text(text)
        copy.chmod(0o644)
        _run("mount", "--bind", str(copy), f"/etc/{file}")
    _run("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/home")
    for name, uid in uids.items():
        home = Path("/home") / name
        home.mkdir(mode=0o750)
        os.chown(home, uid, uid)
    return uids


def prepare_namespace(staging: Path, learners: list[str]) -> dict[str, Any]:
    """Run first, as root, inside the fresh mount namespace."""
    _run("mount", "-t", "tmpfs", "-o", "mode=700", "tmpfs", str(staging))
    notes = expose_to_learners([Path(sys.base_prefix), Path(sys.prefix), ROOT, Path(sys.executable).resolve(),
                                CHP_CACHE], staging)
    uids = add_users(learners, staging)
    return {"uids": uids, "exposed": notes}


# -- the hub -------------------------------------------------------------------------------------------------------
def _server_config_path() -> str | None:
    """Where Jupyter finds the extension's enabling file when this venv's install predates it (a developer's
    venv installed before the file existed); None when the venv has it, as any fresh set-up does."""
    installed = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "workbook_jupyter.json"
    return None if installed.exists() else str(ROOT / "workbook_jupyter" / "etc")


class Hub:
    """``with Hub(state_dir, learners, passwords) as hub:`` JupyterHub running the trainer's recipe."""

    def __init__(self, state_dir: Path, learners: list[str], passwords: dict[str, str],
                 extra_config: str = "") -> None:
        self.state_dir = state_dir
        self.learners = learners
        self.passwords = passwords
        self.token = secrets.token_hex(32)
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None
        self.log = state_dir / "jupyterhub.log"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {self.token}"
        self.http.trust_env = False

    def config(self) -> str:
        environment = {"WORKBOOK_AZ": "none"}  # az is not installed for learners here; the notebooks say so
        config_path = _server_config_path()
        if config_path:
            environment["JUPYTER_CONFIG_PATH"] = config_path
        return f"""
c = get_config()  # noqa
load_subconfig({str(RECIPE)!r})
# Test settings on top of the trainer's recipe.
from jupyterhub.auth import DummyAuthenticator

class PerUserPassword(DummyAuthenticator):
    async def authenticate(self, handler, data):
        passwords = {self.passwords!r}
        if passwords.get(data.get("username")) == data.get("password"):
            return data["username"]
        return None

c.JupyterHub.authenticator_class = PerUserPassword
c.Authenticator.allowed_users = set({[*self.learners, TRAINER]!r})
c.Authenticator.allow_all = False
c.ConfigurableHTTPProxy.command = [{chp_command()!r}]
c.ConfigurableHTTPProxy.debug = False
c.Spawner.cmd = [{str(Path(sys.prefix) / "bin" / "jupyterhub-singleuser")!r}]
c.Spawner.environment = {environment!r}
# Kernels on Unix sockets beside their connection files, not TCP ports: with three learners' servers and
# emulators starting at once, a kernel's port was taken before it bound it ("Address already in use") once.
c.Spawner.args = ["--KernelManager.transport=ipc"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services.append({{"name": "test-driver", "api_token": {self.token!r}}})
c.JupyterHub.load_roles.append({{"name": "admin", "services": ["test-driver"]}})
{self.extra_config}
"""

    def __enter__(self) -> Hub:
        config = self.state_dir / "test_config.py"
        config.write_text(self.config(), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBOOK_HUB_STATE_DIR": str(self.state_dir),
               "WORKBOOK_SERVICE_STATE_DIR": str(self.state_dir), "WORKBOOK_TRAINERS": TRAINER,
               "PATH": f"{Path(sys.prefix) / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.prefix) / "bin" / "jupyterhub"), "-f", str(config)], cwd=self.state_dir,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if self.http.get(f"{HUB_URL}/hub/api/", timeout=2).status_code == 200 and \
                        self.http.get(f"{HUB_URL}/services/workbook-progress/api/progress",
                                      timeout=2, allow_redirects=False).status_code != 503:
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("JupyterHub did not start:\n" + self.log.read_text(errors="replace")[-4000:])

    def __exit__(self, *_exc: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the hub stops the learners' servers (cleanup_servers), then itself
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    # -- the hub's REST API -------------------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{HUB_URL}/hub/api/{path.lstrip('/')}", timeout=60, **kwargs)

    def create_users(self, names: list[str]) -> None:
        response = self.api("POST", "users", json={"usernames": names})
        assert response.status_code in (201, 409), response.text

    def user(self, name: str) -> dict[str, Any]:
        response = self.api("GET", f"users/{name}")
        response.raise_for_status()
        return response.json()

    def spawn(self, names: list[str], timeout: float = 180) -> dict[str, float]:
        """Start the learners' servers at once; seconds until each was ready."""
        started = time.monotonic()
        for name in names:
            response = self.api("POST", f"users/{name}/server")
            assert response.status_code in (201, 202), f"{name}: {response.status_code} {response.text}"
        ready: dict[str, float] = {}
        while len(ready) < len(names):
            for name in names:
                if name not in ready and (self.user(name).get("servers", {}).get("", {}) or {}).get("ready"):
                    ready[name] = round(time.monotonic() - started, 2)
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"servers not ready after {timeout} s: {sorted(set(names) - set(ready))}\n"
                                   + self.log.read_text(errors="replace")[-4000:])
            time.sleep(0.25)
        return ready

    def stop_server(self, name: str, timeout: float = 60) -> float:
        started = time.monotonic()
        response = self.api("DELETE", f"users/{name}/server")
        assert response.status_code in (202, 204), response.text
        while self.user(name).get("servers", {}).get(""):
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{name}'s server did not stop")
            time.sleep(0.2)
        return round(time.monotonic() - started, 2)

    def token_for(self, name: str, scopes: list[str] | None = None) -> str:
        body: dict[str, Any] = {"note": "hub test"}
        if scopes is not None:
            body["scopes"] = scopes
        response = self.api("POST", f"users/{name}/tokens", json=body)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def server_url(self, name: str, path: str = "") -> str:
        return f"{HUB_URL}/user/{name}/{path.lstrip('/')}"


# -- kernels, through a learner's server -----------------------------------------------------------------------------
class KernelRun:
    """One kernel on a learner's server, driven over its websocket like JupyterLab does."""

    def __init__(self, hub: Hub, learner: str) -> None:
        self.hub = hub
        self.learner = learner
        self.kernel_id = ""
        self.session = uuid.uuid4().hex

    def start(self) -> KernelRun:
        response = self.hub.http.post(self.hub.server_url(self.learner, "api/kernels"), json={"name": "python3"},
                                      timeout=60)
        assert response.status_code == 201, response.text
        self.kernel_id = response.json()["id"]
        return self

    def shutdown(self) -> None:
        if self.kernel_id:
            self.hub.http.delete(self.hub.server_url(self.learner, f"api/kernels/{self.kernel_id}"), timeout=30)
            self.kernel_id = ""

    async def _execute_all(self, cells: list[str], timeout: float) -> list[dict[str, Any]]:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = self.hub.server_url(self.learner, f"api/kernels/{self.kernel_id}/channels").replace("http", "ws", 1)
        request = HTTPRequest(f"{url}?session_id={self.session}",
                              headers={"Authorization": f"token {self.hub.token}"})
        connection = await websocket_connect(request)
        results = []
        try:
            for code in cells:
                results.append(await self._execute(connection, code, timeout))
                if results[-1]["status"] != "ok":
                    break
        finally:
            connection.close()
        return results

    async def _execute(self, connection: Any, code: str, timeout: float) -> dict[str, Any]:
        msg_id = uuid.uuid4().hex
        connection.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": self.learner, "session": self.session,
                       "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        text: list[str] = []
        status, reply, idle = "", False, False
        deadline = time.monotonic() + timeout
        while not (reply and idle):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {"status": "timeout", "text": "".join(text), "code": code}
            raw = await asyncio.wait_for(connection.read_message(), remaining)
            if raw is None:
                return {"status": "closed", "text": "".join(text), "code": code}
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                text.append("\n" + content.get("data", {}).get("text/plain", "") + "\n")
            elif kind == "error":
                text.append(f"\n{content['ename']}: {content['evalue']}\n")
            elif kind == "execute_reply":
                status, reply = content["status"], True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return {"status": status, "text": "".join(text), "code": code}

    def run(self, cells: list[str], timeout: float = 120) -> list[dict[str, Any]]:
        return asyncio.run(self._execute_all(cells, timeout))

    def value(self, code: str, timeout: float = 60) -> Any:
        """Run ``code`` whose last line prints one JSON value; that value."""
        result = self.run([code], timeout)[-1]
        assert result["status"] == "ok", result
        return json.loads(result["text"].strip().splitlines()[-1])


def notebook_cells(name: str) -> list[str]:
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def run_notebook(hub: Hub, learner: str, name: str, overrides: dict[str, Any] | None = None,
                 timeout: float = 120, edits: dict[str, str] | None = None) -> dict[str, Any]:
    """Every code cell of a notebook in a new kernel on the learner's server (a parameters cell's values can be
    overridden, as papermill would; ``edits`` change a cell's text as a learner typing in it would); outputs
    joined, seconds taken, and whether every cell ran without error."""
    cells = notebook_cells(name)
    for old, new in (edits or {}).items():
        assert any(old in cell for cell in cells), f"{name} has no {old!r} to edit"
        cells = [cell.replace(old, new) for cell in cells]
    if overrides:
        cells.insert(1, "\n".join(f"{key} = {value!r}" for key, value in overrides.items()))
    kernel = KernelRun(hub, learner).start()
    started = time.monotonic()
    try:
        results = kernel.run(cells, timeout)
    finally:
        kernel.shutdown()
    return {"seconds": round(time.monotonic() - started, 2), "ok": all(r["status"] == "ok" for r in results)
            and len(results) == len(cells), "text": "".join(r["text"] for r in results),
            "failed": [r for r in results if r["status"] != "ok"][:1]}


def process_rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB: now and at its peak."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
