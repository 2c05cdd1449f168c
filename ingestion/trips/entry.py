"""``tripline pipeline run trips`` and ``tripline generate trips``: arguments to calls."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ingestion.core.entry import GeneratorEntry, PipelineEntry
from ingestion.core.errors import ConfigurationError
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.trips.generator import ERAS, FORMATS, KINDS, VOLUMES, generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import DATASET, PIPELINE_NAME, run_trips

log = get_logger("trips")


def default_trips_dir(settings: Settings) -> Path:
    return settings.data_dir / "tlc"


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ConfigurationError(f"unknown kind(s) {unknown}: choose from {', '.join(KINDS)}")
    return kinds


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        help="folder, glob, file, http(s):// base URL in the TLC layout, or s3://bucket/prefix/ "
        "(default: $TRIPLINE_TRIPS_SOURCE, else the folder 'tripline generate trips' writes)",
    )
    parser.add_argument("--months", help="YYYY-MM or YYYY-MM:YYYY-MM; required for HTTP sources")
    parser.add_argument(
        "--services",
        "--kinds",
        dest="kinds",
        default="yellow",
        help="with an HTTP base URL: comma list of yellow,green,fhv,fhvhv; each service's files "
        "are asked for from its first month (yellow 2009-01, green 2013-08, fhv 2015-01, "
        "fhvhv 2019-02)",
    )
    parser.add_argument(
        "--http-format", default="parquet", choices=FORMATS, help="file format on an HTTP base URL"
    )
    parser.add_argument("--full-refresh", action="store_true", help="drop raw_tlc and reload all")


def _run_pipeline(args: argparse.Namespace, settings: Settings) -> RunSummary:
    source = (
        args.source or os.environ.get("TRIPLINE_TRIPS_SOURCE") or str(default_trips_dir(settings))
    )
    months = parse_month_range(args.months) if args.months else None
    summary, _ = run_trips(
        settings, source, months, _kinds(args.kinds), args.http_format, args.full_refresh
    )
    summary.emit(log, settings.log_format)
    return summary


def _add_generator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="folder (default: data/tlc)")
    parser.add_argument("--months", default="2024-01:2024-03", help="YYYY-MM:YYYY-MM")
    parser.add_argument("--rows-per-month", type=int, default=100_000)
    parser.add_argument("--format", default="parquet", choices=FORMATS)
    parser.add_argument(
        "--services", "--kinds", dest="kinds", default="yellow",
        help="comma list of yellow,green,fhvhv,fhv",
    )  # fmt: skip
    parser.add_argument(
        "--era",
        default="modern",
        choices=ERAS,
        help="legacy: older CSV headers (no Airport_fee, airport_fee in even months, "
        "passenger_count as float); archive: each service and month as the TLC published it "
        "(2009 names and text codes, coordinates until 2016-06, the fhv headers of each year); "
        "bigquery: BigQuery's public export of yellow and green",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--volume",
        default="flat",
        choices=VOLUMES,
        help="seasonal: each month scaled by the TLC's monthly series around --rows-per-month",
    )


def _run_generator(args: argparse.Namespace, settings: Settings) -> str:
    if args.rows_per_month <= 0:
        raise ConfigurationError("--rows-per-month must be positive")
    if args.era == "legacy" and args.format == "parquet":
        raise ConfigurationError("--era legacy writes CSV: use --format csv or csv.gz")
    out = args.out or default_trips_dir(settings)
    report = generate(
        out,
        parse_month_range(args.months),
        args.rows_per_month,
        args.format,
        args.seed,
        _kinds(args.kinds),
        args.era,
        settings,
        volume=args.volume,
    )
    return f"{report.line()} -> {out}"


# The demo: eighteen months (a year of seasons, 2025 above 2024, the congestion fee from
# 5 January 2025), each scaled by the TLC's series around an average month of this many rows;
# green and fhvhv files for the same months, smaller, feed the multi-service marts.
DEMO_MONTHS = "2024-01:2025-06"
DEMO_ROWS_PER_MONTH = 50_000
DEMO_OTHER_ROWS_PER_MONTH = 10_000


def _demo(settings: Settings) -> RunSummary:
    out = default_trips_dir(settings)
    report = generate(
        out,
        parse_month_range(DEMO_MONTHS),
        DEMO_ROWS_PER_MONTH,
        "parquet",
        42,
        ("yellow",),
        "modern",
        settings,
        volume="seasonal",
    )
    log.info("demo: %s -> %s", report.line(), out)
    # Green and the high-volume companies, smaller, so the multi-service marts have data.
    others = generate(
        out,
        parse_month_range(DEMO_MONTHS),
        DEMO_OTHER_ROWS_PER_MONTH,
        "parquet",
        42,
        ("green", "fhvhv"),
        "modern",
        settings,
        volume="seasonal",
    )
    log.info("demo: %s -> %s", others.line(), out)
    summary, _ = run_trips(settings, str(out))
    summary.emit(log, settings.log_format)
    return summary


PIPELINE = PipelineEntry(
    name=PIPELINE_NAME,
    dataset=DATASET,
    description="NYC TLC trip files (local, HTTP, S3) into raw_tlc, incremental by file",
    add_arguments=_add_pipeline_arguments,
    run=_run_pipeline,
    demo=_demo,
)

GENERATORS = [
    GeneratorEntry(
        name="trips",
        description="TLC-shaped monthly trip files with realistic shape and dirt",
        add_arguments=_add_generator_arguments,
        run=_run_generator,
    )
]
