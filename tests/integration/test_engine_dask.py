"""The dask engine (SPEC §8) gives the local engine's review: a real 2-worker ``LocalCluster``.

Reviews are compared as parsed JSON, recursively, floats within 1e-9 relative (the sums are added
in another order). Bad lines are counted by the same loader on the driver, so ``data_quality`` must
be equal exactly.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("distributed")

from review_compare import assert_same

from metasup.engine import open_measure
from metasup.evaluate.measure import Measure, measure_locally
from metasup.evaluate.skill_sums import skill_day_sums
from metasup.model.config import EngineConfig
from metasup.runner import default_as_of, evaluate, load_workspace, supervise_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "metasup" / "examples" / "metasup.yml"
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_evaluate.py"

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def dask_measure() -> Iterator[Measure]:
    with open_measure(EngineConfig(kind="dask", partitions=4), workers=2, processes=True) as measure:
        yield measure


def reviews(config: Path, measure: Measure) -> tuple[dict[str, Any], dict[str, Any]]:
    workspace = load_workspace(config)
    local = evaluate(workspace, None, None, run_id="t")
    distributed = evaluate(workspace, None, None, run_id="t", measure=measure)
    return json.loads(local.to_json()), json.loads(distributed.to_json())


def test_demo_review_is_the_same_on_dask(dask_measure: Measure) -> None:
    local, distributed = reviews(EXAMPLES, dask_measure)
    assert local["data_quality"]["rejected_total"] > 0  # the demo has bad lines: counted the same
    assert local["data_quality"] == distributed["data_quality"]
    assert_same(local, distributed)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("bench_evaluate", BENCH)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_evaluate"] = bench
    spec.loader.exec_module(bench)
    folder = tmp_path_factory.mktemp("fleet")
    bench.generate(folder, signals=200_000, symbols=120, bars=240_000)
    config = folder / "metasup.yml"
    # A benchmark (its bars go to every partition) and a few bad lines through the same loader.
    config.write_text(config.read_text(encoding="utf-8") + "benchmark: S0001\n", encoding="utf-8")
    with (folder / "alpha" / "events.jsonl").open("a", encoding="utf-8") as alpha:
        alpha.write('{"ts": "2025-02-01T00:00:00Z", "agent": "agent-01"}\nnot json\n')
    return config


def test_generated_fleet_review_is_the_same_on_dask(fleet: Path, dask_measure: Measure) -> None:
    local, distributed = reviews(fleet, dask_measure)
    assert local["data_quality"]["rejected_total"] == 2
    assert local["data_quality"] == distributed["data_quality"]
    assert local["data_quality"]["benchmark_missing"] == distributed["data_quality"]["benchmark_missing"]
    assert_same(local, distributed)


def test_skill_day_sums_merge_to_the_local_ones(fleet: Path) -> None:
    workspace = load_workspace(fleet)
    supervision = supervise_workspace(workspace, None, None, measure=measure_locally)
    as_of = default_as_of(workspace.artifacts)
    names = [a.agent for a in supervision.review.agents]
    whole = skill_day_sums(supervision.reconciled, names, workspace.config, as_of)
    with open_measure(EngineConfig(kind="dask", partitions=3), workers=2, processes=False) as measure:
        supervise_workspace(workspace, as_of, None, measure=measure)
        merged = measure.__self__.last_skill  # type: ignore[attr-defined]
    assert len(whole) > 100
    pd.testing.assert_frame_equal(
        whole.reset_index(drop=True), merged.reset_index(drop=True), check_dtype=False, rtol=1e-9
    )


def test_cli_reaches_a_scheduler_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import LocalCluster

    from metasup.cli import main
    from metasup.engine import SCHEDULER_ENV

    local_json, dask_json = tmp_path / "local.json", tmp_path / "dask.json"
    assert main(["evaluate", "--config", str(EXAMPLES), "--json", str(local_json), "--fail-on", "never"]) == 0
    with LocalCluster(n_workers=2, processes=False, protocol="tcp", dashboard_address=":0") as cluster:
        monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
        command = ["evaluate", "--config", str(EXAMPLES), "--json", str(dask_json), "--fail-on", "never"]
        assert main([*command, "--engine", "dask"]) == 0
    local = json.loads(local_json.read_text(encoding="utf-8"))
    distributed = json.loads(dask_json.read_text(encoding="utf-8"))
    assert_same({**local, "run_id": None}, {**distributed, "run_id": None})
