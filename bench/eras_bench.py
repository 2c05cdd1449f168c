"""A coordinate-era month through the trips pipeline, with its zones found and without (issue 12).

    .venv/bin/python -m bench.eras_bench [--rows 1000000] [--runs 3] [--formats csv,parquet]

The input is one generated yellow month of 2015 (``era="archive"``: ``VendorID``, coordinates,
no location ids), written once into bench/work/eras/. Each run is a fresh
``tripline``-equivalent process (``run_trips`` into an empty DuckDB file at the 4 GB budget's
settings) whose whole process tree's peak memory is sampled (``PeakTreeMemory``):

* ``zones``: as shipped — the file is parsed by Tripline's own DuckDB, streamed out as Arrow
  batches whose zone columns ``zone_columns.zoned`` fills with ``locate()``, scanned back and
  written as Parquet parts, then loaded;
* ``no zones``: the same route and file with the zone step taken out (no Arrow hop: the parse
  is written straight to the parts, the zone columns stay NULL): what the zones cost, the
  hop included, is the difference.

The two alternate (zones, no zones, zones, …) so both see the same load on the shared
2-core machine; medians of ``--runs`` pairs, with the load average next to each run.
Results: bench/results/eras.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from bench.trips_bench import BUDGET, WORK, _env, _measure
from ingestion.trips.generator import generate
from ingestion.trips.months import Month

ERAS_WORK = WORK / "eras"
MONTH = Month(2015, 6)
RESULTS = Path(__file__).parent / "results" / "eras.md"


def _child(mode: str, source: str) -> None:
    """One load, in this process: prints seconds and rows as JSON."""
    from ingestion.core.settings import load_settings
    from ingestion.trips import reader
    from ingestion.trips.pipeline import run_trips

    if mode == "nozones":
        reader._zone_columns = lambda mapping: []
    started = time.perf_counter()
    summary, outcomes = run_trips(load_settings(), source)
    if summary.failed_inputs:
        raise SystemExit(f"failed: {summary.failed_inputs}")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": summary.rows_read,
                      "routes": sorted({o.route for o in outcomes})}))  # fmt: skip


def _input(fmt: str, rows: int) -> Path:
    folder = ERAS_WORK / f"{fmt}_{rows}"
    if not (folder / f"yellow_tripdata_{MONTH}.{fmt}").exists():
        print(f"bench: generating {rows:,} rows of {MONTH} as {fmt}", flush=True)
        generate(folder, [MONTH], rows, fmt, seed=2015, era="archive")
        (folder / "taxi_zone_lookup.csv").unlink()  # the month alone
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SOURCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    lines = [
        "# A coordinate-era month with and without zones",
        "",
        f"`python -m bench.eras_bench --rows {args.rows} --runs {args.runs} --formats "
        f"{args.formats}`; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; budget "
        f"{BUDGET}; yellow {MONTH} (archive era: coordinates, no location ids), "
        f"{args.rows:,} rows, {2 * args.rows:,} points. Fresh process per run, zones and no "
        "zones alternating; peak = the process tree's RSS; CPU = user + system seconds of the "
        "process tree (what a shared machine's load does not inflate as it does wall time).",
        "",
        "| format | run | zones: wall / CPU s | no zones: wall / CPU s | CPU s of the zones | "
        "points per CPU-second of the zones | peak zones / no zones MB | load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for fmt in args.formats.split(","):
        source = _input(fmt, args.rows)
        with_zones: list[float] = []
        without: list[float] = []
        cpu_zones: list[float] = []
        cpu_without: list[float] = []
        for run in range(1, args.runs + 1):
            measured = {}
            for mode in ("zones", "nozones"):
                env = _env(ERAS_WORK / f"db_{mode}")
                command = [sys.executable, "-m", "bench.eras_bench", "--child", mode, str(source)]
                load = os.getloadavg()[0]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                result = _measure(command, env)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                detail = json.loads(result.output.splitlines()[-1])
                assert detail["rows"] == args.rows, detail
                measured[mode] = (detail["seconds"], cpu, result.peak_bytes / 2**20, load)
            (z, zc, zp, zl), (n, nc, np_, nl) = measured["zones"], measured["nozones"]
            with_zones.append(z)
            without.append(n)
            cpu_zones.append(zc)
            cpu_without.append(nc)
            rate = 2 * args.rows / (zc - nc) if zc > nc else float("inf")
            lines.append(
                f"| {fmt} | {run} | {z:.2f} / {zc:.2f} | {n:.2f} / {nc:.2f} | {zc - nc:.2f} | "
                f"{rate:,.0f} | {zp:,.0f} / {np_:,.0f} | {zl:.1f} / {nl:.1f} |"
            )
            print(lines[-1], flush=True)
        zm, nm = statistics.median(with_zones), statistics.median(without)
        zc, nc = statistics.median(cpu_zones), statistics.median(cpu_without)
        rate = 2 * args.rows / (zc - nc) if zc > nc else float("inf")
        summary.append(
            f"- {fmt}: median wall {zm:.2f} s with zones, {nm:.2f} s without ({zm / nm:.2f} ×); "
            f"CPU {zc:.2f} s and {nc:.2f} s ({zc / nc:.2f} ×): the zones cost {zc - nc:.2f} "
            f"CPU-seconds for {2 * args.rows:,} points ({rate:,.0f} points per CPU-second)."
        )
    RESULTS.write_text("\n".join([*lines, "", "Medians:", "", *summary, ""]))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
