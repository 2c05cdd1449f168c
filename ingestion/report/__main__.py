"""``python -m ingestion.report``: rebuild the insights report from the dbt marts."""

from ingestion.report.build import main

main()
