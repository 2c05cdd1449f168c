"""Every pipeline and generator Tripline has, by name.

A new source adds its ``entry`` module here; the CLI, the demo and the architecture tests
read this list, so a pipeline that is not registered does not exist. The list is keyed by
pipeline name so that a command about one source imports only that source's package: an ECS
task that runs one pipeline does not pay for every other source's libraries (about 2 s of
imports at each start).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ingestion.core.entry import GeneratorEntry, PipelineEntry

# pipeline name -> its entry module; a generator is named after its pipeline ("fleet-db").
ENTRY_MODULES = {
    "trips": "ingestion.trips.entry",
    "open_data": "ingestion.open_data.entry",
    "weather": "ingestion.weather.entry",
    "fleet_db": "ingestion.fleet_db.entry",
    "fleet_events": "ingestion.fleet_events.entry",
}


def _modules(only: str | None) -> list[ModuleType]:
    """The entry modules, or only the one of pipeline/generator ``only`` when it is known (an
    unknown name loads all, so the error can list the choices)."""
    key = (only or "").replace("-", "_")
    names = [ENTRY_MODULES[key]] if key in ENTRY_MODULES else list(ENTRY_MODULES.values())
    return [importlib.import_module(name) for name in names]


def pipelines(only: str | None = None) -> dict[str, PipelineEntry]:
    found: dict[str, PipelineEntry] = {}
    for module in _modules(only):
        entry = getattr(module, "PIPELINE", None)
        if isinstance(entry, PipelineEntry):
            found[entry.name] = entry
    return found


def generators(only: str | None = None) -> dict[str, GeneratorEntry]:
    found: dict[str, GeneratorEntry] = {}
    for module in _modules(only):
        for entry in getattr(module, "GENERATORS", []):
            found[entry.name] = entry
    return found
