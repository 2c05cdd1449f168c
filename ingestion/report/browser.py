"""Open the report in headless Chromium with no network: the rendered DOM, or screenshots.

``python -m ingestion.report.browser [--report data/report/index.html] [--out docs/images]``
writes one screenshot per section asked for (the pictures in docs/insights.md). The test of
the report uses the same calls. Chromium is Debian's (``scripts/services.d/chromium.sh``);
every host name resolves to nothing, so a page that needed the network would show it.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Section anchors of the report and the file names of their pictures in docs/images/.
SCREENSHOTS = {
    "demand": "report_demand.png",
    "map": "report_zone_map.png",
    "tips": "report_tips.png",
    "months": "report_months.png",
    "congestion": "report_congestion_fee.png",
    "weather": "report_weather.png",
    "fleet": "report_fleet.png",
    "market_share": "report_market_share.png",
    "quality": "report_data_quality.png",
}


def _chromium(url: str, *mode: str, width: int = 1100, height: int = 1300) -> str:
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            "chromium is missing: run 'bash scripts/services.d/chromium.sh' as root"
        )
    with tempfile.TemporaryDirectory(prefix="tripline-chromium-") as profile:
        result = subprocess.run(
            [
                str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
                f"--window-size={width},{height}", "--virtual-time-budget=20000", *mode, url,
            ],
            capture_output=True, text=True, timeout=180, check=True,
        )  # fmt: skip
    return result.stdout


def rendered_dom(report: Path) -> str:
    """The report's DOM after its scripts ran (file:// URL, no network)."""
    return _chromium(report.resolve().as_uri(), "--dump-dom")


def screenshot(
    report: Path, section: str, out: Path, width: int = 1100, height: int = 1300
) -> Path:
    """A PNG of one section of the report (``?section=<id>`` hides the others)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    url = f"{report.resolve().as_uri()}?section={section}"
    _chromium(url, f"--screenshot={out.resolve()}", width=width, height=height)
    return out


def main() -> None:
    """Write the report's screenshots (docs/images/report_*.png by default)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--report", type=Path, default=Path("data/report/index.html"))
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--sections", nargs="*", default=list(SCREENSHOTS))
    args = parser.parse_args()
    for section in args.sections:
        print(screenshot(args.report, section, args.out / SCREENSHOTS[section]))


if __name__ == "__main__":
    main()
