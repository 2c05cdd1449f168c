"""What crash tests need: real ``tripline`` processes, faults at named points, and the
warehouse's final contents compared with the files' own counts."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from tests.helpers import REPO, TRIPLINE

FAULTS = REPO / "tests" / "faults"


def environment(database: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(database),
        "TRIPLINE_MEMORY_LIMIT": "1GB",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **extra,
    }


def with_fault(env: dict[str, str], fault: dict[str, Any]) -> dict[str, str]:
    """``env`` plus the failpoint ``fault`` (see tests/faults/sitecustomize.py)."""
    path = os.pathsep.join(p for p in (str(FAULTS), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "TRIPLINE_TEST_FAULT": json.dumps(fault)}


def run_trips(source: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(source), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def start_trips(source: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(source), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def file_counts(folder: Path) -> dict[str, int]:
    """Every trip file's own row count: Parquet footers, CSV data lines (header and empty
    lines aside), read without the pipeline's code."""
    counts = {}
    for path in sorted(folder.iterdir()):
        if "_tripdata_" not in path.name:
            continue
        if path.name.endswith(".parquet"):
            counts[path.name] = int(
                duckdb.sql(f"select sum(num_rows) from parquet_file_metadata('{path}')").fetchall()[
                    0
                ][0]
            )
        else:
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", newline="") as handle:
                counts[path.name] = sum(1 for line in handle if line.rstrip("\r\n")) - 1
    return counts


@dataclass
class Contents:
    """What the warehouse holds, per source file."""

    loaded: dict[str, int]
    rejected: dict[str, int]
    load_ids: dict[str, set[str]]
    unfinished_rows: int

    def per_file(self) -> dict[str, int]:
        """Rows read back: loaded plus rejected, per file."""
        names = set(self.loaded) | set(self.rejected)
        return {n: self.loaded.get(n, 0) + self.rejected.get(n, 0) for n in sorted(names)}


def contents(database: Path, table: str = "yellow_trips") -> Contents:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw_tlc'"
            ).fetchall()
        }

        def grouped(name: str) -> list[tuple[str, str, int]]:
            if name not in tables:
                return []
            return con.execute(
                f"select _source_file, _dlt_load_id, count(*) from raw_tlc.{name} group by all"
            ).fetchall()

        loaded, rejected = grouped(table), grouped(f"{table}_rejected")
        completed = {
            load_id
            for (load_id,) in con.execute(
                "select load_id from raw_tlc._dlt_loads where status = 0"
            ).fetchall()
        }
    load_ids: dict[str, set[str]] = {}
    for name, load_id, _ in loaded + rejected:
        load_ids.setdefault(name, set()).add(load_id)
    unfinished = sum(n for _, load_id, n in loaded + rejected if load_id not in completed)
    return Contents(
        loaded=_sum(loaded), rejected=_sum(rejected), load_ids=load_ids, unfinished_rows=unfinished
    )


def _sum(rows: list[tuple[str, str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for name, _, count in rows:
        totals[name] = totals.get(name, 0) + count
    return totals


def assert_exactly_once(database: Path, expected: dict[str, int]) -> Contents:
    """Every expected file once — loaded + rejected equal to its own count, under a single
    load id — nothing else, and no row of an unfinished load."""
    held = contents(database)
    assert held.per_file() == expected
    assert {name: len(ids) for name, ids in held.load_ids.items()} == dict.fromkeys(expected, 1)
    assert held.unfinished_rows == 0
    return held
