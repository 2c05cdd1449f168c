"""The multi-service layers: every service reaches fct_trips, and the multi-service marts
agree with plain SQL over the raw tables; a warehouse without some services still builds.

The services project loads yellow, green and fhvhv files made by the generator for January
2024 and January 2025 (the congestion fee's first weeks and the same weeks a year earlier)
and an fhv table written here to the raw-table contract (the generator does not write FHV
files yet). The rules the marts rely on are re-stated below on the raw column names, not read
from the seed, so a model that drops, double-counts or mislabels a service shows up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.core.settings import load_settings
from ingestion.report.build import build_report
from ingestion.trips.generator import MANIFEST_FILE, generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import run_trips
from tests.ingestion.dbt.conftest import BuiltProject

REPO = Path(__file__).resolve().parents[3]
ROWS = 1_500
RELOADED_ROWS = 1_200
FHV_ROWS = 300
KINDS = ("yellow", "green", "fhvhv")
MARTS = [
    "trips_by_service_month",
    "service_share_by_borough_year",
    "congestion_fee_zone_effect",
    "airport_trips_by_service_year",
]
COMPANIES = {"HV0002": "juno", "HV0003": "uber", "HV0004": "via", "HV0005": "lyft"}


def _write_fhv(con: duckdb.DuckDBPyConnection, tlc_dir: Path) -> None:
    """raw_tlc.fhv_trips as the loader will write it, from the generator's fhvhv trips:
    every third pickup zone missing (as in real FHV files), every fifth trip shared. The rows
    carry a load id dlt recorded as complete (the pipeline deletes rows of unfinished loads)."""
    con.execute(
        """
        create table raw_tlc.fhv_trips (
            dispatching_base_num varchar, pickup_datetime timestamp,
            dropoff_datetime timestamp, pu_location_id bigint, do_location_id bigint,
            sr_flag bigint, affiliated_base_number varchar, _source_file varchar,
            _dlt_load_id varchar
        )
        """
    )
    for month in ("2024-01", "2025-01"):
        con.execute(
            f"""
            insert into raw_tlc.fhv_trips
            select 'B00013', pickup_datetime, dropoff_datetime,
                case when n % 3 = 0 then null else PULocationID end, DOLocationID,
                case when n % 5 = 0 then 1 end, 'B00013',
                'fhv_tripdata_{month}.parquet', (select max(load_id) from raw_tlc._dlt_loads)
            from (
                select *, row_number() over () as n
                from read_parquet('{tlc_dir}/fhvhv_tripdata_{month}.parquet')
                where date_trunc('month', pickup_datetime) = date '{month}-01'
                limit {FHV_ROWS}
            )
            """
        )


@pytest.fixture(scope="module")
def services_project(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    root = tmp_path_factory.mktemp("services")
    settings = load_settings(
        {
            "TRIPLINE_DUCKDB_PATH": str(root / "data" / "tripline.duckdb"),
            "TRIPLINE_MEMORY_LIMIT": "2GB",
        }
    )
    tlc_dir = root / "tlc"
    for month in ("2024-01", "2025-01"):
        generate(tlc_dir, parse_month_range(month), ROWS, "parquet", seed=3, kinds=KINDS)
    run_trips(settings, str(tlc_dir))
    with duckdb.connect(str(settings.duckdb_path)) as con:
        _write_fhv(con, tlc_dir)
        # Green's zone status as a coordinate-era file leaves it (modern files load it null).
        con.execute(
            "alter table raw_tlc.green_trips add column if not exists pu_zone_status varchar"
        )
        con.execute("update raw_tlc.green_trips set pu_zone_status = 'zone'")
    project = BuiltProject(
        settings, tlc_dir, root / "target", json.loads((tlc_dir / MANIFEST_FILE).read_text())
    )
    # Seeds and models first, no tests (the yellow fixture tests the layers below the fact).
    selection = ["path:seeds", "dim_zones", *(f"+{mart}" for mart in MARTS)]
    project.dbt("build", "--select", *selection, "--exclude", "resource_type:test",
                "resource_type:unit_test")  # fmt: skip
    # Yellow's January 2025 is re-published: the incremental fact replaces it alone. The
    # second build runs the fact and the marts with their tests.
    generate(tlc_dir, parse_month_range("2025-01"), RELOADED_ROWS, "parquet", seed=9)
    summary, _ = run_trips(settings, str(tlc_dir))
    assert summary.rows_loaded == RELOADED_ROWS
    project.dbt("build", "--select", "fct_trips", *MARTS, "congestion_relief_zones",
                "tlc_services", "--exclude", "resource_type:unit_test",
                "--indirect-selection", "cautious")  # fmt: skip
    return project


def _raw_trips() -> str:
    """Every raw trip with its service, demand and zone validity, re-stated on raw columns."""
    companies = " ".join(f"when '{code}' then '{name}'" for code, name in COMPANIES.items())
    return f"""
        with unioned as (
            select 'yellow' as service, _source_file, tpep_pickup_datetime as pickup_at,
                pu_location_id as pu, do_location_id as do_, fare_amount as fare,
                least(fare_amount, extra, mta_tax, tip_amount, tolls_amount,
                      improvement_surcharge, total_amount, congestion_surcharge, airport_fee,
                      cbd_congestion_fee) < 0 as is_refund
            from raw_tlc.yellow_trips
            union all
            select 'green', _source_file, lpep_pickup_datetime, pu_location_id,
                do_location_id, fare_amount,
                least(fare_amount, extra, mta_tax, tip_amount, tolls_amount,
                      improvement_surcharge, total_amount, congestion_surcharge,
                      cbd_congestion_fee) < 0
            from raw_tlc.green_trips
            union all
            select case hvfhs_license_num {companies} end, _source_file, pickup_datetime,
                pu_location_id, do_location_id, base_passenger_fare,
                least(base_passenger_fare, tolls, congestion_surcharge, airport_fee, tips,
                      base_passenger_fare + coalesce(tolls, 0) + coalesce(bcf, 0)
                      + coalesce(sales_tax, 0) + coalesce(congestion_surcharge, 0)
                      + coalesce(airport_fee, 0) + coalesce(tips, 0)) < 0
            from raw_tlc.fhvhv_trips
            union all
            select 'fhv', _source_file, pickup_datetime, pu_location_id, do_location_id,
                null, false
            from raw_tlc.fhv_trips
        ),
        known as (select location_id from raw_tlc.taxi_zones where location_id != 264),
        flagged as (
            select *,
                not coalesce(is_refund, false)
                    and strftime(pickup_at, '%Y-%m') = regexp_extract(_source_file,
                        '([0-9]{{4}}-[0-9]{{2}})', 1) as demand_ok
            from unioned
        )
        select *,
            demand_ok and pu in (select location_id from known)
                and do_ in (select location_id from known) as zones_ok
        from flagged
    """


@pytest.fixture(scope="module")
def con(services_project: BuiltProject) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(services_project.settings.duckdb_path), read_only=True)
    connection.execute(f"create temp view raw_trips as {_raw_trips()}")
    yield connection
    connection.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def test_every_raw_row_reaches_fct_trips_with_its_service(
    con: duckdb.DuckDBPyConnection,
) -> None:
    expected = _rows(con, "select service, count(*) from raw_trips group by 1 order by 1")
    actual = _rows(con, "select service, count(*) from marts.fct_trips group by 1 order by 1")
    assert actual == expected
    assert [service for service, _ in actual] == ["fhv", "green", "lyft", "uber", "yellow"]


def test_reloaded_yellow_month_replaces_only_yellow(con: duckdb.DuckDBPyConnection) -> None:
    """delete+insert keyed by the month alone deleted green's, fhv's and fhvhv's January."""
    rows = dict(
        _rows(
            con,
            "select file_kind, count(*) from marts.fct_trips "
            "where source_file_month = date '2025-01-01' group by 1",
        )
    )
    assert rows == {"yellow": RELOADED_ROWS, "green": ROWS, "fhvhv": ROWS, "fhv": FHV_ROWS}


def test_trips_by_service_month_matches_raw_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = _rows(
        con,
        "with counted as (select cast(date_trunc('month', pickup_at) as date) as month, "
        "service, count(*) as trips from raw_trips where demand_ok group by all) "
        "select month, service, trips, "
        "round(trips / sum(trips) over (partition by month), 9) from counted order by 1, 2",
    )
    actual = _rows(
        con,
        "select pickup_month, service, trips, round(share_of_month_trips, 9) "
        "from marts.trips_by_service_month order by 1, 2",
    )
    assert len(actual) == 2 * 5
    assert actual == expected


def test_service_share_by_borough_matches_raw_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = _rows(
        con,
        "select year(pickup_at), coalesce(zones.borough, 'Unknown'), service, count(*) "
        "from raw_trips left join raw_tlc.taxi_zones as zones on raw_trips.pu = "
        "zones.location_id where demand_ok group by all order by 1, 2, 3",
    )
    actual = _rows(
        con,
        "select pickup_year, pickup_borough_name, service, trips "
        "from marts.service_share_by_borough_year order by 1, 2, 3",
    )
    assert actual == expected
    shares = _rows(
        con,
        "select pickup_year, pickup_borough_name, round(sum(share_of_borough_trips), 9) "
        "from marts.service_share_by_borough_year group by 1, 2",
    )
    assert {share for _, _, share in shares} == {1.0}


def test_airport_trips_by_service_year_match_raw_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = _rows(
        con,
        """
        with located as (
            select *, case when pu = 1 or (pu not in (132, 138) and do_ = 1) then 'EWR'
                when pu = 132 or (pu != 138 and do_ = 132) then 'JFK'
                when pu = 138 or do_ = 138 then 'LGA' end as airport,
                pu in (1, 132, 138) as is_pickup
            from (select * replace (coalesce(pu, -1) as pu) from raw_trips where demand_ok)
        )
        select year(pickup_at), service, airport, count(*),
            count_if(is_pickup and airport = case pu when 1 then 'EWR' when 132 then 'JFK'
                else 'LGA' end)
        from located where airport is not null group by all order by 1, 2, 3
        """,
    )
    actual = _rows(
        con,
        "select pickup_year, service, airport_code, trips, pickups "
        "from marts.airport_trips_by_service_year order by 1, 2, 3",
    )
    assert {service for _, service, *_ in actual} >= {"yellow", "green", "uber", "lyft"}
    assert actual == expected


def test_congestion_fee_effect_matches_raw_sql(con: duckdb.DuckDBPyConnection) -> None:
    """Week by week from 5 January 2025, against the same weeks of 2024 (364 days back)."""
    seed = REPO / "seeds" / "congestion_relief_zones.csv"
    expected = _rows(
        con,
        f"""
        with zone as (select location_id from read_csv('{seed}')),
        related as (
            select service,
                case when pu in (select * from zone) and do_ in (select * from zone)
                        then 'within'
                    when do_ in (select * from zone) then 'into'
                    when pu in (select * from zone) then 'out of' end as relation,
                date_diff('day', date '2025-01-05', cast(pickup_at as date)) as days
            from raw_trips where zones_ok
        ),
        placed as (
            select *, days < -56 as earlier,
                case when days between -56 and 55 then days
                    when days + 364 between -56 and 55 then days + 364 end as in_window
            from related where relation is not null
        )
        select service, relation, cast(floor(in_window / 7) as integer) as week,
            count_if(not earlier), count_if(earlier)
        from placed where in_window is not null group by all order by 1, 2, 3
        """,
    )
    actual = _rows(
        con,
        "select service, zone_relation, week_offset, trips, trips_year_earlier "
        "from marts.congestion_fee_zone_effect order by 1, 2, 3",
    )
    assert actual == expected
    weeks = {week for _, _, week, trips, earlier in actual if trips and earlier}
    assert weeks == {-1, 0, 1, 2, 3}  # January 2025 against January 2024
    (fees_before, fees_after) = _rows(
        con,
        "select sum(cbd_congestion_fees) filter (where not is_after_fee_start), "
        "sum(cbd_congestion_fees) filter (where is_after_fee_start) "
        "from marts.congestion_fee_zone_effect where service = 'yellow'",
    )[0]
    assert not fees_before and fees_after > 0


def test_optional_columns_pass_through_when_loaded(con: duckdb.DuckDBPyConnection) -> None:
    statuses = _rows(
        con,
        "select pickup_zone_status, count(*), count(pickup_longitude) "
        "from staging.stg_tlc__green_trips group by 1",
    )
    assert statuses == [("zone", 2 * ROWS, 0)]
    (shared,) = _rows(con, "select count_if(is_shared_ride) from staging.stg_tlc__fhv_trips")[0]
    assert shared == 2 * (FHV_ROWS // 5)


def test_services_never_loaded_build_empty_typed_models(built_project: BuiltProject) -> None:
    """The shared fixture loads yellow only: no green, fhv or fhvhv table, no coordinates."""
    with duckdb.connect(str(built_project.settings.duckdb_path), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw_tlc'"
            ).fetchall()
        }
        assert {"green_trips", "fhv_trips", "fhvhv_trips"}.isdisjoint(tables)
        for model in ("stg_tlc__green_trips", "stg_tlc__fhv_trips", "stg_tlc__fhvhv_trips"):
            assert con.execute(f"select count(*) from staging.{model}").fetchone() == (0,)
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'stg_tlc__fhv_trips'"
            ).fetchall()
        )
        assert types["pickup_at_local"] == "TIMESTAMP"
        assert types["pickup_location_id"] == "INTEGER"
        assert types["is_shared_ride"] == "BOOLEAN"
        assert con.execute(
            "select count(pickup_longitude), count(*) > 0 from staging.stg_tlc__yellow_trips"
        ).fetchone() == (0, True)
        services = con.execute(
            "select distinct service from marts.trips_by_service_month"
        ).fetchall()
        assert services == [("yellow",)]


def test_report_sections_show_every_service(
    services_project: BuiltProject, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    page = build_report(services_project.settings, tmp_path / "index.html").read_text()
    services = _section_text(page, "services")
    assert "5 services loaded (fhv, green, lyft, uber, yellow), 2024-01 to 2025-01" in services
    (within, earlier) = _rows(
        con,
        "select sum(trips), sum(trips_year_earlier) from marts.congestion_fee_zone_effect "
        "where service = 'yellow' and zone_relation = 'within' and is_after_fee_start "
        "and trips > 0 and trips_year_earlier > 0",
    )[0]
    zone = _section_text(page, "congestion_zone")
    assert f"yellow within the zone: {within:,} trips" in zone
    assert f"against {earlier:,} a year earlier" in zone
    airports = _section_text(page, "airports_by_service")
    assert "In 2025, airport trips by service: " in airports


def _section_text(page: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, flags=re.S)
    assert match, key
    return unescape(re.sub(r"<[^>]+>", "", match.group(1)))
