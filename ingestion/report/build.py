"""Read the insight marts and write the report page: a headline and a chart per question."""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import duckdb

from ingestion.core.errors import DestinationError, TriplineError
from ingestion.core.settings import Settings, load_settings
from ingestion.report import svg

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MARTS = "marts"


def report_path(settings: Settings) -> Path:
    """Where the report goes: ``<data dir>/report/index.html`` (``data/report/index.html``)."""
    return settings.data_dir / "report" / "index.html"


@dataclass
class Section:
    """One question of the report: its headline sentences and its chart."""

    title: str
    question: str
    headlines: list[str]
    chart: str
    caption: str
    table: list[list[str]] = field(default_factory=list)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def _int(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def demand(con: duckdb.DuckDBPyConnection) -> Section:
    cells = _rows(
        con,
        f"select pickup_day_of_week, pickup_hour, sum(trips), sum(share_of_week) "
        f"from {MARTS}.demand_by_hour_of_week group by all order by 4 desc",
    )
    grid = {(day - 1, hour): float(trips) for day, hour, trips, _ in cells}
    day, hour, trips, share = cells[0]
    boroughs = _rows(
        con,
        f"select pickup_borough_name, sum(share_of_week) from {MARTS}.demand_by_hour_of_week "
        "group by 1 order by 2 desc limit 3",
    )
    return Section(
        "1. Demand by hour of week",
        "When is the city busiest?",
        [
            f"Busiest hour of the week: {DAYS[day - 1]} {hour:02d}:00-{hour:02d}:59 with "
            f"{_int(trips)} trips ({_pct(share)} of the week's trips).",
            "Pickups by borough: " + ", ".join(f"{name} {_pct(s)}" for name, s in boroughs) + ".",
        ],
        svg.heatmap(list(DAYS), [f"{h:02d}" for h in range(24)], grid, _int),
        "Valid trips by pickup day and hour (all boroughs); darker is busier.",
    )


def zone_pairs(con: duckdb.DuckDBPyConnection) -> Section:
    top = _rows(
        con,
        f"select pickup_zone_name, dropoff_zone_name, trips, revenue, rank_by_revenue "
        f"from {MARTS}.top_zone_pairs order by rank_by_trips, pickup_location_id limit 10",
    )
    by_revenue = _rows(
        con,
        f"select pickup_zone_name, dropoff_zone_name, revenue from {MARTS}.top_zone_pairs "
        "order by rank_by_revenue limit 1",
    )[0]
    return Section(
        "2. Top origin-destination pairs",
        "Which zone pairs carry the most trips and revenue?",
        [
            f"Most trips: {top[0][0]} → {top[0][1]} ({_int(top[0][2])} trips).",
            f"Most revenue: {by_revenue[0]} → {by_revenue[1]} ({_usd(by_revenue[2])}).",
        ],
        svg.bar_chart([f"{a} → {b}" for a, b, *_ in top], [float(r[2]) for r in top], _int),
        "The ten pickup → dropoff zone pairs with the most valid trips.",
    )


def airports(con: duckdb.DuckDBPyConnection) -> Section:
    rows = _rows(
        con,
        f"select airport_code, trips, share_of_trips, share_of_revenue, median_fare, "
        f"median_duration_minutes from {MARTS}.airport_trip_summary order by trips desc",
    )
    trip_share = sum(r[2] for r in rows)
    revenue_share = sum(r[3] for r in rows)
    return Section(
        "3. Airport trips",
        "How much of the business are airport trips, and what does one cost and take?",
        [
            f"Airport trips are {_pct(trip_share)} of trips but {_pct(revenue_share)} of revenue.",
            "Median fare and duration: "
            + "; ".join(f"{r[0]} {_usd(r[4])}, {r[5]:.0f} min" for r in rows)
            + ".",
        ],
        svg.bar_chart([r[0] for r in rows], [float(r[3]) for r in rows], _pct),
        "Share of all revenue from trips to or from each airport.",
        [["Airport", "Trips", "Share of trips", "Share of revenue", "Median fare", "Median min"]]
        + [[r[0], _int(r[1]), _pct(r[2]), _pct(r[3]), _usd(r[4]), f"{r[5]:.1f}"] for r in rows],
    )


def tipping(con: duckdb.DuckDBPyConnection) -> Section:
    payment = dict(
        _rows(
            con,
            f"select segment_value, tip_rate from {MARTS}.tip_rates "
            "where segment_type = 'payment_type'",
        )
    )
    bands = _rows(
        con,
        f"select segment_value, tip_rate from {MARTS}.tip_rates "
        "where segment_type = 'distance_band' order by segment_value",
    )
    high = max(bands, key=lambda band: band[1] or 0)
    low = min(bands, key=lambda band: band[1] or 0)
    return Section(
        "4. Tipping",
        "How much do passengers tip, by payment type, hour and distance?",
        [
            f"Card trips tip {_pct(payment.get('Credit card'))} of the fare; cash trips "
            f"record {_pct(payment.get('Cash'))} (cash tips are not recorded by the meter).",
            f"Card tip rate by distance band: highest {high[0]} ({_pct(high[1])}), lowest "
            f"{low[0]} ({_pct(low[1])}).",
        ],
        svg.bar_chart([b[0] for b in bands], [float(b[1] or 0) for b in bands], _pct),
        "Tip rate (tips / fares) of card trips by distance band.",
    )


def efficiency(con: duckdb.DuckDBPyConnection) -> Section:
    boroughs = [
        r[0]
        for r in _rows(
            con,
            f"select pickup_borough_name from {MARTS}.trip_efficiency group by 1 "
            "order by sum(trips) desc limit 4",
        )
    ]
    rows = _rows(
        con,
        f"select pickup_borough_name, pickup_hour, average_speed_mph, revenue_per_minute "
        f"from {MARTS}.trip_efficiency",
    )
    speed = {(b, h): s for b, h, s, _ in rows}
    series = {b: [speed.get((b, h)) for h in range(24)] for b in boroughs}
    slowest = min(
        ((h, speed[(boroughs[0], h)]) for h in range(24) if (boroughs[0], h) in speed),
        key=lambda item: item[1],
    )
    overall = _rows(
        con,
        f"select sum(revenue) / sum(revenue / revenue_per_mile), "
        f"sum(revenue) / sum(revenue / revenue_per_minute) from {MARTS}.trip_efficiency",
    )[0]
    return Section(
        "5. Efficiency",
        "Where and when does a cab earn most per mile and minute, and how fast does it move?",
        [
            f"Overall a cab earns {_usd(overall[0])} per mile and {_usd(overall[1])} per "
            "minute with a passenger.",
            f"Slowest hour in {boroughs[0]}: {slowest[0]:02d}:00 at {slowest[1]:.1f} mph "
            "(chart: average speed by pickup hour).",
        ],
        svg.line_chart([f"{h:02d}" for h in range(24)], series, lambda v: f"{v:.0f} mph"),
        "Average speed (miles / hours with a passenger) by pickup hour, busiest boroughs.",
    )


def daily(con: duckdb.DuckDBPyConnection) -> Section:
    days = _rows(con, f"select pickup_date, trips from {MARTS}.daily_kpis order by 1")
    months = _rows(
        con,
        f"select pickup_month, trips, revenue, average_fare, average_distance_miles, "
        f"average_duration_minutes, trips_change_vs_prior_month "
        f"from {MARTS}.monthly_kpis order by 1",
    )
    trips = sum(m[1] for m in months)
    revenue = sum(m[2] for m in months)
    last = months[-1]
    change = "" if last[6] is None else f" ({last[6] * 100:+.1f} % trips vs the month before)"
    return Section(
        "6. Daily KPIs",
        "How is the business doing, day by day and month over month?",
        [
            f"{_int(trips)} valid trips, {_usd(revenue)} revenue over {len(days)} days.",
            f"Latest month {last[0]:%Y-%m}: {_int(last[1])} trips, average fare "
            f"{_usd(last[3])}{change}.",
        ],
        svg.line_chart(
            [f"{d:%m-%d}" for d, _ in days], {"trips per day": [float(t) for _, t in days]}, _int
        ),
        "Valid trips per pickup day.",
        [["Month", "Trips", "Revenue", "Avg fare", "Avg miles", "Avg min", "Trips MoM"]]
        + [
            [
                f"{m[0]:%Y-%m}",
                _int(m[1]),
                _usd(m[2]),
                _usd(m[3]),
                f"{m[4]:.2f}",
                f"{m[5]:.1f}",
                "" if m[6] is None else f"{m[6] * 100:+.1f} %",
            ]
            for m in months
        ],
    )


def data_quality(con: duckdb.DuckDBPyConnection) -> Section:
    rules = _rows(
        con,
        f"select rule_name, sum(failing_rows), sum(failing_rows) / sum(total_rows) "
        f"from {MARTS}.data_quality_by_month group by rule_name, rule_order order by rule_order",
    )
    invalid = next(r for r in rules if r[0] == "any_invalidating_rule")
    return Section(
        "7. Data quality",
        "How healthy is the data? Rows failing each validity rule.",
        [
            f"{_pct(invalid[2])} of rows ({_int(invalid[1])}) fail at least one rule and "
            "are left out of the insights (kept in fct_trips with their flags).",
        ],
        svg.bar_chart([r[0] for r in rules], [float(r[2]) for r in rules], _pct),
        "Share of all rows failing each rule, all months.",
        [["Rule", "Failing rows", "Share"]] + [[r[0], _int(r[1]), _pct(r[2])] for r in rules],
    )


SECTIONS = (demand, zone_pairs, airports, tipping, efficiency, daily, data_quality)


def render(sections: list[Section], generated: str) -> str:
    """The whole page as text."""
    body = []
    for section in sections:
        table = ""
        if section.table:
            head, *rows = section.table
            table = (
                "<table><tr>"
                + "".join(f"<th>{escape(h)}</th>" for h in head)
                + "</tr>"
                + "".join(
                    "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows
                )
                + "</table>"
            )
        items = "".join(f"<li>{escape(h)}</li>" for h in section.headlines)
        body.append(
            f'<section><h2>{escape(section.title)}</h2><p class="q">{escape(section.question)}'
            f"</p><ul>{items}</ul><figure>{section.chart}<figcaption>{escape(section.caption)}"
            f"</figcaption></figure>{table}</section>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Tripline insights</title><style>"
        "body{font-family:sans-serif;max-width:760px;margin:2em auto;color:#222}"
        "section{border-top:1px solid #ddd;padding:0.5em 0 1em}.q{color:#555;font-style:italic}"
        "table{border-collapse:collapse;font-size:13px;margin-top:0.5em}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "figure{margin:0.5em 0}figcaption{color:#555;font-size:13px}"
        "</style></head><body><h1>Tripline insights</h1>"
        "<p>Yellow taxi trips, from the dbt insight marts (valid trips only; see question 7). "
        "Times are New York local time; money is US dollars; revenue is total_amount. "
        f"Generated {escape(generated)}.</p>" + "".join(body) + "</body></html>"
    )


def build_report(settings: Settings, out: Path | None = None) -> Path:
    """Write the report from the marts in ``settings.duckdb_path``; return its path."""
    target = out or report_path(settings)
    try:
        con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    except duckdb.Error as exc:
        raise DestinationError(
            f"cannot open {settings.duckdb_path} for the report: {str(exc).splitlines()[0]}"
        ) from exc
    try:
        sections = [make(con) for make in SECTIONS]
    except (duckdb.Error, IndexError, StopIteration) as exc:
        raise TriplineError(
            f"the insight marts in {settings.duckdb_path} are missing or empty "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}): run dbt build"
        ) from exc
    finally:
        con.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    target.write_text(render(sections, stamp), encoding="utf-8")
    return target


def headlines(settings: Settings) -> list[str]:
    """Every headline sentence of the report, for the console and docs."""
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        return [f"{s.title}: {h}" for make in SECTIONS for s in [make(con)] for h in s.headlines]
    finally:
        con.close()


def main() -> None:
    """``python -m ingestion.report [--out PATH]``: rebuild the report from the marts."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, help="output file (default data/report/index.html)")
    args = parser.parse_args()
    settings = load_settings()
    print(build_report(settings, args.out))
