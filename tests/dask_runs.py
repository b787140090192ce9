"""One action run on a real 2-worker ``LocalCluster`` named by ``METASUP_DASK_SCHEDULER`` (SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

PARTITIONS = 3


def run_on_a_cluster(workspace: Path, run: Callable[..., int]) -> str:
    """Set ``engine: {kind: dask}`` in the workspace's ``metasup.yml``, run once against a fresh cluster,
    check the run succeeded and reduced every partition there exactly once; the scheduler's address."""
    from distributed import LocalCluster

    config = workspace / "metasup.yml"
    config.write_text(config.read_text() + f"engine: {{kind: dask, partitions: {PARTITIONS}}}\n")
    with LocalCluster(n_workers=2, processes=False, dashboard_address=":0") as cluster:
        assert run(METASUP_DASK_SCHEDULER=cluster.scheduler_address) == 0
        ran = cluster.scheduler.task_prefixes
        assert "reduce_partition" in ran
        assert ran["reduce_partition"].state_counts["memory"] == PARTITIONS  # each computed once
        address: str = cluster.scheduler_address
    return address
