"""DuckDB reads one TLC file: the SQL that loads it, its own row count, and its quarantine.

This is the memory-bounded heart of the ``trips`` pipeline. Python never holds rows:

* :func:`strict_sql` is one SELECT over DuckDB's ``read_csv``/``read_parquet`` that dlt's
  loader runs inside the warehouse as ``INSERT … SELECT``; it fails on the first row that
  does not parse or holds a value its column cannot (``ingestion.trips.projection``).
* :func:`quarantine` parses the file once into Parquet parts of good rows and a file of
  rejects, each with its reason; CSV lines DuckDB cannot parse at all (wrong column count,
  broken quoting, a bad timestamp) come from DuckDB's ``store_rejects`` with their line.
* :func:`file_row_count` is the file's own count — Parquet footer metadata, or the CSV's
  non-empty data lines counted apart from the parser — that every load is checked against.
"""

from __future__ import annotations

import csv
import gzip
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow.parquet as pq

from ingestion.core.duckdb_config import connect
from ingestion.core.errors import SourceError
from ingestion.core.failures import describe_failure
from ingestion.core.settings import Settings
from ingestion.trips.linecount import count_data_lines
from ingestion.trips.projection import (
    BYTE_POSITION,
    RAW_LINE,
    REASON,
    ROW_NUMBER,
    ColumnMap,
    csv_parse_types,
    literal,
    map_columns,
    quarantine_select,
    quote,
    strict_select,
)
from ingestion.trips.schema import SOURCE_FILE_COLUMN, FileKind
from ingestion.trips.zone_columns import ZoneColumns, batch_rows, zoned

REJECTED = "_tripline_rejected"
GOOD_PARTS = f"{REJECTED}=false"
BAD_PARTS = f"{REJECTED}=true"
STRUCTURAL_REJECTS = "structural_rejects.parquet"
# The column a reader over several files names each row's file in.
FILE_NAME = "_tripline_file"


@dataclass
class Quarantined:
    """A file parsed with its bad rows set aside: where the parts are, and their counts."""

    folder: Path
    rows_good: int
    rows_rejected: int
    seconds: float

    def good_parts(self) -> str | None:
        """A glob of the good rows' parts, or ``None`` when every row was rejected."""
        folder = self.folder / GOOD_PARTS
        return str(folder / "*.parquet") if any(folder.glob("*.parquet")) else None

    def reject_files(self) -> list[str]:
        return [
            str(p)
            for p in [*sorted((self.folder / BAD_PARTS).glob("*.parquet")),
                      self.folder / STRUCTURAL_REJECTS]
            if p.exists()
        ]  # fmt: skip


TRAILING = "_tripline_trailing_"
# Lines read past the header to find the first data line (some files leave blank lines).
_HEAD_LINES = 16


def csv_header(path: Path) -> list[str]:
    """The header of a TLC CSV, read by Python: DuckDB's sniffer can mistake a file with a
    few broken lines for a one-column file with another delimiter, which would load every
    value as NULL. The dialect is fixed (comma, double quote) and only the names are read;
    a space after a comma (the 2014 yellow headers) is not part of a name."""
    return _head(path)[0]


def csv_trailing(path: Path) -> list[str]:
    """Names for the fields the first data line has beyond the header's names: rows that
    end in commas the header does not have (green 2013-2014). Every line must leave them
    empty (a value there is a reject with its reason)."""
    header, first = _head(path)
    return [f"{TRAILING}{i}" for i in range(1, max(len(first) - len(header), 0) + 1)]


def _head(path: Path) -> tuple[list[str], list[str]]:
    """The header's names and the first non-empty data line's fields."""
    opener = gzip.open if path.name.endswith(".gz") else open
    lines: list[str] = []
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            for _ in range(_HEAD_LINES):
                line = handle.readline()
                if not line:
                    break
                if line.strip() or not lines:
                    lines.append(line.strip("\r\n"))
                if len(lines) == 2:
                    break
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise SourceError(f"cannot read the header of {path.name}: {exc}") from exc
    header = [name.strip() for name in next(csv.reader([lines[0].strip()]), [])] if lines else []
    first = next(csv.reader([lines[1]]), []) if len(lines) > 1 else []
    return header, first


def _csv_reader(paths: str, parse_types: dict[str, str], with_rejects: bool) -> str:
    """``read_csv`` over ``paths`` (an SQL literal: one path, or a list of them)."""
    # Every column is named and typed up front: no sniffing, so no guessed dialect.
    columns = "{" + ", ".join(f"{literal(h)}: {literal(t)}" for h, t in parse_types.items()) + "}"
    rejects = (
        ", store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_scans', "
        "rejects_limit = 0"
        if with_rejects
        else ""
    )
    return (
        f"read_csv({paths}, auto_detect = false, header = true, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {columns}, filename = {literal(FILE_NAME)}{rejects})"
    )


def _parquet_reader(path: Path, row_numbers: bool = False) -> str:
    numbers = ", file_row_number = true" if row_numbers else ""
    return f"read_parquet({literal(str(path))}, hive_partitioning = false{numbers})"


def _column_map(
    con: duckdb.DuckDBPyConnection, path: Path, kind: FileKind, source_name: str
) -> ColumnMap:
    if kind.fmt == "parquet":
        rows = con.execute(f"describe select * from {_parquet_reader(path)}").fetchall()
        return map_columns(kind.schema, {str(row[0]): str(row[1]) for row in rows}, source_name)
    trailing = csv_trailing(path)
    types = csv_parse_types(kind.schema, csv_header(path), trailing)
    return map_columns(kind.schema, types, source_name, trailing)


def needs_staging(path: Path, kind: FileKind, source_name: str, settings: Settings) -> bool:
    """Whether the file loads only through the quarantine route (``ColumnMap.needs_staging``:
    zones from coordinates, or trailing fields)."""
    con = connect(":memory:", settings)
    try:
        return _column_map(con, path, kind, source_name).needs_staging
    except duckdb.Error as exc:
        raise _read_error(source_name, exc) from exc
    finally:
        con.close()


def _read_error(source_name: str, exc: BaseException) -> SourceError:
    return SourceError(f"cannot read {source_name}: {describe_failure(exc)}")


def file_row_count(path: Path, kind: FileKind, source_name: str, settings: Settings) -> int:
    """The file's own row count: Parquet footers, or the CSV's non-empty data lines."""
    if kind.fmt != "parquet":
        try:
            return count_data_lines(path)
        except (OSError, EOFError) as exc:
            raise _read_error(source_name, exc) from exc
    con = connect(":memory:", settings)
    try:
        row = con.execute(
            "select sum(num_rows) from parquet_file_metadata(?)", [str(path)]
        ).fetchone()
    except duckdb.Error as exc:
        raise _read_error(source_name, exc) from exc
    finally:
        con.close()
    return int(row[0]) if row and row[0] is not None else 0


class StrictSelect(NamedTuple):
    """A SELECT over files of one header, and the extra columns (not in the stable schema)
    it keeps: dlt loads a model item's columns only when its schema knows them."""

    paths: list[Path]
    sql: str
    extras: tuple[str, ...]


def strict_sql(paths: Sequence[Path], kind: FileKind, settings: Settings) -> list[StrictSelect]:
    """SELECTs that load every row of ``paths`` (files of one kind), or fail naming the first
    bad row or value: one SELECT per group of files with the same columns, which DuckDB reads
    as one scan over both cores.

    dlt runs each inside the warehouse as ``INSERT … SELECT`` (a "model" item) and adds the
    load id; a statement that fails rolls back as a whole.
    """
    groups: dict[tuple[tuple[str, str], ...], tuple[ColumnMap, list[Path]]] = {}
    con = connect(":memory:", settings)
    try:
        for path in paths:
            mapping = _column_map(con, path, kind, path.name)
            key = tuple(mapping.source_types.items())
            groups.setdefault(key, (mapping, []))[1].append(path)
    except duckdb.Error as exc:
        raise _read_error(path.name, exc) from exc
    finally:
        con.close()
    selects = []
    for mapping, group in groups.values():
        listed = "[" + ", ".join(literal(str(p)) for p in group) + "]"
        if kind.fmt == "parquet":
            reader = (
                f"read_parquet({listed}, hive_partitioning = false, "
                f"filename = {literal(FILE_NAME)})"
            )
        else:
            reader = _csv_reader(listed, dict(mapping.source_types), with_rejects=False)
        select = strict_select(mapping, f"parse_filename(src.{FILE_NAME})", reader)
        selects.append(StrictSelect(group, select, tuple(mapping.extras.values())))
    return selects


def quarantine(
    path: Path, kind: FileKind, source_name: str, out_dir: Path, settings: Settings
) -> Quarantined:
    """Parse ``path`` once into good parts and rejects under ``out_dir`` (must not exist).

    A coordinate-era file's zones are filled between the parse and the Parquet writer: the
    parse streams out as Arrow batches, ``zone_columns.zoned`` fills each, and a second
    connection to the same in-memory database scans the filled batches and writes them.
    """
    started = time.perf_counter()
    con = connect(":memory:", settings)
    try:
        mapping = _column_map(con, path, kind, source_name)
        if kind.fmt == "parquet":
            reader, row_number = _parquet_reader(path, row_numbers=True), "src.file_row_number + 1"
        else:
            reader = _csv_reader(literal(str(path)), dict(mapping.source_types), True)
            row_number = "null"
        select = quarantine_select(mapping, source_name, reader, row_number)
        _write_parts(con, select, _zone_columns(mapping), out_dir, settings)
        structural = 0
        if kind.fmt != "parquet":
            structural = _write_structural_rejects(con, source_name, out_dir)
        good = _count_parts(con, out_dir / GOOD_PARTS)
        bad = _count_parts(con, out_dir / BAD_PARTS)
    except (duckdb.Error, StreamedParseError) as exc:
        raise _read_error(source_name, exc) from exc
    finally:
        con.close()
    return Quarantined(out_dir, good, bad + structural, time.perf_counter() - started)


def _zone_columns(mapping: ColumnMap) -> ZoneColumns:
    """The zone columns to fill from coordinates (``bench.eras_bench`` replaces this to
    measure the route without them)."""
    return mapping.derived_zones


_ZONED = "_tripline_zoned"


class StreamedParseError(Exception):
    """The parse of a file failed while its Arrow batches streamed through the zone step
    (Arrow hands DuckDB's error on as an ``OSError``); the message is the parse's own."""


def _write_parts(
    con: duckdb.DuckDBPyConnection,
    select: str,
    zones: ZoneColumns,
    out_dir: Path,
    settings: Settings,
) -> None:
    """``select``'s rows as Parquet parts under ``out_dir``, split into good and rejected."""
    copy = (
        f"copy (select *, {REASON} is not null as {REJECTED} from {{rows}}) "
        f"to {literal(str(out_dir))} (format parquet, compression snappy, "
        f"row_group_size 122880, partition_by ({REJECTED}), "
        f"file_size_bytes {settings.budget.file_max_bytes})"
    )
    if not zones:
        con.execute(copy.format(rows=f"({select})"))
        return
    batches = con.sql(select).to_arrow_reader(batch_rows(settings))
    writer = con.cursor()  # the parse's connection is busy streaming
    failures: list[BaseException] = []
    try:
        writer.register(_ZONED, zoned(batches, zones, failures))
        writer.execute(copy.format(rows=_ZONED))
    except duckdb.Error:
        if failures:  # the parse failed: its own error, not the scan's wrapping of it
            raise StreamedParseError(str(failures[0])) from failures[0]
        raise
    finally:
        writer.close()
        batches.close()


def _count_parts(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    if not any(folder.glob("*.parquet")):
        return 0
    row = con.execute(
        "select sum(num_rows) from parquet_file_metadata(?)", [str(folder / "*.parquet")]
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _write_structural_rejects(
    con: duckdb.DuckDBPyConnection, source_name: str, out_dir: Path
) -> int:
    """CSV lines DuckDB could not parse, one row per line with every error it found."""
    row = con.execute("select count(distinct line) from csv_rejects").fetchone()
    count = int(row[0]) if row else 0
    if count:
        con.execute(
            f"""
            copy (
                with first_per_kind as (
                    -- DuckDB reports a short line once per missing column: keep the first.
                    select
                        line,
                        error_type,
                        arg_min(
                            coalesce('in ' || column_name || ': ', '') || error_message,
                            column_idx
                        ) as message,
                        min(line_byte_position) as byte_position,
                        min(ltrim(csv_line, chr(10) || chr(13))) as raw_line
                    from csv_rejects
                    group by line, error_type
                )
                select
                    {literal(source_name)} as {SOURCE_FILE_COLUMN},
                    line as {ROW_NUMBER},
                    min(byte_position) as {BYTE_POSITION},
                    string_agg(error_type || ' ' || message, '; ' order by error_type)
                        as {REASON},
                    min(raw_line) as {RAW_LINE}
                from first_per_kind
                group by line
            ) to {literal(str(out_dir / STRUCTURAL_REJECTS))} (format parquet)
            """
        )
    return count


def good_rows_columns(quarantined: Quarantined) -> list[str]:
    """The columns of the good rows' parts (none when every row was rejected)."""
    parts = sorted((quarantined.folder / GOOD_PARTS).glob("*.parquet"))
    if not parts:
        return []
    return [name for name in pq.read_schema(parts[0]).names if not name.startswith("_tripline_")]


def good_rows_sql(quarantined: Quarantined) -> str | None:
    """The SELECT that loads the good rows' parts, or ``None`` when there are none."""
    parts = quarantined.good_parts()
    if parts is None:
        return None
    columns = good_rows_columns(quarantined)
    select = ", ".join(f"src.{quote(c)} as {quote(c)}" for c in columns)
    return f"select {select} from read_parquet({literal(parts)}, hive_partitioning = false) as src"


def rejects_sql(quarantined: Quarantined) -> str | None:
    """The SELECT that loads every reject of the file, or ``None`` when there are none.

    Value rejects (bad parts) and parse rejects (``store_rejects``) share their column
    names, so one ``read_parquet(…, union_by_name)`` reads both.
    """
    files = quarantined.reject_files()
    if not files:
        return None
    listed = ", ".join(literal(f) for f in files)
    return (
        f"select src.{SOURCE_FILE_COLUMN} as {SOURCE_FILE_COLUMN}, "
        f"cast(src.{ROW_NUMBER} as BIGINT) as line, "
        f"cast(src.{BYTE_POSITION} as BIGINT) as byte_position, "
        f"src.{REASON} as reason, src.{RAW_LINE} as raw_line "
        f"from read_parquet([{listed}], union_by_name = true, hive_partitioning = false) as src"
    )
