"""Benchmark of the fleet_events pipeline against a real Apache Kafka broker.

    .venv/bin/python -m bench.fleet_events_bench [--trips 1280000] [--pairs 3]
        [--freshness-probes 15]

Starts a single-node broker (``devservers.kafka_broker``; ``KAFKA_BOOTSTRAP_SERVERS`` to use
another), produces ``--trips`` trips (about 3.9 events each, with the generator's faults) to a
fresh topic, then ``--pairs`` same-run pairs, one after the other, each in its own process:

1. bare: a confluent-kafka consume loop that reads every partition to the high watermark and
   parses each message with orjson (no validation, no DuckDB): the ceiling for the client;
2. pipeline: ``tripline pipeline run fleet_events`` into a fresh DuckDB file (decode and
   validate pages in DuckDB, dead-letter, unnest surcharges, dlt extract of Arrow tables,
   load with merge on event_id), each pair into a fresh DuckDB file.

The ratio quoted is the median pipeline rate over the median bare rate (the per-pair ratios
and the 1-minute load average before each run are in the table: the machine is shared).

Peak memory is the resident set of the process tree, sampled every 50 ms; the pipeline's RSS
is also sampled once a second to show whether it grows with the run (first vs last third).

Then freshness of ``--follow``: with the follower running (1 s batches), one trip at a time is
produced; the seconds until its events are visible in ``raw_fleet_events.trip_events`` and
in the live operations view ``marts.fleet_ops_by_zone_last_hour`` (built once by dbt) are
recorded. Writes ``bench/results/fleet_events.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psutil

from devservers.kafka_broker import running_broker
from ingestion.core.memory import PeakTreeMemory, tree_rss_bytes
from ingestion.fleet_events.generator import GeneratorOptions, generate

WORK = Path("bench/work/fleet_events")
RESULTS = Path("bench/results/fleet_events.md")
TRIPLINE = str(Path(sys.executable).with_name("tripline"))
DBT_SELECTION = ["+fleet_ops_by_zone_last_hour"]

BARE = """
import sys, orjson
from confluent_kafka import Consumer, TopicPartition
bootstrap, topic = sys.argv[1], sys.argv[2]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-bare",
              "enable.auto.commit": False, "auto.offset.reset": "earliest"})
parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
high = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
c.assign([TopicPartition(topic, p, 0) for p in parts])
pos = {p: 0 for p in parts}
n = parsed = 0
while any(pos[p] < high[p] for p in parts):
    for m in c.consume(10000, 1.0):
        if m.error():
            continue
        pos[m.partition()] = m.offset() + 1
        n += 1
        try:
            orjson.loads(m.value())
            parsed += 1
        except orjson.JSONDecodeError:
            pass
c.close()
print(n, parsed)
"""


@dataclass
class Measured:
    label: str
    seconds: float
    messages: int
    peak_bytes: int
    rss_samples: list[int] = field(default_factory=list)
    load: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def _env(duckdb_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(duckdb_path),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def _measure(label: str, command: list[str], env: dict[str, str], messages: int) -> Measured:
    samples: list[int] = []
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        while not stop.wait(1.0):
            samples.append(tree_rss_bytes(root))

    sampler = threading.Thread(target=sample, daemon=True)
    with PeakTreeMemory(process.pid) as peak:
        sampler.start()
        stdout, stderr = process.communicate()
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{label} failed:\n{stdout.decode()}\n{stderr.decode()[-2000:]}")
    print(f"{label}: {stdout.decode().strip().splitlines()[-1]}", flush=True)
    return Measured(label, seconds, messages, peak.peak_bytes, samples, load)


def _count(db: Path, sql: str) -> int | None:
    try:
        with duckdb.connect(str(db), read_only=True) as connection:
            return int(connection.sql(sql).fetchall()[0][0] or 0)
    except duckdb.Error:
        return None  # the follower holds the file during a load, or the view is not built


def _prepare_view(db: Path, bootstrap: str, topic: str) -> None:
    """Zones for dim_zones, one batch of events, and the dbt views the probe reads."""
    env = _env(db)
    tlc = WORK / "tlc"
    subprocess.run(
        [
            TRIPLINE,
            "generate",
            "trips",
            "--out",
            str(tlc),
            "--months",
            "2024-01:2024-01",
            "--rows-per-month",
            "1000",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(tlc)],
        env=env,
        check=True,
        capture_output=True,
    )
    generate(bootstrap, GeneratorOptions(trips=100, seed=1, topic=topic, span_minutes=30))
    subprocess.run(
        [TRIPLINE, "pipeline", "run", "fleet_events", "--bootstrap", bootstrap, "--topic", topic],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--profiles-dir",
            "profiles",
            "--target-path",
            str(WORK / "target"),
            "--select",
            *DBT_SELECTION,
            "--indirect-selection",
            "cautious",
        ],
        env=env,
        check=True,
        capture_output=True,
    )


def _freshness(bootstrap: str, probes: int) -> list[tuple[float, float]]:
    db = WORK / "fresh" / "tripline.duckdb"
    topic = "fleet.trip-events.fresh"
    _prepare_view(db, bootstrap, topic)
    raw_sql = "select count(*) from raw_fleet_events.trip_events"
    view_sql = "select sum(trips_requested) from marts.fleet_ops_by_zone_last_hour"
    follower = subprocess.Popen(
        [
            TRIPLINE,
            "pipeline",
            "run",
            "fleet_events",
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--follow",
            "--batch-seconds",
            "1",
        ],
        env=_env(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: list[tuple[float, float]] = []
    try:
        time.sleep(6)  # the follower's start-up (dlt import, state sync)
        for probe in range(probes):
            raw_before = view_before = None
            while raw_before is None or view_before is None:
                raw_before, view_before = _count(db, raw_sql), _count(db, view_sql)
            options = GeneratorOptions(
                trips=1,
                seed=1000 + probe,
                topic=topic,
                span_minutes=0.5,
                duplicate_rate=0,
                late_rate=0,
                malformed_rate=0,
                out_of_order_rate=0,
                cancel_rate=0,
            )
            produced = time.monotonic()
            report = generate(bootstrap, options)
            raw_at = view_at = None
            while (raw_at is None or view_at is None) and time.monotonic() - produced < 60:
                raw = _count(db, raw_sql)
                if raw_at is None and raw is not None and raw >= raw_before + report.valid_events:
                    raw_at = time.monotonic() - produced
                view = _count(db, view_sql)
                if view_at is None and view is not None and view >= view_before + 1:
                    view_at = time.monotonic() - produced
                time.sleep(0.05)
            results.append((raw_at or float("nan"), view_at or float("nan")))
            print(
                f"freshness probe {probe}: raw {results[-1][0]:.2f} s, view {results[-1][1]:.2f} s",
                flush=True,
            )
            time.sleep(0.5)
    finally:
        follower.send_signal(signal.SIGTERM)
        follower.wait(60)
    return results


def _mb(value: float) -> str:
    return f"{value / 2**20:,.0f} MB"


def _third(samples: list[int], which: int) -> int:
    if len(samples) < 3:
        return max(samples, default=0)
    size = len(samples) // 3
    part = samples[which * size : (which + 1) * size] if which < 2 else samples[2 * size :]
    return max(part)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(v for v in values if v == v)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trips", type=int, default=1_280_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--freshness-probes", type=int, default=15)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    topic = f"fleet.trip-events.bench-{int(time.time())}"
    pairs: list[tuple[Measured, Measured]] = []
    with running_broker(WORK / "broker") as broker:
        started = time.perf_counter()
        report = generate(broker.bootstrap, GeneratorOptions(trips=args.trips, seed=5, topic=topic))
        produce_seconds = time.perf_counter() - started
        print(report.line(), flush=True)
        messages = report.messages
        for number in range(args.pairs):
            bare = _measure(
                "bare",
                [sys.executable, "-c", BARE, broker.bootstrap, topic],
                _env(WORK / "unused.duckdb"),
                messages,
            )
            db = WORK / f"run{number}" / "tripline.duckdb"
            pipeline = _measure(
                "pipeline",
                [
                    *(TRIPLINE, "pipeline", "run", "fleet_events"),
                    *("--bootstrap", broker.bootstrap, "--topic", topic),
                ],
                _env(db),
                messages,
            )
            pairs.append((bare, pipeline))
        loaded = _count(db, "select count(*) from raw_fleet_events.trip_events")
        dead = _count(db, "select count(*) from raw_fleet_events.trip_events_dead_letter")
        children = _count(db, "select count(*) from raw_fleet_events.trip_event_surcharges")
        fresh = _freshness(broker.bootstrap, args.freshness_probes) if args.freshness_probes else []
    _write(args, report, produce_seconds, pairs, loaded, dead, children, fresh)


def _write(
    args: argparse.Namespace,
    report: object,
    produce_seconds: float,
    pairs: list[tuple[Measured, Measured]],
    loaded: int | None,
    dead: int | None,
    children: int | None,
    fresh: list[tuple[float, float]],
) -> None:
    r = report  # GeneratorReport
    ok = loaded == r.valid_events and dead == r.malformed  # type: ignore[attr-defined]
    lines = [
        "# fleet_events benchmark",
        "",
        f"Command: `.venv/bin/python -m bench.fleet_events_bench --trips {args.trips} "
        f"--pairs {args.pairs} --freshness-probes {args.freshness_probes}`",
        "",
        f"Machine: {os.cpu_count()} cores (shared), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
        f"{platform.platform()}; Apache Kafka 3.9.1 single node (KRaft, -Xmx384m), "
        "confluent-kafka 2.16.1, dlt 1.31.0, DuckDB 2.0.1; default 4 GB budget.",
        "",
        f"Input: {r.line()}",  # type: ignore[attr-defined]
        f"(produced in {produce_seconds:.1f} s).",
        "",
        "| Pair | Run | Load (1 min) | Wall | Messages/s | Peak RSS (tree) "
        "| RSS max, 1st / 2nd / 3rd third | Pipeline / bare |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, (bare, pipeline) in enumerate(pairs, start=1):
        for m in (bare, pipeline):
            thirds = " / ".join(_mb(_third(m.rss_samples, i)) for i in range(3))
            ratio = f"{pipeline.rate / bare.rate:.2f} ×" if m is pipeline else ""
            lines.append(
                f"| {number} | {m.label} | {m.load:.1f} | {m.seconds:.1f} s | {m.rate:,.0f} "
                f"| {_mb(m.peak_bytes)} | {thirds} | {ratio} |"
            )
    bare_rate = statistics.median(b.rate for b, _ in pairs)
    pipe_rate = statistics.median(p.rate for _, p in pairs)
    ratio = pipe_rate / bare_rate if bare_rate else 0.0
    lines += [
        "",
        f"Medians: bare {bare_rate:,.0f} msg/s, pipeline {pipe_rate:,.0f} msg/s: "
        f"**{ratio:.2f} ×** the bare loop's rate (target ≥ 0.8 ×, issue 15) end to end "
        "including process start; pipeline peak "
        f"{_mb(statistics.median(p.peak_bytes for _, p in pairs))} (median).",
        f"Loaded (last pair): {loaded:,} distinct events (expected {r.valid_events:,}), "  # type: ignore[attr-defined]
        f"{dead:,} dead letters (expected {r.malformed:,}), "  # type: ignore[attr-defined]
        f"{children:,} surcharge rows: {'reconciles' if ok else 'DOES NOT RECONCILE'}.",
    ]
    if fresh:
        raws = [f[0] for f in fresh]
        views = [f[1] for f in fresh]
        lines += [
            "",
            "## `--follow` freshness (1 s batches)",
            "",
            f"{len(fresh)} probes, one trip each, produced while the follower runs; seconds from "
            "produce to visible:",
            "",
            "| Where | median | p90 | max |",
            "|---|---|---|---|",
            f"| raw_fleet_events.trip_events | {_quantile(raws, 0.5):.2f} | "
            f"{_quantile(raws, 0.9):.2f} | {max(raws):.2f} |",
            f"| marts.fleet_ops_by_zone_last_hour (view) | {_quantile(views, 0.5):.2f} | "
            f"{_quantile(views, 0.9):.2f} | {max(views):.2f} |",
        ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
