"""``tripline pipeline run weather``: Open-Meteo hourly history and forecast, ``raw_weather``."""

from __future__ import annotations

import argparse

from ingestion.core.devservers import import_devserver
from ingestion.core.entry import PipelineEntry
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.weather.pipeline import run_weather
from ingestion.weather.settings import DATASET, PIPELINE_NAME, load_weather_settings

log = get_logger("weather")
# Without trips loaded, the demo fetches the months 'tripline demo' generates trips for.
DEMO_START, DEMO_END = "2024-01-01", "2024-03-31"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start", help="first day YYYY-MM-DD (default: the months in raw_tlc.yellow_trips)"
    )
    parser.add_argument("--end", help="last day YYYY-MM-DD, inclusive")
    parser.add_argument("--no-forecast", action="store_true", help="skip the 48-hour forecast")
    parser.add_argument(
        "--full-refresh", action="store_true", help="drop raw_weather and reload every day"
    )


def _run(args: argparse.Namespace, settings: Settings) -> RunSummary:
    summary = run_weather(
        settings,
        load_weather_settings(),
        args.start,
        args.end,
        forecast=not args.no_forecast,
        full_refresh=args.full_refresh,
    )
    summary.emit(log, settings.log_format)
    return summary


def _demo(settings: Settings) -> RunSummary:
    open_meteo = import_devserver("open_meteo")
    with open_meteo.serve_open_meteo() as server:
        defaults = load_weather_settings()
        options = type(defaults)(
            archive_url=f"{server.url}/v1/archive",
            forecast_url=f"{server.url}/v1/forecast",
            window_days=defaults.window_days,
        )
        summary = run_weather(settings, options, fallback=(DEMO_START, DEMO_END))
    summary.emit(log, settings.log_format)
    return summary


PIPELINE = PipelineEntry(
    name=PIPELINE_NAME,
    dataset=DATASET,
    description="Open-Meteo hourly weather for NYC (history by window, 48 h forecast)",
    add_arguments=_add_arguments,
    run=_run,
    demo=_demo,
)
