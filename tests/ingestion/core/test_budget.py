from pathlib import Path

import pytest

from ingestion.core.budget import GIB, MIB, cgroup_memory_limit, parse_size, resolve_budget
from ingestion.core.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4GB", 4 * 1000**3), ("4GiB", 4 * GIB), ("512m", 512 * MIB), ("1.5 GiB", int(1.5 * GIB))],
)
def test_parse_size_reads_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "4 parsecs", "100MB", ""])
def test_parse_size_rejects_nonsense_and_tiny_budgets(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_size(text)


def test_cgroup_v2_limit_is_read(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text(f"{2 * GIB}\n")
    assert cgroup_memory_limit(tmp_path) == 2 * GIB


def test_cgroup_v2_max_means_unlimited(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("max\n")
    assert cgroup_memory_limit(tmp_path) is None


def test_cgroup_v1_limit_is_read_and_huge_means_unlimited(tmp_path: Path) -> None:
    v1 = tmp_path / "memory"
    v1.mkdir()
    (v1 / "memory.limit_in_bytes").write_text(str(8 * GIB))
    assert cgroup_memory_limit(tmp_path) == 8 * GIB
    (v1 / "memory.limit_in_bytes").write_text(str(9223372036854771712))
    assert cgroup_memory_limit(tmp_path) is None


def test_budget_prefers_env_then_cgroup_then_default(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text(str(2 * GIB))
    assert resolve_budget({"TRIPLINE_MEMORY_LIMIT": "1GiB"}, tmp_path).total_bytes == GIB
    from_cgroup = resolve_budget({}, tmp_path)
    assert (from_cgroup.total_bytes, from_cgroup.origin) == (2 * GIB, "container cgroup limit")
    assert resolve_budget({}, tmp_path / "none").total_bytes == 4 * GIB


def test_derived_settings_scale_with_the_budget() -> None:
    small = resolve_budget({"TRIPLINE_MEMORY_LIMIT": "1GiB"}, Path("/nonexistent"))
    large = resolve_budget({"TRIPLINE_MEMORY_LIMIT": "8GiB"}, Path("/nonexistent"))
    assert small.duckdb_memory_limit_bytes == int(0.4 * GIB)
    assert small.duckdb_memory_limit == "409MiB"
    assert small.file_max_bytes < large.file_max_bytes
    assert small.buffer_max_items < large.buffer_max_items
    assert small.rows_per_chunk(200) < large.rows_per_chunk(200)
    assert 1 <= small.duckdb_threads <= large.duckdb_threads
