"""The marts against numbers computed independently with DuckDB SQL over the generated files.

The validity rules are re-stated here in plain SQL on the TLC's own column names, so a bug in
the dbt models (a join that drops rows, a rule that misfires) shows up as a mismatch.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.ingestion.dbt.conftest import ROWS_PER_MONTH, BuiltProject

# generator dirt name -> data_quality_by_month rule, where one maps 1:1 onto the other.
MANIFEST_RULES = {
    "negative_amounts": "negative_amount",
    "zero_distance": "zero_distance",
    "dropoff_before_pickup": "dropoff_before_pickup",
    "pickup_outside_month": "pickup_outside_file_month",
    "extreme_distance": "extreme_distance",
    "null_passenger_count": "missing_passenger_count",
}


def independent_trips(tlc_dir: Path) -> str:
    """SQL for every generated trip with an independent is_valid and airport code."""
    return f"""
        with raw as (
            select *, strptime(regexp_extract(filename, '(\\d{{4}}-\\d{{2}})', 1), '%Y-%m')
                as file_month
            from read_parquet('{tlc_dir}/yellow_tripdata_*.parquet', filename = true)
        ),
        known as (
            select LocationID as id from read_csv('{tlc_dir}/taxi_zone_lookup.csv')
            where LocationID not in (264, 265)
        ),
        measured as (
            select *,
                epoch(tpep_dropoff_datetime - tpep_pickup_datetime) as seconds,
                least(fare_amount, extra, mta_tax, tip_amount, tolls_amount,
                      improvement_surcharge, total_amount, congestion_surcharge, Airport_fee)
                    < 0 as is_negative,
                PULocationID not in (select id from known)
                    or DOLocationID not in (select id from known) as is_unknown_zone
            from raw
        )
        select *,
            not is_negative and trip_distance > 0 and seconds > 0
            and date_trunc('month', tpep_pickup_datetime) = file_month
            and not is_unknown_zone and trip_distance <= 100
            and trip_distance / (seconds / 3600.0) <= 80 and fare_amount <= 1000 as is_valid,
            case when PULocationID = 1 or (PULocationID not in (132, 138) and DOLocationID = 1)
                    then 'EWR'
                when PULocationID = 132 or (PULocationID != 138 and DOLocationID = 132)
                    then 'JFK'
                when PULocationID = 138 or DOLocationID = 138 then 'LGA' end as airport
        from measured
    """


@pytest.fixture(scope="module")
def con(built_project: BuiltProject) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(built_project.settings.duckdb_path), read_only=True)
    connection.execute(f"create temp view expected as {independent_trips(built_project.tlc_dir)}")
    yield connection
    connection.close()


def test_every_generated_row_reaches_fct_trips(con: duckdb.DuckDBPyConnection) -> None:
    per_file = con.execute(
        "select source_file, count(*) from marts.fct_trips group by 1 order by 1"
    ).fetchall()
    assert per_file == [(f"yellow_tripdata_2024-0{m}.parquet", ROWS_PER_MONTH) for m in (1, 2, 3)]


def test_daily_kpis_match_independent_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = con.execute(
        "select cast(tpep_pickup_datetime as date), count(*), round(sum(total_amount), 2) "
        "from expected where is_valid group by 1 order by 1"
    ).fetchall()
    actual = con.execute(
        "select pickup_date, trips, round(revenue, 2) from marts.daily_kpis order by 1"
    ).fetchall()
    assert len(actual) == 31 + 29 + 31
    assert actual == expected
    assert actual[0][0] == date(2024, 1, 1)


def test_airport_summary_matches_independent_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = con.execute(
        "select airport, count(*), round(median(fare_amount), 2) from expected "
        "where is_valid and airport is not null group by 1 order by 1"
    ).fetchall()
    actual = con.execute(
        "select airport_code, trips, round(median_fare, 2) from marts.airport_trip_summary "
        "order by 1"
    ).fetchall()
    assert [row[0] for row in actual] == ["EWR", "JFK", "LGA"]
    assert actual == expected


def test_card_tip_rate_matches_independent_sql(con: duckdb.DuckDBPyConnection) -> None:
    (expected,) = con.execute(
        "select sum(tip_amount) / sum(fare_amount) from expected "
        "where is_valid and payment_type = 1"
    ).fetchone()
    (actual,) = con.execute(
        "select tip_rate from marts.tip_rates "
        "where segment_type = 'payment_type' and segment_value = 'Credit card'"
    ).fetchone()
    assert actual == pytest.approx(expected, rel=1e-9)
    assert 0.10 < actual < 0.25  # the generator tips 12-26 % on 85 % of card trips


def test_busiest_hour_and_top_pair_match_independent_sql(
    con: duckdb.DuckDBPyConnection,
) -> None:
    expected_hour = con.execute(
        "select (isodow(tpep_pickup_datetime) - 1) * 24 + hour(tpep_pickup_datetime) as how, "
        "count(*) from expected where is_valid group by 1 order by 2 desc, 1 limit 1"
    ).fetchone()
    actual_hour = con.execute(
        "select pickup_hour_of_week, sum(trips) from marts.demand_by_hour_of_week "
        "group by 1 order by 2 desc, 1 limit 1"
    ).fetchone()
    assert actual_hour == expected_hour
    expected_pair = con.execute(
        "select PULocationID, DOLocationID, count(*) from expected where is_valid "
        "group by 1, 2 order by 3 desc, 1, 2 limit 1"
    ).fetchone()
    actual_pair = con.execute(
        "select pickup_location_id, dropoff_location_id, trips from marts.top_zone_pairs "
        "order by rank_by_trips, 1, 2 limit 1"
    ).fetchone()
    assert actual_pair == expected_pair


def test_data_quality_reconciles_with_generator_manifest(
    built_project: BuiltProject, con: duckdb.DuckDBPyConnection
) -> None:
    rows = con.execute(
        "select strftime(source_file_month, '%Y-%m'), rule_name, total_rows, failing_rows "
        "from marts.data_quality_by_month"
    ).fetchall()
    quality = {(month, rule): (total, failing) for month, rule, total, failing in rows}
    checked = 0
    for file_name, entry in built_project.manifest.items():
        month = file_name.split("_")[-1].split(".")[0]
        for dirt, rule in MANIFEST_RULES.items():
            total, failing = quality[(month, rule)]
            assert total == entry["rows"], (month, rule)
            assert failing == entry["dirt"][dirt], (month, rule, failing, entry["dirt"][dirt])
            assert failing > 0
            checked += 1
    assert checked == 3 * len(MANIFEST_RULES)


def test_unknown_zone_and_invalid_counts_match_independent_sql(
    con: duckdb.DuckDBPyConnection,
) -> None:
    expected = con.execute(
        "select strftime(file_month, '%Y-%m'), count_if(is_unknown_zone), count_if(not is_valid) "
        "from expected group by 1 order by 1"
    ).fetchall()
    actual = con.execute(
        "select strftime(source_file_month, '%Y-%m'), "
        "sum(failing_rows) filter (where rule_name = 'unknown_zone'), "
        "sum(failing_rows) filter (where rule_name = 'any_invalidating_rule') "
        "from marts.data_quality_by_month group by 1 order by 1"
    ).fetchall()
    assert actual == expected
    assert all(unknown > 0 for _, unknown, _ in actual)
