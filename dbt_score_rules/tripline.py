"""Layering, naming and key-test rules for the Tripline dbt project (../shared/STYLE.md)."""

import re

from dbt_score import Model, RuleViolation, Severity, Source, rule

_STAGING_NAME = re.compile(r"^stg_[a-z0-9_]+__[a-z0-9_]+$")
_KEY_TESTS = {"unique_combination_of_columns"}


def _layer(model: Model) -> str:
    """staging, intermediate, marts or '' from the model's folder under models/."""
    parts = model.original_file_path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "models" else ""


@rule(severity=Severity.HIGH)
def has_primary_key_test(model: Model) -> RuleViolation | None:
    """A model has a key: a column tested unique and not_null, or a combination test."""
    for column in model.columns:
        types = {test.type for test in column.tests}
        if {"unique", "not_null"} <= types:
            return None
    if any(test.type in _KEY_TESTS for test in model.tests):
        return None
    return RuleViolation("No primary-key test (unique + not_null, or a combination test).")


@rule(severity=Severity.HIGH)
def no_source_outside_staging(model: Model) -> RuleViolation | None:
    """Only staging models select from sources; everything else uses ref()."""
    if _layer(model) == "staging":
        return None
    sources = [n for n in model.depends_on.get("nodes", []) if n.startswith("source.")]
    if sources:
        return RuleViolation(f"Reads sources outside staging: {', '.join(sources)}.")
    return None


@rule
def staging_reads_only_sources(model: Model) -> RuleViolation | None:
    """A staging model reads sources only, never another model (no staging on staging)."""
    if _layer(model) != "staging":
        return None
    refs = [n for n in model.depends_on.get("nodes", []) if n.startswith("model.")]
    if refs:
        return RuleViolation(f"Staging model depends on models: {', '.join(refs)}.")
    return None


@rule
def model_name_matches_layer(model: Model) -> RuleViolation | None:
    """stg_<source>__<entity> in staging, int_ in intermediate, no stg_/int_ in marts."""
    layer, name = _layer(model), model.name
    if layer == "staging" and not _STAGING_NAME.match(name):
        return RuleViolation("Staging models are named stg_<source>__<entity>.")
    if layer == "intermediate" and not name.startswith("int_"):
        return RuleViolation("Intermediate models are named int_<entity>s_<verb>ed.")
    if layer == "marts" and name.startswith(("stg_", "int_")):
        return RuleViolation("Mart models are named fct_, dim_ or for their question.")
    return None


@rule
def public_mart_has_contract(model: Model) -> RuleViolation | None:
    """Tables in marts enforce a contract (column names and types)."""
    if _layer(model) != "marts":
        return None
    if not model.config.get("contract", {}).get("enforced"):
        return RuleViolation("Mart model without an enforced contract.")
    return None


@rule
def source_has_loader(source: Source) -> RuleViolation | None:
    """A source names the tool that loads it (loader: dlt)."""
    if not source.loader:
        return RuleViolation("Source lacks a loader.")
    return None


@rule
def source_has_description(source: Source) -> RuleViolation | None:
    """A source table has a description."""
    if not source.description:
        return RuleViolation("Source table lacks a description.")
    return None
