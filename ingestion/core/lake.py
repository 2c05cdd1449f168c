"""A dataset on the lake: its Delta tables read through DuckDB, and the few writes recovery needs.

dlt's ``filesystem`` destination writes one Delta table per table under
``<lake>/<dataset>/<table>/`` and its own records as JSON lines: ``_dlt_loads/`` (one file
per complete load, written last), ``_dlt_pipeline_state/`` and ``_dlt_version/``. dlt's
own SQL client cannot read Delta here (DuckDB would download its ``delta`` extension), so:

* reads go through :class:`LakeReader`: an in-memory DuckDB in which every Delta table of the
  dataset is a view over the Parquet files of its current version (``deltalake`` lists
  them), under the dataset's name, so the SELECTs the DuckDB path runs
  (``information_schema`` included) run unchanged;
* writes are Delta commits through ``deltalake`` (:meth:`LakeDataset.delete`,
  :meth:`LakeDataset.update`): each is atomic per table, and Delta's optimistic concurrency
  makes two writers of one table conflict instead of overwriting each other.

Recovery (:func:`sweep_unfinished`) is the DuckDB path's rule in the lake's terms: rows whose
load id is not a complete load are deleted, and so are the state files of such loads (dlt
writes the state file just before the load's record: a kill in between must not leave a
state that claims work the lake never recorded).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dlt
import duckdb
import pyarrow as pa
from deltalake import DeltaTable, TableFeatures
from dlt.common.libs.deltalake import deltalake_storage_options
from dlt.destinations.impl.filesystem.filesystem import FilesystemClient

from ingestion.core.logs import get_logger

log = get_logger("lake")

LOADS_TABLE = "_dlt_loads"
STATE_TABLE = "_dlt_pipeline_state"
# dlt names its record files <name>__<load id>[__<hash>].jsonl
_SEPARATOR = "__"


def literal(value: object) -> str:
    """``value`` as an SQL literal for a Delta predicate (strings quoted, numbers as is)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def in_list(column: str, values: Sequence[object], negate: bool = False) -> str:
    """``column [NOT] IN (…)``; an empty list is ``false`` (``true`` negated)."""
    if not values:
        return "true" if negate else "false"
    listed = ", ".join(literal(v) for v in values)
    return f"{column} {'NOT IN' if negate else 'IN'} ({listed})"


class LakeDataset:
    """One dataset of the lake, as the pipeline's filesystem destination sees it."""

    def __init__(self, pipeline: dlt.Pipeline, dataset: str | None = None) -> None:
        """The pipeline's dataset, or another ``dataset`` of the same lake."""
        client = pipeline.destination_client()
        assert isinstance(client, FilesystemClient), type(client)
        self.client = client
        self.name = dataset or pipeline.dataset_name
        self.fs = client.fs_client
        self.path = posixpath.join(client.bucket_path, self.name).rstrip("/")
        self.storage_options: dict[str, str] = deltalake_storage_options(
            client.config.credentials, client.config.deltalake_storage_options
        )

    def _url(self, table: str) -> str:
        return self.client.make_remote_url(posixpath.join(self.path, table))

    def _entries(self, folder: str) -> list[str]:
        target = posixpath.join(self.path, folder) if folder else self.path
        try:
            return [str(p) for p in self.fs.ls(target, detail=False, refresh=True)]
        except FileNotFoundError:
            return []

    def tables(self) -> list[str]:
        """The Delta tables of the dataset, by name (empty when the dataset does not exist)."""
        names = []
        for entry in self._entries(""):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith("_dlt") and self.fs.exists(
                posixpath.join(self.path, name, "_delta_log")
            ):
                names.append(name)
        return sorted(names)

    def table(self, name: str) -> DeltaTable:
        return DeltaTable(self._url(name), storage_options=self.storage_options)

    def declare_invariants(self) -> list[str]:
        """List the ``invariants`` writer feature on every table that needs it; return them.

        deltalake 1.6 writes a table with a ``timestamp_ntz`` column at writer version 7,
        where every feature in use must be named, but does not name ``invariants`` for the
        NOT NULL columns (dlt's ``_dlt_load_id``, Tripline's ``_source_file``). Spark's Delta
        then refuses to read the table (DELTA_FEATURES_PROTOCOL_METADATA_MISMATCH).
        """
        declared = []
        for name in self.tables():
            table = self.table(name)
            protocol = table.protocol()
            if protocol.min_writer_version < 7 or "invariants" in (protocol.writer_features or []):
                continue
            if all(field.nullable for field in table.schema().fields):
                continue
            table.alter.add_feature(TableFeatures.Invariants)
            declared.append(name)
        return declared

    def _records(self, folder: str) -> Iterator[tuple[str, list[str]]]:
        """(path, name parts) of dlt's record files in ``folder``."""
        for path in self._entries(folder):
            # load ids hold a dot (``1796187131.0553062``): only the extension goes
            stem = path.rsplit("/", 1)[-1].removesuffix(".gz").removesuffix(".jsonl")
            yield path, stem.split(_SEPARATOR)

    def complete_loads(self) -> set[str]:
        """Load ids that dlt recorded as complete (status 0)."""
        done = set()
        for path, parts in self._records(LOADS_TABLE):
            if len(parts) >= 2:
                record = json.loads(self.fs.read_text(path, encoding="utf-8"))
                if int(record.get("status", 0)) == 0:
                    done.add(str(record.get("load_id") or parts[-1]))
        return done

    def loads_table(self) -> pa.Table:
        """``_dlt_loads`` as an Arrow table (what the DuckDB destination keeps as a table)."""
        rows = [
            json.loads(self.fs.read_text(path, encoding="utf-8"))
            for path, parts in self._records(LOADS_TABLE)
            if len(parts) >= 2
        ]
        schema = pa.schema(
            [("load_id", pa.string()), ("schema_name", pa.string()), ("status", pa.int64()),
             ("inserted_at", pa.string()), ("schema_version_hash", pa.string())]
        )  # fmt: skip
        return pa.Table.from_pylist(rows, schema=schema)

    def forget_load(self, load_id: str) -> None:
        """Remove ``load_id``'s record: the load is unfinished from then on."""
        for path, parts in self._records(LOADS_TABLE):
            if len(parts) >= 2 and parts[-1] == load_id:
                self.fs.rm(path)

    def drop_states_of(self, load_ids: set[str]) -> int:
        """Delete the state files that loads ``load_ids`` wrote; return how many."""
        dropped = 0
        for path, parts in self._records(STATE_TABLE):
            if len(parts) == 3 and parts[1] in load_ids:
                self.fs.rm(path)
                dropped += 1
        return dropped

    def state_load_ids(self) -> set[str]:
        return {parts[1] for _, parts in self._records(STATE_TABLE) if len(parts) == 3}

    def columns(self, table: str) -> list[str]:
        return [field.name for field in self.table(table).schema().to_arrow()]  # type: ignore[attr-defined]

    def delete(self, table: str, predicate: str) -> int:
        """Delete the rows of ``table`` matching ``predicate`` (Delta SQL) in one commit."""
        metrics = self.table(table).delete(predicate)
        return int(metrics.get("num_deleted_rows", 0) or 0)

    def update(self, table: str, values: dict[str, str], predicate: str) -> int:
        """Set ``values`` (column -> SQL expression) where ``predicate`` holds, one commit."""
        metrics = self.table(table).update(updates=values, predicate=predicate)
        return int(metrics.get("num_updated_rows", 0) or 0)


# Keys per Delta update: one predicate's IN list, kept small enough to parse quickly.
KEYS_PER_UPDATE = 10_000


def timestamp_literal(moment: datetime) -> str:
    """A UTC ``timestamp`` value for a Delta update expression."""
    return f"CAST({literal(moment.astimezone(UTC).isoformat())} AS TIMESTAMP)"


def update_keys(
    lake: LakeDataset, table: str, key: str, keys: Sequence[object], values: dict[str, str]
) -> int:
    """Set ``values`` on the rows of ``table`` whose ``key`` is in ``keys``, in commits of
    ``KEYS_PER_UPDATE`` keys (each atomic; a re-run repeats what a kill left undone)."""
    updated = 0
    for start in range(0, len(keys), KEYS_PER_UPDATE):
        chunk = keys[start : start + KEYS_PER_UPDATE]
        updated += lake.update(table, values, in_list(key, chunk))
    return updated


def sweep_unfinished(pipeline: dlt.Pipeline) -> list[str]:
    """Delete rows (and state files) of loads the lake did not record as complete.

    Each table is one Delta commit, so a kill leaves some tables swept and others not: the
    next sweep finishes them (it reads only the lake).
    """
    from ingestion.core.duckdb_config import duckdb_config
    from ingestion.core.settings import load_settings

    lake = LakeDataset(pipeline)
    complete = sorted(lake.complete_loads())
    found: set[str] = set()
    unfinished = in_list("_dlt_load_id", complete, negate=True)
    with LakeReader(lake, duckdb_config(load_settings())) as reader:
        for table in lake.tables():
            if "_dlt_load_id" not in lake.columns(table):
                continue
            rows = reader.execute_sql(
                f"select distinct _dlt_load_id from {reader.make_qualified_table_name(table)} "
                f"where _dlt_load_id is null or {in_list('_dlt_load_id', complete, negate=True)}"
            )
            if rows:
                found |= {str(load_id) for (load_id,) in rows}
                lake.delete(table, f"_dlt_load_id IS NULL OR {unfinished}")
    stale_states = lake.state_load_ids() - set(complete)
    if stale_states:
        lake.drop_states_of(stale_states)
        found |= stale_states
    return sorted(found)


def retract(pipeline: dlt.Pipeline, load_id: str) -> None:
    """Unrecord a complete load; the sweep then removes its rows and its state."""
    LakeDataset(pipeline).forget_load(load_id)
    sweep_unfinished(pipeline)


class LakeReader:
    """Read-only SQL over a dataset's Delta tables, shaped like dlt's SQL client.

    ``execute_sql`` takes dlt's ``%s`` placeholders; ``begin_transaction`` is a no-op (a
    read needs none). Writes go through :class:`LakeDataset`.
    """

    def __init__(
        self,
        lake: LakeDataset,
        duckdb_config: dict[str, Any] | None = None,
        others: Sequence[LakeDataset] = (),
    ) -> None:
        """``others``: more datasets of the lake to read, each under its own name."""
        self.lake = lake
        self.others = others
        self.dataset_name = lake.name
        self.native_connection = duckdb.connect(":memory:", config=dict(duckdb_config or {}))
        self._fs_registered = False

    def __enter__(self) -> LakeReader:
        for dataset in (self.lake, *self.others):
            self._register(dataset)
        return self

    def _register(self, dataset: LakeDataset) -> None:
        con = self.native_connection
        schema = _quote(dataset.name)
        con.execute(f"create schema if not exists {schema}")
        for table in dataset.tables():
            con.execute(
                f"create or replace view {schema}.{_quote(table)} as "
                f"select * from {self._scan(dataset, table)}"
            )
        loads = _quote(f"_lake_{dataset.name}_loads")
        con.register(loads.strip('"'), dataset.loads_table())
        con.execute(f"create or replace view {schema}.{LOADS_TABLE} as select * from {loads}")

    def _scan(self, dataset: LakeDataset, table: str) -> str:
        """``read_parquet`` over the files of the table's current Delta version.

        DuckDB reads the Parquet itself (filters and projections pushed into the files,
        bounded by its memory limit); S3 goes through the lake's fsspec filesystem, since
        DuckDB's own httpfs cannot be installed here. delta-rs (dlt's writer) writes no
        deletion vectors, so the version's file list is the table.
        """
        delta = dataset.table(table)
        files = [uri.removeprefix("file://") for uri in delta.file_uris()]
        if not files:  # an empty table: its schema, no rows
            empty = f"_lake_{dataset.name}_{table}_empty"
            self.native_connection.register(
                empty, pa.schema(delta.schema().to_arrow()).empty_table()
            )
            return _quote(empty)
        if any("://" in f for f in files) and not self._fs_registered:
            self.native_connection.register_filesystem(dataset.fs)
            self._fs_registered = True
        listed = ", ".join(literal(f) for f in files)
        return f"read_parquet([{listed}], union_by_name = true)"

    def __exit__(self, *exc: object) -> None:
        self.native_connection.close()

    def make_qualified_table_name(self, table: str) -> str:
        return f"{_quote(self.dataset_name)}.{_quote(table)}"

    def execute_sql(self, sql: str, *args: Any) -> list[tuple[Any, ...]] | None:
        cursor = self.native_connection.execute(sql.replace("%s", "?"), list(args))
        return cursor.fetchall() if cursor.description else None

    @contextmanager
    def begin_transaction(self) -> Iterator[None]:
        yield


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
