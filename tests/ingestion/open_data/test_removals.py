"""The key reconciliation: vehicles that leave "FHV - Active" are marked, not kept as listed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from devservers.socrata import RESOURCE_PATH
from ingestion.core.errors import SourceError
from ingestion.core.settings import Settings
from ingestion.open_data.pipeline import run_open_data
from ingestion.open_data.settings import OpenDataSettings, load_open_data_settings
from tests.helpers import run_tripline
from tests.ingestion.open_data.conftest import Served, after_id, in_server_order, query

KEY_SELECT = ":id,vehicle_license_number"


def options() -> OpenDataSettings:
    """The test settings with key pages of 1,000, so the key stream pages too."""
    return replace(load_open_data_settings(), key_page_size=1000)


def removed(settings: Settings) -> dict[str, datetime]:
    """Vehicles raw marks as removed, with when."""
    rows = query(
        settings,
        "select vehicle_license_number, _removed_at from raw_open_data.fhv_vehicles "
        "where _removed_at is not null",
    )
    return {str(key): at for key, at in rows}  # type: ignore[misc]


def listed(settings: Settings) -> set[str]:
    rows = query(
        settings,
        "select vehicle_license_number from raw_open_data.fhv_vehicles where _removed_at is null",
    )
    return {str(key) for (key,) in rows}


def keys(records: list[dict[str, str]]) -> set[str]:
    return {r["vehicle_license_number"] for r in records}


def key_pages(socrata: Served) -> list[str | None]:
    server, _ = socrata
    return [
        after_id(r.params)
        for r in server.logged(RESOURCE_PATH)
        if r.params.get("$select") == KEY_SELECT and r.status == 200
    ]


def test_vehicles_that_leave_the_dataset_are_marked_and_cleared_when_back(
    open_data_env: Settings, socrata: Served
):
    server, dataset = socrata
    first = run_open_data(open_data_env, options())
    assert first.extra["removed"] == 0 and removed(open_data_env) == {}
    ordered = in_server_order(dataset.snapshot())
    # the key stream pages by :id like the vehicles (2,500 keys in pages of 1,000)
    assert key_pages(socrata) == [None, ordered[999][":id"], ordered[1999][":id"]]

    gone = dataset.delete([r["vehicle_license_number"] for r in ordered[5:8]])
    server.clear_log()
    second = run_open_data(open_data_env, options())
    assert second.extra["removed"] == 3
    assert second.rows_loaded == 1  # the row at the cursor, read again
    marked = removed(open_data_env)
    assert set(marked) == keys(gone)
    assert listed(open_data_env) == keys(dataset.snapshot())

    # one comes back under a new :id (read again, merged unmarked); one reappears as it was
    # (a broken answer had hidden it: not read again, the reconciliation clears it)
    readded = dataset.readd(gone[:1])
    dataset.records.append(gone[1])
    third = run_open_data(open_data_env, options())
    assert (third.extra["removed"], third.extra["restored"]) == (0, 1)
    assert removed(open_data_env) == {
        gone[2]["vehicle_license_number"]: marked[gone[2]["vehicle_license_number"]]
    }
    assert listed(open_data_env) == keys(dataset.snapshot())
    assert query(
        open_data_env,
        "select _id from raw_open_data.fhv_vehicles "
        f"where vehicle_license_number = '{readded[0]['vehicle_license_number']}'",
    ) == [(readded[0][":id"],)]


def test_vehicles_gone_while_the_keys_are_streamed_are_marked_exactly(
    open_data_env: Settings, socrata: Served
):
    server, dataset = socrata
    run_open_data(open_data_env, options())
    ordered = in_server_order(dataset.snapshot())
    changes: dict[str, list[dict[str, str]]] = {}

    def change(path: str, params: dict[str, str]) -> None:
        changes["gone"] = dataset.delete([ordered[3]["vehicle_license_number"]])  # streamed
        changes["gone_later"] = dataset.delete([ordered[2400]["vehicle_license_number"]])
        changes["added"] = dataset.add(3)

    server.faults.add(
        "hook",
        match=lambda p, q: after_id(q) == ordered[999][":id"] and q["$select"] == KEY_SELECT,
        action=change,
    )
    run_open_data(open_data_env, options())
    assert changes
    # a key streamed before its vehicle left is not marked until the next reconciliation
    assert set(removed(open_data_env)) == keys(changes["gone_later"])
    run_open_data(open_data_env, options())
    assert set(removed(open_data_env)) == keys(changes["gone"]) | keys(changes["gone_later"])
    assert listed(open_data_env) == keys(dataset.snapshot())


def test_a_source_lacking_most_vehicles_is_refused_and_marks_nothing(
    open_data_env: Settings, socrata: Served
):
    _, dataset = socrata
    run_open_data(open_data_env, options())
    del dataset.records[100:]  # a wrong dataset, an empty restore, a broken answer
    with pytest.raises(SourceError) as refused:
        run_open_data(open_data_env, options())
    message = str(refused.value)
    assert "\n" not in message
    assert "would mark 2,400 of 2,500 fhv_vehicles rows as removed" in message
    assert "the source holds 100 keys" in message and "--skip-reconcile" in message
    assert removed(open_data_env) == {}
    cli = run_tripline("pipeline", "run", "open_data")
    assert cli.returncode == 3 and "refusing" in cli.stderr.strip().splitlines()[-1]
    skipped = run_tripline("pipeline", "run", "open_data", "--skip-reconcile")
    assert skipped.returncode == 0, skipped.stderr
    assert removed(open_data_env) == {}
    assert len(listed(open_data_env)) == 2500
