"""The generated dbt docs site, served on 127.0.0.1 and opened in headless Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from devservers.static_site import serve_directory
from tests.ingestion.dbt.conftest import BuiltProject

CHROMIUM = Path("/usr/bin/chromium")
FCT_TRIPS_PAGE = "#!/model/model.tripline.fct_trips"


def chromium(tmp_path: Path, url: str, *mode: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``url`` with JS given 15 s of virtual time to render."""
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: run 'bash scripts/services.d/chromium.sh' as root")
    return subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
            "--window-size=1400,900", "--virtual-time-budget=15000", *mode, url,
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def test_mart_page_and_lineage_graph_render(built_project: BuiltProject, tmp_path: Path) -> None:
    with serve_directory(built_project.target_dir) as base_url:
        page = chromium(tmp_path, base_url + FCT_TRIPS_PAGE, "--dump-dom").stdout
        lineage = chromium(tmp_path, base_url + FCT_TRIPS_PAGE + "?g_v=1", "--dump-dom").stdout
        shot = tmp_path / "lineage.png"
        chromium(tmp_path, base_url + FCT_TRIPS_PAGE + "?g_v=1", f"--screenshot={shot}")
    # The model page is filled from manifest.json and catalog.json by the site's JS.
    assert "One row per trip of every service" in page
    assert "is_pickup_outside_file_month" in page
    # The lineage graph draws nodes on a canvas sized to the window (0x0 when it failed).
    sizes = re.findall(r'data-id="layer2-node" width="(\d+)" height="(\d+)"', lineage)
    assert sizes and all(int(w) > 500 and int(h) > 300 for w, h in sizes), sizes
    assert shot.stat().st_size > 20_000


def test_overview_page_tells_the_story_and_links_the_report(
    built_project: BuiltProject, tmp_path: Path
) -> None:
    with serve_directory(built_project.target_dir) as base_url:
        page = chromium(tmp_path, base_url + "#!/overview", "--dump-dom").stdout
    assert "New York's taxis and for-hire vehicles, from raw files to answers" in page
    assert 'href="report/index.html"' in page
    assert "Money, as the TLC's columns define it" in page
