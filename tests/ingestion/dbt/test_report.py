"""The insights report from the built marts, opened in headless Chromium with no network."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import duckdb
import pytest

from ingestion.dbt_runner import DbtError, run_dbt
from ingestion.report.browser import rendered_dom, screenshot
from ingestion.report.build import GEOJSON, build_report
from tests.ingestion.dbt.conftest import BuiltProject

MEASURES = ("fare revenue", "driver revenue", "total paid", "pass-through")
TRIPS_SECTIONS = (
    "demand", "map", "pairs", "airports", "tips", "efficiency", "months", "congestion",
    "distributions", "quality",
)  # fmt: skip


@pytest.fixture(scope="module")
def report(built_project: BuiltProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "index.html"
    return build_report(built_project.settings, out)


@pytest.fixture(scope="module")
def dom(report: Path) -> str:
    return rendered_dom(report)


def _section(page: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, flags=re.S)
    assert match, key
    return match.group(1)


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text()
    # Nothing to fetch: no external script, stylesheet, image or frame.
    assert not re.findall(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)=["']?https?:""", page)
    specs = json.loads(
        re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>', page, re.S)
        .group(1)  # type: ignore[union-attr]
        .replace("<\\/", "</")
    )
    assert not [key for key, spec in specs.items() if "url" in json.dumps(spec.get("data", {}))]
    assert page.count("<section ") == 16


def test_every_chart_renders_in_chromium(report: Path, dom: str) -> None:
    charts = re.findall(r'<div class="chart[^"]*" id="chart-([a-z_]+)"', report.read_text())
    assert len(charts) >= 15
    assert f'data-charts="{len(charts)}"' in dom
    for key in charts:
        element = re.search(rf'<div[^>]*id="chart-{key}"[^>]*>', dom)
        assert element and 'data-rendered="true"' in element.group(0), key
    assert "chart failed" not in _text(dom.split('id="chart-specs"')[0].split("<body", 1)[1])
    # Vega drew SVG with legends: the heat map's "Trips" and the map's "Pickups".
    assert dom.count('class="marks"') >= len(charts)
    assert "Pickups" in _text(_section(dom, "map"))


def test_zone_map_draws_every_zone_polygon(dom: str) -> None:
    zones = len(json.loads(GEOJSON.read_text())["features"])
    assert zones == 263
    paths = re.findall(r'<path[^>]*aria-roledescription="geoshape"', _section(dom, "map"))
    assert len(paths) == zones


def test_every_money_figure_names_its_measure(report: Path) -> None:
    page = report.read_text()
    for key in TRIPS_SECTIONS:
        section = _section(page, key)
        for item in re.findall(r"<li>(.*?)</li>", section, flags=re.S):
            if "$" in item:
                assert any(m in item.lower() for m in MEASURES), (key, item)
        money = "$" in _text(section)
        definitions = re.findall(r'<p class="definition">(.*?)</p>', section, flags=re.S)
        if money:
            assert definitions, key
    months = _section(page, "months")
    for measure in ("Fare revenue:", "Driver revenue:", "Total paid:", "Pass-through charges:"):
        assert measure in months


def test_headlines_agree_with_the_marts(
    built_project: BuiltProject, report: Path, dom: str
) -> None:
    page = _text(report.read_text())
    with duckdb.connect(str(built_project.settings.duckdb_path), read_only=True) as con:
        (trips,) = con.execute("select sum(trips) from marts.daily_kpis").fetchone()  # type: ignore[misc]
        (pair,) = con.execute(
            "select pickup_zone_name || ' → ' || dropoff_zone_name from marts.top_zone_pairs "
            "order by rank_by_trips, pickup_location_id limit 1"
        ).fetchone()  # type: ignore[misc]
    assert f"{trips:,} trips from 2024-12 to 2025-02" in page
    assert f"Most trips: {pair}" in page and "not an airport pair" in page
    assert "The fee first appears on 2025-01-05" in page
    # Sections whose pipelines this build did not run say so instead of failing.
    for key in ("weather", "fleet", "market_share"):
        assert "Not in this build" in _text(_section(report.read_text(), key))


def test_report_screenshots(report: Path, tmp_path: Path) -> None:
    for section in ("map", "months"):
        shot = screenshot(report, section, tmp_path / f"{section}.png")
        assert shot.stat().st_size > 40_000, section  # a blank page is about 7 kB


def test_dbt_failure_is_one_line(built_project: BuiltProject) -> None:
    with pytest.raises(DbtError) as raised:
        run_dbt(
            ["run", "--select", "no_such_model_anywhere", "--vars", "{trip_max_fare_usd: x}",
             "--target-path", str(built_project.target_dir / "failing"), "--warn-error"],
            built_project.settings,
        )  # fmt: skip
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("dbt run --select no_such_model_anywhere")
