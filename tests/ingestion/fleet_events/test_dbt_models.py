"""The fleet_events dbt layers on real loads: marts agree with what the generator produced."""

from __future__ import annotations

import duckdb

from ingestion.fleet_events.generator import GeneratorOptions, generate
from ingestion.fleet_events.pipeline import RunOptions, run_fleet_events
from tests.ingestion.dbt.conftest import build_trips_project

SELECTION = [
    "path:models/staging/fleet_events",
    "path:models/intermediate/fleet_events",
    "path:models/marts/fleet_ops",
    "dim_zones",
]


def test_live_ops_and_market_share_marts_reconcile(kafka, topic, tmp_path):
    project = build_trips_project(tmp_path, rows=5_000, full=False)
    report = generate(kafka.bootstrap, GeneratorOptions(trips=2_000, seed=41, topic=topic))
    summary = run_fleet_events(project.settings, RunOptions(bootstrap=kafka.bootstrap, topic=topic))
    assert summary.extra["new_events"] == report.valid_events

    project.dbt("build", "--select", *SELECTION, "--indirect-selection", "cautious")

    with duckdb.connect(str(project.settings.duckdb_path), read_only=True) as db:
        requested, completed, cancelled = db.sql(
            "select sum(trips_requested), sum(trips_completed), sum(trips_cancelled) "
            "from marts.fleet_ops_by_zone_day"
        ).fetchall()[0]
        assert (requested, completed, cancelled) == (
            report.trips,
            report.completed_trips,
            report.cancelled_trips,
        )
        last_hour = db.sql(
            "select sum(trips_requested) from marts.fleet_ops_by_zone_last_hour"
        ).fetchall()[0][0]
        # Trips are requested uniformly over the last six hours: about a sixth in the last one.
        assert report.trips / 12 < last_hour < report.trips / 3
        fleet, city = db.sql(
            "select sum(fleet_trips), sum(city_trips) "
            "from marts.fleet_market_share_by_zone_hour_of_week"
        ).fetchall()[0]
        assert fleet == report.completed_trips
        # The city side is the yellow trips valid for demand (not only the fully valid ones).
        (city_demand,) = db.sql(
            "select count(*) from marts.fct_trips where service = 'yellow' and is_valid_for_demand"
        ).fetchall()[0]
        assert city == city_demand
        shares = db.sql(
            "select min(fleet_market_share), max(fleet_market_share) "
            "from marts.fleet_market_share_by_zone_hour_of_week"
        ).fetchall()[0]
        assert 0 <= shares[0] <= shares[1] <= 1
        pickup_wait = db.sql(
            "select min(request_to_pickup_seconds) from intermediate.int_fleet_trips"
        ).fetchall()[0][0]
        assert pickup_wait > 0
