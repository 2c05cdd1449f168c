"""A file's columns onto the stable schema, with every value checked in SQL.

A value reaches the stable table only when its column's type holds it as the file wrote it:

* an integer column takes whole numbers only. ``2.5`` is rejected, never rounded to 3; so are
  ``nan``, ``inf`` and anything beyond ±2^53 (the range where DOUBLE, which CSV integers
  are parsed through, is exact). A decimal text closer to a whole number than DOUBLE can
  tell (17 significant digits, e.g. ``1.00000000000000001``) reads as that number;
* a money or distance column takes finite numbers only (``nan`` and ``inf`` are rejected);
* a timestamp column takes timestamps; nanoseconds that a microsecond timestamp would drop
  are rejected;
* text takes anything.

The same checks build two projections. The **strict** one raises on the first bad value, so
a clean file is parsed once, straight into the table. The **quarantine** one keeps every row
and says why a row fails (``_tripline_reason``), so bad rows become rejects with their reason
while the rest loads. Columns are qualified (``src."col"``) so dlt's SQL lineage can type them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingestion.core.errors import SourceError
from ingestion.trips.codes import code_map
from ingestion.trips.schema import (
    DERIVED,
    SOURCE_FILE_COLUMN,
    ZONE_COLUMNS,
    Column,
    TableSchema,
    snake_case,
)

REASON = "_tripline_reason"
RAW_LINE = "_tripline_raw_line"
ROW_NUMBER = "_tripline_row"
BYTE_POSITION = "_tripline_byte_position"
# DOUBLE holds every integer exactly up to 2^53.
_EXACT_LIMIT = "9007199254740992"
_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
}  # fmt: skip
_WIDE_INTEGER_TYPES = {"UBIGINT", "HUGEINT", "UHUGEINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "DATE", "DATETIME"}
# What a CSV column is parsed as, by its stable type: integers go through DOUBLE because
# some years write counts as "1.0", and DuckDB's own BIGINT parser rounds "2.5" to 3.
CSV_PARSE_TYPE = {"BIGINT": "DOUBLE", "DOUBLE": "DOUBLE", "TIMESTAMP": "TIMESTAMP"}


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Check:
    """A target column read from one source column: its value, and when that value is bad."""

    value: str
    ok: str | None = None
    why: str = ""


def _whole(number: str) -> str:
    return f"isfinite({number}) and {number} = trunc({number}) and abs({number}) < {_EXACT_LIMIT}"


def _coded(column: Column, ref: str, base: str) -> _Check | None:
    """A column with a code seed read from text: the number, or the seed's code, or bad."""
    assert column.codes is not None
    if column.duckdb_type == "BIGINT" and base not in ("VARCHAR", "BLOB"):
        return None  # numbers: the integer rules below
    text = f"nullif(trim(cast({ref} as VARCHAR)), '')"
    pairs = code_map(column.codes)
    cases = " ".join(
        f"when {literal(source)} then cast({literal(code)} as {column.duckdb_type})"
        for source, code in pairs.items()
    )
    lookup = f"(case {text} {cases} end)"
    seed = f"seeds/{column.codes}.csv"
    if column.duckdb_type == "VARCHAR":
        return _Check(lookup, f"{text} is null or {lookup} is not null", f"is not a code of {seed}")
    number = f"try_cast({text} as DOUBLE)"
    whole = f"coalesce({_whole(number)}, false)"
    value = f"case when {whole} then cast({number} as BIGINT) else {lookup} end"
    return _Check(
        value,
        f"{text} is null or {whole} or {lookup} is not null",
        f"is neither a whole number nor a code of {seed}",
    )


def _check(column: Column, ref: str, source_type: str) -> _Check:
    target = column.duckdb_type
    cast = f"cast({ref} as {target})"
    # Parquet columns of Arrow's null type describe as "NULL" (quoted).
    base = source_type.split("(")[0].strip('"').upper()
    if base == "NULL":
        return _Check(cast)
    if column.codes is not None:
        coded = _coded(column, ref, base)
        if coded is not None:
            return coded
    if target == "VARCHAR":
        return _Check(cast)
    if target == "BIGINT":
        if base in _INTEGER_TYPES or base == "BIGINT":
            return _Check(cast)
        if base in _WIDE_INTEGER_TYPES:
            return _Check(cast, f"{ref} between -9223372036854775808 and 9223372036854775807",
                          "is out of the integer range")  # fmt: skip
        number = ref if base in _FLOAT_TYPES or base == "DECIMAL" else f"try_cast({ref} as DOUBLE)"
        return _Check(f"cast({number} as BIGINT)", _whole(number), "is not a whole number")
    if target == "DOUBLE":
        if base in _FLOAT_TYPES:
            return _Check(cast, f"isfinite({ref})", "is not a finite number")
        if base in _INTEGER_TYPES or base == "DECIMAL":
            return _Check(cast)
        number = f"try_cast({ref} as DOUBLE)"
        return _Check(number, f"isfinite({number})", "is not a finite number")
    if target == "TIMESTAMP":
        if base in _TIMESTAMP_TYPES:
            return _Check(cast)
        if base == "TIMESTAMP_NS":
            return _Check(cast, f"epoch_ns({ref}) % 1000 = 0", "has nanoseconds")
        if source_type.upper() in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
            # Exports (BigQuery's) label New York wall-clock times as UTC: keep the clock as
            # written, whatever the session's time zone.
            return _Check(f"timezone('UTC', {ref})")
        parsed = f"try_cast({ref} as TIMESTAMP)"
        return _Check(parsed, f"{parsed} is not null", "is not a timestamp")
    raise SourceError(f"no rule reads a {source_type} value into a {target} column")


@dataclass(frozen=True)
class ColumnMap:
    """How one file's columns map onto its stable schema."""

    schema: TableSchema
    source_types: dict[str, str]  # header -> the type the reader gives it
    by_column: dict[str, str]  # stable column -> header
    extras: dict[str, str]  # header -> the extra column it is kept as
    # CSV fields after the header's last name (trailing commas): they must be empty.
    trailing: tuple[str, ...] = ()

    @property
    def derived_zones(self) -> list[tuple[str, str, str, str]]:
        """(zone id, longitude, latitude, status) of each zone the file gives as coordinates
        only: the 2009-2016 yellow and green files."""
        return [
            names
            for names in ZONE_COLUMNS
            if self.schema.has(names[0])
            and names[0] not in self.by_column
            and names[1] in self.by_column
            and names[2] in self.by_column
        ]

    @property
    def needs_staging(self) -> bool:
        """Whether the file must be parsed into parts by Tripline's own DuckDB (the
        quarantine route): its zones are found in Python over Arrow batches of the parse
        (``ingestion.trips.zone_columns``), or its rows end in fields the header does not
        name. The strict SELECT runs inside the warehouse's connection, where neither can be
        done."""
        return bool(self.derived_zones or self.trailing)


def _matched(schema: TableSchema, headers: Sequence[str]) -> dict[str, str]:
    """stable column -> header: a column's own name first, then its aliases, in header order."""
    by_column: dict[str, str] = {}
    for own in (True, False):
        for header in headers:
            column = schema.match(header)
            if column is None or column.name in DERIVED or schema.own_name(header) != own:
                continue
            by_column.setdefault(column.name, header)
    return by_column


def map_columns(
    schema: TableSchema,
    source_types: Mapping[str, str],
    file_name: str,
    trailing: Sequence[str] = (),
) -> ColumnMap:
    """Match headers to the stable schema by key; unknown headers are kept as text."""
    headers = [h for h in source_types if h not in trailing]
    by_column = _matched(schema, headers)
    taken = set(by_column.values())
    extras: dict[str, str] = {}
    known = {c.name for c in schema.columns}
    for header in headers:
        if header in taken:
            continue
        name = snake_case(header)
        while name in known:
            name += "_extra"
        known.add(name)
        extras[header] = name
    missing = [c for c in schema.required if not any(p in by_column for p in c.split("|"))]
    if missing:
        names = " or ".join(missing).replace("|", " or ")
        raise SourceError(
            f"{file_name}: header has no {names} column "
            f"(found: {', '.join(headers[:8])}{'…' if len(headers) > 8 else ''})"
        )
    return ColumnMap(schema, dict(source_types), by_column, extras, tuple(trailing))


def csv_parse_types(
    schema: TableSchema, headers: list[str], trailing: Sequence[str] = ()
) -> dict[str, str]:
    """The type DuckDB's CSV reader gives each header (unknown headers, coded columns and
    trailing fields: text)."""
    matched = {header: column for column, header in _matched(schema, headers).items()}
    types: dict[str, str] = {}
    for header in [*headers, *trailing]:
        column = schema.match(header) if header in matched else None
        if column is None or column.codes is not None:
            types[header] = "VARCHAR"
        else:
            types[header] = CSV_PARSE_TYPE.get(column.duckdb_type, "VARCHAR")
    return types


def _checks(mapping: ColumnMap) -> list[tuple[Column, _Check | None]]:
    result: list[tuple[Column, _Check | None]] = []
    for column in mapping.schema.columns:
        header = mapping.by_column.get(column.name)
        if header is None:
            result.append((column, None))
        else:
            ref = f"src.{quote(header)}"
            result.append((column, _check(column, ref, mapping.source_types[header])))
    return result


def _reason_of(column: Column, check: _Check, header: str) -> str:
    shown = f"coalesce(cast(src.{quote(header)} as VARCHAR), 'null')"
    return f"{literal(column.name + ' ')} || {shown} || {literal(' ' + check.why)}"


def _tail(mapping: ColumnMap, file_name: str) -> list[str]:
    """Unknown headers as text, and the file's name; dlt adds the load id."""
    select = [
        f"cast(src.{quote(header)} as VARCHAR) as {quote(name)}"
        for header, name in mapping.extras.items()
    ]
    select.append(f"{file_name} as {SOURCE_FILE_COLUMN}")
    return select


def _checked_columns(mapping: ColumnMap) -> list[tuple[Column, str | None, tuple[str, str, str]]]:
    """Each stable column: its plain value, or (for a checked one) the value when the source
    value is good, the condition that it is bad, and why, as SQL."""
    columns: list[tuple[Column, str | None, tuple[str, str, str]]] = []
    for column, check in _checks(mapping):
        if check is None:
            columns.append((column, f"cast(null as {column.duckdb_type})", ("", "", "")))
        elif check.ok is None:
            columns.append((column, check.value, ("", "", "")))
        else:
            header = mapping.by_column[column.name]
            bad = f"src.{quote(header)} is not null and not coalesce({check.ok}, false)"
            columns.append((column, None, (check.value, bad, _reason_of(column, check, header))))
    return columns


def strict_select(mapping: ColumnMap, file_name: str, reader: str) -> str:
    """A SELECT over ``reader`` that fails the statement on the first bad value, naming it.

    ``file_name``: the SQL that gives a row's file name — a literal for one file, or
    ``parse_filename(src._tripline_file)`` for a reader over files that share a header.
    """
    if mapping.needs_staging:
        raise SourceError("a file whose zones or trailing fields need staging has no strict SELECT")
    select = []
    for column, plain, (good, bad, why) in _checked_columns(mapping):
        value = plain or f"case when {bad} then error({file_name} || ': ' || {why}) else {good} end"
        select.append(f"{value} as {quote(column.name)}")
    return f"select {', '.join(select + _tail(mapping, file_name))} from {reader} as src"


def quarantine_select(mapping: ColumnMap, source_name: str, reader: str, row_number: str) -> str:
    """A SELECT over ``reader`` that keeps every row: its values, ``_tripline_reason`` (NULL
    when the row is good) and, for a bad row, the row as text and its number
    (``row_number``, an SQL expression over ``src``, or ``null`` when rows have none).

    The zone columns of a coordinate-era file are NULL here: ``zone_columns.zoned`` fills
    them over the result's Arrow batches."""
    select = []
    reasons = []
    for column, plain, (good, bad, why) in _checked_columns(mapping):
        select.append(
            f"{plain or f'case when not ({bad}) then {good} end'} as {quote(column.name)}"
        )
        if plain is None:
            reasons.append(f"case when {bad} then {why} end")
    for field in mapping.trailing:
        value = f"nullif(trim(src.{quote(field)}), '')"
        reasons.append(
            f"case when {value} is not null then "
            f"'a value after the last column of the header: ' || {value} end"
        )
    reason = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "null"
    raw = ", ".join(f"coalesce(cast(src.{quote(h)} as VARCHAR), '')" for h in mapping.source_types)
    rejected = f"src.{REASON} is not null"
    select += _tail(mapping, literal(source_name))
    select.append(f"src.{REASON} as {REASON}")
    select.append(f"case when {rejected} then concat_ws(',', {raw}) end as {RAW_LINE}")
    select.append(f"case when {rejected} then {row_number} end as {ROW_NUMBER}")
    select.append(f"cast(null as BIGINT) as {BYTE_POSITION}")
    # The reason is computed once per row, below the columns that use it.
    checked = f"(select src.*, {reason} as {REASON} from {reader} as src)"
    return f"select {', '.join(select)} from {checked} as src"
