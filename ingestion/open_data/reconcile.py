"""Removals: vehicles that left "FHV - Active", found by comparing keys with the source.

The incremental read only sees rows that exist: a vehicle the TLC drops from the dataset
simply stops appearing. After each load, Tripline streams every ``vehicle_license_number``
the dataset holds now (keyset pages of 50,000 keys, two short fields per row) into a DuckDB
temporary table and compares it with ``raw_open_data.fhv_vehicles``:

- a listed raw vehicle (``_removed_at`` null) whose key the source lacks gets ``_removed_at``
  = now (the row stays: its last version is history, dbt treats it as removed);
- a raw vehicle stamped earlier whose key is back in the source gets ``_removed_at`` cleared
  (a vehicle read again is merged with it null anyway).

A source that suddenly lacks most vehicles is far likelier a wrong URL, dataset or a broken
answer than a purge, so a run that would mark more than ``MAX_REMOVED_SHARE`` of the listed
vehicles refuses, says so in one line, and changes nothing. Both stamps are one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
import requests
from dlt.sources.helpers.rest_client.client import RESTClient

from ingestion.core.destination import has_column
from ingestion.core.destinations import is_lake, sql_client
from ingestion.core.errors import SourceError
from ingestion.core.lake import LakeDataset, timestamp_literal, update_keys
from ingestion.open_data.helpers import ROW_KEY, KeysetPaginator
from ingestion.open_data.settings import (
    MAX_REMOVED_SHARE,
    REMOVED_COLUMN,
    VEHICLES_TABLE,
    OpenDataSettings,
)

KEY = "vehicle_license_number"


@dataclass(frozen=True)
class Reconciliation:
    """What one comparison found: keys in the source, vehicles newly removed or back."""

    source_keys: int = 0
    removed: int = 0
    restored: int = 0


def source_keys(
    options: OpenDataSettings, session: requests.Session, headers: dict[str, str]
) -> Iterator[pa.Table]:
    """Every vehicle key the dataset holds now, one Arrow table per page."""
    client = RESTClient(options.base_url.rstrip("/") + "/", headers=headers, session=session)
    pages = client.paginate(
        f"resource/{options.dataset_id}.json",
        params={"$select": f"{ROW_KEY},{KEY}"},
        paginator=KeysetPaginator(options.key_page_size),
        data_selector="$",
    )
    for page in pages:
        keys = [str(row[KEY]) for row in page if isinstance(row, dict) and row.get(KEY)]
        yield pa.table({"key": pa.array(keys, pa.string())})


def reconcile_vehicles(
    pipeline: dlt.Pipeline,
    options: OpenDataSettings,
    session: requests.Session,
    headers: dict[str, str],
    now: datetime | None = None,
) -> Reconciliation:
    """Stamp raw vehicles whose key left the source, clear those that came back."""
    now = now or datetime.now(UTC)
    with sql_client(pipeline) as client:
        if not has_column(client, VEHICLES_TABLE, REMOVED_COLUMN):
            return Reconciliation()  # nothing loaded yet
        target = client.make_qualified_table_name(VEHICLES_TABLE)
        duck = client.native_connection
        duck.execute("create or replace temp table _open_data_source_keys (key varchar)")
        try:
            for keys in source_keys(options, session, headers):
                duck.register("_open_data_key_page", keys)
                duck.execute(
                    "insert into _open_data_source_keys select key from _open_data_key_page"
                )
                duck.unregister("_open_data_key_page")
            found = _scalar(duck, "select count(distinct key) from _open_data_source_keys")
            listed = _scalar(duck, f"select count(*) from {target} where {REMOVED_COLUMN} is null")
            gone = (
                f"from {target} as raw where raw.{REMOVED_COLUMN} is null and not exists "
                f"(select 1 from _open_data_source_keys as src where src.key = raw.{KEY})"
            )
            back = (
                f"from {target} as raw where raw.{REMOVED_COLUMN} is not null and exists "
                f"(select 1 from _open_data_source_keys as src where src.key = raw.{KEY})"
            )
            removed = _scalar(duck, f"select count(*) {gone}")
            restored = _scalar(duck, f"select count(*) {back}")
            if listed and removed / listed > MAX_REMOVED_SHARE:
                raise SourceError(
                    f"open_data: key reconciliation would mark {removed:,} of {listed:,} "
                    f"{VEHICLES_TABLE} rows as removed (the source holds {found:,} keys); "
                    "refusing (is the base URL pointing at the right dataset?). The vehicles "
                    "were loaded; run with --skip-reconcile to load without it"
                )
            if is_lake(pipeline):  # the lake's tables are read-only views here
                _stamp_on_lake(pipeline, duck, gone, back, now)
                return Reconciliation(found, removed, restored)
            with client.begin_transaction():
                duck.execute(
                    f"update {target} set {REMOVED_COLUMN} = ? where {KEY} in "
                    f"(select raw.{KEY} {gone})",
                    [now],
                )
                duck.execute(
                    f"update {target} set {REMOVED_COLUMN} = null where {KEY} in "
                    f"(select raw.{KEY} {back})"
                )
        finally:
            duck.execute("drop table if exists _open_data_source_keys")
    return Reconciliation(found, removed, restored)


def _stamp_on_lake(pipeline: dlt.Pipeline, duck: Any, gone: str, back: str, now: datetime) -> None:
    """The two updates above as Delta commits: stamp the keys gone, clear the keys back."""
    lake = LakeDataset(pipeline)
    for where, value in ((gone, timestamp_literal(now)), (back, "NULL")):
        keys = [key for (key,) in duck.execute(f"select distinct raw.{KEY} {where}").fetchall()]
        update_keys(lake, VEHICLES_TABLE, KEY, keys, {REMOVED_COLUMN: value})


def _scalar(duck: Any, sql: str) -> int:
    row = duck.execute(sql).fetchone()
    return int(row[0]) if row else 0
