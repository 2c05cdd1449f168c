"""The ``tripline`` command: parses arguments and hands over to the registry.

    tripline generate <generator> [options]     write sample data (trips, ...)
    tripline pipeline list                      the registered pipelines
    tripline pipeline run <name> [options]      run one pipeline (an ECS task's command)
    tripline dbt <dbt arguments>                dbt on the same DuckDB file and budget
    tripline demo                               sample data, every pipeline, dbt, report
    tripline budget                             the memory budget and derived settings

Errors are one line on stderr and a non-zero exit; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from ingestion.core.errors import ConfigurationError, TriplineError
from ingestion.core.failures import describe_failure, first_line
from ingestion.core.logs import configure_logging
from ingestion.core.settings import disable_telemetry, load_settings


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"tripline: error: {message} (see '{self.prog} --help')\n")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; for ``pipeline run <name>`` or ``generate <name>`` in ``argv`` it knows only
    that source, so only that source's package is imported."""
    from ingestion import registry

    words = [a for a in argv if not a.startswith("-")]  # only --debug may precede the name
    only = None
    if words[:2] == ["pipeline", "run"] and len(words) > 2:
        only = words[2]
    elif words[:1] == ["generate"] and len(words) > 1:
        only = words[1]

    # --debug is accepted before the command and after any subcommand alike.
    debug = _OneLineParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and debug logs",
    )
    parser = _OneLineParser(prog="tripline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    generate = commands.add_parser("generate", help="write sample data", parents=[debug])
    generate_kinds = generate.add_subparsers(dest="generator", required=True)
    for generator in registry.generators(only).values():
        sub = generate_kinds.add_parser(generator.name, help=generator.description, parents=[debug])
        generator.add_arguments(sub)
        sub.set_defaults(handler=generator.run)

    pipeline = commands.add_parser("pipeline", help="run or list pipelines", parents=[debug])
    verbs = pipeline.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="list the registered pipelines", parents=[debug])
    run = verbs.add_parser("run", help="run one pipeline", parents=[debug])
    names = run.add_subparsers(dest="pipeline", required=True, metavar="<name>")
    for entry in registry.pipelines(only).values():
        sub = names.add_parser(entry.name, help=entry.description, parents=[debug])
        entry.add_arguments(sub)
        _destination_option(sub)

    dbt = commands.add_parser(
        "dbt",
        help="run dbt on the project with the same DuckDB file and budget (e.g. dbt build)",
        parents=[debug],
    )
    dbt.add_argument("dbt_args", nargs="*", help="arguments for dbt, passed as they are")
    demo = commands.add_parser(
        "demo", help="generate samples, run every pipeline, dbt and the report", parents=[debug]
    )
    _destination_option(demo)
    commands.add_parser(
        "budget", help="show the memory budget and the settings derived from it", parents=[debug]
    )
    return parser


def _destination_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--destination",
        choices=("duckdb", "lake"),
        help="where to load (default: $TRIPLINE_DESTINATION, else duckdb); lake = Delta "
        "tables under $TRIPLINE_LAKE_URL (docs/lakehouse.md)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    disable_telemetry()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after "dbt" belongs to dbt, options included.
    dbt_args: list[str] = []
    if "dbt" in argv and all(a.startswith("-") for a in argv[: argv.index("dbt")]):
        split = argv.index("dbt") + 1
        argv, dbt_args = argv[:split], argv[split:]
    args = build_parser(argv).parse_args(argv)
    args.dbt_args = dbt_args
    try:
        if args.debug:
            os.environ["RUNTIME__LOG_LEVEL"] = "INFO"
        settings = load_settings()
        if getattr(args, "destination", None):
            settings = dataclasses.replace(settings, destination=args.destination)
        configure_logging(settings.log_format, args.debug)
        return _dispatch(args, settings)
    except TriplineError as exc:
        _report(exc, args.debug)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tripline: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure still gets one readable line
        _report(exc, args.debug)
        return 1


def _dispatch(args: argparse.Namespace, settings: object) -> int:
    from ingestion import registry
    from ingestion.core.settings import Settings

    assert isinstance(settings, Settings)
    if args.command == "generate":
        print(args.handler(args, settings), flush=True)
        return 0
    if args.command == "pipeline" and args.verb == "list":
        for entry in registry.pipelines().values():
            print(f"{entry.name:<14} -> {entry.dataset:<18} {entry.description}")
        return 0
    if args.command == "pipeline":
        from ingestion.core.entry import run_pipeline

        summary = run_pipeline(registry.pipelines(args.pipeline)[args.pipeline], args, settings)
        if summary.failed_inputs:
            raise _partial(summary.failed_inputs)
        return 0
    if args.command == "dbt":
        from ingestion.dbt_runner import run_dbt

        if not args.dbt_args:
            raise ConfigurationError("tripline dbt needs a dbt command, e.g. 'tripline dbt build'")
        run_dbt(args.dbt_args, settings)
        return 0
    if args.command == "demo":
        from ingestion.core.lease import hold
        from ingestion.demo import run_demo

        if settings.destination == "lake":  # each pipeline takes its own lease
            return run_demo(settings)
        with hold(settings.duckdb_path, "demo"):
            return run_demo(settings)
    if args.command == "budget":
        print(settings.budget.describe())
        return 0
    raise ConfigurationError(f"unknown command {args.command!r}")


def _partial(failed: list[str]) -> TriplineError:
    from ingestion.core.errors import PartialLoadError

    listed = "; ".join(failed[:3]) + (f"; and {len(failed) - 3} more" if len(failed) > 3 else "")
    return PartialLoadError(f"{len(failed)} input(s) failed, the rest is loaded: {listed}")


def _report(exc: BaseException, debug: bool) -> None:
    from ingestion.core.redact import redact  # no credential in a message or a traceback

    if debug:
        print(redact(traceback.format_exc()), end="", file=sys.stderr)
    message = first_line(exc) if isinstance(exc, TriplineError) else describe_failure(exc)
    print(f"tripline: error: {redact(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
