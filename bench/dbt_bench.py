"""Benchmark of the dbt project's big fact: ``fct_trips`` on a large generated dataset.

    .venv/bin/python -m bench.dbt_bench [--rows 100000000] [--months 2022-01:2024-08]

Generates yellow-taxi Parquet months with the Tripline generator (``--rows`` spread evenly),
loads all but the last month into ``raw_tlc.yellow_trips`` with DuckDB directly (the shape the
trips pipeline writes: the TLC columns in snake_case plus ``_source_file`` and one
``_dlt_load_id`` per file; the pipeline itself is benchmarked in ``bench/trips_bench.py``),
then measures, each as a subprocess under the same ``TRIPLINE_MEMORY_LIMIT`` budget (4 GB):

1. baseline: DuckDB ``create table … as select * from raw_tlc.yellow_trips`` (a plain copy
   with the budget's memory_limit, threads and temp_directory — the floor for any rebuild);
2. ``dbt run --select +fct_trips --full-refresh``: staging and intermediate views and the
   full build of fct_trips (hash keys, validity rules, zone joins, 47 columns);
3. the last month is loaded as a new load, then ``dbt run --select fct_trips``: the
   incremental build that must not rebuild history;
4. ``dbt run --select dim_zones path:models/marts/insights``: the insight marts on top.

Peak memory is the resident set of the whole process tree (dbt and its DuckDB), sampled every
50 ms with ``ingestion.core.memory.PeakTreeMemory``. Writes ``bench/results/dbt.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.core.budget import GIB, MIB
from ingestion.core.duckdb_config import connect
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.settings import load_settings
from ingestion.dbt_runner import dbt_command
from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range

WORK = Path("bench/work/dbt")
RESULTS = Path("bench/results/dbt.md")
BUDGET = "4GB"

_RAW_COLUMNS = """
    VendorID as vendor_id, tpep_pickup_datetime::timestamp as tpep_pickup_datetime,
    tpep_dropoff_datetime::timestamp as tpep_dropoff_datetime,
    passenger_count::bigint as passenger_count, trip_distance,
    RatecodeID::bigint as ratecode_id, store_and_fwd_flag, PULocationID::bigint as pu_location_id,
    DOLocationID::bigint as do_location_id, payment_type::bigint as payment_type, fare_amount,
    extra, mta_tax, tip_amount, tolls_amount, improvement_surcharge, total_amount,
    congestion_surcharge, Airport_fee as airport_fee, null::double as cbd_congestion_fee
"""

_BASELINE = """
import sys
from ingestion.core.duckdb_config import connect
from ingestion.core.settings import load_settings
con = connect(load_settings().duckdb_path, load_settings())
con.execute('drop table if exists main.bench_copy')
con.execute('create table main.bench_copy as select * from raw_tlc.yellow_trips')
print(con.execute('select count(*) from main.bench_copy').fetchone()[0])
con.execute('drop table main.bench_copy')
"""


@dataclass
class Measured:
    step: str
    seconds: float
    peak_bytes: int
    rows: int


def _env(database: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(database.resolve()),
        "TRIPLINE_MEMORY_LIMIT": BUDGET,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str((WORK / "target").resolve()),
        "DBT_LOG_PATH": str((WORK / "logs").resolve()),
    }


def _measure(step: str, command: list[str], env: dict[str, str], database: Path) -> Measured:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with PeakTreeMemory(process.pid, interval=0.05) as peak:
        output, _ = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{step} failed:\n{output[-3000:]}")
    with duckdb.connect(str(database), read_only=True) as con:
        rows = (
            con.execute("select count(*) from marts.fct_trips").fetchone()[0]
            if (step != "baseline")
            else con.execute("select count(*) from raw_tlc.yellow_trips").fetchone()[0]
        )
    result = Measured(step, seconds, peak.peak_bytes, int(rows))
    print(f"{step}: {seconds:.1f} s, peak {peak.peak_bytes / MIB:,.0f} MiB, rows {rows:,}")
    return result


def _load_raw(database: Path, files: list[Path], load_index: int) -> None:
    """Append ``files`` to raw_tlc.yellow_trips as one load per file, like the pipeline."""
    settings = load_settings(_env(database))
    with connect(database, settings) as con:
        con.execute("create schema if not exists raw_tlc")
        for offset, file in enumerate(files):
            load_id = f"{1_700_000_000 + load_index + offset}.000001"
            select = (
                f"select {_RAW_COLUMNS}, '{file.name}' as _source_file, "
                f"'{load_id}' as _dlt_load_id from read_parquet('{file}')"
            )
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'raw_tlc' and table_name = 'yellow_trips'"
            ).fetchone()[0]
            if exists:
                con.execute(f"insert into raw_tlc.yellow_trips {select}")
            else:
                con.execute(f"create table raw_tlc.yellow_trips as {select}")
            print(f"loaded {file.name}", flush=True)


def _load_zones(database: Path, folder: Path) -> None:
    settings = load_settings(_env(database))
    with connect(database, settings) as con:
        con.execute("create schema if not exists raw_tlc")
        con.execute(
            "create or replace table raw_tlc.taxi_zones as select LocationID::bigint as "
            "location_id, Borough as borough, Zone as zone, service_zone, "
            "'taxi_zone_lookup.csv' as _source_file, '1700000000.000000' as _dlt_load_id "
            f"from read_csv('{folder / 'taxi_zone_lookup.csv'}')"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--months", default="2022-01:2024-08")
    parser.add_argument("--keep", action="store_true", help="keep bench/work/dbt afterwards")
    parser.add_argument(
        "--reuse-files",
        action="store_true",
        help="reuse the generated files of a kept or failed run with the same arguments",
    )
    args = parser.parse_args()
    months = parse_month_range(args.months)
    rows_per_month = args.rows // len(months)
    files_dir, database = WORK / "tlc", WORK / "data" / "tripline.duckdb"
    reuse = args.reuse_files and len(list(files_dir.glob("yellow_tripdata_*"))) == len(months)
    shutil.rmtree(WORK / "data", ignore_errors=True)
    if not reuse:
        shutil.rmtree(WORK, ignore_errors=True)
    started = time.perf_counter()
    if not reuse:
        print(generate(files_dir, months, rows_per_month, "parquet", seed=3).line(), flush=True)
    generated = (
        "files reused from an earlier run"
        if reuse
        else f"generated in {time.perf_counter() - started:.0f} s"
    )
    files = sorted(files_dir.glob("yellow_tripdata_*.parquet"))
    started = time.perf_counter()
    _load_zones(database, files_dir)
    _load_raw(database, files[:-1], 0)
    load_seconds = time.perf_counter() - started
    env = _env(database)
    subprocess.run(dbt_command(["seed"]), env=env, check=True, capture_output=True)
    results = [
        _measure("baseline", [sys.executable, "-c", _BASELINE], env, database),
        _measure(
            "full",
            dbt_command(["run", "--select", "+fct_trips", "--full-refresh"]),
            env,
            database,
        ),
    ]
    _load_raw(database, files[-1:], len(files))
    results.append(
        _measure("incremental", dbt_command(["run", "--select", "fct_trips"]), env, database)
    )
    results.append(
        _measure(
            "marts",
            dbt_command(["run", "--select", "dim_zones", "path:models/marts/insights"]),
            env,
            database,
        )
    )
    database_bytes = database.stat().st_size
    _write(args, rows_per_month, len(months), results, generated, load_seconds,
           database_bytes)  # fmt: skip
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)


def _write(
    args: argparse.Namespace,
    rows_per_month: int,
    months: int,
    results: list[Measured],
    generated: str,
    load_seconds: float,
    database_bytes: int,
) -> None:
    by_step = {r.step: r for r in results}
    labels = {
        "baseline": "baseline: DuckDB CTAS copy of raw_tlc.yellow_trips (all but last month)",
        "full": "`dbt run -s +fct_trips --full-refresh` (all but last month)",
        "incremental": "`dbt run -s fct_trips` after one new month (incremental)",
        "marts": "`dbt run -s dim_zones path:models/marts/insights` (8 insight marts)",
    }
    lines = [
        "# dbt benchmark: fct_trips on generated yellow-taxi data",
        "",
        f"Command: `.venv/bin/python -m bench.dbt_bench --rows {args.rows} --months {args.months}`",
        "",
        f"Data: {months} months x {rows_per_month:,} rows = {months * rows_per_month:,} rows "
        f"({generated}, raw load {load_seconds:.0f} s; DuckDB "
        f"file {database_bytes / GIB:.1f} GiB after the run). Budget "
        f"TRIPLINE_MEMORY_LIMIT={BUDGET} (DuckDB memory_limit "
        f"{load_settings(_env(WORK / 'x.duckdb')).budget.duckdb_memory_limit}). "
        f"Machine: {os.cpu_count()} cores, {platform.platform()}; one run each, other "
        "work may have shared the machine.",
        "",
        "| Step | Rows in fct_trips | Wall | Peak RSS (process tree) | Rows/s |",
        "|---|---|---|---|---|",
    ]
    for step, label in labels.items():
        r = by_step[step]
        processed = r.rows if step in {"baseline", "full"} else rows_per_month
        if step == "marts":
            processed = r.rows
        lines.append(
            f"| {label} | {r.rows:,} | {r.seconds:.1f} s | {r.peak_bytes / MIB:,.0f} MiB | "
            f"{processed / r.seconds:,.0f} |"
        )
    full, base = by_step["full"], by_step["baseline"]
    lines += [
        "",
        f"- Full build vs the plain copy: {full.seconds / base.seconds:.2f} x the time, "
        f"{full.peak_bytes / max(base.peak_bytes, 1):.2f} x the peak memory.",
        f"- Incremental month vs full build: {by_step['incremental'].seconds:.1f} s vs "
        f"{full.seconds:.1f} s (history is not rebuilt).",
        f"- Every step stayed {'under' if max(r.peak_bytes for r in results) < 4e9 else 'OVER'}"
        f" the 4 GB budget (max {max(r.peak_bytes for r in results) / MIB:,.0f} MiB).",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
