"""Real-size months against plain DuckDB, as same-run pairs (issue 15).

    .venv/bin/python -m bench.trips_realsize_bench [--pairs 3] [--months 12] [--rows 3000000]
        [--csv-gb 3] [--skip-csv]

Two inputs, generated once into bench/work/realsize/:

* 12 Parquet months of 3 M rows (about 830 MB: the size of a 2024 yellow month);
* one CSV month of about 3 GB.

For each input, ``--pairs`` alternating pairs, each in fresh processes on empty DuckDB files:
``tripline pipeline run trips`` and the baseline — plain DuckDB, ``CREATE TABLE … AS SELECT *
FROM read_parquet(glob, union_by_name = true)`` (or ``read_csv``) with the same memory_limit,
threads and temp directory and ``preserve_insertion_order = false``. Peak = resident memory of
the whole process tree, sampled every 20 ms. Reported: every pair, and the medians; throughput
× DuckDB = baseline seconds / pipeline seconds. Results: bench/results/trips_realsize.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from bench.trips_bench import PYTHON, TRIPLINE, _env, _measure
from ingestion.core.budget import MIB
from ingestion.trips.generator import generate
from ingestion.trips.months import Month

WORK = Path("bench/work/realsize")
RESULTS = Path("bench/results/trips_realsize.md")
CSV_ROWS_PER_GB = 10_500_000
BASELINE = """
import sys, duckdb
from ingestion.core.duckdb_config import duckdb_config
from ingestion.core.settings import load_settings
reader = {"csv": "read_csv", "parquet": "read_parquet"}[sys.argv[2]]
con = duckdb.connect(sys.argv[1], config=duckdb_config(load_settings()))
con.execute("set enable_progress_bar = false")
con.execute(f"create table t as select * from {reader}(?, union_by_name = true)", [sys.argv[3]])
print(con.execute("select count(*) from t").fetchall()[0][0])
"""


def _parquet_months(months: int, rows: int) -> Path:
    folder = WORK / f"parquet_{months}x{rows}"
    wanted = [Month(2024, 1)]
    while len(wanted) < months:
        wanted.append(wanted[-1].next())
    if len(list(folder.glob("yellow_tripdata_*.parquet"))) != months:
        print(f"bench: generating {months} Parquet months of {rows:,} rows", flush=True)
        generate(folder, wanted, rows, "parquet", seed=2024)
    (folder / "taxi_zone_lookup.csv").unlink(missing_ok=True)
    (folder / "_generator_manifest.json").unlink(missing_ok=True)
    return folder


def _csv_month(gigabytes: int) -> Path:
    folder = WORK / f"csv_{gigabytes}gb"
    if not list(folder.glob("yellow_tripdata_*.csv")):
        print(f"bench: generating one CSV month of about {gigabytes} GB", flush=True)
        generate(folder, [Month(2024, 1)], CSV_ROWS_PER_GB * gigabytes, "csv", seed=2024)
    (folder / "taxi_zone_lookup.csv").unlink(missing_ok=True)
    (folder / "_generator_manifest.json").unlink(missing_ok=True)
    return folder


def _pairs(label: str, folder: Path, fmt: str, pairs: int) -> list[str]:
    pattern = str(folder / f"*.{fmt}")
    size_mb = sum(p.stat().st_size for p in folder.glob(f"*.{fmt}")) / MIB
    rows = []
    pipeline_s, baseline_s, pipeline_peak, baseline_peak = [], [], [], []
    for number in range(1, pairs + 1):
        ran = _measure(
            [TRIPLINE, "pipeline", "run", "trips", "--source", str(folder)],
            _env(WORK / "db_pipeline"),
        )
        base = _measure(
            [PYTHON, "-c", BASELINE, str(WORK / "db_baseline" / "b.duckdb"), fmt, pattern],
            _env(WORK / "db_baseline"),
        )
        if f"loaded {int(base.output):,} + rejected 0" not in ran.output:
            raise SystemExit(f"bench: the pipeline did not load {base.output} rows: {ran.output}")
        pipeline_s.append(ran.seconds)
        baseline_s.append(base.seconds)
        pipeline_peak.append(ran.peak_bytes)
        baseline_peak.append(base.peak_bytes)
        rows.append(
            f"| {label} | {number} | {ran.seconds:.1f} | {ran.peak_bytes / MIB:,.0f} | "
            f"{base.seconds:.1f} | {base.peak_bytes / MIB:,.0f} | "
            f"{base.seconds / ran.seconds:.2f} |"
        )
        print(rows[-1], flush=True)
    median_p, median_b = statistics.median(pipeline_s), statistics.median(baseline_s)
    rows.append(
        f"| **{label}, median** ({size_mb:,.0f} MB) | | **{median_p:.1f}** | "
        f"**{max(pipeline_peak) / MIB:,.0f}** (max) | **{median_b:.1f}** | "
        f"{max(baseline_peak) / MIB:,.0f} (max) | **{median_b / median_p:.2f}** |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--csv-gb", type=int, default=3)
    parser.add_argument("--skip-csv", action="store_true")
    args = parser.parse_args()
    table = _pairs(
        f"{args.months} Parquet months × {args.rows / 1e6:g} M rows",
        _parquet_months(args.months, args.rows),
        "parquet",
        args.pairs,
    )
    if not args.skip_csv:
        table += _pairs(f"one {args.csv_gb} GB CSV", _csv_month(args.csv_gb), "csv", args.pairs)
    lines = [
        "# Trips at real size: same-run pairs against plain DuckDB",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({os.cpu_count()} cores), budget 4GB. Reproduce: `.venv/bin/python -m "
        "bench.trips_realsize_bench` (see its docstring for what runs).",
        "",
        "| input | pair | pipeline s | pipeline peak MB | DuckDB CTAS s | CTAS peak MB | "
        "throughput × DuckDB |",
        "|---|---|---|---|---|---|---|",
        *table,
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
