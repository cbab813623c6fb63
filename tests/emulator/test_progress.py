"""The learner's progress book: the control plane's /progress, lib.progress, and `azure-emulator progress`.

Kept across restarts and the world's reset, cleared by `reset --hard`; names only (no free text can carry a
token); refused without the control plane's secret like every other operation.
"""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from emu_helpers import SECRET_HEADER, Azure

from emulator import cli
from emulator.app import Emulator
from emulator.core.settings import DEFAULT_PORTS, Settings
from lib import progress
from lib.target import Target


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


@pytest.fixture
def book(world: Azure) -> Azure:
    assert world.control("DELETE", "/progress").status_code == 204
    yield world
    world.control("DELETE", "/progress")


def test_record_then_read(book: Azure) -> None:
    assert book.control("GET", "/progress").json() == {"notebooks": {}}
    first = book.control("POST", "/progress", {"notebook": "06_resource_manager_system_assigned", "step": "denied"})
    assert first.status_code == 201, first.text
    assert first.json()["notebook"] == "06" and first.json()["count"] == 1
    book.control("POST", "/progress", {"notebook": "06", "step": "denied"})
    book.control("POST", "/progress", {"notebook": "06.ipynb", "step": "exercise", "correct": False})
    book.control("POST", "/progress", {"notebook": "06", "step": "exercise", "correct": True})
    book.control("POST", "/progress", {"notebook": "troubleshooting", "step": "faults"})
    notebooks = book.control("GET", "/progress").json()["notebooks"]
    assert sorted(notebooks) == ["06", "troubleshooting"]
    assert notebooks["06"]["denied"]["count"] == 2
    assert notebooks["06"]["denied"]["firstAt"] <= notebooks["06"]["denied"]["lastAt"]
    assert notebooks["06"]["exercise"]["correct"] is True  # the last answer counts
    assert set(notebooks["06"]["denied"]) == {"firstAt", "lastAt", "count"}


def test_the_world_reset_keeps_progress_and_clear_forgets_it(book: Azure) -> None:
    book.control("POST", "/progress", {"notebook": "00", "step": "finished"})
    assert book.control("POST", "/reset").status_code == 200
    assert "00" in book.control("GET", "/progress").json()["notebooks"]
    assert book.control("DELETE", "/progress").status_code == 204
    assert book.control("GET", "/progress").json() == {"notebooks": {}}


@pytest.mark.parametrize("body", [
    {"step": "denied"},
    {"notebook": "06"},
    {"notebook": "", "step": "denied"},
    {"notebook": "06", "step": ""},
    {"notebook": "06", "step": "Denied"},
    {"notebook": "06", "step": "1denied"},
    {"notebook": "06", "step": "x" * 33},
    {"notebook": "../../etc", "step": "denied"},
    {"notebook": "06", "step": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.sig"},  # a token cannot fit
    {"notebook": "06", "step": "denied", "detail": "free text"},
    {"notebook": "06", "step": "exercise", "correct": "yes"},
    {"notebook": 6, "step": "denied"},
    {"notebook": "N" * 65, "step": "denied"},
])
def test_bad_records_are_refused_and_nothing_is_kept(book: Azure, body: dict[str, Any]) -> None:
    _error(book.control("POST", "/progress", body), 400, "InvalidRequestBody")
    assert book.control("GET", "/progress").json() == {"notebooks": {}}


def test_bad_bodies(book: Azure) -> None:
    _error(book.control("POST", "/progress", raw=b"{"), 400, "InvalidRequestBody")
    _error(book.control("POST", "/progress", raw=b"[]"), 400, "InvalidRequestBody")
    _error(book.control("POST", "/progress", raw=b'{"notebook":"06","step":"denied"}',
                        headers={"Content-Type": "text/plain"}), 415, "UnsupportedMediaType")
    _error(book.control("POST", "/progress", raw=b"{" + b" " * 20000 + b"}"), 413, "BodyTooLarge")
    _error(book.control("PUT", "/progress", {}), 405, "MethodNotAllowed")


def test_the_book_has_bounds(book: Azure) -> None:
    for index in range(32):
        assert book.control("POST", "/progress", {"notebook": "06", "step": f"s{index}"}).status_code == 201
    _error(book.control("POST", "/progress", {"notebook": "06", "step": "one-more"}), 409, "ProgressBookFull")
    assert book.control("POST", "/progress", {"notebook": "06", "step": "s3"}).status_code == 201  # a known one
    for index in range(63):
        book.control("POST", "/progress", {"notebook": f"n{index}", "step": "x"})
    _error(book.control("POST", "/progress", {"notebook": "n99", "step": "x"}), 409, "ProgressBookFull")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_refused_without_the_secret(book: Azure, method: str) -> None:
    book.control("POST", "/progress", {"notebook": "06", "step": "denied"})
    response = book.http.request(method, f"{book.profile.control}/progress", headers={SECRET_HEADER: "wrong"},
                                 json={"notebook": "06", "step": "granted"}, timeout=5)
    _error(response, 401, "Unauthorized")
    assert book.control("GET", "/progress").json()["notebooks"]["06"].keys() == {"denied"}


# -- persistence ------------------------------------------------------------------------------------------
def test_kept_across_restarts_private_and_gone_after_reset_hard(tmp_path: Path, capsys) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(ports={name: 0 for name in DEFAULT_PORTS}, data_dir=data_dir, in_memory=False)
    first = Emulator(settings).start_in_thread()
    try:
        assert first.profile is not None
        Azure(first.profile).control("POST", "/progress", {"notebook": "04", "step": "allowed"})
    finally:
        first.stop()
    assert stat.S_IMODE((data_dir / "progress.json").stat().st_mode) == 0o600
    second = Emulator(settings).start_in_thread()
    try:
        assert second.profile is not None
        assert "allowed" in Azure(second.profile).control("GET", "/progress").json()["notebooks"]["04"]
    finally:
        second.stop()
    assert cli.main(["reset", "--hard", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    assert not (data_dir / "progress.json").exists()


def test_a_damaged_book_starts_empty(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "progress.json").write_text("{not json")
    emulator = Emulator(Settings(ports={name: 0 for name in DEFAULT_PORTS}, data_dir=data_dir, in_memory=False))
    emulator.start_in_thread()
    try:
        assert emulator.profile is not None
        azure = Azure(emulator.profile)
        assert azure.control("GET", "/progress").json() == {"notebooks": {}}
        assert azure.control("POST", "/progress", {"notebook": "00", "step": "finished"}).status_code == 201
    finally:
        emulator.stop()


# -- lib.progress ---------------------------------------------------------------------------------------------
def _target(azure: Azure, name: str = "emulator") -> Target:
    profile = dataclasses.asdict(azure.profile)
    return Target(name=name, endpoints=dict(profile["endpoints"]), profile=profile)


def test_lib_records_through_the_target(book: Azure) -> None:
    target = _target(book)
    assert progress.record("06_resource_manager_system_assigned", progress.DENIED, target=target) is True
    assert progress.record("06", progress.EXERCISE, correct=True, target=target) is True
    assert progress.record("06", progress.FINISHED, target=target) is True
    kept = progress.read(target)
    assert kept is not None
    assert progress.table_rows(kept) == [("06", "denied exercise✓ finished")]
    assert progress.is_finished(kept["notebooks"]["06"])


def test_lib_finds_the_emulator_through_the_profile(book: Azure, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(dataclasses.asdict(book.profile)))
    monkeypatch.setenv("WORKBOOK_PROFILE", str(path))
    monkeypatch.delenv("WORKBOOK_TARGET", raising=False)
    assert progress.record("00", progress.FINISHED) is True
    assert "00" in book.control("GET", "/progress").json()["notebooks"]
    monkeypatch.setenv("WORKBOOK_TARGET", "azure")  # on Azure: nothing is recorded anywhere
    assert progress.record("01", progress.FINISHED) is False
    assert "01" not in book.control("GET", "/progress").json()["notebooks"]


def test_lib_is_a_no_op_on_azure_and_without_an_emulator(book: Azure, tmp_path: Path, monkeypatch) -> None:
    assert progress.record("06", progress.DENIED, target=_target(book, "azure")) is False
    assert book.control("GET", "/progress").json() == {"notebooks": {}}
    monkeypatch.setenv("WORKBOOK_PROFILE", str(tmp_path / "missing.json"))
    monkeypatch.delenv("WORKBOOK_TARGET", raising=False)
    assert progress.record("06", progress.DENIED) is False
    assert progress.read() is None
    gone = {**dataclasses.asdict(book.profile), "control": "http://127.0.0.1:9/__emulator"}  # nothing listens
    assert progress.record("06", progress.DENIED,
                           target=Target(name="emulator", endpoints={}, profile=gone)) is False


@pytest.mark.parametrize(("notebook", "step"), [("06", "Denied"), ("", "denied"), ("06", "a token.with.dots")])
def test_lib_refuses_names_that_are_not_names(book: Azure, notebook: str, step: str) -> None:
    with pytest.raises(progress.ProgressError):
        progress.record(notebook, step, target=_target(book))


def test_summaries_put_the_shared_steps_in_lesson_order() -> None:
    steps = {"finished": {}, "zz-own": {}, "allowed": {}, "denied": {}, "exercise": {"correct": False}, "granted": {}}
    assert progress.summarize(steps) == "denied granted allowed exercise✗ finished zz-own"


# -- azure-emulator progress -------------------------------------------------------------------------------------
def test_cli_prints_the_learners_table(book: Azure, tmp_path: Path, capsys) -> None:
    (tmp_path / "profile.json").write_text(json.dumps(dataclasses.asdict(book.profile)))
    assert cli.main(["progress", "--data-dir", str(tmp_path)]) == 0
    assert "No progress recorded yet" in capsys.readouterr().out
    for step in ("denied", "granted", "allowed", "finished"):
        book.control("POST", "/progress", {"notebook": "06", "step": step})
    book.control("POST", "/progress", {"notebook": "00", "step": "exercise", "correct": False})
    assert cli.main(["progress", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "00        exercise✗" in out and "06        denied granted allowed finished" in out
    assert "1 of 2 notebooks finished." in out
    assert cli.main(["progress", "--json", "--data-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["notebooks"]["06"]["granted"]["count"] == 1
    assert cli.main(["progress", "--clear", "--data-dir", str(tmp_path)]) == 0
    assert book.control("GET", "/progress").json() == {"notebooks": {}}


def test_cli_without_an_emulator(tmp_path: Path, capsys) -> None:
    assert cli.main(["progress", "--data-dir", str(tmp_path)]) == 3
    assert "not running" in capsys.readouterr().err
