"""Tripline's own dbt-score rules (the ``dbt_score_rules`` namespace dbt-score loads).

They enforce in CI what dbt-project-evaluator would with dbt Hub packages, which cannot be
installed here: every model key-tested, layer naming, sources read only in staging.
"""
