"""Benchmark of the trips pipeline against plain DuckDB, on generated CSV and Parquet inputs.

    .venv/bin/python -m bench.trips_bench [--sizes 1,4,10] [--parquet-sizes 1,4] [--quick]

For each input size it runs, in fresh subprocesses and one after the other:

* ``tripline pipeline run trips`` into an empty DuckDB file;
* the baseline: ``CREATE TABLE t AS SELECT * FROM read_csv(…)`` (or ``read_parquet``) in
  plain DuckDB with the same memory_limit, threads and temp_directory;

sampling the peak resident memory of each whole process tree every 20 ms. It also runs
dlt's default CSV route (``filesystem | read_csv``, pandas chunks to dicts) on a small input.
Results go to ``bench/RESULTS.md``.
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

from ingestion.core.budget import MIB
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.settings import load_settings
from ingestion.trips.generator import generate
from ingestion.trips.months import Month

WORK = Path("bench/work/trips")
RESULTS = Path("bench/RESULTS.md")
ROWS_PER_GB_FILE = 10_500_000  # a 2024-schema CSV month of this many rows is about 1.0 GB
BUDGET = "4GB"
PYTHON = sys.executable
TRIPLINE = str(Path(sys.executable).with_name("tripline"))

_BASELINE = """
import sys, duckdb
from ingestion.core.duckdb_config import duckdb_config
from ingestion.core.settings import load_settings
reader = {"csv": "read_csv", "parquet": "read_parquet"}[sys.argv[2]]
con = duckdb.connect(sys.argv[1], config=duckdb_config(load_settings()))
con.execute("set enable_progress_bar = false")
con.execute(f"create table t as select * from {reader}(?)", [sys.argv[3]])
print(con.execute("select count(*) from t").fetchall()[0][0])
"""

_DLT_DEFAULT = """
import sys, dlt
from dlt.sources.filesystem import filesystem, read_csv
pipeline = dlt.pipeline("bench_default", destination=dlt.destinations.duckdb(sys.argv[1]),
                        dataset_name="raw", pipelines_dir=sys.argv[2])
files = filesystem(bucket_url=sys.argv[3], file_glob="*.csv")
pipeline.run((files | read_csv()).with_name("trips"))
print(pipeline.last_trace.last_normalize_info.row_counts.get("trips", 0))
"""


@dataclass
class Measured:
    seconds: float
    peak_bytes: int
    output: str


def _measure(command: list[str], env: dict[str, str]) -> Measured:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with PeakTreeMemory(process.pid, interval=0.02) as peak:
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[:4])} failed:\n{stderr[-2000:]}")
    return Measured(seconds, peak.peak_bytes, stdout.strip())


def _inputs(fmt: str, gigabytes: int) -> Path:
    """A folder with ``gigabytes`` monthly files (about 1 GB each as CSV), generated once."""
    pool = WORK / f"pool_{fmt}"
    months = [Month(2023, 1)]
    while len(months) < gigabytes:
        months.append(months[-1].next())
    missing = [m for m in months if not (pool / f"yellow_tripdata_{m}.{fmt}").exists()]
    if missing:
        print(f"bench: generating {len(missing)} {fmt} month(s)", flush=True)
        report = generate(pool, missing, ROWS_PER_GB_FILE, fmt, seed=2024)
        print(f"bench: {report.line()}", flush=True)
    folder = WORK / f"input_{fmt}_{gigabytes}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for month in months:
        name = f"yellow_tripdata_{month}.{fmt}"
        (folder / name).symlink_to((pool / name).resolve())
    return folder


def _env(db_dir: Path) -> dict[str, str]:
    shutil.rmtree(db_dir, ignore_errors=True)
    db_dir.mkdir(parents=True)
    return {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(db_dir / "tripline.duckdb"),
        "TRIPLINE_MEMORY_LIMIT": BUDGET,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


@dataclass
class Row:
    label: str
    fmt: str
    rows: int
    input_mb: float
    pipeline: Measured
    baseline: Measured

    def cells(self) -> list[str]:
        throughput = self.rows / self.pipeline.seconds
        return [
            self.label,
            self.fmt,
            f"{self.rows:,}",
            f"{self.input_mb:,.0f}",
            f"{self.pipeline.seconds:.1f}",
            f"{throughput:,.0f}",
            f"{self.input_mb / self.pipeline.seconds:,.1f}",
            f"{self.pipeline.peak_bytes / MIB:,.0f}",
            f"{self.baseline.seconds:.1f}",
            f"{self.baseline.peak_bytes / MIB:,.0f}",
            f"{self.baseline.seconds / self.pipeline.seconds:.2f}",
        ]


def _run_size(fmt: str, gigabytes: int) -> Row:
    folder = _inputs(fmt, gigabytes)
    files = sorted(folder.iterdir())
    input_mb = sum(f.stat().st_size for f in files) / MIB
    rows = ROWS_PER_GB_FILE * len(files)
    print(f"bench: {fmt} {gigabytes} file(s), {input_mb:,.0f} MB: pipeline", flush=True)
    pipeline = _measure(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(folder)],
        _env(WORK / "db_pipeline"),
    )
    print(
        f"bench:   {pipeline.seconds:.1f} s, peak {pipeline.peak_bytes / MIB:,.0f} MB; baseline",
        flush=True,
    )
    baseline = _measure(
        [
            PYTHON,
            "-c",
            _BASELINE,
            str(WORK / "db_baseline" / "b.duckdb"),
            fmt,
            str(folder / f"*.{fmt}"),
        ],
        _env(WORK / "db_baseline"),
    )
    print(
        f"bench:   {baseline.seconds:.1f} s, peak {baseline.peak_bytes / MIB:,.0f} MB", flush=True
    )
    if int(baseline.output) != rows:
        raise SystemExit(f"bench: baseline counted {baseline.output} rows, expected {rows}")
    expected = f"loaded {rows:,} + rejected 0"
    if expected not in pipeline.output:
        raise SystemExit(f"bench: pipeline summary does not say '{expected}': {pipeline.output}")
    return Row(
        f"{input_mb / 1024:.1f} GB" if fmt == "csv" else f"{gigabytes} month(s)",
        fmt,
        rows,
        input_mb,
        pipeline,
        baseline,
    )


def _dlt_default(rows: int) -> tuple[Measured, float]:
    folder = WORK / "dlt_default_input"
    shutil.rmtree(folder, ignore_errors=True)
    generate(folder, [Month(2024, 1)], rows, "csv", seed=5)
    (folder / "taxi_zone_lookup.csv").unlink()
    size_mb = sum(f.stat().st_size for f in folder.glob("*.csv")) / MIB
    db = WORK / "db_default"
    env = _env(db)
    measured = _measure(
        [PYTHON, "-c", _DLT_DEFAULT, str(db / "d.duckdb"), str(db / "pipelines"), str(folder)],
        env,
    )
    return measured, size_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,4,10", help="CSV input sizes in GB")
    parser.add_argument("--parquet-sizes", default="1,4", help="Parquet inputs, in months")
    parser.add_argument("--default-rows", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="1 GB CSV and 1 Parquet month")
    args = parser.parse_args()
    sizes = [1] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    parquet_sizes = [1] if args.quick else [int(s) for s in args.parquet_sizes.split(",") if s]

    table = [_run_size("csv", gb) for gb in sizes]
    table += [_run_size("parquet", n) for n in parquet_sizes]
    default, default_mb = _dlt_default(args.default_rows)
    _write(table, default, default_mb, args)


def _write(
    table: list[Row], default: Measured, default_mb: float, args: argparse.Namespace
) -> None:
    settings = load_settings({"TRIPLINE_MEMORY_LIMIT": BUDGET})
    header = [
        "input", "format", "rows", "MB", "pipeline s", "rows/s", "MB/s", "pipeline peak MB",
        "DuckDB CTAS s", "CTAS peak MB", "throughput × DuckDB",
    ]  # fmt: skip
    lines = [
        "# Trips pipeline benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({os.cpu_count()} cores), Python {platform.python_version()}, "
        f"`TRIPLINE_MEMORY_LIMIT={BUDGET}` ({settings.budget.describe()}).",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python -m bench.trips_bench "
        + " ".join(a for a in sys.argv[1:])
        + "`).",
        "",
        "Each row: `tripline pipeline run trips` into an empty DuckDB file, then the baseline "
        "`CREATE TABLE t AS SELECT * FROM read_csv(…)`/`read_parquet(…)` in plain DuckDB with "
        "the same memory_limit, threads and temp_directory, each in a fresh process; peak = "
        "resident memory of the whole process tree, sampled every 20 ms. Throughput × DuckDB "
        "= baseline seconds / pipeline seconds (1.0 = as fast as plain DuckDB). One run each.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in table]
    csv_rows = [r for r in table if r.fmt == "csv"]
    if len(csv_rows) > 1:
        small, large = csv_rows[0], csv_rows[-1]
        growth = large.pipeline.peak_bytes / small.pipeline.peak_bytes - 1
        lines += [
            "",
            f"Peak memory from {small.label} to {large.label} of CSV: "
            f"{small.pipeline.peak_bytes / MIB:,.0f} MB → "
            f"{large.pipeline.peak_bytes / MIB:,.0f} MB ({growth:+.0%}).",
        ]
    rate = args.default_rows / default.seconds
    lines += [
        "",
        "## dlt's default CSV route, for scale",
        "",
        f"`filesystem(…) | read_csv()` (pandas chunks turned into Python dicts) on "
        f"{args.default_rows:,} rows ({default_mb:,.0f} MB of CSV): {default.seconds:.1f} s "
        f"({rate:,.0f} rows/s), peak {default.peak_bytes / MIB:,.0f} MB.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
