"""The pieces of workbook_jupyter on their own: when the extension starts an emulator, the class table, the
service's reading of the hub (pages of users, servers that do not answer) against a small fake hub, the
trainer's command, and the file that enables the extension where the project is installed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from workbook_jupyter import extension, trainer
from workbook_jupyter.service import ClassProgress
from workbook_jupyter.table import LearnerRow, as_html, as_json, as_text, rows_from_json

ROOT = Path(__file__).resolve().parents[2]
STEPS_06 = {"denied": {"count": 1}, "granted": {"count": 1}, "allowed": {"count": 1},
            "exercise": {"count": 2, "correct": False}, "finished": {"count": 1}}


# -- when the extension starts an emulator -----------------------------------------------------------------------
@pytest.mark.parametrize(("env", "mode", "starts"), [
    ({"JUPYTERHUB_SERVICE_PREFIX": "/user/a/"}, "auto", True),             # a hub's single-user server
    ({}, "auto", False),                                                    # a laptop's `jupyter lab`
    ({"WORKBOOK_TARGET": "emulator"}, "auto", False),                       # make workbook / Binder started one
    ({"WORKBOOK_TARGET": "emulator", "JUPYTERHUB_SERVICE_PREFIX": "/user/a/"}, "auto", False),
    ({"WORKBOOK_TARGET": "azure", "JUPYTERHUB_SERVICE_PREFIX": "/user/a/"}, "start", False),  # a real VM
    ({}, "start", True),
    ({"JUPYTERHUB_SERVICE_PREFIX": "/user/a/"}, "off", False),
])
def test_when_the_extension_starts_an_emulator(monkeypatch, env: dict[str, str], mode: str, starts: bool) -> None:
    for name in ("WORKBOOK_TARGET", "JUPYTERHUB_SERVICE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = extension.WorkbookExtension()
    app.emulator = mode
    assert app.should_start() is starts


def test_the_learners_emulator_command(tmp_path: Path) -> None:
    command = extension.LearnerEmulator(tmp_path, owner_only=True, start_timeout=5).command()
    assert command[1:4] == ["-m", "emulator", "serve"]
    assert "--owner-only" in command and "--until-stdin-closes" in command
    assert command[command.index("--data-dir") + 1] == str(tmp_path)
    ports = [command[i + 1] for i, arg in enumerate(command) if arg.endswith("-port")]
    assert ports and set(ports) == {"0"}  # free ports: learners on one machine never collide
    assert "--owner-only" not in extension.LearnerEmulator(tmp_path, owner_only=False, start_timeout=5).command()


def test_installing_the_project_enables_the_extension() -> None:
    enabling = ROOT / "workbook_jupyter" / "etc" / "jupyter_server_config.d" / "workbook_jupyter.json"
    assert json.loads(enabling.read_text())["ServerApp"]["jpserver_extensions"] == {"workbook_jupyter": True}
    project = (ROOT / "pyproject.toml").read_text()  # (tomllib is 3.11+; the project supports 3.10)
    data_files = project.split("[tool.setuptools.data-files]", 1)[1]
    assert f'"etc/jupyter/jupyter_server_config.d" = ["{enabling.relative_to(ROOT).as_posix()}"]' in data_files
    assert '"workbook_jupyter*"' in project.split("[tool.setuptools.packages.find]", 1)[1].splitlines()[1]
    assert 'workbook-trainer = "workbook_jupyter.trainer:main"' in project
    # an editable install skips data files: the set-up and Binder copy the enabling file themselves
    copy = "cp workbook_jupyter/etc/jupyter_server_config.d/workbook_jupyter.json"
    assert copy in (ROOT / "scripts" / "setup.sh").read_text()
    assert copy in (ROOT / "binder" / "postBuild").read_text()


# -- the class table --------------------------------------------------------------------------------------------------
def _rows() -> list[LearnerRow]:
    return [LearnerRow("ada", "running", {"06": STEPS_06, "00": {"allowed": {}}}, "2026-12-03T09:00:00Z"),
            LearnerRow("<b>bob</b>", "stopped", {"troubleshooting": {"faults": {}}}, "2026-12-02T09:00:00Z"),
            LearnerRow("cy", "unreachable")]


def test_text_table() -> None:
    text = as_text(_rows())
    lines = text.splitlines()
    assert lines[0].split() == ["learner", "server", "00", "01", "02", "03", "04", "05", "06", "07", "troubleshooting"]
    assert "✔ denied granted allowed exercise✗" in lines[1] and "allowed" in lines[1]
    assert lines[3].startswith("cy") and lines[3].split()[1] == "unreachable"
    assert lines[-1].startswith("finished: 00 0/3") and "06 1/3" in lines[-1]


def test_html_table_escapes_what_it_shows() -> None:
    page = as_html(_rows(), "2026-12-03T09:00:00Z", "/services/workbook-progress/api/progress")
    assert "&lt;b&gt;bob&lt;/b&gt;" in page and "<b>bob</b>" not in page
    assert 'class="finished"' in page and 'class="started"' in page
    assert "as of 2026-12-02T09:00:00Z" in page  # a stopped server's row says when it was read


def test_json_round_trip() -> None:
    data = as_json(_rows(), "now")
    assert data["scenarios"][-1] == "troubleshooting"
    ada = data["learners"][0]
    assert ada["notebooks"]["06"] == {"steps": STEPS_06, "summary": "denied granted allowed exercise✗ finished",
                                      "finished": True}
    again = rows_from_json(json.loads(json.dumps(data)))
    assert [(r.name, r.server, r.notebooks) for r in again] == [(r.name, r.server, r.notebooks) for r in _rows()]


# -- the service against a fake hub -----------------------------------------------------------------------------------
def _user(name: str, server: dict[str, Any] | None) -> dict[str, Any]:
    return {"name": name, "servers": {"": server} if server else {}}


async def _fake_hub(users: list[dict[str, Any]], answers: dict[str, Any]) -> tuple[web.AppRunner, str, list[str]]:
    seen: list[str] = []

    async def list_users(request: web.Request) -> web.Response:
        seen.append(f"{request.path}?{request.query_string} {request.headers.get('Authorization')}")
        offset, limit = int(request.query["offset"]), 2  # the fake hub pages by two, whatever was asked
        page = users[offset:offset + limit]
        following = {"offset": offset + limit} if offset + limit < len(users) else None
        return web.json_response({"items": page, "_pagination": {"offset": offset, "limit": limit,
                                                                  "total": len(users), "next": following}})

    async def progress(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        seen.append(f"{request.path} {request.headers.get('Authorization')}")
        answer = answers[name]
        if isinstance(answer, int):
            return web.Response(status=answer)
        return web.json_response(answer)

    app = web.Application()
    app.router.add_get("/hub/api/users", list_users)
    app.router.add_get("/user/{name}/workbook/progress", progress)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp keeps the bound port there
    return runner, f"http://127.0.0.1:{port}", seen


def test_the_service_reads_every_page_of_users_and_each_running_server(tmp_path: Path) -> None:
    book = {"notebooks": {"06": STEPS_06}}
    users = [_user("ada", {"ready": True, "url": "/user/ada/"}), _user("bob", None),
             _user("cy", {"ready": True, "url": "/user/cy/"}), _user("dee", {"ready": False, "url": "/user/dee/"}),
             _user("eve", {"ready": True, "url": "/user/eve/"})]
    answers = {"ada": {"emulator": "running", "progress": book}, "cy": 404,
               "eve": {"emulator": "not running", "progress": None}}

    async def scenario() -> tuple[list[LearnerRow], list[LearnerRow], list[str]]:
        runner, url, seen = await _fake_hub(users, answers)
        try:
            state = tmp_path / "state.json"
            first = await ClassProgress(f"{url}/hub/api", "service-token", url, state).collect()
            users[0]["servers"] = {}  # ada's server stops: her row keeps what was read last
            second = await ClassProgress(f"{url}/hub/api", "service-token", url, state).collect()
            return first, second, seen
        finally:
            await runner.cleanup()

    first, second, seen = asyncio.run(scenario())
    assert [(r.name, r.server) for r in first] == [("ada", "running"), ("bob", "stopped"), ("cy", "unreachable"),
                                                   ("dee", "stopped"), ("eve", "no emulator")]
    assert first[0].notebooks == book["notebooks"]
    assert sum("/hub/api/users" in line for line in seen) >= 3  # five users, two per page
    assert all(line.endswith("token service-token") for line in seen)
    assert (second[0].server, second[0].notebooks, second[0].seen_at) == ("stopped", book["notebooks"],
                                                                            first[0].seen_at)
    assert oct((tmp_path / "state.json").stat().st_mode & 0o777) == "0o600"


# -- the trainer's command -----------------------------------------------------------------------------------------
def test_trainer_command_needs_a_token(monkeypatch, capsys) -> None:
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    assert trainer.main(["progress"]) == 2
    assert "no token" in capsys.readouterr().err


def test_trainer_command_says_when_the_hub_does_not_answer(monkeypatch, capsys) -> None:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    assert trainer.main(["progress", "--hub-url", "http://127.0.0.1:9"]) == 1
    assert "cannot read http://127.0.0.1:9/services/workbook-progress/api/progress" in capsys.readouterr().err


def test_trainer_command_prints_the_table(monkeypatch, capsys) -> None:
    data = as_json(_rows(), "now")
    monkeypatch.setattr(trainer, "fetch", lambda hub_url, token, service: data)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    assert trainer.main(["progress"]) == 0
    assert capsys.readouterr().out.strip() == as_text(_rows())
    assert trainer.main(["progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == data
