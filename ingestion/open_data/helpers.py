"""Record checks for the ``open_data`` source: what makes a vehicle record loadable."""

from __future__ import annotations

from typing import Any

import dlt

from ingestion.open_data.settings import REJECTED_TABLE

# Without these a record cannot be merged (key) or tracked incrementally (cursor).
REQUIRED_FIELDS = ("vehicle_license_number", ":id", ":updated_at")


def quarantine_incomplete(record: Any) -> Any:
    """Pass a complete record through; send one missing a required field to the rejects table.

    The rejected record keeps its fields as JSON text plus the reason, so nothing the API
    sent is lost and ``rows read = loaded + rejected`` still reconciles.
    """
    if not isinstance(record, dict):
        return _reject({"value": repr(record)}, "record is not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if not record.get(name)]
    if not missing:
        return record
    return _reject(record, f"missing {', '.join(missing)}")


def _reject(record: dict[str, Any], reason: str) -> Any:
    import json

    row = {
        "reason": reason,
        "record": json.dumps(record, sort_keys=True),
        "socrata_row_id": record.get(":id"),
    }
    return dlt.mark.with_hints(
        row,
        dlt.mark.make_hints(table_name=REJECTED_TABLE, write_disposition="append"),
        create_table_variant=True,
    )
