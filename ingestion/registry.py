"""Every pipeline and generator Tripline has, by name.

A new source adds its ``entry`` module here; the CLI, the demo and the architecture tests
read this list, so a pipeline that is not registered does not exist.
"""

from __future__ import annotations

import importlib

from ingestion.core.entry import GeneratorEntry, PipelineEntry

ENTRY_MODULES = [
    "ingestion.trips.entry",
    "ingestion.open_data.entry",
    "ingestion.weather.entry",
    "ingestion.fleet_db.entry",
    "ingestion.fleet_events.entry",
]


def _modules() -> list[object]:
    return [importlib.import_module(name) for name in ENTRY_MODULES]


def pipelines() -> dict[str, PipelineEntry]:
    found: dict[str, PipelineEntry] = {}
    for module in _modules():
        entry = getattr(module, "PIPELINE", None)
        if isinstance(entry, PipelineEntry):
            found[entry.name] = entry
    return found


def generators() -> dict[str, GeneratorEntry]:
    found: dict[str, GeneratorEntry] = {}
    for module in _modules():
        for entry in getattr(module, "GENERATORS", []):
            found[entry.name] = entry
    return found
