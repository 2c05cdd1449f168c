import hashlib
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from devservers.open_meteo import weather_at
from ingestion.trips.generator import (
    CBD_FEE_START,
    MANIFEST_FILE,
    NEW_YORK,
    generate,
    holidays,
    month_rows,
)
from ingestion.trips.months import Month, parse_month_range
from ingestion.trips.zones import ZONE_LOOKUP_FILE, build_zones

from .conftest import ROWS, manifest

YELLOW_2024 = [
    "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count",
    "trip_distance", "RatecodeID", "store_and_fwd_flag", "PULocationID", "DOLocationID",
    "payment_type", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
    "improvement_surcharge", "total_amount", "congestion_surcharge", "Airport_fee",
]  # fmt: skip
SHIPPED_LOOKUP = Path(__file__).parents[3] / "ingestion" / "trips" / "reference" / ZONE_LOOKUP_FILE
CARD_TRIPS = "payment_type = 1 and fare_amount > 0 and trip_distance between 0.01 and 100"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one(sql: str) -> tuple:
    rows = duckdb.sql(sql).fetchall()
    assert len(rows) == 1
    return rows[0]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    months = parse_month_range("2024-02")
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate(tmp_path / name, months, 30_000, "csv", seed=seed)
    file = "yellow_tripdata_2024-02.csv"
    assert _digest(tmp_path / "a" / file) == _digest(tmp_path / "b" / file)
    assert _digest(tmp_path / "a" / file) != _digest(tmp_path / "c" / file)


def test_parquet_has_the_2024_yellow_schema(parquet_months: Path) -> None:
    file = parquet_months / "yellow_tripdata_2024-01.parquet"
    described = duckdb.sql(f"describe select * from '{file}'").fetchall()
    assert [row[0] for row in described] == YELLOW_2024
    types = {row[0]: row[1] for row in described}
    assert types["tpep_pickup_datetime"] == "TIMESTAMP_NS"
    assert types["VendorID"] == "INTEGER"


def test_injected_dirt_is_there_as_claimed(parquet_months: Path) -> None:
    file = parquet_months / "yellow_tripdata_2024-02.parquet"
    claimed = manifest(parquet_months)[file.name]
    dirt = claimed["dirt"]
    found = _one(
        f"""
        select
            count(*),
            count(*) filter (where fare_amount < 0),
            count(*) filter (where trip_distance = 0),
            count(*) filter (where tpep_dropoff_datetime < tpep_pickup_datetime),
            count(*) filter (where tpep_pickup_datetime < date '2024-02-01'),
            count(*) filter (where passenger_count is null),
            count(*) filter (where trip_distance >= 1000),
            count(*) filter (
                where tpep_dropoff_datetime - tpep_pickup_datetime >= interval 4 hour
            ),
            count(*) filter (where fare_amount >= 0 and fare_amount < 3),
            count(*) filter (where passenger_count is null and payment_type = 0)
        from '{file}'
        """
    )
    assert found == (
        ROWS,
        dirt["negative_amounts"],
        dirt["zero_distance"],
        dirt["dropoff_before_pickup"],
        dirt["pickup_outside_month"],
        dirt["null_passenger_count"],
        dirt["extreme_distance"],
        dirt["extreme_duration"],
        dirt["fare_below_initial_charge"],
        dirt["null_passenger_count"],  # flex fares are the rows with the TLC's empty columns
    )
    injected = sum(dirt.values()) / ROWS
    assert 0.015 <= injected <= 0.04


def test_refunds_reverse_the_trip_before_them(parquet_months: Path) -> None:
    """A paired refund has a twin: same vendor, times, zones, the opposite of every amount."""
    file = parquet_months / "yellow_tripdata_2024-03.parquet"
    refunds = manifest(parquet_months)[file.name]["refunds"]
    (paired, unmatched) = _one(
        f"""
        with rows as (select * from '{file}'),
        refunds as (select * from rows where total_amount < 0),
        matched as (
            select distinct refunds.*
            from refunds
            inner join rows as charge
                on charge.VendorID = refunds.VendorID
                and charge.tpep_pickup_datetime = refunds.tpep_pickup_datetime
                and charge.tpep_dropoff_datetime = refunds.tpep_dropoff_datetime
                and charge.PULocationID = refunds.PULocationID
                and charge.DOLocationID = refunds.DOLocationID
                and charge.fare_amount = -refunds.fare_amount
                and charge.tip_amount = -refunds.tip_amount
                and charge.total_amount = -refunds.total_amount
        )
        select (select count(*) from matched), (select count(*) from refunds) -
            (select count(*) from matched)
        """
    )
    assert (paired, unmatched) == (refunds["paired"], refunds["unmatched"])
    assert paired > 4 * unmatched > 0


def test_zone_lookup_is_the_tlcs_file(parquet_months: Path) -> None:
    written = (parquet_months / ZONE_LOOKUP_FILE).read_bytes()
    assert written == SHIPPED_LOOKUP.read_bytes()
    assert written.count(b"\r\n") == 266
    zones = {z.location_id: z for z in build_zones()}
    assert len(zones) == 265
    assert zones[1].borough == "EWR" and zones[1].zone == "Newark Airport"
    assert zones[132].zone == "JFK Airport" and zones[132].borough == "Queens"
    assert zones[138].zone == "LaGuardia Airport"
    assert zones[237].zone == "Upper East Side South"
    assert zones[264].borough == "Unknown" and zones[265].zone == "Outside of NYC"
    boroughs = [z.borough for z in zones.values()]
    assert boroughs.count("Manhattan") == 69 and boroughs.count("Queens") == 69
    # Centroids: JFK lies about 12 miles (straight line) from the Upper East Side.
    jfk, ues = zones[132], zones[237]
    assert jfk.x_miles and ues.x_miles and jfk.y_miles and ues.y_miles
    assert 10 < ((jfk.x_miles - ues.x_miles) ** 2 + (jfk.y_miles - ues.y_miles) ** 2) ** 0.5 < 14
    assert zones[161].in_congestion_relief_zone and not zones[237].in_congestion_relief_zone
    assert zones[237].in_congestion_surcharge_zone and not zones[74].in_congestion_surcharge_zone


def test_shape_is_realistic(parquet_months: Path) -> None:
    files = f"{parquet_months}/yellow_tripdata_*.parquet"
    manhattan = ",".join(str(z.location_id) for z in build_zones() if z.borough == "Manhattan")
    (manhattan_share, airport_share, card_tip, cash_tip, evening, early) = _one(
        f"""
        select
            avg(case when PULocationID in ({manhattan}) then 1 else 0 end),
            avg(case when PULocationID in (1, 132, 138) then 1 else 0 end),
            sum(tip_amount) / sum(fare_amount) filter (where {CARD_TRIPS}),
            avg(tip_amount) filter (where payment_type = 2),
            count(*) filter (where hour(tpep_pickup_datetime) = 18),
            count(*) filter (where hour(tpep_pickup_datetime) = 4)
        from '{files}'
        """
    )
    assert manhattan_share > 0.8
    assert 0.06 < airport_share < 0.10
    assert 0.20 <= card_tip <= 0.26
    assert cash_tip == 0
    assert evening > 3 * early
    # The busiest pair is inside Manhattan, not an airport run.
    top = duckdb.sql(
        f"select PULocationID, DOLocationID, count(*) as n from '{files}' "
        "where PULocationID not in (264, 265) group by all order by n desc limit 5"
    ).fetchall()
    assert all(pu not in (1, 132, 138) and do not in (1, 132, 138) for pu, do, _ in top), top
    assert top[0][:2] == (237, 237)


def test_tips_vary_by_distance_and_hour(parquet_months: Path) -> None:
    files = f"{parquet_months}/yellow_tripdata_*.parquet"
    short, long, night, morning = _one(
        f"""
        select
            sum(tip_amount) filter (where trip_distance < 1)
                / sum(fare_amount) filter (where trip_distance < 1),
            sum(tip_amount) filter (where trip_distance >= 10)
                / sum(fare_amount) filter (where trip_distance >= 10),
            sum(tip_amount) filter (where hour(tpep_pickup_datetime) in (22, 23, 0, 1))
                / sum(fare_amount) filter (where hour(tpep_pickup_datetime) in (22, 23, 0, 1)),
            sum(tip_amount) filter (where hour(tpep_pickup_datetime) in (7, 8, 9))
                / sum(fare_amount) filter (where hour(tpep_pickup_datetime) in (7, 8, 9))
        from '{files}' where {CARD_TRIPS}
        """
    )
    assert short > long + 0.08, (short, long)
    assert night > morning + 0.015, (night, morning)


def test_speed_depends_on_route_and_hour(parquet_months: Path) -> None:
    files = f"{parquet_months}/yellow_tripdata_*.parquet"
    manhattan = ",".join(str(z.location_id) for z in build_zones() if z.borough == "Manhattan")
    afternoon, night, jfk_minutes = _one(
        f"""
        with trips as (
            select *, epoch(tpep_dropoff_datetime - tpep_pickup_datetime) / 60 as minutes
            from '{files}' where trip_distance between 0.5 and 100
        )
        select
            median(trip_distance / (minutes / 60)) filter (
                where PULocationID in ({manhattan}) and DOLocationID in ({manhattan})
                and hour(tpep_pickup_datetime) = 15 and isodow(tpep_pickup_datetime) <= 5),
            median(trip_distance / (minutes / 60)) filter (
                where PULocationID in ({manhattan}) and DOLocationID in ({manhattan})
                and hour(tpep_pickup_datetime) = 3),
            median(minutes) filter (where PULocationID = 132 and DOLocationID in ({manhattan}))
        from trips where minutes between 1 and 240
        """
    )
    assert 4 < afternoon < 9 < night < 18, (afternoon, night)
    assert 30 < jfk_minutes < 70


def test_seasonal_volume_follows_the_tlc_series(tmp_path: Path) -> None:
    rows = {m: month_rows(Month(2024, m), 10_000, "seasonal") for m in range(1, 13)}
    assert rows[1] < rows[3] and rows[8] < rows[10] and rows[2] < rows[5]
    assert 0.8 < min(rows.values()) / 10_000 < 0.9 < 1.05 < max(rows.values()) / 10_000
    assert month_rows(Month(2025, 5), 10_000, "seasonal") > 1.2 * rows[5]
    assert month_rows(Month(2024, 1), 10_000, "flat") == 10_000
    report = generate(tmp_path, parse_month_range("2024-07:2024-09"), 5_000, volume="seasonal")
    assert [f.rows for f in report.files] == [
        month_rows(Month(2024, m), 5_000, "seasonal") for m in (7, 8, 9)
    ]
    with pytest.raises(ValueError, match="unknown volume"):
        month_rows(Month(2024, 1), 10, "weekly")


def test_holidays_and_rain_move_demand(tmp_path: Path) -> None:
    generate(tmp_path, parse_month_range("2024-11"), 60_000, seed=3)
    file = tmp_path / "yellow_tripdata_2024-11.parquet"
    assert holidays(2024)[date(2024, 11, 28)] < 0.6  # Thanksgiving
    per_day = dict(
        duckdb.sql(
            f"select cast(tpep_pickup_datetime as date), count(*) from '{file}' group by 1"
        ).fetchall()
    )
    thursdays = [per_day[date(2024, 11, d)] for d in (14, 21)]
    assert per_day[date(2024, 11, 28)] < 0.65 * min(thursdays)
    # Hours with rain (as the weather devserver serves them) have more trips than dry hours
    # of the same hour of the week.
    wet = {
        (day, hour)
        for day in range(1, 31)
        for hour in range(24)
        if float(weather_at(datetime(2024, 11, day, hour, tzinfo=NEW_YORK))["rain"]) > 0
    }
    counts = duckdb.sql(
        f"select day(tpep_pickup_datetime), hour(tpep_pickup_datetime), "
        f"isodow(tpep_pickup_datetime), count(*) from '{file}' "
        "where tpep_pickup_datetime >= '2024-11-01' group by all"
    ).fetchall()
    lifts = []
    for dow in range(1, 8):
        for hour in range(24):
            cells = [(d, n) for d, h, w, n in counts if w == dow and h == hour and d != 28]
            wet_counts = [n for d, n in cells if (d, hour) in wet]
            dry_counts = [n for d, n in cells if (d, hour) not in wet]
            if wet_counts and dry_counts:
                lifts.append(
                    (sum(wet_counts) / len(wet_counts)) / (sum(dry_counts) / len(dry_counts))
                )
    assert len(lifts) > 20
    assert sum(lifts) / len(lifts) > 1.08


def test_congestion_fee_from_5_january_2025(tmp_path: Path) -> None:
    generate(tmp_path, parse_month_range("2024-12:2025-01"), 20_000, seed=4)
    december = tmp_path / "yellow_tripdata_2024-12.parquet"
    january = tmp_path / "yellow_tripdata_2025-01.parquet"
    columns = [row[0] for row in duckdb.sql(f"describe '{december}'").fetchall()]
    assert "cbd_congestion_fee" not in columns
    before, after, first_day = _one(
        f"""
        select
            count(*) filter (where cbd_congestion_fee > 0
                and tpep_pickup_datetime < '{CBD_FEE_START}'),
            avg(case when cbd_congestion_fee > 0 then 1 else 0 end) filter (
                where tpep_pickup_datetime >= '{CBD_FEE_START}'),
            min(tpep_pickup_datetime) filter (where cbd_congestion_fee > 0)
        from '{january}' where total_amount > 0 and tpep_pickup_datetime >= '2025-01-01'
        """
    )
    assert before == 0
    assert 0.5 < after < 0.95
    assert first_day.date() == date(2025, 1, 5)
    assert _one(f"select max(cbd_congestion_fee) from '{january}'") == (0.75,)


def test_legacy_era_drifts_like_old_csv_exports(tmp_path: Path) -> None:
    generate(tmp_path, parse_month_range("2023-01:2023-02"), 5_000, "csv", era="legacy")
    january = (tmp_path / "yellow_tripdata_2023-01.csv").read_text().splitlines()
    february = (tmp_path / "yellow_tripdata_2023-02.csv").read_text().splitlines()
    assert "irport_fee" not in january[0]
    assert february[0].endswith(",airport_fee")
    passenger_count = january[1].split(",")[3]
    assert passenger_count.endswith(".0")


def test_manifest_lists_rows_dirt_and_refunds(parquet_months: Path) -> None:
    entries = manifest(parquet_months)
    assert set(entries) == {f"yellow_tripdata_2024-0{m}.parquet" for m in (1, 2, 3)}
    for entry in entries.values():
        assert entry["rows"] == ROWS
        assert (
            entry["refunds"]["paired"] + entry["refunds"]["unmatched"]
            == (entry["dirt"]["negative_amounts"])
        )
    assert (parquet_months / MANIFEST_FILE).exists()


def test_generates_without_the_devservers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The container image carries only ingestion/: no weather devserver, no rain lift."""
    from ingestion.trips import generator

    def missing(name: str) -> None:
        raise ModuleNotFoundError(f"devservers.{name}")

    generator._devserver_weather.cache_clear()
    generator._hour_weights.cache_clear()
    monkeypatch.setattr(generator, "import_devserver", missing)
    try:
        assert generator._devserver_weather() is None
        with_rain = generator._hour_weights(2024, 11)
        assert with_rain.sum() == pytest.approx(1.0)
        report = generate(tmp_path, parse_month_range("2024-11"), 2_000, seed=3)
        assert report.rows == 2_000
    finally:
        monkeypatch.undo()
        generator._devserver_weather.cache_clear()
        generator._hour_weights.cache_clear()
    assert generator._devserver_weather() is not None
    # With the devserver the rainy hours weigh more than the same hours without it.
    assert not (generator._hour_weights(2024, 11) == with_rain).all()
