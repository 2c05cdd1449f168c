import os
from pathlib import Path

import pytest

from ingestion.core.budget import (
    GIB,
    MIB,
    available_cpus,
    cgroup_cpu_limit,
    cgroup_memory_limit,
    parse_size,
    resolve_budget,
)
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


# --- CPUs from the cgroup quota (fake /proc/self and cgroup files) ---------------------------

V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTINFO = (
    "31 23 0:28 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
    "32 31 0:29 {root} /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 {root} /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
)


def _fake(tmp_path: Path, cgroup: str, mountinfo: str, files: dict[str, str]) -> tuple[Path, Path]:
    proc, root = tmp_path / "proc", tmp_path / "root"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text(mountinfo)
    for name, text in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return proc, root


def test_cgroup_v2_quota_in_a_cgroup_namespace(tmp_path: Path) -> None:
    proc, root = _fake(
        tmp_path, "0::/\n", V2_MOUNTINFO, {"/sys/fs/cgroup/cpu.max": "200000 100000"}
    )
    assert cgroup_cpu_limit(proc, root) == 2.0


def test_cgroup_v2_takes_the_smallest_quota_of_the_cgroup_and_its_parents(tmp_path: Path) -> None:
    proc, root = _fake(
        tmp_path,
        "0::/ecs/task/container\n",
        V2_MOUNTINFO,
        {
            "/sys/fs/cgroup/ecs/cpu.max": "max 100000",
            "/sys/fs/cgroup/ecs/task/cpu.max": "50000 100000",
            "/sys/fs/cgroup/ecs/task/container/cpu.max": "max 100000",
        },
    )
    assert cgroup_cpu_limit(proc, root) == 0.5
    assert available_cpus(proc, root) == 1


def test_cgroup_v2_max_is_unlimited(tmp_path: Path) -> None:
    proc, root = _fake(tmp_path, "0::/\n", V2_MOUNTINFO, {"/sys/fs/cgroup/cpu.max": "max 100000"})
    assert cgroup_cpu_limit(proc, root) is None
    assert available_cpus(proc, root) == len(os.sched_getaffinity(0))


def test_cgroup_v1_quota_with_the_containers_cgroup_as_the_mount_root(tmp_path: Path) -> None:
    # Docker on cgroup v1: /proc/self/cgroup shows the host path, mounted as the root here.
    path = "/ecs/0123abcd/4567ef"
    proc, root = _fake(
        tmp_path,
        f"12:memory:{path}\n4:cpu,cpuacct:{path}\n0::/\n",
        V1_MOUNTINFO.format(root=path),
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "150000",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
        },
    )
    assert cgroup_cpu_limit(proc, root) == 1.5
    assert available_cpus(proc, root) == min(2, len(os.sched_getaffinity(0)))


def test_cgroup_v1_path_below_a_host_mount(tmp_path: Path) -> None:
    proc, root = _fake(
        tmp_path,
        "4:cpu,cpuacct:/ecs/task\n",
        V1_MOUNTINFO.format(root="/"),
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
            "/sys/fs/cgroup/cpu,cpuacct/ecs/task/cpu.cfs_quota_us": "25000",
            "/sys/fs/cgroup/cpu,cpuacct/ecs/task/cpu.cfs_period_us": "100000",
        },
    )
    assert cgroup_cpu_limit(proc, root) == 0.25
    assert available_cpus(proc, root) == 1


def test_cgroup_v1_minus_one_is_unlimited(tmp_path: Path) -> None:
    proc, root = _fake(
        tmp_path,
        "4:cpu,cpuacct:/\n",
        V1_MOUNTINFO.format(root="/"),
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
        },
    )
    assert cgroup_cpu_limit(proc, root) is None


def test_no_cgroup_files_mean_no_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path / "absent", tmp_path) is None
    assert available_cpus(tmp_path / "absent", tmp_path) >= 1


def test_duckdb_threads_follow_the_quota_not_the_core_count(tmp_path: Path) -> None:
    proc, root = _fake(
        tmp_path, "0::/\n", V2_MOUNTINFO, {"/sys/fs/cgroup/cpu.max": "100000 100000"}
    )
    budget = resolve_budget({"TRIPLINE_MEMORY_LIMIT": "4GiB"}, tmp_path, proc, root)
    assert (budget.cpu_count, budget.duckdb_threads) == (1, 1)
