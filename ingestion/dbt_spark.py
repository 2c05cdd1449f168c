"""Run the dbt project on Spark (the lakehouse target), reading the lake's Delta tables.

The ``spark`` target of ``profiles/profiles.yml`` runs pyspark in local mode inside dbt's
process (dbt-spark's ``session`` method): one dbt command is one JVM, so a build is one
command. This module gives that command what the profile reads from the environment - the
lake (``TRIPLINE_LAKE_URL``), the folder for Spark's warehouse and Derby metastore
(``TRIPLINE_SPARK_DIR``) and the absolute paths of the Delta jars that
``scripts/services.d/spark.sh`` fetched - and turns a failure into one line, like
:func:`ingestion.dbt_runner.run_dbt` does for DuckDB. On a cluster (EMR, Glue, Databricks)
dbt talks to Spark over ``thrift`` or ``odbc`` instead and none of this applies.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import fsspec
from deltalake import DeltaTable

from ingestion.core.errors import ConfigurationError
from ingestion.dbt_runner import DbtError, dbt_command, dbt_project_dir, first_problem

DELTA_VERSION = "4.3.1"
DELTA_JARS = (f"delta-spark_2.13-{DELTA_VERSION}.jar", f"delta-storage-{DELTA_VERSION}.jar")
JARS_FOLDER = Path(".cache/spark/jars")


def delta_jars(project: Path) -> list[Path]:
    """The Delta jars under the project's cache, or a ConfigurationError naming the fetch."""
    jars = [project / JARS_FOLDER / name for name in DELTA_JARS]
    missing = [jar.name for jar in jars if not jar.is_file()]
    if missing:
        raise ConfigurationError(
            f"the Delta jars {', '.join(missing)} are not in {project / JARS_FOLDER}: "
            "run 'bash scripts/services.d/spark.sh' (Maven Central, cached)"
        )
    return jars


def lake_tables(lake_url: str) -> dict[str, list[str]]:
    """Each Delta table of the lake (``<dataset>.<table>``) with its column names.

    Spark reads sources by path, so dbt cannot ask a catalog whether a service was ever
    loaded; macro optional_source reads this map (``TRIPLINE_LAKE_TABLES``) instead.
    """
    filesystem, root = fsspec.core.url_to_fs(lake_url)
    tables: dict[str, list[str]] = {}
    for log in sorted(filesystem.glob(f"{root.rstrip('/')}/*/*/_delta_log")):
        table_path = str(log).rsplit("/", 1)[0]
        dataset, table = table_path.rsplit("/", 2)[-2:]
        uri = lake_url.rstrip("/") + "/" + dataset + "/" + table
        tables[f"{dataset}.{table}"] = [f.name for f in DeltaTable(uri).schema().fields]
    return tables


def spark_environment(lake_url: str, spark_dir: Path, project: Path) -> dict[str, str]:
    """The caller's environment plus what the ``spark`` target reads from it."""
    return {
        **os.environ,
        "TRIPLINE_LAKE_URL": lake_url,
        "TRIPLINE_LAKE_TABLES": json.dumps(lake_tables(lake_url)),
        "TRIPLINE_SPARK_DIR": str(spark_dir.resolve()),
        "TRIPLINE_SPARK_JARS": ",".join(str(jar) for jar in delta_jars(project)),
        # Spark binds the loopback, never the host's own address (no traffic off 127.0.0.1).
        "SPARK_LOCAL_IP": "127.0.0.1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def run_dbt_spark(args: list[str], lake_url: str, spark_dir: Path) -> str:
    """Run ``dbt <args> --target spark`` in ``spark_dir`` (Spark's stray files land there);
    return dbt's output, or raise :class:`DbtError` with its first error line."""
    project = dbt_project_dir()
    spark_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [*dbt_command([*args, "--target", "spark"], project)],
        cwd=spark_dir,
        env=spark_environment(lake_url, spark_dir, project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise DbtError(
            f"dbt {' '.join(args)} --target spark failed: {first_problem(completed.stdout)}"
        )
    return completed.stdout


def warehouse_table(spark_dir: Path, schema: str, table: str) -> Path:
    """Where the local Spark warehouse keeps a managed table: ``<schema>.db/<table>``."""
    return spark_dir / "warehouse" / f"{schema}.db" / table
