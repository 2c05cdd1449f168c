"""What the warehouse holds of each TLC file: the state's claims, checked against the rows.

The ``tlc`` source state maps each file's identity (service and month, e.g.
``yellow_tripdata_2024-01``, or the zone lookup) to the version loaded: its name,
fingerprint, route, load id and counts. dlt commits the state in the same load as the rows,
so a claim exists exactly when its load completed. Before work, the claims are checked
against the rows themselves:

* a claim whose rows are missing or short (a full refresh killed after its drop, rows
  deleted by hand) is set aside, so the file loads again;
* rows of a claimed identity under any other load id are a version replaced by a later
  load, left behind by a kill between that load and its clean-up: they are deleted.

A changed file is replaced the same way: its new version loads under a new load id first,
and only then are the old version's rows deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import dlt

from ingestion.core.destination import table_names
from ingestion.core.destinations import is_lake, sql_client
from ingestion.core.logs import get_logger
from ingestion.trips.schema import (
    LOAD_ID_COLUMN,
    SOURCE_FILE_COLUMN,
    TRIP_SCHEMAS,
    ZONES,
    FileKind,
    classify,
)

log = get_logger("trips")

SOURCE_NAME = "tlc"
TRIP_KINDS = (*TRIP_SCHEMAS.values(), ZONES)
FORMATS = ("parquet", "csv.gz", "csv")


def rejects_table(table: str) -> str:
    return f"{table}_rejected"


@dataclass(frozen=True)
class FileClaim:
    """One file version the warehouse holds, as the state records it."""

    identity: str
    name: str
    fingerprint: str
    route: str
    load_id: str
    rows: int | None = None  # None: recorded before counts were kept
    rejected: int | None = None

    @property
    def kind(self) -> FileKind:
        kind = classify(self.name)
        assert kind is not None, self.name
        return kind


def names_of(identity: str) -> list[str]:
    """Every file name one identity can have: the same month in each format."""
    if identity == "taxi_zone_lookup":
        return ["taxi_zone_lookup.csv"]
    return [f"{identity}.{fmt}" for fmt in FORMATS]


def read_claims(pipeline: dlt.Pipeline) -> dict[str, FileClaim]:
    """The claims of the state in force (keyed by identity; older states keyed by name)."""
    files = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("files", {})
    claims: dict[str, FileClaim] = {}
    for key, entry in files.items():
        name = str(entry.get("name") or key)
        kind = classify(name)
        if kind is None:
            continue
        claims[kind.identity] = FileClaim(
            identity=kind.identity,
            name=name,
            fingerprint=str(entry["fingerprint"]),
            route=str(entry.get("route", "")),
            load_id=str(entry.get("load_id", "")),
            rows=entry.get("rows"),
            rejected=entry.get("rejected"),
        )
    return claims


def remember(claim: FileClaim) -> None:
    """Record ``claim`` in the source state of the load being extracted."""
    files: dict[str, Any] = dlt.current.source_state().setdefault("files", {})
    for stale in [
        key for key in files if key != claim.identity and key in names_of(claim.identity)
    ]:
        del files[stale]  # an entry of the older, name-keyed layout
    files[claim.identity] = {k: v for k, v in asdict(claim).items() if k != "identity"}


def forget_all() -> None:
    """Clear every claim in the source state of the load being extracted."""
    dlt.current.source_state()["files"] = {}


Counts = dict[tuple[str, str, str], int]  # (table, source file, load id) -> rows


def count_rows(pipeline: dlt.Pipeline, tables: Iterable[str], load_id: str | None = None) -> Counts:
    """Rows per file and load id in each of ``tables`` that exists (one scan each), or of one
    load only (its row groups are the newest: DuckDB's zone maps skip the rest)."""
    counts: Counts = {}
    only = f" where {LOAD_ID_COLUMN} = %s" if load_id else ""
    with sql_client(pipeline) as client:
        existing = table_names(client)
        for table in sorted(set(tables) & existing):
            rows = client.execute_sql(
                f"select {SOURCE_FILE_COLUMN}, {LOAD_ID_COLUMN}, count(*) "
                f"from {client.make_qualified_table_name(table)}{only} group by all",
                *([load_id] if load_id else []),
            )
            for source_file, loaded_by, count in rows or []:
                counts[(table, str(source_file), str(loaded_by))] = int(count)
    return counts


def tables_of(claim: FileClaim) -> tuple[str, str | None]:
    table = claim.kind.schema.table
    return table, (None if claim.kind.month is None else rejects_table(table))


def borne_out(claim: FileClaim, counts: Counts) -> bool:
    """Whether the rows the warehouse holds for ``claim``'s load are the ones it records."""
    table, rejects = tables_of(claim)
    loaded = counts.get((table, claim.name, claim.load_id), 0)
    rejected = counts.get((rejects, claim.name, claim.load_id), 0) if rejects else 0
    if claim.rows is None:  # an older claim: its rows must at least be there
        return loaded > 0
    return loaded == claim.rows and (claim.rejected is None or rejected == claim.rejected)


@dataclass
class ClaimCheck:
    """The claims the rows bear out, and every identity the warehouse holds rows of."""

    held: dict[str, FileClaim]
    present: set[str]


def check_claims(pipeline: dlt.Pipeline, claims: dict[str, FileClaim]) -> ClaimCheck:
    """The claims the rows bear out; rows of replaced versions are deleted on the way."""
    tables = {t for claim in claims.values() for t in tables_of(claim) if t}
    tables |= {t for kind in TRIP_KINDS for t in (kind.table, rejects_table(kind.table))}
    counts = count_rows(pipeline, tables)
    present = {kind.identity for (_, name, _) in counts if (kind := classify(name)) is not None}
    held: dict[str, FileClaim] = {}
    for identity, claim in claims.items():
        if borne_out(claim, counts):
            held[identity] = claim
            continue
        table, _ = tables_of(claim)
        log.warning(
            "trips: the state says %s is loaded (load %s, %s rows) but %s holds %s of them; "
            "it will load again",
            claim.name,
            claim.load_id,
            "?" if claim.rows is None else f"{claim.rows:,}",
            table,
            f"{counts.get((table, claim.name, claim.load_id), 0):,}",
        )
    superseded = [
        claim
        for claim in held.values()
        if any(
            key[1] in names_of(claim.identity) and key[2] != claim.load_id
            for key in counts
            if key[0] in tables_of(claim)
        )
    ]
    for claim in superseded:
        deleted = delete_superseded(pipeline, claim)
        log.warning(
            "trips: deleted %s rows of %s that a later load replaced (a run stopped between "
            "the load and its clean-up)",
            f"{deleted:,}",
            claim.identity,
        )
    return ClaimCheck(held, present)


def delete_superseded(pipeline: dlt.Pipeline, claim: FileClaim) -> int:
    """Delete rows of ``claim``'s identity under any load id but its own; return how many."""
    names = names_of(claim.identity)
    if is_lake(pipeline):
        from ingestion.trips.lake_load import delete_superseded_on_lake

        return delete_superseded_on_lake(pipeline, claim.load_id, names, tables_of(claim))
    placeholders = ", ".join(["%s"] * len(names))
    deleted = 0
    with pipeline.sql_client() as client:
        existing = table_names(client)
        with client.begin_transaction():
            for table in tables_of(claim):
                if table is None or table not in existing:
                    continue
                # DuckDB answers a DELETE with the number of rows it deleted.
                rows = client.execute_sql(
                    f"delete from {client.make_qualified_table_name(table)} "
                    f"where {SOURCE_FILE_COLUMN} in ({placeholders}) and {LOAD_ID_COLUMN} <> %s",
                    *names,
                    claim.load_id,
                )
                deleted += int(rows[0][0]) if rows else 0
    return deleted
