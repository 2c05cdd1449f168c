"""``tripline pipeline run fleet_events`` and ``tripline generate fleet-events``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from ingestion.core.entry import DemoSkipped, GeneratorEntry, PipelineEntry
from ingestion.core.errors import ConfigurationError
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.fleet_events.generator import GeneratorOptions, generate
from ingestion.fleet_events.offsets import RESET_CHOICES
from ingestion.fleet_events.pipeline import RunOptions, run_fleet_events
from ingestion.fleet_events.settings import (
    CONSUMER_GROUP,
    DATASET,
    DEFAULT_DRIVERS,
    DEFAULT_PARTITIONS,
    DEFAULT_VEHICLES,
    PIPELINE_NAME,
    TOPIC,
)

log = get_logger("fleet_events")


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap",
        help="Kafka bootstrap servers (default: "
        "$KAFKA_BOOTSTRAP_SERVERS or sources.fleet_events.bootstrap_servers)",
    )
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument("--group", default=CONSUMER_GROUP, help="consumer group for commits")
    parser.add_argument(
        "--follow", action="store_true", help="keep consuming in micro-batches until SIGTERM"
    )
    parser.add_argument(
        "--follow-for",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --follow: stop after this many seconds",
    )
    parser.add_argument(
        "--batch-messages", type=int, help="max messages per batch (default from the memory budget)"
    )
    parser.add_argument("--batch-bytes", type=int, help="max message bytes per batch")
    parser.add_argument(
        "--batch-seconds", type=float, help="--follow: max seconds a batch collects (default 2)"
    )
    parser.add_argument(
        "--reset-offsets",
        choices=RESET_CHOICES,
        help="the operator's choice when the stored offsets do not fit the topic (it was "
        "recreated): read every partition from its oldest message (earliest) or skip to its "
        "end (latest, recorded in offset_gaps); once, then runs go on from the new offsets",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="drop raw_fleet_events and its offsets in the first load, then read the topic "
        "from the oldest retained message (events past retention are gone for good)",
    )


def _run_pipeline(args: argparse.Namespace, settings: Settings) -> RunSummary:
    for name in ("batch_messages", "batch_bytes"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise ConfigurationError(f"--{name.replace('_', '-')} must be positive")
    options = RunOptions(
        bootstrap=args.bootstrap,
        topic=args.topic,
        group=args.group,
        follow=args.follow,
        max_messages=args.batch_messages,
        max_bytes=args.batch_bytes,
        max_seconds=args.batch_seconds,
        follow_for=args.follow_for,
        full_refresh=args.full_refresh,
        reset_offsets=args.reset_offsets,
    )
    summary = run_fleet_events(settings, options)
    summary.emit(log, settings.log_format)
    return summary


def _add_generator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default as the pipeline)")
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument("--trips", type=int, default=10_000)
    parser.add_argument("--rate", type=float, help="messages per second (default: unthrottled)")
    parser.add_argument(
        "--partitions", type=int, default=DEFAULT_PARTITIONS, help="when the topic is created"
    )
    parser.add_argument("--drivers", type=int, default=DEFAULT_DRIVERS, help="driver ids 1..N")
    parser.add_argument("--vehicles", type=int, default=DEFAULT_VEHICLES, help="vehicle ids 1..M")
    parser.add_argument(
        "--span-minutes",
        type=float,
        help="trips requested over the last N minutes (default 360; 45 with --rate)",
    )
    parser.add_argument("--seed", type=int, help="random seed (default: fresh ids each run)")
    parser.add_argument("--report-json", type=Path, help="also write the counts here as JSON")


def _run_generator(args: argparse.Namespace, settings: Settings) -> str:
    if args.trips <= 0 or args.partitions <= 0 or args.drivers <= 0 or args.vehicles <= 0:
        raise ConfigurationError("--trips, --partitions, --drivers and --vehicles must be positive")
    if args.rate is not None and args.rate <= 0:
        raise ConfigurationError("--rate must be positive")
    options = GeneratorOptions(
        trips=args.trips,
        rate=args.rate,
        seed=args.seed,
        drivers=args.drivers,
        vehicles=args.vehicles,
        partitions=args.partitions,
        topic=args.topic,
        span_minutes=args.span_minutes or (45.0 if args.rate else 360.0),
    )
    report = generate(args.bootstrap, options)
    if args.report_json:
        args.report_json.write_text(json.dumps(report.record()))
    return report.line()


def _demo(settings: Settings) -> RunSummary:
    """Start a broker, produce 2,000 trips, load them, stop the broker."""
    repo = str(Path(__file__).resolve().parents[2])
    if repo not in sys.path:  # devservers/ lives beside ingestion/ in the repository
        sys.path.append(repo)
    try:
        from devservers.kafka_broker import missing_requirement, running_broker
    except ImportError as error:  # installed without the repository's devservers package
        raise DemoSkipped("the devservers package is not importable (run from the repo)") from error
    reason = missing_requirement()
    if reason:
        raise DemoSkipped(reason)
    work = Path(tempfile.mkdtemp(prefix="tripline-kafka-demo-"))
    try:
        with running_broker(work) as broker:
            report = generate(broker.bootstrap, GeneratorOptions(trips=2_000, seed=7))
            log.info("demo: %s", report.line())
            summary = run_fleet_events(settings, RunOptions(bootstrap=broker.bootstrap))
            summary.emit(log, settings.log_format)
            return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


PIPELINE = PipelineEntry(
    name=PIPELINE_NAME,
    dataset=DATASET,
    description="fleet trip events from Kafka into raw_fleet_events (micro-batches, --follow)",
    add_arguments=_add_pipeline_arguments,
    run=_run_pipeline,
    demo=_demo,
    # The consumer lease for the run, the warehouse lease per micro-batch (pipeline.py).
    leases_itself=True,
)

GENERATORS = [
    GeneratorEntry(
        name="fleet-events",
        description="fleet trip events on Kafka with duplicates, late and malformed messages",
        add_arguments=_add_generator_arguments,
        run=_run_generator,
    )
]
