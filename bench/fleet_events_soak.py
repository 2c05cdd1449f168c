"""Soak of ``tripline pipeline run fleet_events --follow``: steady production, memory per minute.

    nohup .venv/bin/python -m bench.fleet_events_soak --minutes 60 --rate 400 &

Starts a single-node broker (``devservers.kafka_broker``), a follower (the real CLI, 2 s
micro-batches, its own DuckDB file) and, in this process, a producer that writes the
generator's trips (with its duplicates, late and malformed messages) at ``--rate`` messages a
second for ``--minutes``. Every minute it samples the resident memory of the follower's whole
process tree, the load average, the heartbeat file's age and the consumer lag (high
watermarks minus the group's committed offsets). At the end it SIGTERMs the follower, checks
that every valid event produced is in ``raw_fleet_events.trip_events`` exactly once, and writes
``bench/results/fleet_events_soak.md``. "Flat" means the median of the last quarter's samples
is within 10 % of the second quarter's (the first quarter is warm-up). Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil
from confluent_kafka import Consumer, TopicPartition

from devservers.kafka_broker import running_broker
from ingestion.core.memory import tree_rss_bytes
from ingestion.fleet_events.generator import GeneratorOptions, generate
from ingestion.fleet_events.settings import CONSUMER_GROUP

WORK = Path("bench/work/fleet_events_soak")
RESULTS = Path("bench/results/fleet_events_soak.md")
TRIPLINE = str(Path(sys.executable).with_name("tripline"))
TOPIC = "fleet.trip-events.soak"
MIB = 1 << 20
# Trips per producer chunk: the generator paces each chunk at the rate; about 10 s of work.
CHUNK_SECONDS = 10.0
MESSAGES_PER_TRIP = 4.2


@dataclass
class Sample:
    minute: int
    rss_mib: float
    load: float
    heartbeat_age: float
    lag: int
    produced: int


@dataclass
class Produced:
    messages: int = 0
    valid_events: int = 0
    malformed: int = 0


def _produce(bootstrap: str, rate: float, until: float, done: Produced) -> None:
    seed = 1000
    trips = max(1, int(rate * CHUNK_SECONDS / MESSAGES_PER_TRIP))
    while time.monotonic() < until:
        report = generate(
            bootstrap,
            GeneratorOptions(trips=trips, rate=rate, seed=seed, topic=TOPIC, span_minutes=10),
        )
        done.messages += report.messages
        done.valid_events += report.valid_events
        done.malformed += report.malformed
        seed += 1


def _lag(bootstrap: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": CONSUMER_GROUP})
    try:
        parts = sorted(consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions)
        committed = consumer.committed([TopicPartition(TOPIC, p) for p in parts], timeout=10)
        lag = 0
        for tp in committed:
            high = consumer.get_watermark_offsets(TopicPartition(TOPIC, tp.partition), timeout=10)
            lag += high[1] - max(tp.offset, 0)
        return lag
    finally:
        consumer.close()


def _flat(samples: list[Sample]) -> tuple[float, float, float]:
    quarter = max(1, len(samples) // 4)
    second = statistics.median(s.rss_mib for s in samples[quarter : 2 * quarter])
    last = statistics.median(s.rss_mib for s in samples[-quarter:])
    return second, last, (last - second) / second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=400.0, help="messages per second")
    parser.add_argument("--from-output", type=Path, help="report a finished run from its samples")
    parser.add_argument("--started-at", default="", help="with --from-output")
    parser.add_argument("--note", default="", help="with --from-output")
    args = parser.parse_args()
    if args.from_output:
        report_from_output(args, args.from_output, args.started_at, args.note)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "TRIPLINE_DUCKDB_PATH": str((WORK / "tripline.duckdb").resolve()),
        "TRIPLINE_MEMORY_LIMIT": "2GB",
        "TRIPLINE_HEARTBEAT_FILE": str((WORK / "heartbeat").resolve()),
    }
    for leftover in WORK.glob("tripline.duckdb*"):
        leftover.unlink()
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    samples: list[Sample] = []
    with running_broker(WORK / "broker") as broker:
        broker.create_topic(TOPIC, 6)
        log = (WORK / "follower.log").open("w")
        follower = subprocess.Popen(
            [
                *(TRIPLINE, "pipeline", "run", "fleet_events", "--follow", "--bootstrap"),
                *(broker.bootstrap, "--topic", TOPIC, "--batch-seconds", "2"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        produced = Produced()
        until = time.monotonic() + args.minutes * 60
        producer = threading.Thread(
            target=_produce, args=(broker.bootstrap, args.rate, until, produced), daemon=True
        )
        producer.start()
        root = psutil.Process(follower.pid)
        minute = 0
        while time.monotonic() < until and follower.poll() is None:
            time.sleep(60)
            minute += 1
            beat = WORK / "heartbeat"
            age = time.time() - beat.stat().st_mtime if beat.exists() else -1.0
            sample = Sample(
                minute,
                tree_rss_bytes(root) / MIB,
                os.getloadavg()[0],
                age,
                _lag(broker.bootstrap),
                produced.messages,
            )
            samples.append(sample)
            print(sample, flush=True)
        producer.join()
        time.sleep(15)  # the last batches
        final_lag = _lag(broker.bootstrap)
        follower.send_signal(signal.SIGTERM)
        follower.wait(120)
        log.close()
    (WORK / "soak.out").write_text("".join(f"{s}\n" for s in samples))
    _report(args, started_at, samples, produced, final_lag, Path(env["TRIPLINE_DUCKDB_PATH"]))


def _report(
    args: argparse.Namespace,
    started_at: str,
    samples: list[Sample],
    produced: Produced,
    final_lag: int,
    database: Path,
    note: str = "",
) -> None:
    with duckdb.connect(str(database), read_only=True) as con:
        total, distinct = con.sql(
            "select count(*), count(distinct event_id) from raw_fleet_events.trip_events"
        ).fetchall()[0]
        dead = con.sql("select count(*) from raw_fleet_events.trip_events_dead_letter").fetchall()
    summary = [
        line for line in (WORK / "follower.log").read_text().splitlines() if "rows read" in line
    ]
    second, last, change = _flat(samples)
    verdict = "flat" if abs(change) <= 0.10 else "NOT flat"
    expected = (
        f"{produced.valid_events:,} valid events, {produced.malformed:,} malformed"
        if produced.valid_events
        else "valid and malformed counts not kept"
    )
    lines = [
        "# fleet_events --follow soak",
        "",
        f"Run {started_at} on {platform.node()} ({os.cpu_count()} cores, shared), "
        f"`.venv/bin/python -m bench.fleet_events_soak --minutes {args.minutes:g} "
        f"--rate {args.rate:g}`: {args.minutes:g} min of production at {args.rate:g} msg/s "
        "into one follower (2 s micro-batches, 2 GB budget).",
        "",
        f"- Memory of the follower's process tree: second-quarter median {second:.0f} MiB, "
        f"last-quarter median {last:.0f} MiB ({change:+.1%}): **{verdict}** "
        "(flat = within 10 %).",
        f"- Produced {produced.messages:,} messages ({expected}); loaded {distinct:,} distinct "
        f"events ({total:,} rows), {dead[0][0]:,} dead letters; lag at the end {final_lag:,}.",
        f"- Follower summary: `{summary[-1] if summary else 'none (see follower.log)'}`",
    ]
    if note:
        lines += ["", note]
    lines += [
        "",
        "| minute | tree RSS MiB | load 1 min | heartbeat age s | lag msgs | produced |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s.minute} | {s.rss_mib:.0f} | {s.load:.2f} | {s.heartbeat_age:.1f} | {s.lag:,} "
        f"| {s.produced:,} |"
        for s in samples
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:8]))


def report_from_output(args: argparse.Namespace, output: Path, started_at: str, note: str) -> None:
    """Write the report from a run's saved ``Sample(...)`` lines (the last is the end)."""
    samples = [
        eval(line, {"Sample": Sample})
        for line in output.read_text().splitlines()
        if line.startswith("Sample(")
    ]
    produced = Produced(messages=samples[-1].produced)
    database = WORK / "tripline.duckdb"
    _report(args, started_at, samples, produced, samples[-1].lag, database, note)


if __name__ == "__main__":
    main()
