"""The custom parts of the ``open_data`` source: keyset paging, the run's upper bound, and
what makes a vehicle record loadable.

Socrata pages by ``$offset`` over a result that is recomputed for every request, so a row
deleted (or re-stamped out of the filter) while a run reads shifts every later row one place
and one is never read. ``KeysetPaginator`` pages by the row identifier instead: ``$order=:id``
and, from the second page on, ``:id > '<last :id of the previous page>'``. A row removed from
the part already read moves nothing, and a new row can only come after the last key read.
Socrata compares ``:id`` by the row number it obfuscates (``soql-reference``: ``:id`` is a
``row_identifier``, an ordered type, and a text literal is decrypted to the number), so the
paginator never compares ids itself: it sends back the last one the server sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dlt
import requests
from dlt.sources.helpers.rest_client.paginators import BasePaginator

from ingestion.open_data.settings import REJECTED_TABLE

# Without these a record cannot be merged (key) or tracked incrementally (cursor).
REQUIRED_FIELDS = ("vehicle_license_number", ":id", ":updated_at")
ROW_KEY = ":id"
CURSOR = ":updated_at"


def soql_text(value: str) -> str:
    """A SoQL string literal (single quotes, a quote inside doubled)."""
    return "'" + value.replace("'", "''") + "'"


class KeysetPaginator(BasePaginator):
    """Pages of ``limit`` rows in ``:id`` order, each after the last ``:id`` of the one before.

    The first request's ``$where`` (if any) is kept and ``AND :id > '<last>'`` appended to it,
    so it must be a conjunction. Paging stops at the first page shorter than ``limit``.
    """

    def __init__(self, limit: int, key: str = ROW_KEY) -> None:
        super().__init__()
        self.limit = limit
        self.key = key
        self.last_key: str | None = None
        self._where: str | None = None

    def init_request(self, request: requests.Request) -> None:
        params = _params(request)
        self._where = params.get("$where")
        params.update({"$order": self.key, "$limit": self.limit})

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        page = data or []
        if len(page) < self.limit:
            self._has_next_page = False
            return
        keys = [row[self.key] for row in page if isinstance(row, dict) and row.get(self.key)]
        if not keys:
            raise ValueError(f"a full page of {len(page)} records without {self.key}")
        self.last_key = str(keys[-1])  # the server's order, not the text's

    def update_request(self, request: requests.Request) -> None:
        if self.last_key is None:
            return
        after = f"{self.key} > {soql_text(self.last_key)}"
        _params(request)["$where"] = f"{self._where} AND {after}" if self._where else after


def _params(request: requests.Request) -> dict[str, Any]:
    if request.params is None:
        request.params = {}
    if not isinstance(request.params, dict):  # dlt's RESTClient always builds a dict
        raise TypeError(f"keyset paging needs the query parameters as a dict: {request.params!r}")
    return request.params


def latest_updated_at(
    session: requests.Session, resource_url: str, headers: dict[str, str]
) -> str | None:
    """The dataset's latest ``:updated_at`` now (``None`` when it is empty).

    A run reads no row stamped after it, so rows changed while it pages wait for the next run
    instead of moving the cursor past changes it did not see. It comes from the server, so the
    bound needs no agreement between clocks.
    """
    response = session.get(
        resource_url,
        params={"$select": CURSOR, "$order": f"{CURSOR} DESC", "$limit": "1"},
        headers=headers,
    )
    response.raise_for_status()
    rows = response.json()
    if not isinstance(rows, list) or (rows and not isinstance(rows[0], dict)):
        raise ValueError(f"latest {CURSOR}: the answer is not a list of records")
    return str(rows[0][CURSOR]) if rows and rows[0].get(CURSOR) else None


def quarantine_incomplete(record: Any) -> Iterator[Any]:
    """Pass a complete record through; send one missing a required field to the rejects table.

    The rejected record keeps its fields as JSON text plus the reason, so nothing the API
    sent is lost and ``rows read = loaded + rejected`` still reconciles.
    """
    if not isinstance(record, dict):
        yield _reject({"value": repr(record)}, "record is not a JSON object")
        return
    missing = [name for name in REQUIRED_FIELDS if not record.get(name)]
    yield _reject(record, f"missing {', '.join(missing)}") if missing else record


def _reject(record: dict[str, Any], reason: str) -> Any:
    row = {
        "reason": reason,
        "record": json.dumps(record, sort_keys=True),
        "socrata_row_id": record.get(ROW_KEY),
    }
    return dlt.mark.with_hints(
        row,
        dlt.mark.make_hints(
            table_name=REJECTED_TABLE,
            write_disposition="append",
            primary_key=(),
            merge_key=(),
            columns={},  # none of the vehicles table's column hints (_removed_at)
        ),
        create_table_variant=True,
    )
