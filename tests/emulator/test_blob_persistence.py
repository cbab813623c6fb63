"""Blob bodies on disk: large ones private files under <data dir>/blob, small ones rows in the private state
database; kept across restarts, gone on reset, orphans of a crash swept at start."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

from blob_helpers import account_key_container

from emulator.app import Emulator
from emulator.core.settings import Settings
from emulator.core.world import DEFAULT_WORLD_FILE
from emulator.services.storage import model_for


def _settings(data_dir: Path) -> Settings:
    """On disk, with a world of storage only: seeding the SQL tables on disk would take most of the time."""
    world = json.loads(DEFAULT_WORLD_FILE.read_text(encoding="utf-8"))
    world.pop("sql", None)
    world_file = data_dir.parent / f"{data_dir.name}-world.json"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    settings = Settings.for_tests(data_dir)
    settings.in_memory = False
    settings.world_file = world_file
    return settings


def test_bodies_persist_privately_and_reset_restores_the_world(tmp_path: Path) -> None:
    data, small = os.urandom(300_000), os.urandom(1000)
    with Emulator(_settings(tmp_path)) as first:
        account_key_container(first).upload_blob("kept.bin", data)
        account_key_container(first).upload_blob("small.bin", small)
        root = model_for(first.context).bodies.root
        assert root == tmp_path / "blob"
        assert len(model_for(first.context).bodies.small_ids()) == 3  # two declared hello_world.txt, small.bin
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == 1  # kept.bin
    if os.name == "posix":
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "state.sqlite3").stat().st_mode) == 0o600
    with Emulator(_settings(tmp_path)) as second:
        container = account_key_container(second)
        assert container.download_blob("kept.bin").readall() == data
        assert container.download_blob("small.bin").readall() == small
        second.reset()
        assert [b.name for b in container.list_blobs()] == ["hello_world.txt"]
        assert container.download_blob("hello_world.txt").readall() == b"Hello world! :)"
        assert len(model_for(second.context).bodies.small_ids()) == 2
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_leftovers_of_a_crash_are_swept_at_start(tmp_path: Path) -> None:
    with Emulator(_settings(tmp_path)):
        pass
    root = tmp_path / "blob"
    (root / "tmp" / f"{'a' * 32}.part").write_bytes(b"half an upload")
    (root / "ab").mkdir(exist_ok=True)
    orphan = root / "ab" / ("ab" + "0" * 30)
    orphan.write_bytes(b"a body no row refers to")
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:  # a small body whose blob row never committed
        db.execute("INSERT INTO storage_bodies(id, data) VALUES (?, ?)", ("small-" + "c" * 32, b"orphan"))
    db.close()
    with Emulator(_settings(tmp_path)) as again:
        assert not any((root / "tmp").iterdir())
        assert not orphan.exists()
        assert "small-" + "c" * 32 not in model_for(again.context).bodies.small_ids()
        assert len(model_for(again.context).bodies.small_ids()) == 2  # the declared ones stay
        assert account_key_container(again).download_blob("hello_world.txt").readall() == b"Hello world! :)"


def test_a_small_put_blob_writes_its_body_and_drops_the_old_one_in_a_single_commit(tmp_path: Path) -> None:
    """One fsync per small upload, and no crash can leave a body row without its blob (or the reverse): the
    new body's row, the blob's row and the deletion of the body it replaced are all one transaction."""
    with Emulator(_settings(tmp_path)) as instance:
        container = account_key_container(instance)
        container.upload_blob("one.bin", b"first")
        bodies = model_for(instance.context).bodies
        before = bodies.small_ids()
        statements: list[str] = []
        database = instance.context.store._db  # the store's one connection: trace what the upload runs on it
        database.set_trace_callback(statements.append)
        try:
            container.upload_blob("one.bin", b"second", overwrite=True)
        finally:
            database.set_trace_callback(None)
        outside, commits, inside = [], 0, False
        for statement in (s.strip().upper() for s in statements):
            if statement.startswith("BEGIN"):
                inside = True
            elif statement.startswith(("COMMIT", "ROLLBACK")):
                commits += statement.startswith("COMMIT")
                inside = False
            elif statement.startswith(("INSERT", "DELETE", "UPDATE", "REPLACE")) and not inside:
                outside.append(statement)
        assert outside == [] and commits == 1, statements
        assert any(s.upper().startswith("INSERT INTO STORAGE_BODIES") for s in statements)
        assert any(s.upper().startswith("DELETE FROM STORAGE_BODIES") for s in statements)
        after = bodies.small_ids()
        assert len(after) == len(before) and set(after) != set(before) and bodies.held_ids() == []
        assert container.download_blob("one.bin").readall() == b"second"
