"""The report's chart kinds as Vega-Lite specifications, built with Altair.

Bars and shares start at zero (Vega-Lite's default for quantitative bars, kept explicitly),
every colour has a legend, tooltips show the exact numbers, and data travel inline in the
spec (``alt.Data(values=...)``), so the page needs nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

Row = Mapping[str, Any]
Spec = dict[str, Any]
WIDTH = 640
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _data(rows: Sequence[Row]) -> alt.Data:
    data: alt.Data = alt.Data(values=[dict(row) for row in rows])  # type: ignore[no-untyped-call]
    return data


def _spec(chart: alt.TopLevelMixin) -> Spec:
    spec: Spec = chart.to_dict()
    return spec


def heatmap_hour_of_week(rows: Sequence[Row]) -> Spec:
    """Trips by day (rows) and hour (columns), colour = trips, with a legend."""
    chart = (
        alt.Chart(_data(rows))
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Pickup hour (New York local)"),
            y=alt.Y("day:O", sort=list(DAYS), title=None),
            color=alt.Color("trips:Q", title="Trips", scale=alt.Scale(scheme="blues", zero=True)),
            tooltip=[
                alt.Tooltip("day:O", title="Day"),
                alt.Tooltip("hour:O", title="Hour"),
                alt.Tooltip("trips:Q", title="Trips", format=",.0f"),
                alt.Tooltip("share:Q", title="Share of the week", format=".2%"),
            ],
        )
        .properties(width=WIDTH, height=200)
    )
    return _spec(chart)


def bars(
    rows: Sequence[Row],
    category: str,
    value: str,
    *,
    value_title: str,
    category_title: str | None = None,
    value_format: str = ",.0f",
    color: str | None = None,
    color_title: str | None = None,
    sort: Sequence[str] | str = "-x",
    height: int | None = None,
) -> Spec:
    """Horizontal bars from zero, one per category (optionally coloured, with a legend)."""
    encoding: dict[str, Any] = {
        "y": alt.Y(f"{category}:N", sort=sort, title=category_title),
        "x": alt.X(
            f"{value}:Q",
            title=value_title,
            scale=alt.Scale(zero=True),
            axis=alt.Axis(format=value_format),
        ),
        "tooltip": [
            alt.Tooltip(f"{category}:N", title=category_title or category),
            alt.Tooltip(f"{value}:Q", title=value_title, format=value_format),
        ],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color_title or color)
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(**encoding)
        .properties(width=WIDTH - 200, height=height or max(60, 22 * len(rows)))
    )
    return _spec(chart)


def grouped_bars(
    rows: Sequence[Row],
    category: str,
    series: str,
    value: str,
    *,
    value_title: str,
    value_format: str = ".1%",
    series_title: str = "Measure",
) -> Spec:
    """Bars from zero for several series per category, side by side, with a legend."""
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            x=alt.X(f"{category}:N", title=None),
            xOffset=alt.XOffset(f"{series}:N"),
            y=alt.Y(
                f"{value}:Q",
                title=value_title,
                scale=alt.Scale(zero=True),
                axis=alt.Axis(format=value_format),
            ),
            color=alt.Color(f"{series}:N", title=series_title),
            tooltip=[
                alt.Tooltip(f"{category}:N"),
                alt.Tooltip(f"{series}:N", title=series_title),
                alt.Tooltip(f"{value}:Q", title=value_title, format=value_format),
            ],
        )
        .properties(width=WIDTH - 240, height=240)
    )
    return _spec(chart)


def lines(
    rows: Sequence[Row],
    x: str,
    y: str,
    *,
    x_title: str,
    y_title: str,
    series: str | None = None,
    series_title: str | None = None,
    x_type: str = "Q",
    y_format: str = ",.0f",
    zero: bool = True,
    band: tuple[str, str] | None = None,
    height: int = 240,
    rule_at: str | None = None,
) -> Spec:
    """Lines over x (optionally one per series, with a legend), y from zero by default;
    ``band`` draws a shaded range (e.g. quartiles) behind each line, ``rule_at`` a dated
    vertical rule."""
    base = alt.Chart(_data(rows))
    color = (
        alt.Color(f"{series}:N", title=series_title or series) if series else alt.value("#1f77b4")
    )
    tooltip = [
        alt.Tooltip(f"{x}:{x_type}", title=x_title),
        alt.Tooltip(f"{y}:Q", title=y_title, format=y_format),
    ]
    if series:
        tooltip.insert(0, alt.Tooltip(f"{series}:N", title=series_title or series))
    layers: list[alt.Chart] = []
    if band:
        layers.append(
            base.mark_area(opacity=0.18).encode(
                x=alt.X(f"{x}:{x_type}"),
                y=alt.Y(f"{band[0]}:Q"),
                y2=alt.Y2(f"{band[1]}:Q"),
                color=color,
            )
        )
    layers.append(
        base.mark_line(point=len(rows) <= 60).encode(
            x=alt.X(f"{x}:{x_type}", title=x_title),
            y=alt.Y(
                f"{y}:Q",
                title=y_title,
                scale=alt.Scale(zero=zero),
                axis=alt.Axis(format=y_format),
            ),
            color=color,
            tooltip=tooltip,
        )
    )
    if rule_at:
        layers.append(
            alt.Chart(_data([{"at": rule_at}]))
            .mark_rule(color="#c33", strokeDash=[4, 3])
            .encode(x=alt.X("at:T"))
        )
    chart = alt.layer(*layers).properties(width=WIDTH, height=height)
    return _spec(chart)


def histograms(rows: Sequence[Row], panels: Sequence[tuple[str, str, str]]) -> Spec:
    """Small multiples of histograms from pre-binned rows (measure, lower, upper, share);
    ``panels`` are (measure, axis title, number format)."""
    charts = []
    for measure, title, fmt in panels:
        values = [dict(row) for row in rows if row["measure"] == measure]
        charts.append(
            alt.Chart(_data(values))
            .mark_bar()
            .encode(
                x=alt.X("lower:Q", bin="binned", title=title, axis=alt.Axis(format=fmt)),
                x2="upper:Q",
                y=alt.Y(
                    "share:Q",
                    title="Share of trips",
                    scale=alt.Scale(zero=True),
                    axis=alt.Axis(format=".0%"),
                ),
                tooltip=[
                    alt.Tooltip("lower:Q", title="From", format=fmt),
                    alt.Tooltip("upper:Q", title="To", format=fmt),
                    alt.Tooltip("trips:Q", title="Trips", format=",.0f"),
                    alt.Tooltip("share:Q", title="Share", format=".1%"),
                ],
            )
            .properties(width=290, height=150)
        )
    rows_of_two = [alt.hconcat(*charts[i : i + 2]) for i in range(0, len(charts), 2)]
    return _spec(alt.vconcat(*rows_of_two))


def choropleth(features: Sequence[Row], value: str, value_title: str) -> Spec:
    """The taxi zones coloured by ``value`` (log scale, legend), with a tooltip per zone."""
    chart = (
        alt.Chart(_data(features))
        .mark_geoshape(stroke="#fff", strokeWidth=0.3)
        .encode(
            color=alt.Color(
                f"properties.{value}:Q",
                title=value_title,
                scale=alt.Scale(type="symlog", scheme="viridis"),
            ),
            tooltip=[
                alt.Tooltip("properties.zone:N", title="Zone"),
                alt.Tooltip("properties.borough:N", title="Borough"),
                alt.Tooltip("properties.location_id:Q", title="Zone id"),
                alt.Tooltip(f"properties.{value}:Q", title=value_title, format=",.0f"),
                alt.Tooltip("properties.dropoffs:Q", title="Dropoffs", format=",.0f"),
                alt.Tooltip(
                    "properties.pickup_fare_revenue:Q",
                    title="Fare revenue of pickups (USD)",
                    format="$,.0f",
                ),
            ],
        )
        .project(type="mercator")
        .properties(width=WIDTH, height=620)
    )
    return _spec(chart)
