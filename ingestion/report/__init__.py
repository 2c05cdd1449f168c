"""The insights report: a static HTML page of Vega-Lite charts, one section per question.

``build_report(settings)`` reads the dbt marts from the Tripline DuckDB file and writes
``data/report/index.html``; vega's JavaScript and the data are inlined, so it opens offline.
The dbt project declares it as the exposure ``insights_report``.
"""

from ingestion.report.build import build_report

__all__ = ["build_report"]
