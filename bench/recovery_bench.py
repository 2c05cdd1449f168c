"""What the start of every run costs: the sweep of unfinished loads and the claim check.

Builds a warehouse whose ``raw_tlc.yellow_trips`` holds N rows in 36 monthly loads, all
complete in ``_dlt_loads`` (what a healthy warehouse looks like), then times, three times
each: ``recover_interrupted`` (the sweep, the package check, the state restore) and the
claim check's grouped count. A fourth timing adds one unfinished load of 1 % of the rows,
so the sweep has to delete.

    .venv/bin/python -m bench.recovery_bench --rows 100000000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from ingestion.core.pipeline import open_pipeline, recover_interrupted
from ingestion.core.settings import load_settings
from ingestion.trips.claims import count_rows

LOADS = 36


def build(database: Path, rows: int) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("create schema raw_tlc")
        con.execute(
            "create table raw_tlc._dlt_loads (load_id varchar not null, schema_name varchar, "
            "status bigint not null, inserted_at timestamptz not null, schema_version_hash "
            "varchar)"
        )
        con.execute(
            f"insert into raw_tlc._dlt_loads select cast(1700000000 + i as varchar) || '.5', "
            f"'tlc', 0, now(), null from range({LOADS}) t(i)"
        )
        con.execute(
            "create table raw_tlc.yellow_trips as select "
            f"'yellow_tripdata_' || (2021 + (i % {LOADS}) // 12) || '-' || "
            f"lpad(cast(1 + (i % {LOADS}) % 12 as varchar), 2, '0') || '.parquet' "
            "as _source_file, "
            f"cast(1700000000 + i % {LOADS} as varchar) || '.5' as _dlt_load_id, "
            f"random() * 100 as fare_amount from range({rows}) t(i) order by i % {LOADS}"
        )


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "w.duckdb"
        started = time.perf_counter()
        build(database, args.rows)
        print(f"built {args.rows:,} rows in {LOADS} loads in {time.perf_counter() - started:.0f} s")
        settings = load_settings({"TRIPLINE_DUCKDB_PATH": str(database)})
        pipeline = open_pipeline("trips", "raw_tlc", settings)
        sweeps = [timed(lambda: recover_interrupted(pipeline)) for _ in range(3)]
        checks = [timed(lambda: count_rows(pipeline, ["yellow_trips"])) for _ in range(3)]
        with duckdb.connect(str(database)) as con:
            con.execute(
                "insert into raw_tlc.yellow_trips select '2030-01.parquet', 'unfinished', 1.0 "
                f"from range({args.rows // 100})"
            )
        dirty = timed(lambda: recover_interrupted(pipeline))
    print(
        f"sweep of a clean warehouse: median {statistics.median(sweeps):.2f} s "
        f"({', '.join(f'{s:.2f}' for s in sweeps)})"
    )
    print(
        f"claim check (grouped count): median {statistics.median(checks):.2f} s "
        f"({', '.join(f'{s:.2f}' for s in checks)})"
    )
    print(f"sweep deleting an unfinished load of {args.rows // 100:,} rows: {dirty:.2f} s")


if __name__ == "__main__":
    main()
