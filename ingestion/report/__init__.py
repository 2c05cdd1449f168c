"""The insights report: a static HTML page with one inline SVG chart per question.

``build_report(settings)`` reads the dbt insight marts from the Tripline DuckDB file and
writes ``data/report/index.html`` (no scripts, no downloads: it opens offline). The dbt
project declares it as the exposure ``insights_report``.
"""

from ingestion.report.build import build_report

__all__ = ["build_report"]
