"""DuckDB parses one TLC file into Parquet load files in the stable schema, plus rejects.

This is the memory-bounded heart of the ``trips`` pipeline. DuckDB streams the CSV or
Parquet input through its parallel reader and writes Parquet parts of at most
``file_max_bytes`` each, inside the budget's ``memory_limit``; Python never holds rows. dlt
then imports the parts as they are (no re-encoding) and its DuckDB loader inserts them.

CSV rows DuckDB cannot parse (wrong column count, a value that is not of its column's type,
broken quoting) are not dropped: ``store_rejects`` records them with their line and reason,
and they become rows of ``<table>_rejected``. So for every file
``rows read = rows loaded + rows rejected``.
"""

from __future__ import annotations

import csv
import gzip
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.core.duckdb_config import connect
from ingestion.core.errors import SourceError
from ingestion.core.settings import Settings
from ingestion.trips.schema import (
    LOAD_ID_COLUMN,
    SOURCE_FILE_COLUMN,
    FileKind,
    TableSchema,
    snake_case,
)

# Integer columns are parsed as DOUBLE and cast: some years write counts as "1.0".
_CSV_PARSE_TYPE = {"BIGINT": "DOUBLE"}
REJECT_COLUMNS = (
    "_source_file", "line", "byte_position", "reason", "raw_line", "_dlt_load_id",
)  # fmt: skip


@dataclass
class Converted:
    """The Parquet parts of one input file and its counts."""

    parts: list[Path]
    rejects: Path | None
    rows_loaded: int
    rows_rejected: int
    seconds: float

    @property
    def rows_read(self) -> int:
        return self.rows_loaded + self.rows_rejected


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _projection(
    schema: TableSchema, headers: list[str], source_name: str, load_id: str
) -> tuple[str, dict[str, str]]:
    """The SELECT list (over a relation aliased ``src``) onto the stable schema, and the CSV
    parse type of every header. Columns are qualified so dlt's SQL lineage can type them."""
    """The SELECT list onto the stable schema, and the CSV parse types per header."""
    by_column: dict[str, str] = {}
    parse_types: dict[str, str] = {}
    extras: list[str] = []
    for header in headers:
        column = schema.match(header)
        if column is None or column.name in by_column:
            extras.append(header)
            parse_types[header] = "VARCHAR"
            continue
        by_column[column.name] = header
        parse_types[header] = _CSV_PARSE_TYPE.get(column.duckdb_type, column.duckdb_type)
    missing = [c for c in schema.required if c not in by_column]
    if missing:
        raise SourceError(
            f"{source_name}: header has no {', '.join(missing)} column "
            f"(found: {', '.join(headers[:8])}{'…' if len(headers) > 8 else ''})"
        )
    select = []
    for column in schema.columns:
        found = by_column.get(column.name)
        if not found:
            value = f"cast(null as {column.duckdb_type})"
        elif column.duckdb_type == "BIGINT":
            value = f"cast(round(src.{_quote(found)}) as BIGINT)"
        else:
            value = f"cast(src.{_quote(found)} as {column.duckdb_type})"
        select.append(f"{value} as {_quote(column.name)}")
    known = {c.name for c in schema.columns}
    for header in extras:
        name = snake_case(header)
        while name in known:
            name += "_extra"
        known.add(name)
        select.append(f"cast(src.{_quote(header)} as VARCHAR) as {_quote(name)}")
    select.append(f"{_literal(source_name)} as {SOURCE_FILE_COLUMN}")
    select.append(f"{_literal(load_id)} as {LOAD_ID_COLUMN}")
    return ", ".join(select), parse_types


def _headers(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> list[str]:
    if fmt == "parquet":
        rows = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
        return [row[0] for row in rows]
    return csv_header(path)


def csv_header(path: Path) -> list[str]:
    """The header of a TLC CSV, read by Python: DuckDB's sniffer can mistake a file with a
    few broken lines for a one-column file with another delimiter, which would load every
    value as NULL. The dialect is fixed (comma, double quote) and only the names are read."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise SourceError(f"cannot read the header of {path.name}: {exc}") from exc
    names = next(csv.reader([first.strip()]), [])
    return [name.strip() for name in names]


def _csv_reader(path: Path, parse_types: dict[str, str], with_rejects: bool) -> str:
    # Every column is named and typed up front: no sniffing, so no guessed dialect.
    columns = "{" + ", ".join(f"{_literal(h)}: {_literal(t)}" for h, t in parse_types.items()) + "}"
    rejects = (
        ", store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_scans', "
        "rejects_limit = 0"
        if with_rejects
        else ""
    )
    return (
        f"read_csv({_literal(str(path))}, auto_detect = false, header = true, delim = ',', "
        f"quote = '\"', escape = '\"', columns = {columns}{rejects})"
    )


def strict_select(
    path: Path, kind: FileKind, source_name: str, load_id: str, settings: Settings
) -> str:
    """One SELECT that parses the whole file strictly into the stable schema.

    dlt runs it inside the destination as ``INSERT … SELECT`` (a "model" item), so DuckDB
    parses the file once, straight into the table. Any row that does not parse fails the
    whole statement, which rolls back; the caller then takes :func:`convert_file`'s route,
    which quarantines such rows.
    """
    con = connect(":memory:", settings)
    try:
        headers = _headers(con, path, kind.fmt)
    except duckdb.Error as exc:
        raise SourceError(f"cannot read {source_name}: {_first_line(exc)}") from exc
    finally:
        con.close()
    select, parse_types = _projection(kind.schema, headers, source_name, load_id)
    reader = (
        f"read_parquet({_literal(str(path))})"
        if kind.fmt == "parquet"
        else _csv_reader(path, parse_types, with_rejects=False)
    )
    return f"select {select} from {reader} as src"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


def _copy_to_parts(
    con: duckdb.DuckDBPyConnection, select: str, out_dir: Path, settings: Settings
) -> int:
    """Write ``select`` as Parquet parts of at most ``file_max_bytes``; return the row count."""
    row = con.execute(
        f"copy ({select}) to {_literal(str(out_dir))} (format parquet, compression snappy, "
        f"row_group_size 122880, file_size_bytes {settings.budget.file_max_bytes}, "
        "filename_pattern 'part_{i}')"
    ).fetchone()
    return int(row[0]) if row else 0


def convert_file(
    path: Path,
    kind: FileKind,
    source_name: str,
    load_id: str,
    out_dir: Path,
    settings: Settings,
) -> Converted:
    """Parse ``path`` into Parquet parts under ``out_dir`` (which must not exist yet)."""
    started = time.perf_counter()
    con = connect(":memory:", settings)
    try:
        if kind.fmt == "parquet":
            converted = _convert_parquet(
                con, path, kind.schema, source_name, load_id, out_dir, settings
            )
        else:
            converted = _convert_csv(
                con, path, kind.schema, source_name, load_id, out_dir, settings
            )
    except duckdb.Error as exc:
        raise SourceError(f"cannot read {source_name}: {_first_line(exc)}") from exc
    finally:
        con.close()
    converted.seconds = time.perf_counter() - started
    return converted


def _parts(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("*.parquet")) if out_dir.exists() else []


def _convert_parquet(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    schema: TableSchema,
    source_name: str,
    load_id: str,
    out_dir: Path,
    settings: Settings,
) -> Converted:
    select, _ = _projection(schema, _headers(con, path, "parquet"), source_name, load_id)
    expected = con.execute(
        "select sum(num_rows) from parquet_file_metadata(?)", [str(path)]
    ).fetchone()
    rows_loaded = _copy_to_parts(
        con, f"select {select} from read_parquet({_literal(str(path))}) as src", out_dir, settings
    )
    if expected and int(expected[0]) != rows_loaded:
        raise SourceError(
            f"{source_name}: Parquet metadata says {expected[0]} rows but {rows_loaded} were read"
        )
    return Converted(_parts(out_dir), None, rows_loaded, 0, 0.0)


def _convert_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    schema: TableSchema,
    source_name: str,
    load_id: str,
    out_dir: Path,
    settings: Settings,
) -> Converted:
    select, parse_types = _projection(schema, _headers(con, path, "csv"), source_name, load_id)
    reader = _csv_reader(path, parse_types, with_rejects=True)
    rows_loaded = _copy_to_parts(con, f"select {select} from {reader} as src", out_dir, settings)
    rejected = con.execute("select count(distinct line) from csv_rejects").fetchone()
    rows_rejected = int(rejected[0]) if rejected else 0
    rejects_path: Path | None = None
    if rows_rejected:
        rejects_path = out_dir.parent / f"{out_dir.name}_rejects.parquet"
        con.execute(
            f"""
            copy (
                select
                    {_literal(source_name)} as _source_file,
                    line,
                    min(line_byte_position) as byte_position,
                    string_agg(
                        error_type || coalesce(' in ' || column_name, '') || ': ' || error_message,
                        '; ' order by column_idx
                    ) as reason,
                    min(csv_line) as raw_line,
                    {_literal(load_id)} as _dlt_load_id
                from csv_rejects
                group by line
                order by line
            ) to {_literal(str(rejects_path))} (format parquet)
            """
        )
    return Converted(_parts(out_dir), rejects_path, rows_loaded, rows_rejected, 0.0)
