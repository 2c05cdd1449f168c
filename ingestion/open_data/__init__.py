"""NYC Open Data (Socrata SODA 2.x) as a dlt source, declared with ``dlt.sources.rest_api``.

One resource, ``fhv_vehicles``: the TLC's "For Hire Vehicles (FHV) - Active" dataset. The
declarative configuration says everything about the API:

- paging: ``$limit``/``$offset`` (dlt's offset paginator) in a stable ``$order=:id``, until an
  empty page;
- incremental: ``$where=:updated_at > '<last value>'`` with the cursor on Socrata's system field
  ``:updated_at`` (``$select=:*,*`` asks for system fields). dlt keeps the last value in the
  pipeline state, which is committed together with the load, so a failed run moves nothing;
- merge on ``vehicle_license_number``, the natural key: a vehicle updated twice, or the whole
  dataset republished (new ``:id`` values), never duplicates;
- an optional ``X-App-Token`` header; a retrying session (``ingestion.core.http``).

The only code is ``quarantine_incomplete``: a record without its key or cursor goes to
``fhv_vehicles_rejected`` with the reason rather than failing or vanishing.
"""

from __future__ import annotations

from typing import Any

import dlt
import requests
from dlt.sources import DltResource
from dlt.sources.rest_api import rest_api_resources
from dlt.sources.rest_api.typing import RESTAPIConfig

from ingestion.open_data.helpers import quarantine_incomplete
from ingestion.open_data.settings import (
    INITIAL_UPDATED_AT,
    SOURCE_NAME,
    VEHICLES_TABLE,
    OpenDataSettings,
)


def rest_api_config(
    options: OpenDataSettings, session: requests.Session, app_token: str | None
) -> RESTAPIConfig:
    """The ``rest_api`` configuration of the FHV vehicles dataset."""
    headers = {"X-App-Token": app_token} if app_token else {}
    return {
        "client": {
            "base_url": options.base_url.rstrip("/") + "/",
            "headers": headers,
            "session": session,
            "paginator": {
                "type": "offset",
                "limit": options.page_size,
                "offset_param": "$offset",
                "limit_param": "$limit",
                "total_path": None,
                "stop_after_empty_page": True,
            },
        },
        "resources": [
            {
                "name": VEHICLES_TABLE,
                "primary_key": "vehicle_license_number",
                "write_disposition": "merge",
                "endpoint": {
                    "path": f"resource/{options.dataset_id}.json",
                    "data_selector": "$",
                    "params": {
                        "$select": ":*,*",
                        "$order": ":id",
                        "$where": ":updated_at > '{incremental.start_value}'",
                    },
                    "incremental": {
                        "cursor_path": "[':updated_at']",
                        "initial_value": INITIAL_UPDATED_AT,
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
) -> list[DltResource]:
    """NYC Open Data's FHV vehicles, incremental by ``:updated_at``.

    Args:
        options: base URL, dataset id and page size.
        session: the HTTP session (retries, timeouts) every request goes through.
        app_token: Socrata app token (``sources.open_data.app_token``); optional.

    Returns:
        The ``fhv_vehicles`` resource.
    """
    resources: Any = rest_api_resources(rest_api_config(options, session, app_token))
    return list(resources)
