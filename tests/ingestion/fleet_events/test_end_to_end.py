"""Against a real broker: faults in, exact counts out; a second run takes only new events."""

from __future__ import annotations

import duckdb

from ingestion.fleet_events.generator import GeneratorOptions, generate
from tests.ingestion.fleet_events.helpers import (
    committed_offsets,
    high_watermarks,
    query,
    run_pipeline,
    scalar,
)

RAW = "raw_fleet_events"


def test_exact_counts_dead_letters_and_second_run(kafka, topic, tripline_env):
    first = generate(kafka.bootstrap, GeneratorOptions(trips=3_000, seed=11, topic=topic))
    assert first.malformed > 0 and first.duplicates > 0 and first.late_events > 0

    counts = run_pipeline(kafka.bootstrap, topic, "--batch-messages", "4000")
    assert counts["read"] == first.messages
    assert counts["loaded"] == first.valid_messages
    assert counts["rejected"] == first.malformed
    assert counts["new"] == first.valid_events

    settings = tripline_env
    total, distinct = query(
        settings, f"select count(*), count(distinct event_id) from {RAW}.trip_events"
    )[0]
    assert total == distinct == first.valid_events
    assert scalar(settings, f"select count(*) from {RAW}.trip_events_dead_letter") == (
        first.malformed
    )
    assert (
        scalar(
            settings,
            f"select count(*) from {RAW}.trip_events where event_type = 'trip_requested'",
        )
        == first.trips
    )
    assert (
        scalar(
            settings,
            f"select count(*) from {RAW}.trip_events where event_type = 'trip_completed'",
        )
        == first.completed_trips
    )
    # The unnested surcharges: none orphaned or doubled, and each completed trip's fare adds
    # up (the generator's total is base + tip + tolls + surcharges, rounded to cents).
    orphans, doubled, fares_off = query(
        settings,
        f"""
        with per_event as (
            select event_id, sum(amount) as surcharges
            from {RAW}.trip_event_surcharges
            group by event_id
        )
        select
            (select count(*) from {RAW}.trip_event_surcharges as s
             anti join {RAW}.trip_events as e
                on s.event_id = e.event_id and e.event_type = 'trip_completed'),
            (select count(*) - count(distinct (event_id, surcharge_position))
             from {RAW}.trip_event_surcharges),
            (select count(*) from {RAW}.trip_events as e left join per_event using (event_id)
             where e.event_type = 'trip_completed'
                and abs(e.fare__base_amount + e.fare__tip_amount + e.fare__tolls_amount
                    + coalesce(per_event.surcharges, 0) - e.fare__total_amount) > 0.011)
        """,
    )[0]
    assert (orphans, doubled, fares_off) == (0, 0, 0)
    assert scalar(settings, f"select count(*) from {RAW}.trip_event_surcharges") > 0
    dead = query(
        settings,
        f"select topic, reason, raw_base64 from {RAW}.trip_events_dead_letter limit 1",
    )[0]
    assert dead[0] == topic and dead[1] and dead[2]
    assert committed_offsets(kafka.bootstrap, topic) == high_watermarks(kafka.bootstrap, topic)

    second = generate(kafka.bootstrap, GeneratorOptions(trips=500, seed=12, topic=topic))
    counts = run_pipeline(kafka.bootstrap, topic)
    assert counts["read"] == second.messages
    assert counts["new"] == second.valid_events
    assert scalar(settings, f"select count(*) from {RAW}.trip_events") == (
        first.valid_events + second.valid_events
    )
    assert scalar(settings, f"select count(*) from {RAW}.trip_events_dead_letter") == (
        first.malformed + second.malformed
    )

    idle = run_pipeline(kafka.bootstrap, topic)
    assert idle == {"read": 0, "loaded": 0, "rejected": 0, "new": 0}


def test_missing_topic_is_one_line_error(kafka, tripline_env):
    from tests.helpers import run_tripline

    result = run_tripline(
        "pipeline",
        "run",
        "fleet_events",
        "--bootstrap",
        kafka.bootstrap,
        "--topic",
        "no.such.topic",
    )
    assert result.returncode != 0
    assert "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_full_refresh_reloads_the_topic_and_replaces_the_first_layout(kafka, topic, tripline_env):
    from tests.helpers import run_tripline

    report = generate(kafka.bootstrap, GeneratorOptions(trips=400, seed=13, topic=topic))
    run_pipeline(kafka.bootstrap, topic)
    # What the first version's dlt normalizer left: a child table the Arrow pages cannot fill.
    with duckdb.connect(str(tripline_env.duckdb_path)) as connection:
        connection.execute(f"create table {RAW}.trip_events__fare__surcharges (amount double)")
    refused = run_tripline(
        "pipeline", "run", "fleet_events", "--bootstrap", kafka.bootstrap, "--topic", topic
    )
    assert refused.returncode == 2
    assert "--full-refresh" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    counts = run_pipeline(kafka.bootstrap, topic, "--full-refresh")
    assert counts["read"] == report.messages  # from the oldest retained message again
    assert counts["new"] == report.valid_events
    tables = {
        row[0]
        for row in query(
            tripline_env,
            f"select table_name from information_schema.tables where table_schema = '{RAW}'",
        )
    }
    assert "trip_events__fare__surcharges" not in tables
    assert scalar(tripline_env, f"select count(*) from {RAW}.trip_events") == report.valid_events
    assert run_pipeline(kafka.bootstrap, topic)["read"] == 0  # the offsets were stored again
