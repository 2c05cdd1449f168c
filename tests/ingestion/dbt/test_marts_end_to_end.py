"""The marts against numbers computed independently with DuckDB SQL over the generated files.

The rules and measures are re-stated here in plain SQL on the TLC's own column names (not
read from the seed), so a bug in the dbt models - a join that drops rows, a rule in the wrong
scope, a refund netted against the wrong trip - shows up as a mismatch. The fixture's months
are 2024-12 to 2025-02, sized like the TLC's series, so it has holidays, seasons and the
congestion fee.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tests.ingestion.dbt.conftest import BuiltProject

# generator dirt name -> data_quality_by_month rule, where one maps 1:1 onto the other.
MANIFEST_RULES = {
    "negative_amounts": "negative_amount",
    "zero_distance": "zero_distance",
    "dropoff_before_pickup": "dropoff_before_pickup",
    "pickup_outside_month": "pickup_outside_file_month",
    "extreme_distance": "extreme_distance",
    "extreme_duration": "extreme_duration",
    "fare_below_initial_charge": "fare_below_initial_charge",
    "null_passenger_count": "missing_passenger_count",
}
AIRPORTS = (1, 132, 138)


def independent_trips(tlc_dir: object) -> str:
    """SQL for every generated trip with independent scope flags and airport code."""
    return f"""
        with raw as (
            select *,
                strptime(regexp_extract(filename, '(\\d{{4}}-\\d{{2}})', 1), '%Y-%m')
                    as file_month,
                regexp_extract(filename, '[^/]+$') as file
            from read_parquet('{tlc_dir}/yellow_tripdata_*.parquet', filename = true,
                              union_by_name = true)
        ),
        known as (
            select LocationID as id from read_csv('{tlc_dir}/taxi_zone_lookup.csv')
            where LocationID != 264
        ),
        measured as (
            select *,
                epoch(tpep_dropoff_datetime - tpep_pickup_datetime) / 60.0 as minutes,
                least(fare_amount, extra, mta_tax, tip_amount, tolls_amount,
                      improvement_surcharge, total_amount, congestion_surcharge, Airport_fee,
                      cbd_congestion_fee) < 0 as is_refund,
                PULocationID not in (select id from known)
                    or DOLocationID not in (select id from known) as is_unknown_zone
            from raw
        ),
        refunds as (select * from measured where total_amount < 0),
        flagged as (
            select measured.*,
                measured.total_amount > 0 and exists (
                    select 1 from refunds
                    where refunds.file = measured.file
                        and refunds.VendorID = measured.VendorID
                        and refunds.tpep_pickup_datetime = measured.tpep_pickup_datetime
                        and refunds.tpep_dropoff_datetime = measured.tpep_dropoff_datetime
                        and refunds.PULocationID = measured.PULocationID
                        and refunds.DOLocationID = measured.DOLocationID
                        and refunds.fare_amount = -measured.fare_amount
                        and refunds.total_amount = -measured.total_amount
                ) as is_reversed,
                not coalesce(is_refund, false)
                    and date_trunc('month', tpep_pickup_datetime) = file_month as demand_ok
            from measured
        )
        select *,
            demand_ok and not is_reversed and payment_type not in (3, 4, 6)
                and fare_amount >= 3 and fare_amount <= 1000 as revenue_ok,
            demand_ok and trip_distance > 0 and trip_distance <= 100 and minutes > 0
                and minutes <= 180 and trip_distance / (minutes / 60) <= 80 as distance_time_ok,
            demand_ok and not is_unknown_zone as zones_ok,
            case when PULocationID = 1 or (PULocationID not in (132, 138) and DOLocationID = 1)
                    then 'EWR'
                when PULocationID = 132 or (PULocationID != 138 and DOLocationID = 132)
                    then 'JFK'
                when PULocationID = 138 or DOLocationID = 138 then 'LGA' end as airport
        from flagged
    """


@pytest.fixture(scope="module")
def con(built_project: BuiltProject) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(built_project.settings.duckdb_path), read_only=True)
    connection.execute(f"create temp view expected as {independent_trips(built_project.tlc_dir)}")
    yield connection
    connection.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_every_generated_row_reaches_fct_trips(
    built_project: BuiltProject, con: duckdb.DuckDBPyConnection
) -> None:
    per_file = _rows(con, "select source_file, count(*) from marts.fct_trips group by 1 order by 1")
    assert per_file == sorted((name, e["rows"]) for name, e in built_project.manifest.items())


def test_daily_kpis_match_independent_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = _rows(
        con,
        "select cast(tpep_pickup_datetime as date), count(*), "
        "round(sum(fare_amount) filter (where revenue_ok), 2), "
        "round(sum(total_amount) filter (where revenue_ok), 2), "
        "round(sum(fare_amount + extra + tip_amount) filter (where revenue_ok), 2) "
        "from expected where demand_ok group by 1 order by 1",
    )
    actual = _rows(
        con,
        "select pickup_date, trips, round(fare_revenue, 2), round(total_paid, 2), "
        "round(driver_revenue, 2) from marts.daily_kpis order by 1",
    )
    assert len(actual) == 31 + 31 + 28
    assert actual == expected
    assert actual[0][0] == date(2024, 12, 1)


def test_revenue_leaves_out_non_revenue_payments_and_reversed_charges(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Payment types 3/4/6 and reversed charges count for demand, not for revenue."""
    (trips, revenue_trips, non_revenue, reversed_charges) = _rows(
        con,
        "select count(*), count_if(is_valid_for_revenue), "
        "count_if(is_valid_for_demand and payment_type_id in (3, 4, 6)), "
        "count_if(is_valid_for_demand and is_reversed_by_refund) "
        "from marts.fct_trips where is_valid_for_demand",
    )[0]
    assert non_revenue > 0 and reversed_charges > 0
    assert revenue_trips < trips - non_revenue
    (kpi_trips, kpi_revenue_trips) = _rows(
        con, "select sum(trips), sum(revenue_trips) from marts.daily_kpis"
    )[0]
    assert (kpi_trips, kpi_revenue_trips) == (trips, revenue_trips)


def test_airport_summary_matches_independent_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = _rows(
        con,
        "select airport, count(*), round(median(fare_amount) filter (where revenue_ok), 2) "
        "from expected where demand_ok and airport is not null group by 1 order by 1",
    )
    actual = _rows(
        con,
        "select airport_code, trips, round(median_fare, 2) from marts.airport_trip_summary "
        "order by 1",
    )
    assert [row[0] for row in actual] == ["EWR", "JFK", "LGA"]
    assert actual == expected


def test_card_tip_rate_matches_independent_sql(con: duckdb.DuckDBPyConnection) -> None:
    (expected,) = _rows(
        con,
        "select sum(tip_amount) / sum(fare_amount) from expected where revenue_ok "
        "and payment_type = 1 and not (tip_amount > fare_amount and fare_amount > 0)",
    )[0]
    (actual,) = _rows(
        con,
        "select tip_rate from marts.tip_rates "
        "where segment_type = 'payment_type' and segment_value = 'Credit card'",
    )[0]
    assert actual == pytest.approx(expected, rel=1e-9)
    assert 0.20 <= actual <= 0.26  # the tip screen's 20/25/30 % on fare plus surcharges


def test_card_tip_rates_differ_by_distance_and_hour(con: duckdb.DuckDBPyConnection) -> None:
    rates = dict(
        _rows(
            con,
            "select segment_type, max(tip_rate) - min(tip_rate) from marts.tip_rates "
            "where segment_type in ('distance_band', 'pickup_hour') group by 1",
        )
    )
    assert rates["distance_band"] > 0.08
    assert rates["pickup_hour"] > 0.02


def test_busiest_hour_and_top_pair_match_independent_sql(
    con: duckdb.DuckDBPyConnection,
) -> None:
    expected_hour = _rows(
        con,
        "select (isodow(tpep_pickup_datetime) - 1) * 24 + hour(tpep_pickup_datetime) as how, "
        "count(*) from expected where demand_ok group by 1 order by 2 desc, 1 limit 1",
    )
    actual_hour = _rows(
        con,
        "select pickup_hour_of_week, sum(trips) from marts.demand_by_hour_of_week "
        "group by 1 order by 2 desc, 1 limit 1",
    )
    assert actual_hour == expected_hour
    expected_pair = _rows(
        con,
        "select PULocationID, DOLocationID, count(*) from expected where zones_ok "
        "group by 1, 2 order by 3 desc, 1, 2 limit 1",
    )
    actual_pair = _rows(
        con,
        "select pickup_location_id, dropoff_location_id, trips, is_airport_pair "
        "from marts.top_zone_pairs order by rank_by_trips, 1, 2 limit 1",
    )
    assert [row[:3] for row in actual_pair] == expected_pair
    pickup, dropoff, _, is_airport_pair = actual_pair[0]
    assert pickup not in AIRPORTS and dropoff not in AIRPORTS and not is_airport_pair


def test_monthly_trips_follow_the_seasons(
    built_project: BuiltProject, con: duckdb.DuckDBPyConnection
) -> None:
    months = _rows(con, "select pickup_month, trips from marts.monthly_kpis order by 1")
    assert [m for m, _ in months] == [date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]
    trips = [t for _, t in months]
    # The TLC's series: January 2025 below December 2024, February close to January in a
    # shorter month; the generated rows follow it, the marts keep it.
    assert trips[1] < 0.97 * trips[0]
    assert len(set(trips)) == 3
    rows = {name[-15:-8]: e["rows"] for name, e in built_project.manifest.items()}
    assert rows["2024-12"] > rows["2025-01"]


def test_congestion_fee_appears_from_5_january_2025(con: duckdb.DuckDBPyConnection) -> None:
    days = _rows(
        con,
        "select pickup_date, trips_charged_cbd_fee, cbd_congestion_fees, pass_through_charges "
        "from marts.daily_kpis order by 1",
    )
    before = [d for d in days if d[0] < date(2025, 1, 5)]
    after = [d for d in days if d[0] >= date(2025, 1, 5)]
    assert before and all(charged == 0 and fees == 0 for _, charged, fees, _ in before)
    assert after and all(charged > 0 and fees > 0 for _, charged, fees, _ in after)
    assert all(fees < pass_through for _, _, fees, pass_through in after)
    assert after[0][2] == pytest.approx(0.75 * after[0][1])


def test_data_quality_reconciles_with_generator_manifest(
    built_project: BuiltProject, con: duckdb.DuckDBPyConnection
) -> None:
    rows = _rows(
        con,
        "select strftime(source_file_month, '%Y-%m'), rule_name, total_rows, failing_rows "
        "from marts.data_quality_by_month",
    )
    quality = {(month, rule): (total, failing) for month, rule, total, failing in rows}
    refunds = {
        strftime: (matched, unmatched)
        for strftime, matched, unmatched in _rows(
            con,
            "select strftime(source_file_month, '%Y-%m'), matched_refunds, unmatched_refunds "
            "from marts.refunds_by_month",
        )
    }
    checked = 0
    for file_name, entry in built_project.manifest.items():
        month = file_name.split("_")[-1].split(".")[0]
        for dirt, rule in MANIFEST_RULES.items():
            total, failing = quality[(month, rule)]
            assert total == entry["rows"], (month, rule)
            assert failing == entry["dirt"][dirt], (month, rule, failing, entry["dirt"][dirt])
            assert failing > 0
            checked += 1
        assert refunds[month] == (entry["refunds"]["paired"], entry["refunds"]["unmatched"])
    assert checked == 3 * len(MANIFEST_RULES)


def test_zone_and_scope_counts_match_independent_sql(con: duckdb.DuckDBPyConnection) -> None:
    expected = _rows(
        con,
        "select strftime(file_month, '%Y-%m'), count_if(is_unknown_zone), "
        "count_if(not demand_ok), count_if(not coalesce(revenue_ok, false)), "
        "count_if(not coalesce(distance_time_ok, false)) from expected group by 1 order by 1",
    )
    actual = _rows(
        con,
        "select strftime(source_file_month, '%Y-%m'), "
        "sum(failing_rows) filter (where rule_name = 'unknown_zone'), "
        "sum(failing_rows) filter (where rule_name = 'excluded_from_demand'), "
        "sum(failing_rows) filter (where rule_name = 'excluded_from_revenue'), "
        "sum(failing_rows) filter (where rule_name = 'excluded_from_distance_time') "
        "from marts.data_quality_by_month group by 1 order by 1",
    )
    assert actual == expected
    assert all(unknown > 0 for _, unknown, *_ in actual)


def test_real_business_stays_in_demand_and_revenue(con: duckdb.DuckDBPyConnection) -> None:
    """Zero-distance flat fares and trips outside NYC count for demand and revenue."""
    zero, outside = _rows(
        con,
        "select count_if(is_zero_distance and is_valid_for_demand and is_valid_for_revenue), "
        "count_if(is_outside_nyc and is_valid_for_demand and is_valid_for_revenue "
        "and is_valid_for_zones) from marts.fct_trips",
    )[0]
    assert zero > 0 and outside > 0
    (zero_in_speed,) = _rows(
        con, "select count_if(is_zero_distance and is_valid_for_distance_time) from marts.fct_trips"
    )[0]
    assert zero_in_speed == 0
