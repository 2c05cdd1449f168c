"""Every era of the TLC archive, CSV and Parquet, through one real pipeline run (issue 12).

The files come from the generator (``era="archive"``/``"bigquery"``); every assertion reads
the files back on its own (csv, pyarrow) and compares the warehouse with them, never with
what the loader says it did.
"""

from __future__ import annotations

import csv
import gzip
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from ingestion.core.settings import Settings, load_settings
from ingestion.trips.generator import generate
from ingestion.trips.months import Month
from ingestion.trips.pipeline import BATCH_FILES, run_trips
from ingestion.trips.zone_points import STATUS_NAMES, locate
from tests.helpers import REPO

from .warehouse import contents, file_counts

ROWS = 1_500
# (service, month, format): every header era of the issue, each format at least once.
ARCHIVE_FILES = [
    ("yellow", "2009-01", "csv"),  # 2009 names, text codes
    ("yellow", "2009-02", "parquet"),  # the same, Rate_Code and mta_tax of Arrow's null type
    ("yellow", "2012-03", "csv"),  # 2010-2014 names, a blank line after the header
    ("yellow", "2013-05", "parquet"),
    ("yellow", "2014-01", "csv.gz"),  # a space after every comma of the header
    ("yellow", "2015-06", "csv"),  # VendorID, RateCodeID, coordinates
    ("yellow", "2016-02", "parquet"),  # RatecodeID
    ("yellow", "2017-03", "csv"),  # location ids
    ("green", "2013-08", "csv"),  # trailing commas
    ("green", "2014-02", "csv"),
    ("green", "2015-03", "parquet"),  # improvement_surcharge, Ehail_fee of null type
    ("green", "2016-04", "csv"),
    ("fhv", "2015-01", "csv"),
    ("fhv", "2017-03", "csv"),
    ("fhv", "2017-09", "csv"),
    ("fhv", "2018-05", "csv"),
    ("fhv", "2019-04", "csv"),
    ("fhv", "2020-01", "parquet"),
    ("fhvhv", "2019-02", "parquet"),
]
BIGQUERY_FILES = [
    ("yellow", "2019-01", "csv"),
    ("yellow", "2019-02", "parquet"),
    ("green", "2019-02", "parquet"),
]
COORDINATE_FILES = [
    f"{kind}_tripdata_{month}.{fmt}"
    for kind, month, fmt in ARCHIVE_FILES
    if kind in ("yellow", "green") and month <= "2016-06"
]
# Bad codes written into two lines of a 2009 file, and a value after the last column.
BAD_CODES = "yellow_tripdata_2009-03.csv"
BAD_TRAILING = "green_tripdata_2014-02.csv"
TABLES = ("yellow_trips", "green_trips", "fhv_trips", "fhvhv_trips")


def _month(text: str) -> Month:
    year, month = text.split("-")
    return Month(int(year), int(month))


def _spoil(path: Path, line_numbers: dict[int, tuple[int, str]]) -> None:
    """Replace field ``i`` of the given (1-based) lines with a text."""
    lines = path.read_text().splitlines(keepends=True)
    for number, (field, text) in line_numbers.items():
        fields = lines[number - 1].rstrip("\n").split(",")
        fields[field] = text
        lines[number - 1] = ",".join(fields) + "\n"
    path.write_text("".join(lines))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Settings, Any]]:
    folder = tmp_path_factory.mktemp("archive")
    for kind, month, fmt in ARCHIVE_FILES:
        generate(folder, [_month(month)], ROWS, fmt, seed=12, kinds=(kind,), era="archive")
    for kind, month, fmt in BIGQUERY_FILES:
        generate(folder, [_month(month)], ROWS, fmt, seed=12, kinds=(kind,), era="bigquery")
    generate(folder, [Month(2009, 3)], ROWS, "csv", seed=12, kinds=("yellow",), era="archive")
    _spoil(folder / BAD_CODES, {5: (0, "XYZ"), 9: (11, "Cheque")})
    _spoil(folder / BAD_TRAILING, {7: (-1, "7")})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRIPLINE_DUCKDB_PATH", str(folder.parent / f"{folder.name}.duckdb"))
        env.setenv("TRIPLINE_MEMORY_LIMIT", "2GB")
        env.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        settings = load_settings()
        summary, _ = run_trips(settings, str(folder))
        yield folder, settings, summary


def _query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """The file's data lines as dicts by stripped header name, blank lines aside."""
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    header = [name.strip() for name in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def _seed(name: str) -> dict[str, str]:
    with (REPO / "seeds" / f"{name}.csv").open(newline="") as handle:
        return {row["source_code"]: list(row.values())[1] for row in csv.DictReader(handle)}


def test_every_file_of_every_era_is_held_once_loaded_or_rejected(archive: Any) -> None:
    folder, settings, summary = archive
    assert summary.failed_inputs == []
    expected = file_counts(folder)
    held: dict[str, int] = {}
    for table in TABLES:
        for name, count in contents(settings.duckdb_path, table).per_file().items():
            assert name not in held, f"{name} is in two tables"
            held[name] = count
    assert held == expected
    assert expected[BAD_CODES] == ROWS  # the file's own lines, as written


def test_text_codes_become_todays_codes_and_unknown_codes_are_rejected(archive: Any) -> None:
    folder, settings, _ = archive
    vendors, payments = _seed("tlc_vendor_codes"), _seed("tlc_payment_type_codes")
    for name, vendor_header, payment_header in (
        ("yellow_tripdata_2009-01.csv", "vendor_name", "Payment_Type"),
        ("yellow_tripdata_2014-01.csv.gz", "vendor_id", "payment_type"),
    ):
        rows = _csv_rows(folder / name)
        assert {r[vendor_header] for r in rows} - set(vendors) == set()
        loaded = _query(
            settings,
            f"select vendor_id, payment_type, count(*) from raw_tlc.yellow_trips "
            f"where _source_file = '{name}' group by all",
        )
        by_vendor: Counter[int] = Counter()
        by_payment: Counter[int] = Counter()
        for vendor, payment, count in loaded:
            by_vendor[vendor] += count
            by_payment[payment] += count
        assert by_vendor == Counter(int(vendors[r[vendor_header]]) for r in rows)
        assert by_payment == Counter(int(payments[r[payment_header]]) for r in rows)

    rejects = _query(
        settings,
        "select reason, raw_line from raw_tlc.yellow_trips_rejected "
        f"where _source_file = '{BAD_CODES}' order by reason",
    )
    assert len(rejects) == 2
    assert (
        "payment_type Cheque is neither a whole number nor a code of "
        "seeds/tlc_payment_type_codes.csv" in rejects[0][0]
    )
    assert "vendor_id XYZ is neither" in rejects[1][0]
    assert rejects[1][1].startswith("XYZ,")
    [(trailing,)] = _query(
        settings,
        f"select reason from raw_tlc.green_trips_rejected where _source_file = '{BAD_TRAILING}'",
    )
    assert trailing == "a value after the last column of the header: 7"


def _file_points(path: Path) -> list[tuple[float | None, ...]]:
    """(pickup lon, lat, dropoff lon, lat) of every row, from the file itself."""
    names = [
        ("Start_Lon", "Start_Lat", "End_Lon", "End_Lat"),
        ("pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude"),
    ]
    if path.name.endswith(".parquet"):
        table = pq.read_table(path)
        lowered = {n.lower(): n for n in table.column_names}
        for option in names:
            if option[0].lower() in lowered:
                columns = [table[lowered[n.lower()]].to_pylist() for n in option]
                return [tuple(values) for values in zip(*columns, strict=True)]
    rows = _csv_rows(path)
    lowered = {n.lower(): n for n in rows[0]}
    for option in names:
        if option[0].lower() in lowered:
            keys = [lowered[n.lower()] for n in option]
            return [tuple(float(r[k]) if r[k] else None for k in keys) for r in rows]
    raise AssertionError(f"no coordinates in {path.name}")


def _sorted(points: list[tuple[float | None, ...]]) -> list[tuple[float, ...]]:
    return sorted(tuple(-999.0 if v is None else v for v in p) for p in points)


@pytest.mark.parametrize("name", COORDINATE_FILES)
def test_coordinates_are_kept_and_zones_equal_the_exact_lookup(archive: Any, name: str) -> None:
    folder, settings, _ = archive
    table = "yellow_trips" if name.startswith("yellow") else "green_trips"
    rows = _query(
        settings,
        "select pickup_longitude, pickup_latitude, dropoff_longitude, dropoff_latitude, "
        "pu_location_id, pu_zone_status, do_location_id, do_zone_status "
        f"from raw_tlc.{table} where _source_file = '{name}'",
    )
    points = [row[:4] for row in rows]
    if name != BAD_TRAILING:  # one of its rows is a reject
        assert _sorted(points) == _sorted(_file_points(folder / name))
    for offset, (lon_at, lat_at) in ((4, (0, 1)), (6, (2, 3))):
        lon = np.array([np.nan if r[lon_at] is None else r[lon_at] for r in rows])
        lat = np.array([np.nan if r[lat_at] is None else r[lat_at] for r in rows])
        found = locate(lon, lat)
        missing = np.array([r[lon_at] is None or r[lat_at] is None for r in rows])
        status = np.where(missing, 1, found.status)
        expected = [
            (int(z) if s == 0 else None, STATUS_NAMES[s])
            for z, s in zip(found.location_id, status, strict=True)
        ]
        assert [(r[offset], r[offset + 1]) for r in rows] == expected
    statuses = Counter(r[5] for r in rows)
    assert statuses["inside"] > 0.95 * len(rows)
    assert statuses["zero"] > 0 and statuses["outside"] > 0


def test_location_id_eras_have_no_zone_status(archive: Any) -> None:
    _, settings, _ = archive
    [(ids, statuses)] = _query(
        settings,
        "select count(pu_location_id), count(pu_zone_status) from raw_tlc.yellow_trips "
        "where _source_file in ('yellow_tripdata_2017-03.csv', 'yellow_tripdata_2019-01.csv')",
    )
    assert (ids, statuses) == (2 * ROWS, 0)


def test_null_typed_parquet_columns_load_as_nulls(archive: Any) -> None:
    folder, settings, _ = archive
    schema = pq.read_schema(folder / "yellow_tripdata_2009-02.parquet")
    assert str(schema.field("Rate_Code").type) == "null"
    [(rows, rate_codes)] = _query(
        settings,
        "select count(*), count(ratecode_id) from raw_tlc.yellow_trips "
        "where _source_file = 'yellow_tripdata_2009-02.parquet'",
    )
    assert (rows, rate_codes) == (ROWS, 0)


def test_fhv_headers_of_every_year_fill_the_contract_columns(archive: Any) -> None:
    folder, settings, _ = archive
    columns = dict(
        _query(
            settings,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_tlc' and table_name = 'fhv_trips'",
        )
    )
    contract = {
        "dispatching_base_num": "VARCHAR",
        "pickup_datetime": "TIMESTAMP",
        "dropoff_datetime": "TIMESTAMP",
        "pu_location_id": "BIGINT",
        "do_location_id": "BIGINT",
        "sr_flag": "BIGINT",
        "affiliated_base_number": "VARCHAR",
        "_source_file": "VARCHAR",
        "_dlt_load_id": "VARCHAR",
    }
    assert {name: columns.get(name) for name in contract} == contract
    for name, header in (
        ("fhv_tripdata_2015-01.csv", "locationID"),
        ("fhv_tripdata_2019-04.csv", "PULocationID"),
    ):
        rows = _csv_rows(folder / name)
        [(bases, zones, pickups)] = _query(
            settings,
            "select count(dispatching_base_num), count(pu_location_id), count(pickup_datetime) "
            f"from raw_tlc.fhv_trips where _source_file = '{name}'",
        )
        assert (bases, zones, pickups) == (ROWS, sum(1 for r in rows if r[header]), ROWS)
    # 2018 has both spellings: the column's own name fills it, the other is kept beside it.
    [(own, other)] = _query(
        settings,
        "select count(dispatching_base_num), count(dispatching_base_number) "
        "from raw_tlc.fhv_trips where _source_file = 'fhv_tripdata_2018-05.csv'",
    )
    assert (own, other) == (ROWS, ROWS)
    # Columns no stable schema knows are kept as text, on both routes.
    [(years,)] = _query(
        settings,
        "select count(data_file_year) from raw_tlc.yellow_trips "
        "where _source_file in ('yellow_tripdata_2019-01.csv', 'yellow_tripdata_2019-02.parquet')",
    )
    assert years == 2 * ROWS
    [(affiliated, shared)] = _query(
        settings,
        "select count(affiliated_base_number), count(sr_flag) from raw_tlc.fhv_trips "
        "where _source_file = 'fhv_tripdata_2020-01.parquet'",
    )
    table = pq.read_table(folder / "fhv_tripdata_2020-01.parquet")
    assert affiliated == ROWS - table["Affiliated_base_number"].null_count
    assert shared == 0


def test_bigquery_exports_keep_the_wall_clock_and_their_zone_ids(archive: Any) -> None:
    folder, settings, _ = archive
    rows = _csv_rows(folder / "yellow_tripdata_2019-01.csv")
    assert rows[0]["pickup_datetime"].endswith("+00:00")
    loaded = _query(
        settings,
        "select strftime(tpep_pickup_datetime, '%Y-%m-%d %H:%M:%S'), pu_location_id, "
        "improvement_surcharge, ratecode_id from raw_tlc.yellow_trips "
        "where _source_file = 'yellow_tripdata_2019-01.csv'",
    )
    assert sorted(loaded) == sorted(
        (
            r["pickup_datetime"].removesuffix("+00:00"),
            int(r["pickup_location_id"]),
            float(r["imp_surcharge"]),
            int(float(r["rate_code"])) if r["rate_code"] else None,
        )
        for r in rows
    )
    table = pq.read_table(folder / "yellow_tripdata_2019-02.parquet")
    assert str(table.schema.field("pickup_datetime").type) == "timestamp[ns, tz=UTC]"
    [(first,)] = _query(
        settings,
        "select min(tpep_pickup_datetime) from raw_tlc.yellow_trips "
        "where _source_file = 'yellow_tripdata_2019-02.parquet'",
    )
    utc = min(table["pickup_datetime"].to_pylist())
    assert first == utc.replace(tzinfo=None)


def test_archive_headers_are_written_as_the_tlc_did(archive: Any) -> None:
    folder, _, _ = archive
    with gzip.open(folder / "yellow_tripdata_2014-01.csv.gz", "rt") as handle:
        assert handle.readline().startswith("vendor_id, pickup_datetime, dropoff_datetime, ")
    lines = (folder / "yellow_tripdata_2012-03.csv").read_text().splitlines()
    assert lines[1] == ""
    header, first = (folder / "green_tripdata_2013-08.csv").read_text().splitlines()[:2]
    assert first.endswith(",,") and not header.endswith(",")
    assert header.count(",") + 2 == first.count(",")


def _months(first: str, last: str) -> list[str]:
    months = [_month(first)]
    while months[-1] < _month(last):
        months.append(months[-1].next())
    return [str(m) for m in months]


def test_the_archive_over_http_asks_each_service_only_for_its_published_months(
    tmp_path: Path,
) -> None:
    from devservers.tlc_http import serve_tlc_files
    from tests.helpers import TRIPLINE

    from .warehouse import environment

    folder = tmp_path / "tlc"
    for kind, month in (
        ("yellow", "2009-01"),
        ("green", "2013-08"),
        ("fhv", "2015-01"),
        ("fhvhv", "2019-02"),
    ):
        generate(folder, [_month(month)], 300, "parquet", seed=3, kinds=(kind,), era="archive")
    database = tmp_path / "w.duckdb"
    with serve_tlc_files(folder) as (base_url, server):
        run = subprocess.run(
            [
                TRIPLINE,
                "pipeline",
                "run",
                "trips",
                "--source",
                base_url,
                "--months",
                "2009-01:2025-12",
                "--services",
                "yellow,green,fhv,fhvhv",
            ],
            cwd=REPO,
            env=environment(database),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    asked = {path for method, path, _ in server.requests if method == "HEAD"}
    expected = {"/misc/taxi_zone_lookup.csv"} | {
        f"/trip-data/{kind}_tripdata_{month}.parquet"
        for kind, first in (
            ("yellow", "2009-01"),
            ("green", "2013-08"),
            ("fhv", "2015-01"),
            ("fhvhv", "2019-02"),
        )
        for month in _months(first, "2025-12")
    }
    assert asked == expected
    assert run.returncode == 5, run.stderr  # the months the server does not have
    missing = set(re.findall(r"(\w+_tripdata_[\d-]+\.parquet): http\S+ not found", run.stderr))
    present = {f"/trip-data/{p.name}" for p in folder.glob("*_tripdata_*")}
    assert {f"/trip-data/{name}" for name in missing} == expected - present - {
        "/misc/taxi_zone_lookup.csv"
    }
    held = {}
    for table in TABLES:
        held.update(contents(database, table).per_file())
    assert held == file_counts(folder)


def test_coordinate_era_files_of_a_batch_load_in_one_dlt_load(archive: Any) -> None:
    """Files parsed by Tripline's DuckDB (zones from coordinates, trailing fields) load
    together, one dlt load per batch of the run (BATCH_FILES), not one load each."""
    _, settings, _ = archive
    names = ", ".join(f"'{name}'" for name in [*COORDINATE_FILES, BAD_CODES])
    [(files, loads)] = _query(
        settings,
        "select count(distinct _source_file), count(distinct _dlt_load_id) from ("
        f"select _source_file, _dlt_load_id from raw_tlc.yellow_trips where _source_file in "
        f"({names}) union all select _source_file, _dlt_load_id from raw_tlc.green_trips "
        f"where _source_file in ({names}))",
    )
    batches = -(-(len(ARCHIVE_FILES) + len(BIGQUERY_FILES) + 2) // BATCH_FILES)
    assert files == len(COORDINATE_FILES) + 1
    assert loads <= batches, f"{files} files in {loads} loads"


def test_a_failed_load_of_parsed_files_is_undone_and_they_load_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch of parsed files lands, its check sees a wrong count (as a file changed in
    flight would give): the load is retracted, each file loads alone, each exactly once."""
    from ingestion.trips import loads

    folder = tmp_path / "tlc"
    for kind, month in (("yellow", Month(2015, 6)), ("green", Month(2014, 2))):
        generate(folder, [month], 400, "csv", seed=3, kinds=(kind,), era="archive")
    (folder / "taxi_zone_lookup.csv").unlink()
    real = loads.count_rows
    calls: list[int] = []

    def wrong_once(*args: Any) -> Any:
        counts = real(*args)
        calls.append(len(counts))
        return {key: n + 1 for key, n in counts.items()} if len(calls) == 1 else counts

    monkeypatch.setattr(loads, "count_rows", wrong_once)
    monkeypatch.setenv("TRIPLINE_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    settings = load_settings()
    summary, outcomes = run_trips(settings, str(folder))

    assert summary.failed_inputs == []
    assert len(calls) == 3  # the batch, then each file alone
    assert len({o.load_id for o in outcomes}) == 2
    held = {**contents(settings.duckdb_path, "yellow_trips").per_file(),
            **contents(settings.duckdb_path, "green_trips").per_file()}  # fmt: skip
    assert held == file_counts(folder)


def test_a_coordinate_file_that_breaks_mid_parse_fails_in_one_clear_line(
    tmp_path: Path,
) -> None:
    """The parse of a coordinate-era file streams through the zone step: an error in the
    middle of the file is the parse's own error, not the stream's wrapping of it."""
    from ingestion.core.errors import SourceError
    from ingestion.trips.reader import quarantine
    from ingestion.trips.schema import require_kind

    generate(tmp_path, [Month(2015, 6)], 300_000, "parquet", seed=1, kinds=("yellow",),
             era="archive")  # fmt: skip
    path = tmp_path / "yellow_tripdata_2015-06.parquet"
    pq.write_table(pq.read_table(path), path, row_group_size=50_000, compression="none")
    data = path.read_bytes()
    middle = len(data) // 2
    path.write_bytes(data[:middle] + b"\xff" * 4_000 + data[middle + 4_000 :])
    settings = load_settings()
    with pytest.raises(SourceError) as failure:
        quarantine(path, require_kind(path.name), path.name, tmp_path / "parts", settings)
    message = str(failure.value)
    assert message.startswith(f"cannot read {path.name}: ")
    assert "\n" not in message and "Traceback" not in message and "_tripline" not in message
