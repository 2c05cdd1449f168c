"""Read the dbt marts and write the insights report: headlines, charts and tables per question.

Every money figure names its measure (fare revenue, driver revenue, total paid, pass-through
charges) and the page prints the measure's definition under it, taken from the dbt project's
doc blocks (``models/_tripline__docs.md``), the same text the docs site shows. Sections whose
marts were not built (a pipeline the demo skipped) say so instead of failing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from ingestion.core.errors import DestinationError, TriplineError
from ingestion.core.settings import Settings, load_settings
from ingestion.dbt_runner import dbt_project_dir, dbt_target_dir
from ingestion.report import charts
from ingestion.report.page import Chart, Section, render

MARTS = "marts"
DOCS_FILE = Path("models") / "_tripline__docs.md"
GEOJSON = Path(__file__).with_name("taxi_zones.geojson")
MEASURES = ("fare_revenue", "driver_revenue", "total_paid", "pass_through_charges")
DAYS = charts.DAYS
Row = dict[str, Any]


def report_path(settings: Settings) -> Path:
    """Where the report goes: ``<data dir>/report/index.html`` (``data/report/index.html``)."""
    return settings.data_dir / "report" / "index.html"


@cache
def doc_blocks(project: Path | None = None) -> dict[str, str]:
    """The dbt project's doc blocks by name, as one line of plain text each."""
    text = ((project or dbt_project_dir()) / DOCS_FILE).read_text(encoding="utf-8")
    blocks = re.findall(r"{% docs (\w+) %}(.*?){% enddocs %}", text, flags=re.S)
    return {name: " ".join(body.replace("`", "").split()) for name, body in blocks}


def define(*measures: str) -> list[str]:
    """The definition lines of the money measures named."""
    blocks = doc_blocks()
    return [blocks[m] for m in measures]


class _Marts:
    """Queries over the marts; a missing mart raises ``_Missing`` naming it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.tables = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [MARTS],
            ).fetchall()
        }

    def rows(self, sql: str, *needs: str) -> list[Row]:
        missing = [name for name in needs if name not in self.tables]
        if missing:
            raise _Missing(missing)
        cursor = self.con.execute(sql.replace("{m}", MARTS))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _Missing(Exception):  # noqa: N818 - a signal: the section has no data in this build
    def __init__(self, marts: list[str]) -> None:
        super().__init__(", ".join(marts))


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f} %"


def _usd(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{'-' if value < 0 else ''}${abs(value):,.{digits}f}"


def _int(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)


def demand(m: _Marts) -> Section:
    cells = m.rows(
        "select pickup_day_of_week as dow, pickup_hour as hour, sum(trips) as trips, "
        "sum(share_of_week) as share from {m}.demand_by_hour_of_week group by all "
        "order by trips desc",
        "demand_by_hour_of_week",
    )
    boroughs = m.rows(
        "select pickup_borough_name as borough, sum(share_of_week) as share "
        "from {m}.demand_by_hour_of_week group by 1 order by 2 desc",
        "demand_by_hour_of_week",
    )
    top = cells[0]
    grid = [
        {
            "day": DAYS[c["dow"] - 1],
            "hour": f"{c['hour']:02d}",
            "trips": c["trips"],
            "share": c["share"],
        }
        for c in cells
    ]
    return Section(
        "demand",
        "1. Demand by hour of week",
        "When is the city busiest?",
        [
            f"Busiest hour of the week: {DAYS[top['dow'] - 1]} {top['hour']:02d}:00-"
            f"{top['hour']:02d}:59 with {_int(top['trips'])} trips ({_pct(top['share'])} of "
            "the week's trips).",
            "Pickups by borough: "
            + ", ".join(f"{b['borough']} {_pct(b['share'])}" for b in boroughs[:4])
            + ".",
        ],
        [
            Chart(
                "demand_heatmap",
                charts.heatmap_hour_of_week(grid),
                "Trips by pickup day and hour, all boroughs (colour: trips; see the legend).",
            ),
            Chart(
                "demand_boroughs",
                charts.bars(
                    boroughs, "borough", "share", value_title="Share of pickups", value_format=".0%"
                ),
                "Share of pickups by borough (N/A: outside NYC; Unknown: zone 264).",
            ),
        ],
    )


def zone_map(m: _Marts) -> Section:
    zones = {
        row["location_id"]: row
        for row in m.rows("select * from {m}.trips_by_zone", "trips_by_zone")
    }
    collection = json.loads(GEOJSON.read_text())
    features = []
    for feature in collection["features"]:
        row = zones.get(feature["properties"]["location_id"], {})
        properties = {
            **feature["properties"],
            "pickups": row.get("pickups", 0),
            "dropoffs": row.get("dropoffs", 0),
            "pickup_fare_revenue": round(row.get("pickup_fare_revenue") or 0.0, 2),
        }
        features.append({**feature, "properties": properties})
    busiest = sorted(zones.values(), key=lambda r: -r["pickups"])[:3]
    return Section(
        "map",
        "2. Zone map",
        "Where do trips start?",
        [
            "Busiest pickup zones: "
            + "; ".join(
                f"{z['zone_name']} ({z['borough_name']}) {_int(z['pickups'])} "
                f"({_pct(z['share_of_pickups'])})"
                for z in busiest
            )
            + ".",
            f"{sum(1 for z in zones.values() if z['pickups'] > 0)} of {len(zones)} zones have "
            "pickups; zone 265 (outside NYC) and 264 (unknown) have no polygon.",
        ],
        [
            Chart(
                "zone_map",
                charts.choropleth(features, "pickups", "Pickups"),
                "Pickups per TLC taxi zone (the TLC's polygons; colour on a log-like scale); "
                "hover a zone for its numbers.",
                define("fare_revenue"),
            ),
        ],
    )


def zone_pairs(m: _Marts) -> Section:
    top = m.rows(
        "select pickup_zone_name || ' → ' || dropoff_zone_name as pair, trips, fare_revenue, "
        "is_airport_pair from {m}.top_zone_pairs order by rank_by_trips, pickup_location_id "
        "limit 12",
        "top_zone_pairs",
    )
    by_revenue = m.rows(
        "select pickup_zone_name || ' → ' || dropoff_zone_name as pair, fare_revenue "
        "from {m}.top_zone_pairs order by rank_by_fare_revenue limit 1",
        "top_zone_pairs",
    )[0]
    for row in top:
        row["kind"] = "airport pair" if row["is_airport_pair"] else "city pair"
    return Section(
        "pairs",
        "3. Top origin-destination pairs",
        "Which zone pairs carry the most trips and the most fare revenue?",
        [
            f"Most trips: {top[0]['pair']} ({_int(top[0]['trips'])} trips"
            f"{', an airport pair' if top[0]['is_airport_pair'] else ', not an airport pair'}).",
            f"Most fare revenue: {by_revenue['pair']} ({_usd(by_revenue['fare_revenue'], 0)} "
            "fare revenue).",
        ],
        [
            Chart(
                "pairs_by_trips",
                charts.bars(
                    top, "pair", "trips", value_title="Trips", color="kind", color_title="Pair"
                ),
                "The twelve pickup → dropoff pairs with the most trips.",
            ),
        ],
        definitions=define("fare_revenue"),
    )


def airports(m: _Marts) -> Section:
    rows = m.rows(
        "select * from {m}.airport_trip_summary order by trips desc", "airport_trip_summary"
    )
    shares = [
        {"airport": r["airport_code"], "measure": measure, "share": r[column]}
        for r in rows
        for measure, column in (
            ("share of trips", "share_of_trips"),
            ("share of fare revenue", "share_of_fare_revenue"),
        )
    ]
    trip_share = sum(r["share_of_trips"] for r in rows)
    revenue_share = sum(r["share_of_fare_revenue"] or 0 for r in rows)
    return Section(
        "airports",
        "4. Airport trips",
        "How much of the business are airport trips, and what does one cost and take?",
        [
            f"Airport trips are {_pct(trip_share)} of trips but {_pct(revenue_share)} of fare "
            "revenue.",
            "Median fare and duration: "
            + "; ".join(
                f"{r['airport_code']} {_usd(r['median_fare'])} (median fare revenue a trip), "
                f"{r['median_duration_minutes']:.0f} min (90 % within "
                f"{r['p90_duration_minutes']:.0f} min)"
                for r in rows
            )
            + ".",
        ],
        [
            Chart(
                "airport_shares",
                charts.grouped_bars(
                    shares,
                    "airport",
                    "measure",
                    "share",
                    value_title="Share of all trips / fare revenue",
                ),
                "Each airport's share of trips and of fare revenue.",
                define("fare_revenue"),
            ),
        ],
        [["Airport", "Trips", "Pickups", "Fare revenue", "Median fare", "Median min", "P90 min"]]
        + [
            [
                r["airport_code"],
                _int(r["trips"]),
                _int(r["pickups"]),
                _usd(r["fare_revenue"], 0),
                _usd(r["median_fare"]),
                f"{r['median_duration_minutes']:.1f}",
                f"{r['p90_duration_minutes']:.1f}",
            ]
            for r in rows
        ],
    )


def tipping(m: _Marts) -> Section:
    rows = m.rows("select * from {m}.tip_rates", "tip_rates")
    by = {
        t: [r for r in rows if r["segment_type"] == t]
        for t in ("payment_type", "pickup_hour", "distance_band")
    }
    payment = {r["segment_value"]: r for r in by["payment_type"]}
    bands = sorted(by["distance_band"], key=lambda r: r["segment_value"])
    hours = sorted(by["pickup_hour"], key=lambda r: r["segment_value"])
    for r in hours:
        r["hour"] = int(r["segment_value"])
    high = max(bands, key=lambda b: b["tip_rate"] or 0)
    low = min(bands, key=lambda b: b["tip_rate"] or 0)
    top_hour = max(hours, key=lambda h: h["tip_rate"] or 0)
    low_hour = min(hours, key=lambda h: h["tip_rate"] or 0)
    card = payment.get("Credit card", {})
    cash = payment.get("Cash", {})
    distribution = m.rows(
        "select measure_name as measure, bin_lower as lower, coalesce(bin_upper, bin_lower + "
        "0.025) as upper, trips, share_of_trips as share from {m}.trip_distributions "
        "where measure_name = 'card_tip_rate' order by bin_index",
        "trip_distributions",
    )
    return Section(
        "tips",
        "5. Tipping",
        "How much do passengers tip, by distance and hour?",
        [
            f"Card trips tip {_pct(card.get('tip_rate'))} of the fare "
            f"({_pct(card.get('share_tipped'), 0)} tip at all); cash trips record "
            f"{_pct(cash.get('tip_rate'))} - the meter does not see cash tips.",
            f"Card tip rate by distance: {high['segment_value']} {_pct(high['tip_rate'])} down to "
            f"{low['segment_value']} {_pct(low['tip_rate'])}; by hour: "
            f"{top_hour['hour']:02d}:00 {_pct(top_hour['tip_rate'])}, "
            f"{low_hour['hour']:02d}:00 {_pct(low_hour['tip_rate'])}.",
        ],
        [
            Chart(
                "tips_by_distance",
                charts.bars(
                    bands,
                    "segment_value",
                    "tip_rate",
                    value_title="Card tip rate",
                    category_title="Distance",
                    value_format=".0%",
                    sort=[b["segment_value"] for b in bands],
                ),
                "Card tips over card fares by distance band (short fares carry fixed "
                "surcharges, so the tip screen's percentages weigh more).",
            ),
            Chart(
                "tips_by_hour",
                charts.lines(
                    hours,
                    "hour",
                    "tip_rate",
                    x_title="Pickup hour",
                    y_title="Card tip rate",
                    y_format=".0%",
                ),
                "Card tip rate by pickup hour (from zero).",
            ),
            Chart(
                "tips_distribution",
                charts.histograms(distribution, [("card_tip_rate", "Tip / fare", ".0%")]),
                "Distribution of the tip rate of card trips (the last bar: 60 % and more).",
            ),
        ],
        definitions=[
            "Tip rate: sum of tip_amount over sum of fare_amount (US dollars) of card "
            "trips valid for tips; fare is the measure fare revenue of those trips."
        ],
    )


def efficiency(m: _Marts) -> Section:
    rows = m.rows("select * from {m}.trip_efficiency", "trip_efficiency")
    totals: dict[str, dict[str, float]] = {}
    for r in rows:
        t = totals.setdefault(r["pickup_borough_name"], {"trips": 0, "rev": 0, "mi": 0, "min": 0})
        t["trips"] += r["trips"]
        t["rev"] += r["driver_revenue"]
        t["mi"] += r["miles"]
        t["min"] += r["minutes"]
    boroughs = sorted(totals, key=lambda b: -totals[b]["trips"])[:4]
    speed_rows = [r for r in rows if r["pickup_borough_name"] in boroughs]
    manhattan = sorted(
        (r for r in rows if r["pickup_borough_name"] == "Manhattan"), key=lambda r: r["pickup_hour"]
    )
    slowest = min(manhattan, key=lambda r: r["median_speed_mph"]) if manhattan else None
    fastest = max(manhattan, key=lambda r: r["median_speed_mph"]) if manhattan else None
    all_rev = sum(t["rev"] for t in totals.values())
    per_mile = [
        {"borough": b, "per_mile": totals[b]["rev"] / totals[b]["mi"]}
        for b in boroughs
        if totals[b]["mi"]
    ]
    headlines = [
        f"A cab earns {_usd(all_rev / sum(t['mi'] for t in totals.values()))} driver revenue "
        f"per mile and {_usd(all_rev / sum(t['min'] for t in totals.values()))} per minute "
        "with a passenger.",
    ]
    if slowest and fastest:
        headlines.append(
            f"Manhattan's median speed: {slowest['median_speed_mph']:.1f} mph at "
            f"{slowest['pickup_hour']:02d}:00, {fastest['median_speed_mph']:.1f} mph at "
            f"{fastest['pickup_hour']:02d}:00."
        )
    return Section(
        "efficiency",
        "6. Speed and earnings",
        "Where and when does a cab earn most per mile, and how fast does it move?",
        headlines,
        [
            Chart(
                "speed_by_hour",
                charts.lines(
                    speed_rows,
                    "pickup_hour",
                    "median_speed_mph",
                    x_title="Pickup hour",
                    y_title="Median speed (mph)",
                    series="pickup_borough_name",
                    series_title="Borough",
                    band=("p25_speed_mph", "p75_speed_mph"),
                    y_format=".0f",
                ),
                "Median trip speed by pickup hour, busiest boroughs; the band spans the "
                "middle half of trips (25th to 75th percentile).",
            ),
            Chart(
                "revenue_per_mile",
                charts.bars(
                    per_mile,
                    "borough",
                    "per_mile",
                    value_title="Driver revenue per mile (USD)",
                    value_format="$,.2f",
                ),
                "Driver revenue per mile with a passenger, by pickup borough.",
                define("driver_revenue"),
            ),
        ],
        definitions=define("driver_revenue"),
    )


def months(m: _Marts) -> Section:
    rows = m.rows("select * from {m}.monthly_kpis order by pickup_month", "monthly_kpis")
    days = m.rows(
        "select pickup_date, trips from {m}.daily_kpis order by pickup_date", "daily_kpis"
    )
    for r in rows:
        r["month"] = r["pickup_month"].strftime("%Y-%m")
    for d in days:
        d["date"] = _iso(d["pickup_date"])
        del d["pickup_date"]
    busiest = max(rows, key=lambda r: r["trips_per_day"])
    quietest = min(rows, key=lambda r: r["trips_per_day"])
    first, last = rows[0], rows[-1]
    totals = {k: sum(r[k] for r in rows) for k in ("trips", *MEASURES)}
    same_month = next(
        (
            r
            for r in rows
            if r["pickup_month"].year == last["pickup_month"].year - 1
            and r["pickup_month"].month == last["pickup_month"].month
        ),
        None,
    )
    trend = (
        f" {last['month']} carried {_pct(last['trips'] / same_month['trips'] - 1)} more trips "
        f"than {same_month['month']}."
        if same_month
        else ""
    )
    return Section(
        "months",
        "7. Months and days",
        "How is the business doing, month over month?",
        [
            f"{_int(totals['trips'])} trips from {first['month']} to {last['month']}: fare "
            f"revenue {_usd(totals['fare_revenue'], 0)}, driver revenue "
            f"{_usd(totals['driver_revenue'], 0)}, total paid {_usd(totals['total_paid'], 0)} of "
            f"which {_usd(totals['pass_through_charges'], 0)} pass-through charges.",
            f"Busiest month per day: {busiest['month']} ({_int(busiest['trips_per_day'])} trips a "
            f"day); quietest: {quietest['month']} ({_int(quietest['trips_per_day'])})." + trend,
        ],
        [
            Chart(
                "monthly_trips",
                charts.bars(
                    rows,
                    "month",
                    "trips_per_day",
                    value_title="Trips per day",
                    category_title="Month",
                    sort=[r["month"] for r in rows],
                ),
                "Trips per day in each month (from zero): the seasons and the trend.",
            ),
            Chart(
                "daily_trips",
                charts.lines(
                    days, "date", "trips", x_title="Pickup date", y_title="Trips", x_type="T"
                ),
                "Trips per day: weekdays, weekends, holidays (Thanksgiving, Christmas, the "
                "Fourth of July) and rainy days.",
            ),
        ],
        [
            [
                "Month",
                "Trips",
                "Trips MoM",
                "Fare revenue",
                "Driver revenue",
                "Total paid",
                "Pass-through",
                "Avg fare",
            ]
        ]
        + [
            [
                r["month"],
                _int(r["trips"]),
                ""
                if r["trips_change_vs_prior_month"] is None
                else f"{r['trips_change_vs_prior_month'] * 100:+.1f} %",
                _usd(r["fare_revenue"], 0),
                _usd(r["driver_revenue"], 0),
                _usd(r["total_paid"], 0),
                _usd(r["pass_through_charges"], 0),
                _usd(r["average_fare"]),
            ]
            for r in rows
        ],
        define(*MEASURES),
    )


def congestion_fee(m: _Marts) -> Section:
    days = m.rows(
        "select pickup_date, cbd_congestion_fees, trips_charged_cbd_fee, revenue_trips "
        "from {m}.daily_kpis order by pickup_date",
        "daily_kpis",
    )
    charged = [d for d in days if d["trips_charged_cbd_fee"] > 0]
    if not charged:
        return Section(
            "congestion",
            "8. Congestion pricing",
            "What did the MTA's Congestion Relief Zone fee (from 5 January 2025) add?",
            missing="No trip in this build was charged the fee (it starts on 5 January 2025).",
        )
    first = charged[0]["pickup_date"]
    window = [dict(d) for d in days if d["pickup_date"] >= first - dt.timedelta(days=35)]
    for d in window:
        d["date"] = _iso(d["pickup_date"])
        d["share_charged"] = (
            d["trips_charged_cbd_fee"] / d["revenue_trips"] if d["revenue_trips"] else 0
        )
        del d["pickup_date"]
    after = [d for d in days if d["pickup_date"] >= first]
    fees = sum(d["cbd_congestion_fees"] for d in after)
    share = sum(d["trips_charged_cbd_fee"] for d in after) / sum(d["revenue_trips"] for d in after)
    return Section(
        "congestion",
        "8. Congestion pricing",
        "What did the MTA's Congestion Relief Zone fee (from 5 January 2025) add?",
        [
            f"The fee first appears on {first:%Y-%m-%d}; since then {_pct(share)} of revenue trips "
            f"paid it, {_usd(fees, 0)} in all (pass-through charges).",
        ],
        [
            Chart(
                "cbd_fee",
                charts.lines(
                    window,
                    "date",
                    "share_charged",
                    x_title="Pickup date",
                    y_title="Share of revenue trips charged",
                    y_format=".0%",
                    x_type="T",
                    rule_at="2025-01-05",
                ),
                "Share of revenue trips charged the Congestion Relief Zone fee per day "
                "(dashed: 5 January 2025).",
            ),
        ],
        definitions=define("pass_through_charges"),
    )


def distributions(m: _Marts) -> Section:
    rows = m.rows(
        "select measure_name as measure, bin_lower as lower, coalesce(bin_upper, bin_lower + "
        "bin_lower / 20) as upper, trips, share_of_trips as share from {m}.trip_distributions "
        "where measure_name != 'card_tip_rate' order by measure_name, bin_index",
        "trip_distributions",
    )
    return Section(
        "distributions",
        "9. What a trip looks like",
        "How long, how far, how fast, how expensive - beyond the mean?",
        [
            "Histograms of distance, duration, speed and fare; the last bar of each holds "
            "everything beyond the axis."
        ],
        [
            Chart(
                "distributions",
                charts.histograms(
                    rows,
                    [
                        ("trip_distance_miles", "Distance (miles)", ".1f"),
                        ("duration_minutes", "Duration (minutes)", ".0f"),
                        ("average_speed_mph", "Speed (mph)", ".0f"),
                        ("fare_amount", "Fare (USD)", "$.0f"),
                    ],
                ),
                "Share of trips per bin: distance, duration and speed of trips valid for "
                "distance and time; fare of revenue trips.",
                define("fare_revenue"),
            ),
        ],
    )


def weather(m: _Marts) -> Section:
    rows = m.rows("select * from {m}.demand_and_tips_by_weather", "demand_and_tips_by_weather")
    conditions = [r for r in rows if r["segment_type"] == "weather_condition"]
    by = {r["segment_value"]: r for r in conditions}
    rain = by.get("rain")
    lines = [
        "Demand against the same hour of the week: "
        + ", ".join(
            f"{r['segment_value']} {r['demand_vs_baseline'] * 100:+.1f} %"
            for r in conditions
            if r["demand_vs_baseline"] is not None
        )
        + "."
    ]
    if rain and rain["card_tip_rate_vs_baseline"] is not None:
        lines.append(
            f"Card tips in rainy hours: {_pct(rain['card_tip_rate'])} of the fare, "
            f"{rain['card_tip_rate_vs_baseline'] * 100:+.1f} points against the same hours' usual."
        )
    return Section(
        "weather",
        "10. Weather",
        "Does rain bring more riders?",
        lines,
        [
            Chart(
                "weather_demand",
                charts.bars(
                    conditions,
                    "segment_value",
                    "demand_vs_baseline",
                    value_title="Trips vs a typical hour of the same kind",
                    category_title="Weather",
                    value_format="+.0%",
                ),
                "Trips per hour in each weather condition against the average of the same "
                "hour of the week (0 = as usual).",
            ),
        ],
    )


def fleet(m: _Marts) -> Section:
    hours = m.rows(
        "select hour_of_week, avg_drivers_on_shift, share_of_fleet_active "
        "from {m}.fleet_active_share_by_hour_of_week order by hour_of_week",
        "fleet_active_share_by_hour_of_week",
    )
    weeks = m.rows(
        "select floor(hours_on_shift / 5) * 5 as lower, floor(hours_on_shift / 5) * 5 + 5 as "
        "upper, 'hours' as measure, count(*) as trips from {m}.fleet_shift_hours_by_driver_week "
        "group by all order by lower",
        "fleet_shift_hours_by_driver_week",
    )
    total = sum(w["trips"] for w in weeks) or 1
    for w in weeks:
        w["share"] = w["trips"] / total
    peak = max(hours, key=lambda h: h["avg_drivers_on_shift"])
    return Section(
        "fleet",
        "11. The fleet",
        "When is our fleet on the road, and how long do drivers work?",
        [
            f"Most drivers on shift: {DAYS[peak['hour_of_week'] // 24]} "
            f"{peak['hour_of_week'] % 24:02d}:00 UTC, {peak['avg_drivers_on_shift']:.1f} on "
            f"average ({_pct(peak['share_of_fleet_active'])} of the roster).",
        ],
        [
            Chart(
                "fleet_on_shift",
                charts.lines(
                    hours,
                    "hour_of_week",
                    "avg_drivers_on_shift",
                    x_title="Hour of the week (UTC, 0 = Monday 00:00)",
                    y_title="Drivers on shift",
                    y_format=".0f",
                ),
                "Average drivers on shift per hour of the week (fleet database, from zero).",
            ),
            Chart(
                "fleet_hours",
                charts.histograms(weeks, [("hours", "Hours on shift per driver and week", ".0f")]),
                "Distribution of weekly hours on shift per driver (5-hour bins).",
            ),
        ],
    )


def market_share(m: _Marts) -> Section:
    bases = m.rows(
        "select segment_label as base, share_of_fleet from {m}.fhv_fleet_composition "
        "where segment_type = 'base' order by vehicles desc limit 10",
        "fhv_fleet_composition",
    )
    headlines = [
        "Largest for-hire bases by licensed vehicles: "
        + ", ".join(f"{b['base']} {_pct(b['share_of_fleet'])}" for b in bases[:3])
        + "."
    ]
    section_charts = [
        Chart(
            "fhv_bases",
            charts.bars(
                bases,
                "base",
                "share_of_fleet",
                value_title="Share of active FHV vehicles",
                value_format=".0%",
            ),
            "Share of the city's active for-hire vehicles by base (NYC Open Data).",
        ),
    ]
    try:
        shares = m.rows(
            "select hour_of_week, sum(fleet_trips_per_week) / nullif(sum(city_trips_per_week), 0) "
            "as share from {m}.fleet_market_share_by_zone_hour_of_week group by 1 order by 1",
            "fleet_market_share_by_zone_hour_of_week",
        )
        overall = m.rows(
            "select sum(fleet_trips_per_week) / nullif(sum(city_trips_per_week), 0) as share "
            "from {m}.fleet_market_share_by_zone_hour_of_week",
            "fleet_market_share_by_zone_hour_of_week",
        )[0]["share"]
        headlines.append(
            f"Our fleet's trips are {_pct(overall, 2)} of the yellow-taxi trips of "
            "the same zones and hours."
        )
        section_charts.append(
            Chart(
                "fleet_market_share",
                charts.lines(
                    shares,
                    "hour_of_week",
                    "share",
                    x_title="Hour of the week (New York local)",
                    y_title="Fleet trips / yellow trips",
                    y_format=".1%",
                ),
                "The fleet's trips against the city's yellow-taxi trips per hour of the week.",
            )
        )
    except _Missing:
        headlines.append(
            "The fleet's trip events (Kafka) were not loaded in this build, so its "
            "share of yellow-taxi trips is not shown."
        )
    return Section(
        "market_share",
        "12. Market share",
        "Who holds the for-hire market, and how big is our fleet against the yellow cabs?",
        headlines,
        section_charts,
    )


def data_quality(m: _Marts) -> Section:
    rules = m.rows(
        "select rule_name, excludes_from, sum(failing_rows) as failing, "
        "sum(failing_rows) / sum(total_rows) as share from {m}.data_quality_by_month "
        "group by rule_name, rule_order, excludes_from order by rule_order",
        "data_quality_by_month",
    )
    refunds = m.rows(
        "select sum(refund_rows) as refunds, sum(matched_refunds) as matched, "
        "sum(unmatched_refunds) as unmatched, sum(matched_refund_total_paid) as matched_paid, "
        "sum(unmatched_refund_total_paid) as unmatched_paid from {m}.refunds_by_month",
        "refunds_by_month",
    )[0]
    scopes = {r["rule_name"]: r for r in rules if r["rule_name"].startswith("excluded_from_")}
    everything = "demand revenue tips distance_time zones"
    for r in rules:
        r["scope"] = {"": "informational", everything: "all measures"}.get(
            r["excludes_from"], r["excludes_from"]
        )
    plain = [r for r in rules if not r["rule_name"].startswith("excluded_from_")]
    return Section(
        "quality",
        "13. Data quality",
        "How healthy is the data? Rows failing each rule, and what each rule takes them out of.",
        [
            "Rows left out, by measure: "
            + ", ".join(
                f"{name.removeprefix('excluded_from_')} {_pct(r['share'], 2)}"
                for name, r in scopes.items()
            )
            + " (a rule takes a trip out only of what it would distort).",
            f"{_int(refunds['refunds'])} refund rows: {_int(refunds['matched'])} netted against "
            f"the charge they reverse ({_usd(refunds['matched_paid'], 0)} total paid), "
            f"{_int(refunds['unmatched'])} unmatched ({_usd(refunds['unmatched_paid'], 0)} total "
            "paid), reported and left out of revenue.",
        ],
        [
            Chart(
                "quality_rules",
                charts.bars(
                    plain,
                    "rule_name",
                    "share",
                    value_title="Share of rows failing",
                    value_format=".1%",
                    color="scope",
                    color_title="Excludes from",
                    sort=[r["rule_name"] for r in plain],
                ),
                "Share of all rows failing each rule of the seed trip_validity_rules, coloured "
                "by the measures the rule protects.",
            ),
        ],
        [["Rule", "Excludes from", "Failing rows", "Share"]]
        + [[r["rule_name"], r["scope"], _int(r["failing"]), _pct(r["share"], 2)] for r in rules],
        define("total_paid"),
    )


def services(m: _Marts) -> Section:
    months = m.rows(
        "select pickup_month, service, trips, share_of_month_trips, service_group "
        "from {m}.trips_by_service_month order by pickup_month, service",
        "trips_by_service_month",
    )
    boroughs = m.rows(
        "select pickup_year, pickup_borough_name as borough, "
        "sum(trips) filter (where service_group = 'app') as app, "
        "sum(trips) filter (where service = 'yellow') as yellow, "
        "sum(share_of_borough_trips) filter (where service_group = 'app') as app_share "
        "from {m}.service_share_by_borough_year group by 1, 2 order by 2, 1",
        "service_share_by_borough_year",
    )
    title = "14. Services"
    question = "When did app-based trips overtake the yellow cabs, and where?"
    if not months:
        return Section("services", title, question, missing="No trips in this build.")
    by_month: dict[Any, dict[str, int]] = {}
    for r in months:
        group = by_month.setdefault(r["pickup_month"], {"app": 0, "yellow": 0})
        if r["service_group"] == "app":
            group["app"] += r["trips"]
        if r["service"] == "yellow":
            group["yellow"] += r["trips"]
    overtaken = [month for month, g in sorted(by_month.items()) if g["app"] > g["yellow"]]
    first_years: dict[str, int] = {}
    for r in boroughs:
        if (r["app"] or 0) > (r["yellow"] or 0):
            first_years.setdefault(r["borough"], r["pickup_year"])
    last = max(by_month)
    latest = [r for r in months if r["pickup_month"] == last]
    served = sorted({r["service"] for r in months})
    headlines = [
        f"{len(served)} services loaded ({', '.join(served)}), "
        f"{_iso(months[0]['pickup_month'])[:7]} to {_iso(last)[:7]}.",
        (
            f"App-based trips first outnumber yellow-cab trips in {_iso(overtaken[0])[:7]}."
            if overtaken
            else "App-based trips never outnumber yellow-cab trips in the months loaded."
        ),
        f"In {_iso(last)[:7]}: "
        + ", ".join(f"{r['service']} {_pct(r['share_of_month_trips'])}" for r in latest)
        + " of trips.",
    ]
    if first_years:
        headlines.append(
            "First year with more app trips than yellow-cab pickups, by borough: "
            + ", ".join(f"{b} {y}" for b, y in sorted(first_years.items(), key=lambda i: i[1]))
            + "."
        )
    for r in months:
        r["month"] = _iso(r["pickup_month"])
    last_year = max(r["pickup_year"] for r in boroughs)
    return Section(
        "services",
        title,
        question,
        headlines,
        [
            Chart(
                "services_by_month",
                charts.lines(
                    [{k: r[k] for k in ("month", "service", "trips")} for r in months],
                    "month",
                    "trips",
                    x_title="Pickup month",
                    y_title="Trips",
                    series="service",
                    series_title="Service",
                    x_type="T",
                ),
                "Trips per month by service (trips valid for demand).",
            ),
        ],
        [["Borough", f"App share {last_year}", f"App trips {last_year}", "Yellow trips"]]
        + [
            [r["borough"], _pct(r["app_share"] or 0), _int(r["app"] or 0), _int(r["yellow"] or 0)]
            for r in boroughs
            if r["pickup_year"] == last_year
        ],
    )


def congestion_zone(m: _Marts) -> Section:
    rows = m.rows(
        "select service, zone_relation, sum(trips) as trips, "
        "sum(trips_year_earlier) as earlier, "
        "sum(fare_revenue) / nullif(sum(trips), 0) as fare_per_trip, "
        "avg(average_speed_mph) as speed, avg(average_speed_mph_year_earlier) as speed_earlier "
        "from {m}.congestion_fee_zone_effect "
        "where is_after_fee_start and trips > 0 and trips_year_earlier > 0 "
        "group by 1, 2 order by 1, 2",
        "congestion_fee_zone_effect",
    )
    weekly = m.rows(
        "select week_start_date, service, trips from {m}.congestion_fee_zone_effect "
        "where zone_relation = 'within' order by 1, 2",
        "congestion_fee_zone_effect",
    )
    title = "15. The congestion relief zone"
    question = (
        "Trips into and within the zone (Manhattan south of 60th St) after the fee of "
        "5 January 2025, against the same weeks a year earlier."
    )
    if not weekly:
        return Section("congestion_zone", title, question, missing="No trip touches the zone.")
    if rows:
        headlines = [
            f"{r['service']} {r['zone_relation']} the zone: {_int(r['trips'])} trips in the "
            f"weeks after the fee against {_int(r['earlier'])} a year earlier "
            f"({_pct(r['trips'] / r['earlier'] - 1)}), {r['speed']:.1f} mph against "
            f"{r['speed_earlier']:.1f} mph."
            for r in rows
            if r["zone_relation"] in ("within", "into") and r["speed"] and r["speed_earlier"]
        ]
    else:
        headlines = [
            "The weeks a year before the fee are not loaded in this build, so the zone's "
            "trips are shown without their comparison."
        ]
    for r in weekly:
        r["week"] = _iso(r["week_start_date"])
        del r["week_start_date"]
    return Section(
        "congestion_zone",
        title,
        question,
        headlines,
        [
            Chart(
                "zone_within_weekly",
                charts.lines(
                    weekly,
                    "week",
                    "trips",
                    x_title="Week starting",
                    y_title="Trips within the zone",
                    series="service",
                    series_title="Service",
                    x_type="T",
                    rule_at="2025-01-05",
                ),
                "Trips starting and ending in the Congestion Relief Zone per week "
                "(dashed: the fee's first day).",
            ),
        ],
        [
            [
                "Service",
                "Relation",
                "Trips after",
                "Year earlier",
                "Fare revenue a trip",
                "mph",
                "mph year earlier",
            ]
        ]
        + [
            [
                r["service"],
                r["zone_relation"],
                _int(r["trips"]),
                _int(r["earlier"]),
                _usd(r["fare_per_trip"]),
                f"{r['speed'] or 0:.1f}",
                f"{r['speed_earlier'] or 0:.1f}",
            ]
            for r in rows
        ],
        define("fare_revenue"),
    )


def airports_by_service(m: _Marts) -> Section:
    rows = m.rows(
        "select pickup_year, service, sum(trips) as trips, "
        "sum(share_of_service_trips) as share, sum(fare_revenue) as fare_revenue "
        "from {m}.airport_trips_by_service_year group by 1, 2 order by 1, 2",
        "airport_trips_by_service_year",
    )
    title = "16. Airports by service"
    question = "Who takes New Yorkers to the airports, year by year?"
    if not rows:
        return Section("airports_by_service", title, question, missing="No airport trips.")
    last_year = max(r["pickup_year"] for r in rows)
    latest = sorted((r for r in rows if r["pickup_year"] == last_year), key=lambda r: -r["trips"])
    total = sum(r["trips"] for r in latest)
    for r in rows:
        r["year"] = str(r["pickup_year"])
    return Section(
        "airports_by_service",
        title,
        question,
        [
            f"In {last_year}, airport trips by service: "
            + ", ".join(f"{r['service']} {_pct(r['trips'] / total)}" for r in latest)
            + ".",
            "Share of each service's own trips that touch an airport: "
            + ", ".join(f"{r['service']} {_pct(r['share'])}" for r in latest)
            + ".",
        ],
        [
            Chart(
                "airports_by_service",
                charts.grouped_bars(
                    [{k: r[k] for k in ("year", "service", "share")} for r in rows],
                    "service",
                    "year",
                    "share",
                    value_title="Share of the service's trips",
                    series_title="Year",
                ),
                "Share of each service's trips touching EWR, JFK or LGA, per year.",
            ),
        ],
        [["Year", "Service", "Airport trips", "Share of its trips", "Fare revenue"]]
        + [
            [
                str(r["pickup_year"]),
                r["service"],
                _int(r["trips"]),
                _pct(r["share"]),
                _usd(r["fare_revenue"], 0),
            ]
            for r in rows
        ],
        define("fare_revenue"),
    )


SECTIONS: tuple[Callable[[_Marts], Section], ...] = (
    demand,
    zone_map,
    zone_pairs,
    airports,
    tipping,
    efficiency,
    months,
    congestion_fee,
    distributions,
    weather,
    fleet,
    market_share,
    data_quality,
    services,
    congestion_zone,
    airports_by_service,
)
_TITLES = {
    "weather": ("10. Weather", "Does rain bring more riders?"),
    "fleet": ("11. The fleet", "When is our fleet on the road, and how long do drivers work?"),
    "market_share": ("12. Market share", "Who holds the for-hire market?"),
    "services": ("14. Services", "When did app-based trips overtake the yellow cabs?"),
    "congestion_zone": ("15. The congestion relief zone", "Trips into and within the zone."),
    "airports_by_service": ("16. Airports by service", "Who takes New Yorkers to the airports?"),
}
INTRO = (
    "Yellow taxi trips (sections 1-13; green, FHV and the app companies in 14-16) from the "
    "dbt marts, with weather, the fleet's database and NYC Open "
    "Data. Times are New York local time; money is US dollars, and every money figure names "
    "its measure (defined under it). Each chart counts only the trips valid for what it "
    "shows (section 13)."
)


def sections(con: duckdb.DuckDBPyConnection) -> list[Section]:
    """Every section, those without their marts marked missing."""
    marts = _Marts(con)
    out = []
    for make in SECTIONS:
        try:
            out.append(make(marts))
        except _Missing as missing:
            title, question = _TITLES.get(make.__name__, (make.__name__, ""))
            out.append(
                Section(
                    make.__name__,
                    title,
                    question,
                    missing=f"Not in this build: the marts {missing} were not built "
                    "(their pipeline did not run).",
                )
            )
    return out


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(settings.duckdb_path), read_only=True)
    except duckdb.Error as exc:
        raise DestinationError(
            f"cannot open {settings.duckdb_path} for the report: {str(exc).splitlines()[0]}"
        ) from exc


def build_report(settings: Settings, out: Path | None = None) -> Path:
    """Write the report from the marts in ``settings.duckdb_path``; return its path."""
    target = out or report_path(settings)
    con = _connect(settings)
    try:
        built = sections(con)
    except (duckdb.Error, IndexError, KeyError, ValueError, ZeroDivisionError) as exc:
        raise TriplineError(
            f"the insight marts in {settings.duckdb_path} are missing or empty "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}): run dbt build"
        ) from exc
    finally:
        con.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    target.write_text(render(built, INTRO, stamp), encoding="utf-8")
    return target


def publish_to_docs_site(report: Path) -> Path:
    """Copy the report next to the dbt docs site (``<target>/report/index.html``), where the
    overview page and the exposure ``insights_report`` link to it."""
    destination = dbt_target_dir(dbt_project_dir()) / "report" / "index.html"
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report, destination)
    return destination


def headlines(settings: Settings) -> list[str]:
    """Every headline sentence of the report, for the console and docs."""
    con = _connect(settings)
    try:
        return [f"{s.title}: {h}" for s in sections(con) for h in s.headlines]
    finally:
        con.close()


def main() -> None:
    """``python -m ingestion.report [--out PATH]``: rebuild the report from the marts."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, help="output file (default data/report/index.html)")
    args = parser.parse_args()
    settings = load_settings()
    print(build_report(settings, args.out))
