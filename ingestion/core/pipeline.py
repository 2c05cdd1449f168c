"""dlt pipelines on the DuckDB destination, configured from the memory budget.

Also the recovery rule every Tripline pipeline shares: a run killed mid-load leaves pending
load packages behind. dlt would resume them, but a job whose INSERT had committed just before
the kill would then run twice. Tripline instead throws pending packages away, restores the
state the destination last committed, and deletes rows the abandoned packages left, so the
next run redoes that work exactly once.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.destinations.sql_client import SqlClientBase

from ingestion.core.duckdb_config import duckdb_config
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings

log = get_logger("pipeline")


def apply_dlt_budget(settings: Settings) -> None:
    """Set dlt's buffer and file-rotation sizes from the budget unless configured already."""
    budget = settings.budget
    defaults = {
        "DATA_WRITER__BUFFER_MAX_ITEMS": str(budget.buffer_max_items),
        "DATA_WRITER__FILE_MAX_BYTES": str(budget.file_max_bytes),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        # dlt's own warnings repeat what Tripline reports in one line; --debug shows them.
        "RUNTIME__LOG_LEVEL": "ERROR",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def open_pipeline(name: str, dataset: str, settings: Settings) -> dlt.Pipeline:
    """A dlt pipeline named ``name`` loading into ``dataset`` of the Tripline DuckDB file.

    The name is shared with dlt's CLI: ``dlt pipeline <name> info`` (with
    ``--pipelines-dir data/pipelines``) inspects what ``tripline pipeline run <name>`` did.
    """
    apply_dlt_budget(settings)
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    credentials = DuckDbCredentials(
        str(settings.duckdb_path.resolve()), global_config=duckdb_config(settings)
    )
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(credentials=credentials),
        dataset_name=dataset,
        pipelines_dir=str(settings.pipelines_dir.resolve()),
    )


def recover_interrupted(pipeline: dlt.Pipeline) -> list[str]:
    """Undo what a killed run left half-done; return the load ids thrown away."""
    pending = [
        *pipeline.list_extracted_load_packages(),
        *pipeline.list_normalized_load_packages(),
    ]
    if not pending:
        return []
    log.warning(
        "%s: a previous run stopped before finishing %d load package(s) %s; "
        "discarding them and restoring state from the destination",
        pipeline.pipeline_name,
        len(pending),
        ", ".join(pending),
    )
    with warnings.catch_warnings():
        # abort_packages() would also write an "aborted" load record; dropping is all we need.
        warnings.simplefilter("ignore", DeprecationWarning)
        pipeline.drop_pending_packages()
    # A run killed after the destination recorded its load, before dlt moved the package
    # locally: that load is complete, and the state restored below already includes it.
    completed = _completed_loads(pipeline, pending)
    _delete_rows_of_loads(pipeline, [load_id for load_id in pending if load_id not in completed])
    # Local state was saved at extract time and may claim work the destination never got.
    pipeline.drop()
    pipeline.sync_destination()
    return pending


def _tables_with(client: SqlClientBase[Any], dataset: str, column: str) -> list[str]:
    rows = client.execute_sql(
        "select table_name from information_schema.columns "
        "where table_schema = %s and column_name = %s",
        dataset,
        column,
    )
    return [name for (name,) in rows or [] if not name.startswith("_dlt")]


def _completed_loads(pipeline: dlt.Pipeline, load_ids: list[str]) -> set[str]:
    """Which of ``load_ids`` the destination's ``_dlt_loads`` records as done (status 0)."""
    with pipeline.sql_client() as client:
        loads = client.make_qualified_table_name("_dlt_loads")
        placeholders = ", ".join(["%s"] * len(load_ids))
        try:
            rows = client.execute_sql(
                f"select load_id from {loads} where status = 0 and load_id in ({placeholders})",
                *load_ids,
            )
        except DatabaseUndefinedRelation:  # nothing was ever loaded
            return set()
    return {str(load_id) for (load_id,) in rows or []}


def _delete_rows_of_loads(pipeline: dlt.Pipeline, load_ids: list[str]) -> None:
    """Delete rows the abandoned loads wrote, and the nested rows left without their root.

    Root tables carry ``_dlt_load_id``; dlt's nested (child) tables do not, they point at
    their root row through ``_dlt_root_id``. Deleting a root row therefore orphans its
    children, which the replayed load would not replace.
    """
    if not load_ids:
        return
    dataset = pipeline.dataset_name
    with pipeline.sql_client() as client:
        placeholders = ", ".join(["%s"] * len(load_ids))
        for table_name in _tables_with(client, dataset, "_dlt_load_id"):
            client.execute_sql(
                f"delete from {client.make_qualified_table_name(table_name)} "
                f"where _dlt_load_id in ({placeholders})",
                *load_ids,
            )
        roots = set(_tables_with(client, dataset, "_dlt_id"))
        for table_name in _tables_with(client, dataset, "_dlt_root_id"):
            root = table_name.split("__", 1)[0]
            if root == table_name or root not in roots:
                continue
            client.execute_sql(
                f"delete from {client.make_qualified_table_name(table_name)} as child "
                f"where not exists (select 1 from {client.make_qualified_table_name(root)} "
                "as parent where parent._dlt_id = child._dlt_root_id)"
            )


def load_ids_of(info: LoadInfo) -> list[str]:
    return list(info.loads_ids)
