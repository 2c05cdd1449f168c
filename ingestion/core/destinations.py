"""Which destination the pipelines load into: the DuckDB file, or Delta tables on a lake.

``TRIPLINE_DESTINATION`` (``duckdb``, the default, or ``lake``) chooses; with ``lake``,
``TRIPLINE_LAKE_URL`` (``s3://bucket/prefix`` or ``file:///abs/path``) says where. S3
credentials and endpoint come from dlt's own configuration, as for any dlt filesystem
destination (``DESTINATION__FILESYSTEM__CREDENTIALS__AWS_ACCESS_KEY_ID``, ``…__ENDPOINT_URL``
or ``.dlt/secrets.toml``). This module is the only place that knows the difference; the
pipelines ask it:

* :func:`make_destination` — the dlt destination for ``open_pipeline``;
* :func:`lake_format` — on the lake, every table a pipeline extracts is a Delta table
  (``table_format="delta"`` for every ``extract``, which ``run`` calls too);
* :func:`sql_client` — SQL reads of the dataset: dlt's DuckDB client, or the lake's
  read-only DuckDB over the Delta tables (``ingestion.core.lake``);
* :func:`is_lake` — for the few writes that are SQL on DuckDB and Delta commits on the lake.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dlt
from dlt.common.destination.reference import Destination
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from ingestion.core.duckdb_config import duckdb_config
from ingestion.core.errors import ConfigurationError
from ingestion.core.settings import Settings, load_settings

DUCKDB, LAKE = "duckdb", "lake"
DESTINATIONS = (DUCKDB, LAKE)
TABLE_FORMAT = "delta"
_LAKE_PROTOCOLS = ("s3", "file")


def check(settings: Settings) -> None:
    """Refuse a destination or lake URL Tripline cannot use, in one line."""
    if settings.destination not in DESTINATIONS:
        raise ConfigurationError(
            f"TRIPLINE_DESTINATION={settings.destination!r}: choose {' or '.join(DESTINATIONS)}"
        )
    if settings.destination != LAKE:
        return
    url = settings.lake_url or ""
    protocol = url.split("://", 1)[0].lower() if "://" in url else ""
    if protocol not in _LAKE_PROTOCOLS or not url.split("://", 1)[1].strip("/"):
        raise ConfigurationError(
            f"TRIPLINE_LAKE_URL={url!r}: the lake needs s3://bucket/prefix or file:///abs/path"
        )


def make_destination(settings: Settings) -> Destination[Any, Any]:
    """The dlt destination ``settings`` name."""
    check(settings)
    if settings.destination == LAKE:
        assert settings.lake_url
        return dlt.destinations.filesystem(bucket_url=settings.lake_url.rstrip("/"))
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    credentials = DuckDbCredentials(
        str(settings.duckdb_path.resolve()), global_config=duckdb_config(settings)
    )
    return dlt.destinations.duckdb(credentials=credentials)


def is_lake(pipeline: dlt.Pipeline) -> bool:
    """Whether ``pipeline`` loads into the lake (dlt's filesystem destination)."""
    destination = pipeline.destination
    return destination is not None and destination.destination_name == "filesystem"


def lake_format(pipeline: dlt.Pipeline) -> dlt.Pipeline:
    """On the lake, make every ``extract`` (and so ``run``) write Delta tables.

    dlt takes ``table_format`` per call, not per destination; wrapping this pipeline's
    ``extract`` gives every call site the default, and a call that names a format keeps it.
    """
    if not is_lake(pipeline):
        return pipeline
    extract = pipeline.extract

    @functools.wraps(extract)
    def delta_extract(data: Any, **kwargs: Any) -> Any:
        kwargs["table_format"] = kwargs.get("table_format") or TABLE_FORMAT
        return extract(data, **kwargs)

    pipeline.extract = delta_extract  # type: ignore[method-assign]
    return pipeline


@contextmanager
def sql_client(pipeline: dlt.Pipeline, others: Sequence[str] = ()) -> Iterator[Any]:
    """A client for SQL over the dataset: read and write on DuckDB, read-only on the lake.

    ``others``: datasets of other pipelines the SQL reads too (on DuckDB every dataset is a
    schema of the same file; the lake opens the ones named).
    """
    if not is_lake(pipeline):
        with pipeline.sql_client() as client:
            yield client
        return
    from ingestion.core.lake import LakeDataset, LakeReader

    # the budget's memory limit and spill folder, as for every DuckDB Tripline opens
    extra = [LakeDataset(pipeline, name) for name in others if name != pipeline.dataset_name]
    with LakeReader(LakeDataset(pipeline), duckdb_config(load_settings()), extra) as reader:
        yield reader
