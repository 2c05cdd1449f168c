"""dlt pipelines on the destination in force, and the recovery rule every pipeline shares.

The destination is the DuckDB file, or Delta tables on the lake (``ingestion.core.destinations``
chooses; ``ingestion.core.lake`` applies the same rule there, table by table).

The destination is the only truth. A load is complete when dlt's ``_dlt_loads`` records it
with status 0; dlt writes that record after every job of the load has committed, and the
pipeline state is restored only from complete loads. So before any work, under the
warehouse lease (``ingestion.core.lease``):

1. the sweep deletes every row whose ``_dlt_load_id`` is not a complete load (nested rows
   first, through their root row), in one transaction, needing nothing from local disk:
   safe to run twice, safe to kill half-way;
2. local load packages are discarded with dlt's ``abort_packages``;
3. local state and schemas are dropped and restored from the destination.

A load found wrong after it completed (its count disagrees with the source's) is retracted
the same way: its ``_dlt_loads`` record goes first, which makes it unfinished, then the sweep.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool
from dlt.destinations.sql_client import SqlClientBase

from ingestion.core.destination import table_names, tables_with_column
from ingestion.core.destinations import is_lake, lake_format, make_destination
from ingestion.core.duckdb_config import retry_while_locked
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings

log = get_logger("pipeline")

LOADS_TABLE = "_dlt_loads"
_Borrow = Callable[..., Any]


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


def configure_pipeline_dlt(pipeline_name: str, settings: Mapping[str, str]) -> None:
    """Set dlt ``settings`` for one pipeline only (``<NAME>__LOAD__…``), unless configured.

    Unprefixed, a setting applies to every pipeline in the process (``tripline demo``, a test
    session), so each pipeline names its own.
    """
    prefix = f"{pipeline_name.upper()}__"
    for key, value in settings.items():
        os.environ.setdefault(prefix + key, value)


def _wait_while_locked(borrow_conn: _Borrow) -> _Borrow:
    @functools.wraps(borrow_conn)
    def patient(self: DuckDbConnectionPool, *args: Any, **kwargs: Any) -> Any:
        database = self.credentials._conn_str()
        return retry_while_locked(lambda: borrow_conn(self, *args, **kwargs), database)

    patient.tripline_patient = True  # type: ignore[attr-defined]
    return patient


# dlt opens the warehouse in DuckDbConnectionPool.borrow_conn. A credentials subclass would
# not survive dlt's config resolution (it copies the fields into its own class), so the one
# method that opens the file is wrapped instead: an open that meets a reader's lock waits
# for it (bounded), every other error passes through unchanged.
if not getattr(DuckDbConnectionPool.borrow_conn, "tripline_patient", False):
    DuckDbConnectionPool.borrow_conn = _wait_while_locked(  # type: ignore[method-assign]
        DuckDbConnectionPool.borrow_conn
    )


def open_pipeline(name: str, dataset: str, settings: Settings) -> dlt.Pipeline:
    """A dlt pipeline named ``name`` loading into ``dataset`` of the Tripline DuckDB file,
    or of the lake (``TRIPLINE_DESTINATION=lake``: Delta tables under ``TRIPLINE_LAKE_URL``).

    The name is shared with dlt's CLI: ``dlt pipeline --pipelines-dir <warehouse>.pipelines
    <name> info`` inspects what ``tripline pipeline run <name>`` did.
    """
    apply_dlt_budget(settings)
    pipeline = dlt.pipeline(
        pipeline_name=name,
        destination=make_destination(settings),
        dataset_name=dataset,
        pipelines_dir=str(settings.pipelines_dir.resolve()),
    )
    return lake_format(pipeline)


def recover_interrupted(pipeline: dlt.Pipeline, *, after_failure: bool = False) -> list[str]:
    """Make the destination the only truth before any work; return the load ids undone.

    ``after_failure``: the caller undoes a load of its own run that failed, so what is
    found is no news of a previous run.
    """
    swept = sweep_unfinished_loads(pipeline)
    pending = [
        *pipeline.list_extracted_load_packages(),
        *pipeline.list_normalized_load_packages(),
    ]
    if pending:
        pipeline.abort_packages()
    restore_state_from_destination(pipeline)
    if (swept or pending) and not after_failure:
        log.warning(
            "%s: a previous run stopped before finishing; deleted the rows of %d unfinished "
            "load(s)%s and discarded %d local load package(s); state restored from the "
            "destination",
            pipeline.pipeline_name,
            len(swept),
            f" ({', '.join(swept)})" if swept else "",
            len(pending),
        )
    return swept


def restore_state_from_destination(pipeline: dlt.Pipeline) -> None:
    """Drop local state and schemas and take the ones the last complete load committed."""
    pipeline.drop()
    pipeline.sync_destination()


def sweep_unfinished_loads(pipeline: dlt.Pipeline) -> list[str]:
    """Delete every row of the dataset whose load is not complete; return those load ids.

    Idempotent and local-state free: it reads only the destination, so a kill at any point
    leaves work the next sweep finishes. One transaction, so a kill leaves all or nothing
    (on the lake: one Delta commit per table, ``ingestion.core.lake.sweep_unfinished``).
    """
    if is_lake(pipeline):
        from ingestion.core.lake import sweep_unfinished

        return sweep_unfinished(pipeline)
    with pipeline.sql_client() as client:
        tables = table_names(client)
        if not tables:
            return []
        unfinished_rows = _unfinished_predicate(client, LOADS_TABLE in tables)
        found: dict[str, set[str]] = {}
        for table in tables_with_column(client, "_dlt_load_id"):
            if table == LOADS_TABLE:
                continue
            rows = client.execute_sql(
                f"select distinct _dlt_load_id from {client.make_qualified_table_name(table)} "
                f"where {unfinished_rows}"
            )
            if rows:
                found[table] = {str(load_id) for (load_id,) in rows}
        if not found:
            return []
        roots = set(tables_with_column(client, "_dlt_id"))
        with client.begin_transaction():
            # Nested rows carry no load id: find them through their root row, before it goes.
            for child in tables_with_column(client, "_dlt_root_id"):
                root = child.split("__", 1)[0]
                if root != child and root in found and root in roots:
                    client.execute_sql(
                        f"delete from {client.make_qualified_table_name(child)} "
                        f"where _dlt_root_id in (select _dlt_id from "
                        f"{client.make_qualified_table_name(root)} where {unfinished_rows})"
                    )
            for table in found:
                client.execute_sql(
                    f"delete from {client.make_qualified_table_name(table)} where {unfinished_rows}"
                )
    return sorted(set().union(*found.values()))


def _unfinished_predicate(client: SqlClientBase[Any], has_loads_table: bool) -> str:
    if not has_loads_table:  # nothing ever completed
        return "true"
    loads = client.make_qualified_table_name(LOADS_TABLE)
    return f"_dlt_load_id not in (select load_id from {loads} where status = 0)"


def retract_load(pipeline: dlt.Pipeline, load_id: str) -> None:
    """Undo a complete load found wrong: unrecord it, sweep its rows, restore the state."""
    if is_lake(pipeline):
        from ingestion.core.lake import retract

        retract(pipeline, load_id)
        restore_state_from_destination(pipeline)
        return
    with pipeline.sql_client() as client:
        client.execute_sql(
            f"delete from {client.make_qualified_table_name(LOADS_TABLE)} where load_id = %s",
            load_id,
        )
    sweep_unfinished_loads(pipeline)
    restore_state_from_destination(pipeline)
