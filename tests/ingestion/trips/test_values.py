"""Property tests: dirty values through the CSV and Parquet readers, nothing lost or altered.

Every generated row carries its own id in a text column. After the reader (the strict SELECT,
else the quarantine), each id is either loaded once with every value exactly as an
independent oracle reads the text — or rejected once with a reason. Never rounded, never
dropped. Integers are generated with at most 15 significant digits: the documented limit of
integer columns read through DOUBLE (ingestion/trips/projection.py).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.core.settings import Settings, load_settings
from ingestion.trips.reader import (
    file_row_count,
    good_rows_sql,
    quarantine,
    rejects_sql,
    strict_sql,
)
from ingestion.trips.schema import classify

INT_COLUMNS = {"VendorID": "vendor_id", "passenger_count": "passenger_count",
               "PULocationID": "pu_location_id"}  # fmt: skip
FLOAT_COLUMNS = {"trip_distance": "trip_distance", "fare_amount": "fare_amount"}
HEADER = ["VendorID", "tpep_pickup_datetime", "passenger_count", "trip_distance",
          "PULocationID", "fare_amount", "row_id"]  # fmt: skip
LIMIT = 2**53


@pytest.fixture(scope="module")
def reader_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("values")
    return load_settings({"TRIPLINE_DUCKDB_PATH": str(folder / "w.duckdb"),
                          "TRIPLINE_MEMORY_LIMIT": "1GB"})  # fmt: skip


@pytest.fixture
def workdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="tripline-values-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def read_back(path: Path, settings: Settings, out: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """(loaded rows, raw text of rejected rows) as the pipeline would load them."""
    kind = classify(path.name)
    assert kind is not None
    con = duckdb.connect()
    try:
        [(_, sql, _)] = strict_sql([path], kind, settings)
        strict = con.sql(sql)
        return strict.to_arrow_table().to_pylist(), []
    except duckdb.Error:
        pass
    parsed = quarantine(path, kind, path.name, Path(tempfile.mkdtemp(dir=out)) / "parts", settings)
    rows_sql, bad_sql = good_rows_sql(parsed), rejects_sql(parsed)
    rows = con.sql(rows_sql).to_arrow_table().to_pylist() if rows_sql else []
    bad = (
        [str(r[0]) for r in con.execute(f"select raw_line from ({bad_sql})").fetchall()]
        if bad_sql
        else []
    )
    for reason in con.execute(f"select reason from ({bad_sql})").fetchall() if bad_sql else []:
        assert reason[0], "every reject says why"
    return rows, bad


def exact_integer(text: str) -> int | str | None:
    """The oracle for an integer column: the value, None for empty, "reject" otherwise."""
    if text.strip() == "":
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return "reject"
    if not number.is_finite() or number != number.to_integral_value() or abs(number) >= LIMIT:
        return "reject"
    return int(number)


def exact_float(text: str) -> float | str | None:
    if text.strip() == "":
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return "reject"
    return value if math.isfinite(value) else "reject"


def _integer_text() -> st.SearchStrategy[str]:
    whole = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1)
    return st.one_of(
        whole.map(str),
        whole.map(lambda n: f"{n}.0"),
        st.decimals(
            allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6
        ).map(str),
        st.sampled_from(["", "nan", "inf", "-inf", "1e20", "1e3", "2.5", "abc", " 7 "]),
    )


def _float_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
        st.integers(min_value=-(10**9), max_value=10**9).map(str),
        st.sampled_from(["", "nan", "inf", "1e400", "-0.0", ".5", "x1"]),
    )


ROW = st.fixed_dictionaries({
    "VendorID": _integer_text(),
    "passenger_count": _integer_text(),
    "PULocationID": _integer_text(),
    "trip_distance": _float_text(),
    "fare_amount": _float_text(),
})  # fmt: skip


def _check(rows: list[dict[str, Any]], bad: list[str], generated: list[dict[str, str]]) -> None:
    by_id = {row["row_id"]: row for row in rows}
    assert len(by_id) == len(rows), "a row loaded twice"
    for index, source in enumerate(generated):
        row_id = f"r{index}"
        expected_ints = {c: exact_integer(source[c]) for c in INT_COLUMNS}
        expected_floats = {c: exact_float(source[c]) for c in FLOAT_COLUMNS}
        should_reject = "reject" in [*expected_ints.values(), *expected_floats.values()]
        rejected = sum(1 for text in bad if text.rsplit(",", 1)[-1] == row_id)
        if should_reject:
            assert row_id not in by_id, (source, by_id.get(row_id))
            assert rejected == 1, (source, bad)
            continue
        assert rejected == 0, (source, bad)
        loaded = by_id[row_id]
        for header, column in INT_COLUMNS.items():
            assert loaded[column] == expected_ints[header], (header, source[header], loaded[column])
        for header, column in FLOAT_COLUMNS.items():
            assert loaded[column] == expected_floats[header], (header, source[header])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(generated=st.lists(ROW, min_size=1, max_size=12))
def test_csv_values_load_exactly_or_are_rejected(
    generated: list[dict[str, str]], reader_settings: Settings, workdir: Path
) -> None:
    path = workdir / "yellow_tripdata_2024-01.csv"
    lines = [",".join(HEADER)]
    for index, row in enumerate(generated):
        values = {
            **row,
            "tpep_pickup_datetime": "2024-01-05 10:00:00",
            "row_id": f"r{index}",
        }
        lines.append(",".join(values[h] for h in HEADER))
    path.write_text("\n".join(lines) + "\n")
    kind = classify(path.name)
    assert kind is not None

    rows, bad = read_back(path, reader_settings, workdir)

    assert len(rows) + len(bad) == file_row_count(path, kind, path.name, reader_settings)
    assert len(rows) + len(bad) == len(generated)
    _check(rows, bad, generated)


PARQUET_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(10**6), max_value=10**6).map(float),
    st.sampled_from([2.5, 1e20, -0.0, float(LIMIT), float(LIMIT - 1)]),
    st.none(),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(generated=st.lists(st.tuples(PARQUET_NUMBER, PARQUET_NUMBER, st.integers(-10**12, 10**12)),
                min_size=1, max_size=12))  # fmt: skip
def test_parquet_values_load_exactly_or_are_rejected(
    generated: list[tuple[float | None, float | None, int]],
    reader_settings: Settings,
    workdir: Path,
) -> None:
    """Integers written as doubles (as real TLC files do for passenger_count) and money."""
    path = workdir / "yellow_tripdata_2024-01.parquet"
    table = pa.table({
        "tpep_pickup_datetime": pa.array([None] * len(generated), pa.timestamp("us")),
        "passenger_count": pa.array([g[0] for g in generated], pa.float64()),
        "fare_amount": pa.array([g[1] for g in generated], pa.float64()),
        "PULocationID": pa.array([g[2] for g in generated], pa.int64()),
        "row_id": pa.array([f"r{i}" for i in range(len(generated))]),
    })  # fmt: skip
    pq.write_table(table, path)

    rows, bad = read_back(path, reader_settings, workdir)

    assert len(rows) + len(bad) == len(generated)
    by_id = {row["row_id"]: row for row in rows}
    for index, (count, fare, zone) in enumerate(generated):
        count_ok = count is None or (
            math.isfinite(count) and count == int(count) and abs(count) < LIMIT
        )
        fare_ok = fare is None or math.isfinite(fare)
        row = by_id.get(f"r{index}")
        if not (count_ok and fare_ok):
            assert row is None
            continue
        assert row is not None
        assert row["passenger_count"] == (None if count is None else int(count))
        assert row["fare_amount"] == fare
        assert row["pu_location_id"] == zone
