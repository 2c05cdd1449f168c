"""open_data against a dataset that changes while it is read, and between runs.

The devserver changes its dataset between two pages of a run (a ``hook`` fault) or between
runs; every assertion compares the rows in DuckDB with what the server holds.
"""

from __future__ import annotations

from datetime import datetime

from devservers.api_common import Matcher
from ingestion.core.settings import Settings
from ingestion.open_data.pipeline import run_open_data
from ingestion.open_data.settings import load_open_data_settings
from tests.ingestion.open_data.conftest import PAGE_SIZE, Served, cursor, query

Version = tuple[str, str, datetime]  # licence, :id, :updated_at


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def versions(records: list[dict[str, str]]) -> set[Version]:
    """What the server holds, as (licence, :id, :updated_at)."""
    return {(r["vehicle_license_number"], r[":id"], _instant(r[":updated_at"])) for r in records}


def stored(settings: Settings) -> set[Version]:
    """What raw_open_data.fhv_vehicles holds, as (licence, :id, :updated_at)."""
    rows = query(
        settings, "select vehicle_license_number, _id, _updated_at from raw_open_data.fhv_vehicles"
    )
    return {(str(a), str(b), c) for a, b, c in rows}  # type: ignore[misc]


def on_page(number: int) -> Matcher:
    """Matches the ``number``-th request for a page of vehicles (1 is the first)."""
    seen = 0

    def match(path: str, params: dict[str, str]) -> bool:
        nonlocal seen
        if params.get("$limit") != PAGE_SIZE:
            return False
        seen += 1
        return seen == number

    return match


def test_rows_changed_between_pages_are_neither_skipped_nor_lost(
    open_data_env: Settings, socrata: Served
):
    server, dataset = socrata
    start = dataset.snapshot()
    boundary = dataset.latest_updated_at()
    licence = [r["vehicle_license_number"] for r in start]
    changed: dict[str, list[dict[str, str]]] = {}

    def change(path: str, params: dict[str, str]) -> None:
        # after page one was read: rows move under an offset, and stamps pass the boundary
        changed["deleted"] = dataset.delete([licence[10]])  # read on page one
        changed["at_boundary"] = dataset.update([licence[20]], at=boundary)  # read, renewed
        changed["renewed_read"] = dataset.update([licence[30]])  # read, renewed later
        changed["renewed_unread"] = dataset.update([licence[2200]])  # renewed before its page
        changed["added"] = dataset.add(2)
        changed["added_at_boundary"] = dataset.add(1, at=boundary)

    server.faults.add("hook", match=on_page(2), action=change)
    run_open_data(open_data_env, load_open_data_settings())
    assert changed, "the dataset did not change during the run"
    # The run reads the dataset as of its start: every row not changed during the run, and
    # the row added at exactly the start's latest :updated_at. The vehicle renewed before its
    # page was reached waits for the next run (its new stamp is past this run's bound).
    renewed_unread = changed["renewed_unread"][0]["vehicle_license_number"]
    first_run = versions([r for r in start if r["vehicle_license_number"] != renewed_unread])
    assert stored(open_data_env) == first_run | versions(changed["added_at_boundary"])
    # The next run, with nothing changing, brings raw to exactly what the server holds (the
    # deleted vehicle keeps its last row: removals are the reconciliation's job).
    run_open_data(open_data_env, load_open_data_settings())
    assert stored(open_data_env) == versions(dataset.snapshot()) | versions(changed["deleted"])


def test_rows_stamped_at_the_cursor_after_a_run_are_loaded_by_the_next(
    open_data_env: Settings, socrata: Served
):
    _, dataset = socrata
    run_open_data(open_data_env, load_open_data_settings())
    at = cursor(open_data_env)
    assert at == dataset.latest_updated_at()
    # Socrata stamps in milliseconds: more rows can carry the cursor's value after the run
    late = dataset.add(1, at=at)
    renewed = dataset.update([dataset.snapshot()[0]["vehicle_license_number"]], at=at)
    run_open_data(open_data_env, load_open_data_settings())
    held = versions(dataset.snapshot())
    assert versions(late) | versions(renewed) <= held
    assert stored(open_data_env) == held
