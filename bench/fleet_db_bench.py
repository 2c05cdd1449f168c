"""Benchmark of the fleet_db pipeline on a 5-million-row PostgreSQL ``shifts`` table.

    .venv/bin/python -m bench.fleet_db_bench [--shifts 5000000] [--repeat 1]

Starts a real PostgreSQL (pgserver's binaries, ``devservers.postgres``), generates the fleet
database with ``--shifts`` shifts, then runs, each in a fresh process and a fresh DuckDB file,
one after the other:

* the baseline: ``psql -c "copy fleet.shifts to stdout (format csv)" | python`` with DuckDB
  ``create table … as select * from read_csv('/dev/stdin', columns=…)``, same memory_limit,
  threads and temp_directory as the pipeline;
* ``tripline pipeline run fleet_db --backend B`` for B in adbc, copy, connectorx, pyarrow
  (all three tables, incremental merge and key reconciliation included: the run a user gets).

It samples the peak resident memory of each whole process tree every 20 ms, counts the CPU
seconds of the client tree and of the PostgreSQL server's backends for each run (on a shared
machine CPU seconds vary far less than wall time), notes the load average around each run,
checks that every variant loaded the same rows (count and checksums), and writes
``bench/results/fleet_db.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil

from devservers.postgres import start_postgres
from ingestion.core.budget import MIB
from ingestion.core.memory import PeakTreeMemory
from ingestion.fleet_db.generator import generate, mutate

WORK = Path("bench/work/fleet_db")
RESULTS = Path("bench/results/fleet_db.md")
BUDGET = "4GB"
PYTHON = sys.executable
TRIPLINE = str(Path(sys.executable).with_name("tripline"))
BACKENDS = ("adbc", "copy", "connectorx", "pyarrow")

_BASELINE = """
import sys, duckdb
from ingestion.core.duckdb_config import duckdb_config
from ingestion.core.settings import load_settings
con = duckdb.connect(sys.argv[1], config=duckdb_config(load_settings()))
con.execute('''create schema raw_fleet_db''')
con.execute('''
    create table raw_fleet_db.shifts as select * from read_csv('/dev/stdin', header = false,
        columns = {'shift_id': 'bigint', 'driver_id': 'integer', 'vehicle_id': 'integer',
                   'started_at': 'timestamptz', 'ended_at': 'timestamptz',
                   'base_zone_id': 'smallint', 'created_at': 'timestamptz',
                   'updated_at': 'timestamptz', 'deleted_at': 'timestamptz'})
''')
print(con.execute('select count(*) from raw_fleet_db.shifts').fetchall()[0][0])
"""

CHECKSUM = (
    "select count(*), sum(shift_id), sum(driver_id), sum(base_zone_id), "
    "sum(epoch_us(started_at)), sum(epoch_us(updated_at)) from raw_fleet_db.shifts"
)


@dataclass
class Measured:
    seconds: float
    peak_bytes: int
    output: str
    checksum: tuple[object, ...]
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)


def _postmaster(port: int) -> psutil.Process:
    """The server process listening on ``port``: its backends' CPU adds up in its children."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if f"port={port}" in cmdline and "postgres" in cmdline and " -D " in cmdline:
            return process
    raise SystemExit(f"bench: no PostgreSQL server on port {port}")


def _cpu(server: psutil.Process) -> tuple[float, float]:
    """CPU seconds so far of this process's waited-for children, and of the server's."""
    own = resource.getrusage(resource.RUSAGE_CHILDREN)
    times = server.cpu_times()
    return own.ru_utime + own.ru_stime, times.children_user + times.children_system


def _env(db_dir: Path, dsn: str) -> dict[str, str]:
    shutil.rmtree(db_dir, ignore_errors=True)
    db_dir.mkdir(parents=True)
    return {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(db_dir / "tripline.duckdb"),
        "TRIPLINE_MEMORY_LIMIT": BUDGET,
        "TRIPLINE_FLEET_DB_DSN": dsn,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def _measure(command: list[str], env: dict[str, str], shell: bool = False) -> Measured:
    started = time.perf_counter()
    process = subprocess.Popen(
        command if not shell else command[0],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        shell=shell,
    )
    with PeakTreeMemory(process.pid, interval=0.02) as peak:
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"bench: {str(command)[:80]} failed:\n{stderr[-2000:]}")
    with duckdb.connect(env["TRIPLINE_DUCKDB_PATH"], read_only=True) as connection:
        checksum = connection.execute(CHECKSUM).fetchone()
    return Measured(seconds, peak.peak_bytes, stdout.strip(), tuple(checksum or ()))


def _baseline(server_port: int, password: str, db_dir: Path, dsn: str) -> Measured:
    import pgserver  # type: ignore[import-untyped]

    psql = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    env = _env(db_dir, dsn)
    env["PGPASSWORD"] = password
    command = (
        f"{psql} -X -q -h 127.0.0.1 -p {server_port} -U postgres -d fleet "
        "-c 'copy fleet.shifts to stdout with (format csv)' | "
        f'{PYTHON} -c "$BASELINE" {db_dir / "tripline.duckdb"}'
    )
    env["BASELINE"] = _BASELINE
    return _measure([command], env, shell=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shifts", type=int, default=5_000_000)
    parser.add_argument("--drivers", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant (median kept)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[Measured]] = {}
    with start_postgres(settings={"shared_buffers": "256MB"}) as server:
        started = time.perf_counter()
        report = generate(server.dsn, drivers=args.drivers, seed=2024, shifts=args.shifts)
        print(f"bench: {report.line()} in {time.perf_counter() - started:.0f} s", flush=True)
        postmaster = _postmaster(server.port)
        for round_ in range(args.repeat):
            for variant in ("baseline", *backends):
                db_dir = WORK / f"db_{variant}"
                load_before = os.getloadavg()[0]
                client_before, server_before = _cpu(postmaster)
                if variant == "baseline":
                    measured = _baseline(server.port, server.password, db_dir, server.dsn)
                else:
                    measured = _measure(
                        [TRIPLINE, "pipeline", "run", "fleet_db", "--backend", variant],
                        _env(db_dir, server.dsn),
                    )
                client_after, server_after = _cpu(postmaster)
                measured.client_cpu = client_after - client_before
                measured.server_cpu = server_after - server_before
                measured.load = (load_before, os.getloadavg()[0])
                results.setdefault(variant, []).append(measured)
                print(
                    f"bench: round {round_ + 1} {variant}: {measured.seconds:.1f} s, "
                    f"CPU {measured.client_cpu:.1f} s client + {measured.server_cpu:.1f} s "
                    f"server, peak {measured.peak_bytes / MIB:,.0f} MB, load "
                    f"{load_before:.1f}-{measured.load[1]:.1f}, checksum {measured.checksum}",
                    flush=True,
                )
        incremental = _incremental(server.dsn)
    _check(results)
    _write(results, args, incremental)


def _incremental(dsn: str) -> list[tuple[str, Measured]]:
    """On the copy run's DuckDB: a day of changes, then a run with nothing new."""
    db_dir = WORK / "db_copy"
    env = {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(db_dir / "tripline.duckdb"),
        "TRIPLINE_MEMORY_LIMIT": BUDGET,
        "TRIPLINE_FLEET_DB_DSN": dsn,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    command = [TRIPLINE, "pipeline", "run", "fleet_db", "--backend", "copy"]
    report = mutate(dsn, seed=2024)
    print(f"bench: {report.line()}", flush=True)
    measured = []
    for label in (f"after --mutate ({report.line().split(': ', 1)[1]})", "nothing new"):
        run = _measure(command, env)
        print(f"bench: incremental {label}: {run.seconds:.1f} s", flush=True)
        measured.append((label, run))
    return measured


def _check(results: dict[str, list[Measured]]) -> None:
    expected = results["baseline"][0].checksum
    for variant, runs in results.items():
        for run in runs:
            if run.checksum != expected:
                raise SystemExit(f"bench: {variant} loaded different rows: {run.checksum}")


def _write(
    results: dict[str, list[Measured]],
    args: argparse.Namespace,
    incremental: list[tuple[str, Measured]],
) -> None:
    def median_seconds(variant: str) -> float:
        return statistics.median(m.seconds for m in results[variant])

    base = median_seconds("baseline")
    rows = args.shifts
    lines = [
        "# fleet_db benchmark: 5 M PostgreSQL shifts into DuckDB",
        "",
        f"Command: `.venv/bin/python -m bench.fleet_db_bench --shifts {args.shifts} "
        f"--repeat {args.repeat}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; PostgreSQL 16 (pgserver) on 127.0.0.1; "
        f"budget {BUDGET}; {args.drivers:,} drivers, {args.shifts:,} shifts; median of "
        f"{args.repeat} run(s) per variant, run one after the other. Peak = resident memory of "
        "the whole client process tree (the database server excluded), sampled every 20 ms. "
        f"Load average at the end: {os.getloadavg()[0]:.1f} (other work shared the 2 cores; "
        "compare variants within this table, not across runs).",
        "",
        "| Variant | Wall s | Shifts rows/s | Peak MB | Throughput vs baseline | "
        "CPU s client + server | CPU vs baseline | Load during runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base_cpu = statistics.median(m.client_cpu + m.server_cpu for m in results["baseline"])
    for variant, runs in results.items():
        seconds = median_seconds(variant)
        peak = max(m.peak_bytes for m in runs) / MIB
        label = (
            "baseline: psql COPY CSV piped into DuckDB read_csv (shifts only)"
            if variant == "baseline"
            else f"tripline pipeline run fleet_db --backend {variant}"
        )
        client = statistics.median(m.client_cpu for m in runs)
        server = statistics.median(m.server_cpu for m in runs)
        total = statistics.median(m.client_cpu + m.server_cpu for m in runs)
        loads = [x for m in runs for x in m.load]
        lines.append(
            f"| {label} | {seconds:.1f} | {rows / seconds:,.0f} | {peak:,.0f} | "
            f"{base / seconds:.2f} | {client:.1f} + {server:.1f} | {base_cpu / total:.2f} | "
            f"{min(loads):.1f}-{max(loads):.1f} |"
        )
    lines += [
        "",
        "Every variant loaded the same rows: count, sums of ids, zone ids and of the "
        "microsecond timestamps are equal to the baseline's. The pipeline runs also load "
        "drivers and vehicles, merge on the primary key, keep the incremental state and "
        "reconcile keys for hard deletes; the baseline does none of that.",
        "",
        "Incremental runs on the 5 M-row database afterwards (`--backend copy`, reading rows "
        "changed since the last cursor, merging them, and reconciling all 5 M keys):",
        "",
        "| Run | Wall s | Peak MB | Summary |",
        "|---|---|---|---|",
    ]
    for label, run in incremental:
        summary = run.output.splitlines()[-1] if run.output else ""
        detail = summary.split("rows read ")[-1].split(" =")[0]
        lines.append(
            f"| {label} | {run.seconds:.1f} | {run.peak_bytes / MIB:,.0f} | rows read {detail} |"
        )
    lines += [""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"bench: wrote {RESULTS}", flush=True)


if __name__ == "__main__":
    main()
