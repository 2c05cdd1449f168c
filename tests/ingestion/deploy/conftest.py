"""One replayed image per test session (the install is the slow part: about a minute)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingestion.deploy import image


@pytest.fixture(scope="session")
def layout() -> Iterator[image.Layout]:
    """The Dockerfile's files installed into a fresh venv under a root others can read.

    pytest's own temporary folders are private to root (mode 0700), so the unprivileged user
    the image runs as could not reach them: the layout lives in its own folder under /tmp.
    """
    root = Path(tempfile.mkdtemp(prefix="tripline-image-"))
    root.chmod(0o755)
    try:
        yield image.build(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
