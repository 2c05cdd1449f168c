"""Options of the ``open_data`` pipeline and where each comes from.

Base URL: ``TRIPLINE_OPEN_DATA_BASE_URL`` or dlt config ``sources.open_data.base_url``
(default: the real NYC Open Data portal). Page size: ``TRIPLINE_OPEN_DATA_PAGE_SIZE`` or
``sources.open_data.page_size``. App token (optional, raises Socrata's rate limits): dlt secret
``sources.open_data.app_token`` (``.dlt/secrets.toml`` or env
``SOURCES__OPEN_DATA__APP_TOKEN``); it is sent as the ``X-App-Token`` header, never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.core.errors import ConfigurationError
from ingestion.core.http import configured

PIPELINE_NAME = "open_data"
DATASET = "raw_open_data"
SOURCE_NAME = "open_data"
DEFAULT_BASE_URL = "https://data.cityofnewyork.us"
# "For Hire Vehicles (FHV) - Active", published by the TLC, refreshed daily.
FHV_DATASET_ID = "8wbx-tsch"
VEHICLES_TABLE = "fhv_vehicles"
REJECTED_TABLE = "fhv_vehicles_rejected"
# Stamped by the key reconciliation on vehicles that left the dataset; null while listed.
REMOVED_COLUMN = "_removed_at"
# A source that suddenly lacks most vehicles is far likelier a wrong URL than a purge.
MAX_REMOVED_SHARE = 0.5
DEFAULT_PAGE_SIZE = 5000
# Socrata serves at most 50,000 rows per request on SODA 2.0 endpoints (2.1: no maximum).
MAX_PAGE_SIZE = 50_000
# The reconciliation asks for two short fields per row, so its pages can be the largest.
KEY_PAGE_SIZE = MAX_PAGE_SIZE
# Every record is newer than this: the first run reads the whole dataset.
INITIAL_UPDATED_AT = "1970-01-01T00:00:00.000"


@dataclass(frozen=True)
class OpenDataSettings:
    base_url: str
    dataset_id: str
    page_size: int
    key_page_size: int = KEY_PAGE_SIZE

    @property
    def resource_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/resource/{self.dataset_id}.json"


def load_open_data_settings(
    base_url: str | None = None, page_size: int | None = None
) -> OpenDataSettings:
    """Arguments win over the environment, which wins over dlt config and the defaults."""
    url = base_url or configured(
        "TRIPLINE_OPEN_DATA_BASE_URL", "sources.open_data.base_url", DEFAULT_BASE_URL
    )
    size = page_size or int(
        configured(
            "TRIPLINE_OPEN_DATA_PAGE_SIZE", "sources.open_data.page_size", str(DEFAULT_PAGE_SIZE)
        )
    )
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ConfigurationError(f"open_data page size must be 1..{MAX_PAGE_SIZE}, got {size}")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"open_data base URL must be http(s)://, got {url!r}")
    return OpenDataSettings(url, FHV_DATASET_ID, size)
