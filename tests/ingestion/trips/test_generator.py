import hashlib
from pathlib import Path

import duckdb

from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.zones import build_zones

from .conftest import ROWS, manifest

YELLOW_2024 = [
    "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count",
    "trip_distance", "RatecodeID", "store_and_fwd_flag", "PULocationID", "DOLocationID",
    "payment_type", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
    "improvement_surcharge", "total_amount", "congestion_surcharge", "Airport_fee",
]  # fmt: skip


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    found = duckdb.sql(
        f"""
        select
            count(*),
            count(*) filter (where fare_amount < 0),
            count(*) filter (where trip_distance = 0),
            count(*) filter (where tpep_dropoff_datetime < tpep_pickup_datetime),
            count(*) filter (where tpep_pickup_datetime < date '2024-02-01'),
            count(*) filter (where passenger_count is null),
            count(*) filter (where trip_distance >= 1000)
        from '{file}'
        """
    ).fetchall()[0]
    assert found == (
        ROWS,
        dirt["negative_amounts"],
        dirt["zero_distance"],
        dirt["dropoff_before_pickup"],
        dirt["pickup_outside_month"],
        dirt["null_passenger_count"],
        dirt["extreme_distance"],
    )
    injected = sum(dirt.values()) / ROWS
    assert 0.01 <= injected <= 0.03


def test_shape_is_realistic(parquet_months: Path) -> None:
    file = parquet_months / "yellow_tripdata_2024-01.parquet"
    manhattan = ",".join(str(z.location_id) for z in build_zones() if z.borough == "Manhattan")
    (manhattan_share, airport_share, card_tip, cash_tip, evening, early) = duckdb.sql(
        f"""
        select
            avg(case when PULocationID in ({manhattan}) then 1 else 0 end),
            avg(case when PULocationID in (1, 132, 138) then 1 else 0 end),
            avg(tip_amount / fare_amount) filter (where payment_type = 1 and fare_amount > 0),
            avg(tip_amount) filter (where payment_type = 2),
            count(*) filter (where hour(tpep_pickup_datetime) = 18),
            count(*) filter (where hour(tpep_pickup_datetime) = 4)
        from '{file}'
        """
    ).fetchall()[0]
    assert manhattan_share > 0.75
    assert 0.04 < airport_share < 0.12
    assert 0.10 < card_tip < 0.25
    assert cash_tip < 0.05
    assert evening > 3 * early


def test_legacy_era_drifts_like_old_csv_exports(tmp_path: Path) -> None:
    generate(tmp_path, parse_month_range("2023-01:2023-02"), 5_000, "csv", era="legacy")
    january = (tmp_path / "yellow_tripdata_2023-01.csv").read_text().splitlines()
    february = (tmp_path / "yellow_tripdata_2023-02.csv").read_text().splitlines()
    assert "irport_fee" not in january[0]
    assert february[0].endswith(",airport_fee")
    passenger_count = january[1].split(",")[3]
    assert passenger_count.endswith(".0")


def test_zone_lookup_has_real_airport_and_unknown_ids() -> None:
    zones = {z.location_id: z for z in build_zones()}
    assert len(zones) == 265
    assert zones[1].borough == "EWR"
    assert zones[132].zone == "JFK Airport" and zones[132].borough == "Queens"
    assert zones[138].zone == "LaGuardia Airport"
    assert zones[264].borough == "Unknown" and zones[265].zone == "Outside of NYC"
    boroughs = [z.borough for z in zones.values()]
    assert boroughs.count("Manhattan") == 69
