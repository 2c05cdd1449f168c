"""A coordinate-era month through the trips pipeline, with its zones found and without (issue 12).

    .venv/bin/python -m bench.eras_bench [--rows 1000000] [--runs 3] [--formats csv,parquet]

The input is one generated yellow month of 2015 (``era="archive"``: ``VendorID``, coordinates,
no location ids), written once into bench/work/eras/. Each run is a fresh
``tripline``-equivalent process (``run_trips`` into an empty DuckDB file at the 4 GB budget's
settings) whose whole process tree's peak memory is sampled (``PeakTreeMemory``):

* ``zones``: as shipped — the file is parsed by Tripline's own DuckDB, streamed out as Arrow
  batches whose zone columns ``zone_columns.zoned`` fills with ``locate()``, scanned back and
  written as Parquet parts, then loaded;
* ``udf``: the route before the Arrow batches, for comparison (``_use_the_udf``);
* ``no zones``: the same route and file with the zone step taken out (no Arrow hop: the parse
  is written straight to the parts, the zone columns stay NULL): what the zones cost, the
  hop included, is the difference.

The three alternate (zones, udf, no zones, zones, …) so all see the same load on the shared
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
from typing import Any

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
    if mode == "udf":
        _use_the_udf(reader)
    started = time.perf_counter()
    summary, outcomes = run_trips(load_settings(), source)
    if summary.failed_inputs:
        raise SystemExit(f"failed: {summary.failed_inputs}")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": summary.rows_read,
                      "routes": sorted({o.route for o in outcomes})}))  # fmt: skip


def _use_the_udf(reader: Any) -> None:
    """The route before the Arrow batches: ``tlc_zone`` (``zone_points.register_duckdb``)
    once per point inside the SELECT that is written to the parts, DuckDB calling it per
    2,048 rows, and the status from ``tlc_zone_reason`` in SQL."""
    from ingestion.trips.projection import literal, quote
    from ingestion.trips.zone_points import STATUS_NAMES, register_duckdb

    write_parts = reader._write_parts

    def with_udf(con: Any, select: str, zones: Any, out_dir: Path, settings: Any) -> None:
        if zones:
            register_duckdb(con, "tlc_zone")
            found = ", ".join(
                f"cast(tlc_zone(z.{quote(lon)}, z.{quote(lat)}) as BIGINT) as {quote(zone)}"
                for zone, lon, lat, _ in zones
            )
            names = " ".join(f"when {c} then {literal(n)}" for c, n in enumerate(STATUS_NAMES))
            statuses = ", ".join(
                f"case tlc_zone_reason(z.{quote(lon)}, z.{quote(lat)}, z.{quote(zone)}) "
                f"{names} end as {quote(status)}"
                for zone, lon, lat, status in zones
            )
            located = f"select * replace ({found}) from ({select}) as z"
            select = f"select * replace ({statuses}) from ({located}) as z"
        write_parts(con, select, [], out_dir, settings)

    reader._write_parts = with_udf


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
        f"{args.rows:,} rows, {2 * args.rows:,} points. Fresh process per run; the three "
        "routes alternate (zones by Arrow batches as shipped, zones by the in-query UDF as "
        "before, no zones); peak = the process tree's RSS; CPU = user + system seconds of the "
        "process tree (what a shared machine's load does not inflate as it does wall time); "
        "points per CPU-second = 2 × rows over the CPU a route adds to no zones.",
        "",
        "| format | run | batches: wall / CPU s | UDF: wall / CPU s | no zones: wall / CPU s "
        "| points per CPU-second, batches / UDF | peak MB, batches / UDF / none "
        "| load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    points = 2 * args.rows
    summary = []
    for fmt in args.formats.split(","):
        source = _input(fmt, args.rows)
        wall: dict[str, list[float]] = {mode: [] for mode in MODES}
        cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
        for run in range(1, args.runs + 1):
            peaks, loads = [], []
            for mode in MODES:
                env = _env(ERAS_WORK / f"db_{mode}")
                command = [sys.executable, "-m", "bench.eras_bench", "--child", mode, str(source)]
                loads.append(os.getloadavg()[0])
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                result = _measure(command, env)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                detail = json.loads(result.output.splitlines()[-1])
                assert detail["rows"] == args.rows, detail
                wall[mode].append(detail["seconds"])
                cpu[mode].append(
                    (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                )
                peaks.append(result.peak_bytes / 2**20)
            rates = [_rate(points, cpu[m][-1], cpu["nozones"][-1]) for m in ("zones", "udf")]
            lines.append(
                f"| {fmt} | {run} | "
                + " | ".join(f"{wall[m][-1]:.2f} / {cpu[m][-1]:.2f}" for m in MODES)
                + f" | {rates[0]:,.0f} / {rates[1]:,.0f} | "
                + " / ".join(f"{p:,.0f}" for p in peaks)
                + f" | {' / '.join(f'{x:.1f}' for x in loads)} |"
            )
            print(lines[-1], flush=True)
        w = {m: statistics.median(v) for m, v in wall.items()}
        c = {m: statistics.median(v) for m, v in cpu.items()}
        summary.append(
            f"- {fmt}: median wall {w['zones']:.2f} s (batches), {w['udf']:.2f} s (UDF), "
            f"{w['nozones']:.2f} s (no zones); CPU {c['zones']:.2f}, {c['udf']:.2f} and "
            f"{c['nozones']:.2f} s: the zones cost {c['zones'] - c['nozones']:.2f} CPU-s by "
            f"batches ({_rate(points, c['zones'], c['nozones']):,.0f} points per CPU-second) "
            f"and {c['udf'] - c['nozones']:.2f} CPU-s by the UDF "
            f"({_rate(points, c['udf'], c['nozones']):,.0f})."
        )
    RESULTS.write_text("\n".join([*lines, "", "Medians:", "", *summary, ""]))
    print("\n".join(summary))


MODES = ("zones", "udf", "nozones")


def _rate(points: int, cpu: float, baseline: float) -> float:
    return points / (cpu - baseline) if cpu > baseline else float("inf")


if __name__ == "__main__":
    main()
