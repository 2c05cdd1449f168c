"""The report page: sections of headlines, charts and tables, one self-contained HTML file.

Charts are Vega-Lite specifications (built with Altair in ``charts.py``) rendered in the
browser by Vega, whose JavaScript - vega, vega-lite and vega-embed, bundled by vl-convert -
is inlined once in the page. Nothing is fetched: the page opens from a file with no network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from html import escape
from typing import Any

import vl_convert

Spec = dict[str, Any]


@dataclass
class Chart:
    """One chart: its Vega-Lite spec, a caption, and the definitions printed under it."""

    key: str
    spec: Spec
    caption: str
    definitions: list[str] = field(default_factory=list)


@dataclass
class Section:
    """One question of the report: headlines, charts, an optional table, or why it is empty."""

    key: str
    title: str
    question: str
    headlines: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)
    missing: str | None = None


@cache
def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one script (vl-convert's bundle, no network)."""
    # The stub wants a snippet; the default one puts vegaEmbed, vega and vegaLite on window.
    bundle: str = vl_convert.javascript_bundle()  # type: ignore[call-arg]
    return bundle.replace("</script", "<\\/script")


def _json_for_script(value: object) -> str:
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222;"
    "padding:0 1em}h1{margin-bottom:0.2em}nav a{margin-right:0.8em;font-size:14px}"
    "section{border-top:1px solid #ddd;padding:0.6em 0 1.2em}.q{color:#555;font-style:italic}"
    "table{border-collapse:collapse;font-size:13px;margin-top:0.5em}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
    "figure{margin:0.8em 0}figcaption{color:#555;font-size:13px}"
    ".definition{color:#444;font-size:12.5px;margin:0.2em 0;border-left:3px solid #9ab;"
    "padding-left:0.5em}.missing{color:#955}.chart{min-height:40px}"
)

# Embeds every chart and, once all are drawn, marks the body (tests wait for it). With
# ?section=<id> the page shows that section alone (screenshots of one section).
_EMBED = """
const only = new URLSearchParams(location.search).get("section");
if (only) {
  for (const node of document.querySelectorAll("section, nav, #intro")) {
    if (node.id !== only) node.style.display = "none";
  }
}
const specs = JSON.parse(document.getElementById("chart-specs").textContent);
const drawn = Object.entries(specs).map(([key, spec]) => {
  const target = document.getElementById("chart-" + key);
  return vegaEmbed(target, spec, {renderer: "svg", actions: false})
    .then(() => target.setAttribute("data-rendered", "true"))
    .catch((error) => { target.textContent = "chart failed: " + error; });
});
Promise.all(drawn).then(() => {
  document.body.setAttribute("data-charts", String(drawn.length));
});
"""


def _table(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    head, *body = rows
    return (
        "<table><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in body)
        + "</table>"
    )


def _definitions(lines: list[str]) -> str:
    return "".join(f'<p class="definition">{escape(line)}</p>' for line in lines)


def render(sections: list[Section], intro: str, generated: str) -> str:
    """The whole page as text."""
    specs: dict[str, Spec] = {}
    body = []
    for section in sections:
        parts = [
            f'<section id="{escape(section.key)}"><h2>{escape(section.title)}</h2>'
            f'<p class="q">{escape(section.question)}</p>'
        ]
        if section.missing:
            parts.append(f'<p class="missing">{escape(section.missing)}</p></section>')
            body.append("".join(parts))
            continue
        parts.append("<ul>" + "".join(f"<li>{escape(h)}</li>" for h in section.headlines))
        parts.append("</ul>" + _definitions(section.definitions))
        for chart in section.charts:
            specs[chart.key] = chart.spec
            parts.append(
                f'<figure><div class="chart" id="chart-{escape(chart.key)}"></div>'
                f"<figcaption>{escape(chart.caption)}</figcaption>"
                f"{_definitions(chart.definitions)}</figure>"
            )
        parts.append(_table(section.table) + "</section>")
        body.append("".join(parts))
    nav = "".join(
        f'<a href="#{escape(s.key)}">{escape(s.title.split(". ", 1)[-1])}</a>' for s in sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Tripline insights</title><style>{_STYLE}</style>"
        f"<script>{vega_bundle()}</script></head><body>"
        f'<h1>Tripline insights</h1><p id="intro">{escape(intro)} '
        f"Generated {escape(generated)}.</p>"
        f"<nav>{nav}</nav>{''.join(body)}"
        f'<script type="application/json" id="chart-specs">{_json_for_script(specs)}</script>'
        f"<script>{_EMBED}</script></body></html>"
    )
