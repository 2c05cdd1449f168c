"""Benchmark of the open_data pipeline against the Socrata devserver.

    .venv/bin/python -m bench.apis_bench [--vehicles 20000] [--page-size 5000]

Serves ``--vehicles`` generated FHV records from ``devservers.socrata`` on 127.0.0.1, then
runs, each in a fresh process and DuckDB file, one after the other:

1. baseline: plain ``requests`` paging (the same keyset pages: ``$order=:id``, ``:id > last``,
   ``$limit``, ``$where``) into a JSON-lines file, then DuckDB ``create table … as select * from
   read_json(…)``;
2. the pipeline (``run_open_data``) with dlt's default ``insert_values`` load files;
3. the pipeline with Parquet load files (what ``tripline pipeline run open_data`` uses);
4. the pipeline again on the same file with nothing changed (the incremental no-op run), with
   and without the key reconciliation, whose cost is the difference;
5. the pipeline again after 1 % of the vehicles left the dataset (the reconciliation marks them).

Peak memory is the resident set of the whole process tree, sampled every 20 ms. Writes
``bench/results/apis.md``.
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
import psutil

from devservers.socrata import serve_socrata
from ingestion.core.memory import PeakTreeMemory

WORK = Path("bench/work/apis")
RESULTS = Path("bench/results/apis.md")

BASELINE = """
import json, sys, duckdb, requests
url, size, out, db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
where = ":updated_at >= '1970-01-01T00:00:00.000'"
after = ""
with open(out, "w") as handle:
    while True:
        page = requests.get(url, params={"$select": ":*,*", "$order": ":id",
            "$where": where + after, "$limit": size}, timeout=60).json()
        for record in page:
            handle.write(json.dumps(record) + "\\n")
        if len(page) < size:
            break
        after = " AND :id > '" + page[-1][":id"] + "'"
con = duckdb.connect(db)
con.execute(f"create table fhv_vehicles as select * from read_json('{out}')")
print(con.execute("select count(*) from fhv_vehicles").fetchone()[0])
"""

PIPELINE = """
import sys
from ingestion.core.settings import load_settings
from ingestion.open_data.pipeline import run_open_data
from ingestion.open_data.settings import load_open_data_settings
summary = run_open_data(load_settings(), load_open_data_settings(sys.argv[1], int(sys.argv[2])),
                        loader_file_format=sys.argv[3], reconcile=sys.argv[4] == "reconcile")
print(summary.rows_loaded)
"""


@dataclass
class Result:
    name: str
    seconds: float
    peak_bytes: int
    rows: int


def _measure(name: str, code: str, args: list[str], env: dict[str, str]) -> Result:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, text=True
    )
    with PeakTreeMemory(process.pid, interval=0.02) as memory:
        stdout, _ = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {process.returncode}")
    rows = int(stdout.strip().splitlines()[-1])
    print(f"{name}: {seconds:.1f} s, peak {memory.peak_bytes / 2**20:.0f} MB, {rows:,} rows")
    return Result(name, seconds, memory.peak_bytes, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=5000)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    base_env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "TRIPLINE_MEMORY_LIMIT": "4GB"}
    base_env["PYTHONPATH"] = str(Path.cwd())
    results: list[Result] = []
    with serve_socrata(rows=args.vehicles) as (server, dataset):
        url = f"{server.url}/resource/8wbx-tsch.json"
        size = str(args.page_size)
        results.append(
            _measure(
                "baseline: requests + DuckDB read_json",
                BASELINE,
                [url, size, str(WORK / "pages.jsonl"), str(WORK / "baseline.duckdb")],
                base_env,
            )
        )
        for fmt in ("insert_values", "parquet"):
            env = {**base_env, "TRIPLINE_DUCKDB_PATH": str(WORK / fmt / "tripline.duckdb")}
            results.append(
                _measure(
                    f"open_data, {fmt} load files",
                    PIPELINE,
                    [server.url, size, fmt, "reconcile"],
                    env,
                )
            )
        env = {**base_env, "TRIPLINE_DUCKDB_PATH": str(WORK / "parquet" / "tripline.duckdb")}
        for name, reconcile in (
            ("open_data again, nothing changed", "reconcile"),
            ("open_data again, nothing changed, --skip-reconcile", "skip"),
        ):
            results.append(_measure(name, PIPELINE, [server.url, size, "parquet", reconcile], env))
        gone = dataset.delete([r["vehicle_license_number"] for r in dataset.snapshot()[::100]])
        results.append(
            _measure(
                f"open_data again, {len(gone):,} vehicles gone (marked removed)",
                PIPELINE,
                [server.url, size, "parquet", "reconcile"],
                env,
            )
        )
    with duckdb.connect(str(WORK / "parquet" / "tripline.duckdb"), read_only=True) as con:
        distinct, removed = con.execute(
            "select count(distinct vehicle_license_number), count(_removed_at) "
            "from raw_open_data.fhv_vehicles"
        ).fetchall()[0]
    baseline = results[0]
    lines = [
        "# open_data pipeline benchmark",
        "",
        f"`.venv/bin/python -m bench.apis_bench --vehicles {args.vehicles} "
        f"--page-size {args.page_size}`",
        "",
        f"{args.vehicles:,} generated FHV vehicle records served by `devservers/socrata.py` on "
        f"127.0.0.1 in pages of {args.page_size:,}; one run each, in this order, each a fresh "
        "process; peak = resident memory of the whole process tree (20 ms samples). "
        f"Distinct vehicles in the pipeline's table after the runs: {distinct:,}, of which "
        f"{removed:,} marked removed. Every pipeline run reconciles keys unless it says "
        "`--skip-reconcile`; a run with nothing changed still reads the row at the cursor.",
        "",
        "| Run | Rows loaded | Wall | × baseline | Peak memory |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.rows:,} | {result.seconds:.1f} s | "
            f"{result.seconds / baseline.seconds:.2f} | {result.peak_bytes / 2**20:,.0f} MB |"
        )
    lines += [
        "",
        f"Machine: {platform.machine()}, {psutil.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, Python {platform.python_version()}.",
        "The server runs in the benchmark process, so its time is in every wall figure.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
