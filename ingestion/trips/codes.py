"""Text codes of the pre-2015 TLC files, mapped to today's codes by the project's seeds.

Before 2015 the files wrote vendors as ``CMT``/``VTS``/``DDS``, payment types in a dozen
spellings (``CASH``, ``Cash``, ``CSH``, ``CAS``, …) and the store-and-forward flag as ``0``/``1``.
Each mapping is one seed CSV in ``seeds/`` (``source_code,<today's column>``), the file dbt also
loads as a seed, so the loader and the warehouse read one table. A column with a mapping
(``Column.codes``) takes, as written after trimming spaces:

* a number — for an integer column, a whole number as any other integer value;
* a text listed in the seed — its code;
* anything else — the row is rejected with the value and the seed named: never NULL, never
  guessed.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from ingestion.core.errors import ConfigurationError
from ingestion.dbt_runner import dbt_project_dir

SEEDS_FOLDER = "seeds"


def seeds_dir() -> Path:
    """``seeds/`` of the dbt project (the checkout, or the image's /app)."""
    return dbt_project_dir() / SEEDS_FOLDER


@functools.cache
def code_map(seed: str, folder: Path | None = None) -> dict[str, str]:
    """``source_code -> code`` of ``seeds/<seed>.csv``, as the file writes them."""
    path = (folder or seeds_dir()) / f"{seed}.csv"
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the code seed {path}: {exc}") from exc
    if not rows or len(rows[0]) != 2 or rows[0][0] != "source_code":
        raise ConfigurationError(f"{path}: expected a header 'source_code,<code column>'")
    mapping: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not row[0].strip() or row[0] in mapping:
            raise ConfigurationError(f"{path}, line {line}: not a new 'source_code,code' pair")
        mapping[row[0]] = row[1]
    return mapping
