"""NYC Open Data (Socrata SODA 2.1) as a dlt source, declared with ``dlt.sources.rest_api``.

One resource, ``fhv_vehicles``: the TLC's "For Hire Vehicles (FHV) - Active" dataset. The
declarative configuration says everything about the API:

- paging: keyset pages in ``:id`` order (``helpers.KeysetPaginator``: ``$order=:id``, then
  ``:id > '<last :id>'``), so rows deleted or added while a run reads shift nothing;
- a window fixed when the run starts: ``:updated_at >= '<cursor>' AND :updated_at <= '<latest
  :updated_at at the start>'``. Rows changed while the run pages get a later stamp and wait for
  the next run; the cursor (dlt incremental state on ``:updated_at``, committed with the load)
  is the latest stamp read, never past the bound. The lower bound is inclusive and dlt's
  boundary de-duplication is off (``primary_key=[]``): rows stamped exactly at the cursor are
  read again and merged, so one stamped at the cursor after a run is not lost;
- merge on ``vehicle_license_number``, the natural key: a vehicle updated twice, read again at
  the cursor, or the whole dataset republished (new ``:id`` values), never duplicates;
- ``_removed_at``, null as loaded: ``ingestion.open_data.reconcile`` stamps vehicles that left
  the dataset, and a vehicle read again is merged with it null;
- an optional ``X-App-Token`` header; a retrying session (``ingestion.core.http``).

Record checks are in ``helpers.quarantine_incomplete``: a record without its key or cursor
goes to ``fhv_vehicles_rejected`` with the reason rather than failing or vanishing.
"""

from __future__ import annotations

from typing import Any

import dlt
import requests
from dlt.sources import DltResource
from dlt.sources.rest_api import rest_api_resources
from dlt.sources.rest_api.typing import RESTAPIConfig

from ingestion.open_data.helpers import (
    CURSOR,
    KeysetPaginator,
    latest_updated_at,
    quarantine_incomplete,
    soql_text,
)
from ingestion.open_data.settings import (
    INITIAL_UPDATED_AT,
    REMOVED_COLUMN,
    SOURCE_NAME,
    VEHICLES_TABLE,
    OpenDataSettings,
)


def app_token_headers(app_token: str | None) -> dict[str, str]:
    return {"X-App-Token": app_token} if app_token else {}


def rest_api_config(
    options: OpenDataSettings, session: requests.Session, app_token: str | None, upper: str
) -> RESTAPIConfig:
    """The ``rest_api`` configuration of the FHV vehicles dataset, read up to ``upper``."""
    return {
        "client": {
            "base_url": options.base_url.rstrip("/") + "/",
            "headers": app_token_headers(app_token),
            "session": session,
        },
        "resources": [
            {
                "name": VEHICLES_TABLE,
                "primary_key": "vehicle_license_number",
                "write_disposition": "merge",
                "columns": {
                    REMOVED_COLUMN: {"data_type": "timestamp", "timezone": True, "nullable": True}
                },
                "endpoint": {
                    "path": f"resource/{options.dataset_id}.json",
                    "data_selector": "$",
                    "paginator": KeysetPaginator(options.page_size),
                    "params": {
                        "$select": ":*,*",
                        "$where": f"{CURSOR} >= '{{incremental.start_value}}' "
                        f"AND {CURSOR} <= {soql_text(upper)}",
                    },
                    "incremental": {
                        "cursor_path": f"['{CURSOR}']",
                        "initial_value": INITIAL_UPDATED_AT,
                        # >= and merge de-duplicate; dlt's hash check at the boundary would
                        # drop a row re-stamped within the same millisecond
                        "primary_key": [],
                        # a record without the cursor reaches the quarantine step below
                        "on_cursor_value_missing": "include",
                    },
                },
                "processing_steps": [{"yield_map": quarantine_incomplete}],
            }
        ],
    }


@dlt.source(name=SOURCE_NAME)
def open_data(
    options: OpenDataSettings,
    session: requests.Session,
    app_token: str | None = dlt.secrets.value,
    upper: str | None = None,
) -> list[DltResource]:
    """NYC Open Data's FHV vehicles changed since the cursor, up to ``upper``.

    Args:
        options: base URL, dataset id and page size.
        session: the HTTP session (retries, timeouts) every request goes through.
        app_token: Socrata app token (``sources.open_data.app_token``); optional.
        upper: the run's last ``:updated_at``; default: the dataset's latest, asked now.

    Returns:
        The ``fhv_vehicles`` resource.
    """
    if upper is None:
        upper = latest_updated_at(session, options.resource_url, app_token_headers(app_token))
    # an empty dataset: nothing is stamped at or before the epoch, so the run reads nothing
    resources: Any = rest_api_resources(
        rest_api_config(options, session, app_token, upper or INITIAL_UPDATED_AT)
    )
    return list(resources)
