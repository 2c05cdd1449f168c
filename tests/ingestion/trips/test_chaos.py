"""Faults an operator meets, on the real CLI and real DuckDB files: every file exactly once.

Each test reproduces one way a run used to duplicate or drop data with exit 0 (issue 11) and
asserts the warehouse's final contents against the files' own counts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from tests.helpers import REPO

from .warehouse import (
    assert_exactly_once,
    contents,
    environment,
    file_counts,
    run_trips,
    start_trips,
    with_fault,
)

ROWS = 20_000


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six months of yellow CSV and the zone lookup."""
    out = tmp_path_factory.mktemp("chaos_months")
    generate(out, parse_month_range("2023-01:2023-06"), ROWS, "csv", seed=5)
    return out


def _copy(months: Path, target: Path, names: list[str] | None = None) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in months.iterdir():
        if names is None or path.name in names or path.name == "taxi_zone_lookup.csv":
            shutil.copy2(path, target / path.name)
    return target


def _month(name: str) -> str:
    return f"yellow_tripdata_{name}.csv"


def _first_run_holding_the_warehouse(source: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """A run that is loading, and holds the warehouse a while: a second run starts now."""
    first = start_trips(source, with_fault(env, HOLD_THE_WAREHOUSE))
    assert first.stderr is not None
    for line in first.stderr:
        if line.rstrip().endswith(": loading"):
            break
    return first


def test_two_overlapping_runs_take_turns_and_load_each_file_once(
    months: Path, tmp_path: Path
) -> None:
    source = _copy(months, tmp_path / "tlc")
    env = environment(tmp_path / "w.duckdb")
    first = _first_run_holding_the_warehouse(source, env)
    second = run_trips(source, env)
    _, err = first.communicate(timeout=600)

    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert "waiting up to 900 s for the warehouse lease, held by pipeline trips" in second.stderr
    assert "7 already loaded and unchanged, 0 to load" in second.stderr
    assert_exactly_once(tmp_path / "w.duckdb", file_counts(source))


def test_a_writer_that_may_not_wait_leaves_in_one_line_naming_the_holder(
    months: Path, tmp_path: Path
) -> None:
    source = _copy(months, tmp_path / "tlc")
    env = environment(tmp_path / "w.duckdb")
    first = _first_run_holding_the_warehouse(source, env)
    second = run_trips(source, {**env, "TRIPLINE_LOCK_TIMEOUT": "0"})
    first.communicate(timeout=600)

    assert second.returncode == 7
    last = second.stderr.strip().splitlines()[-1]
    assert last.startswith("tripline: error: w.duckdb is busy: the warehouse lease is held by ")
    assert f"pipeline trips (pid {first.pid} on " in last
    assert "Traceback" not in second.stderr


def test_two_warehouses_in_one_folder_keep_their_own_state(months: Path, tmp_path: Path) -> None:
    one = _copy(months, tmp_path / "one", [_month("2023-01")])
    all_six = _copy(months, tmp_path / "six")
    a, b = tmp_path / "data" / "a.duckdb", tmp_path / "data" / "b.duckdb"

    assert run_trips(one, environment(a)).returncode == 0
    assert run_trips(all_six, environment(b)).returncode == 0
    again = run_trips(all_six, environment(a))

    assert again.returncode == 0, again.stderr
    assert "2 already loaded and unchanged, 5 to load" in again.stderr  # zones and January
    assert_exactly_once(a, file_counts(all_six))


def _as_parquet(csv: Path, parquet: Path, rows: int | None = None) -> None:
    limit = f" limit {rows}" if rows is not None else ""
    duckdb.sql(f"copy (select * from read_csv('{csv}'){limit}) to '{parquet}' (format parquet)")


def test_a_changed_file_cut_short_keeps_the_rows_it_would_replace(
    months: Path, tmp_path: Path
) -> None:
    source = tmp_path / "tlc"
    source.mkdir()
    target = source / "yellow_tripdata_2023-02.parquet"
    _as_parquet(months / _month("2023-02"), target)
    database = tmp_path / "w.duckdb"
    env = environment(database)
    assert run_trips(source, env).returncode == 0
    complete = file_counts(source)
    whole = target.read_bytes()
    target.write_bytes(whole[: len(whole) // 3])  # a re-download that stopped a third in

    cut = run_trips(source, env)

    assert cut.returncode == 5
    assert "yellow_tripdata_2023-02.parquet: corrupt or truncated file" in cut.stderr
    assert_exactly_once(database, complete)  # the old version stays, whole

    _as_parquet(months / _month("2023-02"), target, rows=ROWS // 2)  # a good, new version
    replaced = run_trips(source, env)
    assert replaced.returncode == 0, replaced.stderr
    assert "(changed since last load)" in replaced.stderr
    assert f"replaced {ROWS:,} rows of the earlier version" in replaced.stderr
    assert_exactly_once(database, file_counts(source))


def test_the_same_month_in_two_formats_loads_once(months: Path, tmp_path: Path) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01")])
    database = tmp_path / "w.duckdb"
    env = environment(database)
    assert run_trips(source, env).returncode == 0  # the CSV first
    _as_parquet(source / _month("2023-01"), source / "yellow_tripdata_2023-01.parquet")

    both = run_trips(source, env)

    assert both.returncode == 0, both.stderr
    assert (
        "yellow_tripdata_2023-01.parquet and yellow_tripdata_2023-01.csv are the same month; "
        "loading yellow_tripdata_2023-01.parquet only"
    ) in both.stderr
    assert "(replaces yellow_tripdata_2023-01.csv)" in both.stderr
    counts = file_counts(source)
    assert_exactly_once(database, {"yellow_tripdata_2023-01.parquet": counts[_month("2023-01")]})


# Where a kill lands: named points inside dlt and Tripline (tests/faults/sitecustomize.py).
YELLOW = '"raw_tlc"."yellow_trips"'
BEFORE_RECORD = {
    "at": "call",
    "target": "dlt.destinations.job_client_impl:SqlJobClientBase.complete_load",
    "when": "before",
}
AFTER_RECORD = {**BEFORE_RECORD, "when": "after"}
AFTER_MONTH_INSERT = {"at": "sql", "match": f"insert into {YELLOW}", "when": "after"}


def after_insert_of(*texts: str) -> dict[str, object]:
    """After the first insert into yellow_trips that names ``texts`` (a file, a parts folder)
    and succeeds (a batch's insert that fails is followed by one per file)."""
    return {**AFTER_MONTH_INSERT, "match": [f"insert into {YELLOW}", *texts], "nth": "every"}


# The first run holds the warehouse a while after its first insert: a second run meets it.
HOLD_THE_WAREHOUSE = {**AFTER_MONTH_INSERT, "action": "sleep", "seconds": 6}


QUARANTINED_INSERT = after_insert_of("_tripline_rejected=false")
BEFORE_REPLACE_CLEANUP = {
    "at": "sql",
    "match": f"delete from {YELLOW} where _source_file in",
    "when": "before",
}
INSIDE_SWEEP = {"at": "sql", "match": f"delete from {YELLOW} where _dlt_load_id not in"}
INSIDE_SWEEP["when"] = "after"
AFTER_ABORT = {
    "at": "call",
    "target": "dlt.pipeline.pipeline:Pipeline.abort_packages",
    "when": "after",
}


def _killed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == -9


def test_a_kill_during_full_refresh_leaves_data_that_reloads(months: Path, tmp_path: Path) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01"), _month("2023-02")])
    database = tmp_path / "w.duckdb"
    env = environment(database)
    assert run_trips(source, env).returncode == 0

    # The refresh has dropped the tables and dies before its load is recorded.
    killed = run_trips(source, with_fault(env, {**BEFORE_RECORD, "nth": 1}), "--full-refresh")
    assert _killed(killed), killed.stderr
    after = run_trips(source, env)

    assert after.returncode == 0, after.stderr
    assert_exactly_once(database, file_counts(source))


def test_a_kill_inside_recovery_is_finished_by_the_next_run(months: Path, tmp_path: Path) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01"), _month("2023-02")])
    database = tmp_path / "w.duckdb"
    env = environment(database)
    # A load whose rows committed but whose record did not (the batch of the three files):
    # work for the recovery.
    assert _killed(run_trips(source, with_fault(env, {**BEFORE_RECORD, "nth": 1})))
    # The next runs die in their recovery: in the middle of deleting the unfinished rows,
    # then after discarding the local load packages.
    assert _killed(run_trips(source, with_fault(env, {**INSIDE_SWEEP, "nth": 1})))
    assert _killed(run_trips(source, with_fault(env, AFTER_ABORT)))
    final = run_trips(source, env)

    assert final.returncode == 0, final.stderr
    assert_exactly_once(database, file_counts(source))


def test_rows_that_did_not_land_are_caught_before_the_file_counts_as_loaded(
    months: Path, tmp_path: Path
) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01")])
    database = tmp_path / "w.duckdb"
    env = environment(database)
    lose_a_row = {  # every time the month loads: alone too, once its batch has failed
        **after_insert_of(_month("2023-01")),
        "action": "sql",
        "sql": "delete from raw_tlc.yellow_trips where rowid = (select min(rowid) "
        "from raw_tlc.yellow_trips)",
    }

    lossy = run_trips(source, with_fault(env, lose_a_row))

    assert lossy.returncode == 5, lossy.stderr
    expected = file_counts(source)[_month("2023-01")]
    assert (
        f"{expected - 1:,} rows and 0 rejects landed where {expected:,} and 0 were read; "
        "the load was undone"
    ) in lossy.stderr
    assert contents(database).loaded.get(_month("2023-01"), 0) == 0
    again = run_trips(source, env)  # the file is not taken for loaded
    assert again.returncode == 0, again.stderr
    assert_exactly_once(database, file_counts(source))


# Every point exists in its run. An incremental run tries the changed and the new month as
# one batch, which fails on the new one's bad value, then loads them one by one: the changed
# month strictly, the new one through the quarantine. A full refresh first loads its reset,
# then tries all four files as a batch and loads them one by one.
INCREMENTAL_KILLS = {
    "after-the-changed-month-insert": after_insert_of(_month("2023-02")),
    "before-the-changed-month-record": {**BEFORE_RECORD, "nth": 1},
    "after-the-changed-month-record": {**AFTER_RECORD, "nth": 1},
    "before-the-replaced-rows-go": {**BEFORE_REPLACE_CLEANUP, "nth": 1},
    "after-the-quarantined-insert": QUARANTINED_INSERT,
    "before-the-quarantined-record": {**BEFORE_RECORD, "nth": 2},
    "after-the-quarantined-record": {**AFTER_RECORD, "nth": 2},
}
REFRESH_KILLS = {
    "before-the-reset-record": {**BEFORE_RECORD, "nth": 1},
    "after-the-reset-record": {**AFTER_RECORD, "nth": 1},
    "after-a-month-insert": after_insert_of(_month("2023-02")),
    "before-a-month-record": {**BEFORE_RECORD, "nth": 4},
    "after-the-quarantined-insert": QUARANTINED_INSERT,
}
MIXED_KILLS = [
    *(
        pytest.param(fault, False, id=f"incremental-{name}")
        for name, fault in INCREMENTAL_KILLS.items()
    ),
    *(pytest.param(fault, True, id=f"refresh-{name}") for name, fault in REFRESH_KILLS.items()),
]


@pytest.fixture(scope="module")
def two_months_loaded(months: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding January and February, and its source folder (copied per test)."""
    base = tmp_path_factory.mktemp("two_months_loaded")
    source = _copy(months, base / "tlc", [_month(m) for m in ("2023-01", "2023-02")])
    assert run_trips(source, environment(base / "w.duckdb")).returncode == 0
    return base


@pytest.mark.parametrize(("fault", "refresh"), MIXED_KILLS)
def test_a_kill_anywhere_in_a_mixed_run_then_a_clean_run_holds_every_file_once(
    months: Path, two_months_loaded: Path, tmp_path: Path, fault: dict[str, object], refresh: bool
) -> None:
    """New, changed, unchanged and quarantined files, with or without a full refresh."""
    source = tmp_path / "tlc"
    shutil.copytree(two_months_loaded / "tlc", source)  # modification times kept
    database = tmp_path / "w.duckdb"
    shutil.copy2(two_months_loaded / "w.duckdb", database)
    env = environment(database)
    _copy(months, source, [_month("2023-03")])  # new
    generate(source, parse_month_range("2023-02"), ROWS // 2, "csv", seed=77)  # changed
    with (source / _month("2023-03")).open("a") as handle:  # a value to quarantine
        handle.write(
            "1,2023-03-05 10:00:00,2023-03-05 10:10:00,2.5,1.0,1,N,1,2,1,5,0,0.5,0,0,1,6.5,0,0\n"
        )

    killed = run_trips(source, with_fault(env, fault), *(["--full-refresh"] if refresh else []))
    assert _killed(killed), killed.stderr[-2000:]
    final = run_trips(source, env)

    assert final.returncode == 0, final.stderr
    held = assert_exactly_once(database, file_counts(source))
    assert held.rejected == {_month("2023-03"): 1}


def _hold_read_only(database: Path, seconds: float) -> subprocess.Popen[str]:
    """A BI client that keeps a read-only connection open until its stdin closes, at most
    ``seconds``."""
    script = (
        "import duckdb, select, sys\n"
        f"con = duckdb.connect({str(database)!r}, read_only=True)\n"
        "print('open', flush=True)\n"
        f"select.select([sys.stdin], [], [], {seconds})\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
    return reader


def test_a_reader_holding_the_file_delays_a_writer_and_does_not_fail_it(
    months: Path, tmp_path: Path
) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01")])
    database = tmp_path / "w.duckdb"
    env = environment(database)
    assert run_trips(source, env).returncode == 0
    _copy(months, source, [_month("2023-02")])
    reader = _hold_read_only(database, 120)

    # The reader lets go only once the writer says it waits, however slowly the writer starts.
    writer = start_trips(source, env)
    assert writer.stderr is not None
    seen: list[str] = []
    for line in writer.stderr:
        seen.append(line)
        if "is open in another process; waiting for it" in line:
            break
    time.sleep(1)
    still_waiting = writer.poll() is None
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait(timeout=30)
    rest = writer.stderr.read()
    writer.wait(timeout=600)

    stderr = "".join(seen) + rest
    assert "is open in another process; waiting for it" in stderr
    assert still_waiting, stderr
    assert writer.returncode == 0, stderr
    assert_exactly_once(database, file_counts(source))


def test_a_reader_that_never_lets_go_fails_the_writer_in_one_line(
    months: Path, tmp_path: Path
) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01")])
    database = tmp_path / "w.duckdb"
    env = environment(database)
    assert run_trips(source, env).returncode == 0
    _copy(months, source, [_month("2023-02")])
    reader = _hold_read_only(database, 30)
    try:
        writer = run_trips(source, {**env, "TRIPLINE_LOCK_TIMEOUT": "2"})
    finally:
        reader.kill()

    assert writer.returncode == 4, writer.stderr
    last = writer.stderr.strip().splitlines()[-1]
    assert last.startswith("tripline: error: ")
    assert "file locked by another process" in last
    assert "Traceback" not in writer.stderr


def test_only_a_run_after_a_stopped_one_says_so(months: Path, tmp_path: Path) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01")])
    env = environment(tmp_path / "w.duckdb")
    clean = run_trips(source, env)
    assert clean.returncode == 0
    assert "previous run stopped" not in clean.stderr
    _copy(months, source, [_month("2023-02")])
    assert _killed(run_trips(source, with_fault(env, {**AFTER_MONTH_INSERT, "nth": 1})))

    after = run_trips(source, env)

    assert "a previous run stopped before finishing" in after.stderr
    assert after.returncode == 0


def test_a_corrupt_file_is_named_as_corrupt(months: Path, tmp_path: Path) -> None:
    source = _copy(months, tmp_path / "tlc", [_month("2023-01")])
    parquet = source / "yellow_tripdata_2023-02.parquet"
    _as_parquet(source / _month("2023-01"), parquet)
    parquet.write_bytes(parquet.read_bytes()[:-100])  # the footer is gone

    result = run_trips(source, environment(tmp_path / "w.duckdb"))

    assert result.returncode == 5
    assert "yellow_tripdata_2023-02.parquet: corrupt or truncated file:" in result.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> object:
    """A 3 MB file system, so the warehouse runs out of space."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_named_as_a_full_disk(
    months: Path, tmp_path: Path, small_disk: Path
) -> None:
    source = _copy(months, tmp_path / "tlc")

    result = run_trips(source, environment(small_disk / "w.duckdb"))

    assert result.returncode in (4, 5), result.stderr
    assert "disk full" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert os.path.exists(small_disk / "w.duckdb")
