"""The same dbt project on DuckDB and on Spark local: wall time and peak memory (issue 14).

    .venv/bin/python -m bench.dbt_engines_bench [--rows 100000] [--months 2024-12:2025-02]
        [--runs 3]

Generates yellow-taxi months with the Tripline generator, loads them with the trips pipeline
into DuckDB once, copies the raw tables into a local Delta lake (the parity test's
``write_lake_from_duckdb``), then builds the TLC lineage (seeds, staging, intermediate,
fct_trips, dim_zones and the insight marts; no data tests) ``--runs`` times on each engine,
the engines alternating, each build one fresh ``dbt build --full-refresh`` process:

* DuckDB: ``dbt build`` against the DuckDB file, budget ``TRIPLINE_MEMORY_LIMIT=4GB``;
* Spark: ``dbt build --target spark`` (pyspark 4.1.4 local[2], Delta 4.3.1, driver memory
  1g) into a new warehouse folder each run, reading the lake.

Peak memory is the resident set of the whole process tree (dbt, and for Spark the JVM it
starts), sampled every 50 ms by ``ingestion.core.memory.PeakTreeMemory``; the load average is
recorded next to each run (the machine is shared). Medians over the runs go to
``bench/results/dbt_engines.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ingestion.core.budget import MIB
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.settings import load_settings
from ingestion.dbt_runner import dbt_command, dbt_environment, dbt_project_dir
from ingestion.dbt_spark import spark_environment
from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import run_trips
from tests.ingestion.dbt.conftest import TRIPS_SELECTION
from tests.ingestion.lakehouse.test_parity import write_lake_from_duckdb

WORK = Path("bench/work/dbt_engines")
RESULTS = Path("bench/results/dbt_engines.md")
BUDGET = "4GB"
BUILD = ["build", "--full-refresh", "--select", *TRIPS_SELECTION,
         "--exclude", "resource_type:test", "resource_type:unit_test"]  # fmt: skip


@dataclass
class Run:
    engine: str
    seconds: float
    peak_bytes: int
    load_before: float
    load_after: float


def _measure(engine: str, command: list[str], env: dict[str, str], cwd: Path) -> Run:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with PeakTreeMemory(process.pid, interval=0.05) as peak:
        output, _ = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{engine} build failed:\n{output[-3000:]}")
    run = Run(engine, seconds, peak.peak_bytes, load_before, os.getloadavg()[0])
    print(
        f"{engine}: {seconds:.1f} s, peak {peak.peak_bytes / MIB:,.0f} MiB, "
        f"load {run.load_before:.1f}->{run.load_after:.1f}",
        flush=True,
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per month")
    parser.add_argument("--months", default="2024-12:2025-02")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = WORK.resolve()
    shutil.rmtree(work, ignore_errors=True)
    settings = load_settings(
        {
            "TRIPLINE_DUCKDB_PATH": str(work / "data" / "tripline.duckdb"),
            "TRIPLINE_MEMORY_LIMIT": BUDGET,
        }
    )
    months = parse_month_range(args.months)
    report = generate(work / "tlc", months, args.rows, "parquet", seed=14)
    print(report.line(), flush=True)
    run_trips(settings, str(work / "tlc"))
    lake = work / "lake"
    write_lake_from_duckdb(settings.duckdb_path, lake)
    project = dbt_project_dir()
    duck_env = {
        **dbt_environment(settings),
        "DBT_TARGET_PATH": str(work / "target_duckdb"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    runs: list[Run] = []
    for index in range(args.runs):
        runs.append(_measure("duckdb", dbt_command(BUILD, project), duck_env, project))
        spark_dir = work / f"spark_{index}"
        spark_dir.mkdir(parents=True)
        spark_env = {
            **spark_environment(lake.as_uri(), spark_dir, project),
            "DBT_TARGET_PATH": str(work / "target_spark"),
            "DBT_LOG_PATH": str(work / "logs"),
        }
        command = dbt_command([*BUILD, "--target", "spark"], project)
        runs.append(_measure("spark", command, spark_env, spark_dir))
        shutil.rmtree(spark_dir, ignore_errors=True)
    _write(args, report.rows, runs)


def _write(args: argparse.Namespace, rows: int, runs: list[Run]) -> None:
    def median(engine: str, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in runs if r.engine == engine)

    lines = [
        "# dbt on DuckDB and on Spark local: the same months, the same models",
        "",
        f"Command: `.venv/bin/python -m bench.dbt_engines_bench --rows {args.rows} "
        f"--months {args.months} --runs {args.runs}`",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({os.cpu_count()} cores, shared with other work), Python {platform.python_version()}. "
        f"Data: {rows:,} generated yellow trips ({args.months}). Each build is one fresh "
        "`dbt build --full-refresh` of the TLC lineage (4 seeds, 2 staging and 2 "
        "intermediate views, fct_trips, dim_zones, 11 insight marts; no data tests), the "
        "engines alternating. DuckDB: budget TRIPLINE_MEMORY_LIMIT=4GB. Spark: pyspark "
        "4.1.4 local[2], Delta 4.3.1, spark.driver.memory 1g, shuffle partitions 2, JVM "
        "start included. Peak = resident memory of the process tree (dbt + JVM), 50 ms "
        "samples.",
        "",
        "| engine | median wall | median peak RSS | runs (s / MiB / load 1-min before→after) |",
        "|---|---|---|---|",
    ]
    for engine in ("duckdb", "spark"):
        detail = "; ".join(
            f"{r.seconds:.0f} / {r.peak_bytes / MIB:,.0f} / {r.load_before:.1f}→{r.load_after:.1f}"
            for r in runs
            if r.engine == engine
        )
        lines.append(
            f"| {engine} | {median(engine, 'seconds'):.1f} s | "
            f"{median(engine, 'peak_bytes') / MIB:,.0f} MiB | {detail} |"
        )
    ratio_time = median("spark", "seconds") / median("duckdb", "seconds")
    ratio_memory = median("spark", "peak_bytes") / median("duckdb", "peak_bytes")
    lines += [
        "",
        f"Spark local / DuckDB: {ratio_time:.1f} x the wall time, {ratio_memory:.1f} x the "
        "peak memory, on one machine.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
