"""Record checks for the ``open_data`` source: what makes a vehicle record loadable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt

from ingestion.open_data.settings import REJECTED_TABLE

# Without these a record cannot be merged (key) or tracked incrementally (cursor).
REQUIRED_FIELDS = ("vehicle_license_number", ":id", ":updated_at")


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
    import json

    row = {
        "reason": reason,
        "record": json.dumps(record, sort_keys=True),
        "socrata_row_id": record.get(":id"),
    }
    return dlt.mark.with_hints(
        row,
        dlt.mark.make_hints(
            table_name=REJECTED_TABLE, write_disposition="append", primary_key=(), merge_key=()
        ),
        create_table_variant=True,
    )
