"""Import the local devservers (``devservers/`` at the repo root) for ``tripline demo``.

The package sits beside ``ingestion`` but is not installed with it; when ``tripline`` runs as a
console script the repo root may not be on ``sys.path``, so add it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType


def import_devserver(name: str) -> ModuleType:
    """``devservers.<name>``, importable from a source checkout."""
    try:
        return importlib.import_module(f"devservers.{name}")
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        return importlib.import_module(f"devservers.{name}")
