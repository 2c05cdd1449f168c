"""Settings from the environment (12-factor, as ECS passes them).

dlt's own ``.dlt/config.toml`` and ``secrets.toml`` remain the alternative for everything dlt
resolves itself (credentials, source options); these are the few Tripline-wide settings.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingestion.core.budget import MemoryBudget, resolve_budget

DEFAULT_DUCKDB_PATH = Path("data/tripline.duckdb")
DEFAULT_TRIPS_DIR = Path("data/tlc")


@dataclass(frozen=True)
class Settings:
    """Where data lives and how much memory the process may use."""

    duckdb_path: Path
    data_dir: Path
    budget: MemoryBudget
    log_format: str
    # Scratch space: local disk in a container (ECS ephemeral storage), never the volume that
    # holds the DuckDB file. dlt restores its state from the warehouse when this is empty.
    work_dir: Path
    # ``duckdb`` (the file above) or ``lake`` (Delta tables under ``lake_url``):
    # ``ingestion.core.destinations`` owns what each means.
    destination: str = "duckdb"
    lake_url: str | None = None

    @property
    def temp_directory(self) -> Path:
        """DuckDB's spill directory and the staging area for downloaded files."""
        return self.work_dir / f"{self._warehouse_key}.tmp"

    @property
    def pipelines_dir(self) -> Path:
        """dlt's working folders (state cache, load packages) for this warehouse's pipelines.

        Named after the warehouse file, so two warehouses never share one: the state itself
        is restored from the warehouse at every run, and this folder only caches it.
        """
        return self.work_dir / f"{self._warehouse_key}.pipelines"

    @property
    def _warehouse_key(self) -> str:
        """The warehouse's file name; with a work dir elsewhere, plus a digest of its path
        (two ``tripline.duckdb`` in different folders may share one scratch disk)."""
        if self.destination == "lake" and self.lake_url:
            digest = hashlib.sha256(self.lake_url.encode()).hexdigest()[:8]
            return f"lake.{digest}"
        name = self.duckdb_path.name
        if self.work_dir.resolve() == self.duckdb_path.parent.resolve():
            return name
        digest = hashlib.sha256(str(self.duckdb_path.resolve()).encode()).hexdigest()[:8]
        return f"{name}.{digest}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    duckdb_path = Path(env.get("TRIPLINE_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH)
    return Settings(
        duckdb_path=duckdb_path,
        data_dir=Path(env.get("TRIPLINE_DATA_DIR") or duckdb_path.parent),
        budget=resolve_budget(env),
        log_format=(env.get("TRIPLINE_LOG_FORMAT") or "text").lower(),
        work_dir=Path(env.get("TRIPLINE_WORK_DIR") or duckdb_path.parent),
        destination=(env.get("TRIPLINE_DESTINATION") or "duckdb").strip().lower(),
        lake_url=(env.get("TRIPLINE_LAKE_URL") or "").strip() or None,
    )


def disable_telemetry() -> None:
    """Nothing Tripline runs may phone home."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
