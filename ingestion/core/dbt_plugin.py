"""A dbt-duckdb plugin that gives dbt the same DuckDB settings the pipelines use.

``profiles/profiles.yml`` names this module under ``plugins``; dbt-duckdb then asks it for the
connection config, so ``memory_limit``, ``threads``, ``temp_directory`` and
``preserve_insertion_order`` come from ``TRIPLINE_MEMORY_LIMIT`` (or the cgroup limit) exactly
as in ``ingestion.core.budget``. dbt writes the warehouse, so before it connects the plugin
takes the warehouse lease (``ingestion.core.lease``), unless ``tripline dbt`` holds it for it.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from ingestion.core.duckdb_config import duckdb_config
from ingestion.core.lease import hold_until_exit
from ingestion.core.settings import load_settings


class Plugin(BasePlugin):
    """Applies the Tripline memory budget and the warehouse lease to dbt's connection."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._settings = load_settings()

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        hold_until_exit(self._settings.duckdb_path, "dbt")
        config.update(duckdb_config(self._settings))
