"""Readers get a read-only copy after each dbt build; the warehouse stays the writers'."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingestion.core.errors import DestinationError
from ingestion.core.settings import Settings
from ingestion.dbt_runner import LATEST_SNAPSHOT, publish_snapshot


def _write(settings: Settings, value: int) -> None:
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create or replace table marts_answer as select ? as value", [value])


def _latest_value(folder: Path) -> int:
    with duckdb.connect(str(folder / LATEST_SNAPSHOT), read_only=True) as con:
        row = con.execute("select value from marts_answer").fetchone()
    assert row is not None
    return int(row[0])


def test_each_publish_is_a_complete_read_only_copy_and_latest_moves(
    tripline_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "published"
    copies = []
    for value in range(1, 5):
        _write(tripline_env, value)
        copies.append(publish_snapshot(tripline_env, folder))
        assert _latest_value(folder) == value
        assert (folder / LATEST_SNAPSHOT).resolve() == copies[-1]
    kept = sorted(folder.glob("tripline-*.duckdb"))
    assert kept == copies[-3:]  # the newest three; the oldest was retired last
    assert all(p.stat().st_mode & 0o222 == 0 for p in kept)
    assert not list(folder.glob(".*partial"))


def test_a_reader_holding_the_snapshot_does_not_block_the_writer(
    tripline_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "published"
    _write(tripline_env, 1)
    publish_snapshot(tripline_env, folder)
    with duckdb.connect(str(folder / LATEST_SNAPSHOT), read_only=True) as reader:
        _write(tripline_env, 2)  # the warehouse itself is free while readers read
        publish_snapshot(tripline_env, folder)
        row = reader.execute("select value from marts_answer").fetchone()
        assert row == (1,)  # the open reader keeps its consistent copy
    assert _latest_value(folder) == 2


def test_an_unwritable_folder_is_one_clear_error(tripline_env: Settings, tmp_path: Path) -> None:
    _write(tripline_env, 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DestinationError, match="cannot publish a snapshot"):
        publish_snapshot(tripline_env, blocker / "published")
