"""A data dir outlives the code that seeded it: a learner pulls a newer workbook, or a trainer edits the world
file. The emulator then seeds the declared world again (the notebooks expect what it declares now) instead of
serving a world that lacks a service's resources; with the same world, the state is kept."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from blob_helpers import account_key_container

from emulator.app import Emulator
from emulator.core.settings import Settings
from emulator.core.world import DEFAULT_WORLD_FILE

STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"


def _settings(data_dir: Path, hello: str = "Hello world! :)") -> Settings:
    """On disk, with a world of storage only (seeding SQL tables on disk would take most of the time)."""
    world = json.loads(DEFAULT_WORLD_FILE.read_text(encoding="utf-8"))
    world.pop("sql", None)
    world["storage"]["accounts"][0]["containers"][0]["blobs"][0]["content"] = hello
    world_file = data_dir.parent / "world.json"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    settings = Settings.for_tests(data_dir)
    settings.in_memory = False
    settings.world_file = world_file
    return settings


def _names(instance: Emulator) -> list[str]:
    return sorted(blob.name for blob in account_key_container(instance).list_blobs())


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "emulator.app" and r.levelno == logging.WARNING]


def test_the_same_world_keeps_the_state(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Emulator(_settings(tmp_path / "data")) as first:
        account_key_container(first).upload_blob("mine.bin", b"a learner's blob")
    with caplog.at_level(logging.WARNING), Emulator(_settings(tmp_path / "data")) as again:
        assert _names(again) == ["hello_world.txt", "mine.bin"]
    assert _warnings(caplog) == []


def test_a_data_dir_an_older_emulator_seeded_is_seeded_again(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    with Emulator(_settings(data)) as first:
        account_key_container(first).upload_blob("mine.bin", b"a learner's blob")
    # What an emulator from before the storage service and the fingerprint left: no storage account, no 'world'
    with sqlite3.connect(data / "state.sqlite3") as db:
        db.execute("DELETE FROM resources WHERE type = ?", (STORAGE_ACCOUNT,))
        db.execute("DELETE FROM meta WHERE name = 'world'")
    db.close()
    with caplog.at_level(logging.WARNING), Emulator(_settings(data)) as upgraded:
        assert upgraded.context.store.list(STORAGE_ACCOUNT) != []  # the account ARM lists is back
        assert _names(upgraded) == ["hello_world.txt"]  # the declared world, from the start
    assert len(_warnings(caplog)) == 1 and "reset" in _warnings(caplog)[0]


def test_an_edited_world_file_is_seeded_at_the_next_start(tmp_path: Path) -> None:
    with Emulator(_settings(tmp_path / "data")) as first:
        assert account_key_container(first).download_blob("hello_world.txt").readall() == b"Hello world! :)"
    with Emulator(_settings(tmp_path / "data", hello="Hello, class!")) as edited:
        assert account_key_container(edited).download_blob("hello_world.txt").readall() == b"Hello, class!"


def test_start_says_when_the_running_emulator_serves_another_world(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`azure-emulator start` (and so `make workbook`) reuses a running emulator: one started before a `git pull`
    or with another world file is named, with the fix."""
    from emulator import cli

    settings = _settings(tmp_path / "data")
    edited = tmp_path / "edited-world.json"
    edited.write_text(settings.world_file.read_text(encoding="utf-8").replace("Hello world! :)", "Hello, class!"),
                      encoding="utf-8")
    with Emulator(settings):
        arguments = ["start", "--data-dir", str(settings.data_dir)]
        assert cli.main([*arguments, "--world", str(settings.world_file)]) == 0
        same = capsys.readouterr()
        assert cli.main([*arguments, "--world", str(edited)]) == 0
        other = capsys.readouterr()
    assert "already running" in same.err and "another world" not in same.err
    assert "already running" in other.err and "runs another world than this workbook declares" in other.err
    assert "azure-emulator stop, then start" in other.err
    assert "WORKBOOK_PROFILE" in other.out  # its variables all the same: the caller decides
