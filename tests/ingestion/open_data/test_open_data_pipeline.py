"""The open_data pipeline against the Socrata devserver over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
import requests

from devservers.api_common import ApiServer
from devservers.socrata import RESOURCE_PATH
from ingestion.core.errors import SourceError
from ingestion.core.settings import Settings
from ingestion.open_data.pipeline import run_open_data
from ingestion.open_data.settings import load_open_data_settings
from tests.helpers import SLOWER_THAN_THE_READ_TIMEOUT, run_tripline
from tests.ingestion.open_data.conftest import (
    Served,
    after_id,
    cursor,
    in_server_order,
    page_after,
    pages,
    query,
)


def vehicles(settings: Settings) -> list[tuple[object, ...]]:
    return query(
        settings,
        "select vehicle_license_number, expiration_date, _updated_at "
        "from raw_open_data.fhv_vehicles order by 1",
    )


def bound(server: ApiServer) -> dict[str, str]:
    """The request a run starts with: the dataset's latest :updated_at."""
    return server.logged(RESOURCE_PATH)[0].params


@pytest.mark.parametrize("rows", [2500, 2000])  # a short last page; a page boundary at the end
def test_paging_reads_every_record_exactly_once(
    open_data_env: Settings, socrata: Served, rows: int
):
    server, dataset = socrata
    dataset.records[:] = dataset.records[:rows]
    summary = run_open_data(open_data_env, load_open_data_settings())
    got = query(
        open_data_env,
        "select count(*), count(distinct vehicle_license_number), count(distinct _id) "
        "from raw_open_data.fhv_vehicles",
    )[0]
    assert got == (rows, rows, rows)
    assert bound(server) == {"$select": ":updated_at", "$order": ":updated_at DESC", "$limit": "1"}
    latest = dataset.latest_updated_at()
    ordered = in_server_order(dataset.snapshot())
    assert [r[":id"] for r in ordered] != sorted(r[":id"] for r in ordered)  # text order differs
    # each page starts after the last :id the server sent on the page before
    asked = pages(server)
    assert [after_id(r.params) for r in asked] == [None] + [
        ordered[end - 1][":id"] for end in range(1000, rows + 1, 1000)
    ]
    first = asked[0].params
    assert first["$order"] == ":id" and first["$limit"] == "1000" and first["$select"] == ":*,*"
    assert (
        first["$where"] == f":updated_at >= '1970-01-01T00:00:00.000' AND :updated_at <= '{latest}'"
    )
    assert {r.params["$where"].split(" AND :id")[0] for r in asked} == {first["$where"]}
    assert summary.rows_loaded == rows and summary.reconciles
    assert summary.extra["upper_bound"] == summary.extra["cursor"] == latest


def test_incremental_run_asks_only_for_new_data(open_data_env: Settings, socrata: Served):
    server, dataset = socrata
    run_open_data(open_data_env, load_open_data_settings())
    last = dataset.latest_updated_at()
    assert cursor(open_data_env) == last
    changed = dataset.touch(3)
    added = dataset.add(2)
    server.clear_log()
    summary = run_open_data(open_data_env, load_open_data_settings())
    asked = pages(server)
    latest = dataset.latest_updated_at()
    assert [r.params["$where"] for r in asked] == [
        f":updated_at >= '{last}' AND :updated_at <= '{latest}'"
    ]  # one short page
    # the five changed records, and the one stamped at the cursor, read again and merged
    assert summary.rows_loaded == 6
    rows = vehicles(open_data_env)
    assert len(rows) == len({r[0] for r in rows}) == 2502
    renewed = {r[0]: r[1] for r in rows if r[0] in {c["vehicle_license_number"] for c in changed}}
    assert {str(v)[:10] for v in renewed.values()} == {"2028-01-31"}
    assert {a["vehicle_license_number"] for a in added} <= {r[0] for r in rows}
    server.clear_log()
    assert run_open_data(open_data_env, load_open_data_settings()).rows_loaded == 1
    assert len(pages(server)) == 1  # nothing new: the row at the cursor, on one page


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("429", {"retry_after": 1}),
        ("500", {}),
        ("slow", {"delay": SLOWER_THAN_THE_READ_TIMEOUT}),
        ("cut", {}),
    ],
)
def test_transient_faults_end_in_success(
    open_data_env: Settings, socrata: Served, kind: str, extra: dict[str, float]
):
    server, dataset = socrata
    second = in_server_order(dataset.snapshot())[999][":id"]
    server.faults.add(kind, times=2, match=page_after(second), **extra)
    run_open_data(open_data_env, load_open_data_settings())
    page_two = [r for r in server.logged(RESOURCE_PATH) if after_id(r.params) == second]
    assert [r.fault for r in page_two] == [kind, kind, ""]
    assert query(
        open_data_env,
        "select count(distinct vehicle_license_number), count(*) from raw_open_data.fhv_vehicles",
    )[0] == (2500, 2500)
    if kind == "429":
        assert page_two[1].at - page_two[0].at >= 0.95
        assert page_two[2].at - page_two[1].at >= 0.95


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("500", "after 3 attempts: HTTP 500"), ("malformed", "malformed response: invalid JSON")],
)
def test_failure_names_url_and_page_and_changes_no_state(
    open_data_env: Settings, socrata: Served, kind: str, expected: str
):
    server, dataset = socrata
    run_open_data(open_data_env, load_open_data_settings())
    before_rows, before_cursor = vehicles(open_data_env), cursor(open_data_env)
    dataset.touch(1500)  # two pages of changes
    second = in_server_order(dataset.snapshot())[999][":id"]
    server.faults.add(kind, times=99, match=page_after(second))
    with pytest.raises(SourceError) as failure:
        run_open_data(open_data_env, load_open_data_settings())
    message = str(failure.value)
    assert "\n" not in message and expected in message
    assert f"GET {server.url}{RESOURCE_PATH} page after :id {second} $limit=1000" in message
    assert "nothing was loaded and the cursor did not move" in message
    assert vehicles(open_data_env) == before_rows  # page one was read but not loaded
    assert cursor(open_data_env) == before_cursor
    server.faults.clear()
    server.clear_log()
    summary = run_open_data(open_data_env, load_open_data_settings())
    assert pages(server)[0].params["$where"].startswith(f":updated_at >= '{before_cursor}'")
    assert summary.rows_loaded == 1500 + 1  # and the row stamped at the cursor
    rows = vehicles(open_data_env)
    assert len(rows) == len({r[0] for r in rows}) == 2500
    assert sum(str(r[1])[:10] == "2028-01-31" for r in rows) == 1500


def test_incomplete_records_are_quarantined(open_data_env: Settings, socrata: Served):
    _, dataset = socrata
    del dataset.records[10]["vehicle_license_number"]
    summary = run_open_data(open_data_env, load_open_data_settings())
    assert (summary.rows_loaded, summary.rows_rejected, summary.rows_read) == (2499, 1, 2500)
    rejected = query(
        open_data_env, "select reason, record from raw_open_data.fhv_vehicles_rejected"
    )
    assert rejected[0][0] == "missing vehicle_license_number"
    assert dataset.records[10][":id"] in rejected[0][1]


def test_app_token_is_sent_from_dlt_secrets(
    open_data_env: Settings, socrata: Served, monkeypatch: pytest.MonkeyPatch
):
    server, _ = socrata
    run_open_data(open_data_env, load_open_data_settings())
    assert not any(r.has_app_token for r in server.logged())
    monkeypatch.setenv("SOURCES__OPEN_DATA__APP_TOKEN", "test-token")
    run_open_data(open_data_env, load_open_data_settings())
    assert server.logged()[-1].has_app_token


def test_devserver_validates_like_socrata(socrata: Served):
    server, dataset = socrata
    url = f"{server.url}{RESOURCE_PATH}"
    for params, code in [
        ({"$where": "updated > 3"}, "query.compiler.malformed"),
        ({"$where": ":updated_at > 'soon'"}, "query.soql.type-mismatch"),
        ({"$order": "colour"}, "query.soql.no-such-column"),
        ({"$limit": "60000"}, "query.execution.limit-exceeded"),
        ({"$limit": "-1"}, "query.soql.type-mismatch"),
        ({"$having": "x"}, "query.soql.invalid-parameter"),
        ({"$where": ":id > 'row-5'"}, "query.soql.type-mismatch"),  # not an id Socrata issued
        ({"$order": ":id sideways"}, "query.compiler.malformed"),
    ]:
        response = requests.get(url, params=params, timeout=5)
        assert response.status_code == 400, params
        assert response.json()["code"] == code
    plain = requests.get(url, params={"$limit": "1"}, timeout=5).json()
    assert ":id" not in plain[0] and "vehicle_license_number" in plain[0]
    # :id compares and sorts by the row number behind it, timestamps as instants
    ordered = in_server_order(dataset.snapshot())
    after = requests.get(
        url,
        params={"$select": ":id", "$order": ":id", "$where": f":id > '{ordered[2497][':id']}'"},
        timeout=5,
    ).json()
    assert after == [{":id": r[":id"]} for r in ordered[2498:]]
    latest = requests.get(
        url,
        params={"$select": ":updated_at", "$order": ":updated_at DESC", "$limit": "1"},
        timeout=5,
    ).json()
    assert latest == [{":updated_at": dataset.latest_updated_at()}]


def test_cli_runs_and_fails_in_one_line(open_data_env: Settings, socrata: Served):
    server, _ = socrata
    ok = run_tripline("pipeline", "run", "open_data")
    assert ok.returncode == 0, ok.stderr
    assert "rows read 2,500 = loaded 2,500 + rejected 0" in ok.stdout
    server.faults.add("500", times=99)
    bad = run_tripline("pipeline", "run", "open_data", "--full-refresh")
    assert bad.returncode == 3
    last = bad.stderr.strip().splitlines()[-1]
    assert f"GET {server.url}{RESOURCE_PATH} (the latest :updated_at) failed after 3" in last


def test_demo_starts_its_devserver_and_loads(tripline_env: Settings):
    from ingestion.open_data.entry import DEMO_VEHICLES, PIPELINE

    assert PIPELINE.demo is not None
    summary = PIPELINE.demo(tripline_env)
    assert summary.rows_loaded == DEMO_VEHICLES and summary.reconciles


def test_full_refresh_reads_everything_again(open_data_env: Settings, socrata: Served):
    server, dataset = socrata
    run_open_data(open_data_env, load_open_data_settings())
    del dataset.records[2000:]
    server.clear_log()
    summary = run_open_data(open_data_env, load_open_data_settings(), full_refresh=True)
    assert (
        pages(server)[0].params["$where"].startswith(":updated_at >= '1970-01-01T00:00:00.000' AND")
    )
    assert summary.rows_loaded == 2000
    assert query(open_data_env, "select count(*) from raw_open_data.fhv_vehicles")[0][0] == 2000
