"""What a source package exposes to the CLI: a pipeline and, optionally, a data generator.

Each ``ingestion/<source>/entry.py`` defines ``PIPELINE`` (and ``GENERATORS``) with these
types; ``ingestion.registry`` collects them. Packages never import one another.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass

from ingestion.core.lease import hold
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary

log = get_logger("pipeline")

AddArguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class PipelineEntry:
    """A pipeline ``tripline pipeline run <name>`` can run."""

    name: str
    dataset: str
    description: str
    add_arguments: AddArguments
    run: Callable[[argparse.Namespace, Settings], RunSummary]
    # Prepares sample inputs and runs the pipeline for ``tripline demo``; raises
    # ``DemoSkipped`` when something it needs (e.g. Java for Kafka) is missing.
    demo: Callable[[Settings], RunSummary] | None = None
    # True when the pipeline takes the warehouse lease itself, per unit of work (a
    # follower that runs for ever holds it per micro-batch); else the run holds it whole.
    leases_itself: bool = False


def run_pipeline(entry: PipelineEntry, args: argparse.Namespace, settings: Settings) -> RunSummary:
    """Run ``entry`` as ``tripline pipeline run`` does (:func:`run_under_leases`)."""
    return run_under_leases(entry, settings, functools.partial(entry.run, args, settings))


def run_under_leases(
    entry: PipelineEntry, settings: Settings, work: Callable[[], RunSummary]
) -> RunSummary:
    """Run ``work`` (a run or the demo of ``entry``) under the leases its destination needs.

    On DuckDB, the warehouse lease, unless the pipeline takes it itself per unit of work.
    On the lake there is no warehouse file to share: each Delta table has its own log
    (Delta's optimistic concurrency), so pipelines write side by side, and only two runs of
    one pipeline, which share its dlt state, are kept apart by a lease of that pipeline; a
    run there ends by declaring the Delta features Spark needs.
    """
    if settings.destination == "lake":
        with hold(settings.pipelines_dir, f"pipeline {entry.name}", name=entry.name):
            summary = work()
            # After a failed run, the next run's end declares what it left.
            declare_lake_invariants(entry, settings)
            return summary
    if entry.leases_itself:
        return work()
    with hold(settings.duckdb_path, f"pipeline {entry.name}"):
        return work()


def declare_lake_invariants(entry: PipelineEntry, settings: Settings) -> None:
    """The dataset's Delta tables readable by Spark (:meth:`LakeDataset.declare_invariants`)."""
    from ingestion.core.lake import LakeDataset
    from ingestion.core.pipeline import open_pipeline

    lake = LakeDataset(open_pipeline(entry.name, entry.dataset, settings))
    declared = lake.declare_invariants()
    if declared:
        log.info("lake: declared the invariants feature on %s", ", ".join(declared))


class DemoSkipped(Exception):  # noqa: N818 - a signal, not an error
    """A pipeline's demo cannot run on this machine; the message says why."""


@dataclass(frozen=True)
class GeneratorEntry:
    """A data generator ``tripline generate <name>`` can run; returns a one-line report."""

    name: str
    description: str
    add_arguments: AddArguments
    run: Callable[[argparse.Namespace, Settings], str]
