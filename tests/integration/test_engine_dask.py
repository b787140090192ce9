"""The dask engine (SPEC §8) gives the local engine's review: a real 2-worker ``LocalCluster``.

Reviews are compared as parsed JSON, recursively, floats within 1e-9 relative (the sums are added
in another order). Bad lines are counted by the same loader on the driver, so ``data_quality`` must
be equal exactly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from distributed.diagnostics.plugin import WorkerPlugin
from review_compare import assert_same

from metasup.engine import dask as dask_engine
from metasup.engine import open_measure
from metasup.engine.dask import DaskMeasure
from metasup.engine.partitions import reduce_partition
from metasup.evaluate.measure import Measure, measure_locally
from metasup.lp.prod_spans import moved_agents
from metasup.lp.report import build_lp_report
from metasup.lp.statistics import BOOKED_COLUMNS, Period, booked_signals
from metasup.model.config import EngineConfig
from metasup.runner import default_as_of, evaluate, load_workspace, supervise_workspace

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

EXAMPLES = Path(__file__).resolve().parents[2] / "metasup" / "examples" / "metasup.yml"
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_evaluate.py"

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def dask_measure() -> Iterator[Measure]:
    config = EngineConfig(kind="dask", partitions=4)
    with open_measure(config, workers=2, processes=True, booked=True) as measure:
        yield measure


def reviews(config: Path, measure: Measure) -> tuple[dict[str, Any], dict[str, Any]]:
    workspace = load_workspace(config)
    local = evaluate(workspace, None, None, run_id="t")
    distributed = evaluate(workspace, None, None, run_id="t", measure=measure)
    return json.loads(local.to_json()), json.loads(distributed.to_json())


def skill_stories(review: dict[str, Any]) -> dict[str, str]:
    """Each agent's status, and why a promotion was blocked (which gate) or in how many days it may pass."""
    stories = {}
    for agent in review["agents"]:
        gates = agent["promotion"].get("gates") or []
        failed = sorted(g["name"] for g in gates if g.get("passed") is False)
        eligible = (agent.get("skill") or {}).get("eligible_in_days")
        stories[agent["agent"]] = f"{agent['status']} {failed} eligible_in={eligible}"
    return stories


def test_demo_review_is_the_same_on_dask(dask_measure: Measure) -> None:
    local, distributed = reviews(EXAMPLES, dask_measure)
    assert local["data_quality"]["rejected_total"] > 0  # the demo has bad lines: counted the same
    assert local["data_quality"] == distributed["data_quality"]
    # The demo's skill stories (SPEC §3.7, §3.8) are there, and told the same on the cluster.
    statuses = {a["agent"]: a["status"] for a in local["agents"]}
    assert {"approved", "blocked", "demoted"} <= set(statuses.values())
    failed = {
        g["name"] for a in local["agents"] for g in a["promotion"].get("gates") or [] if not g["passed"]
    }
    assert {"skill", "prod_correlation"} <= failed
    assert any(
        (a.get("skill") or {}).get("eligible_in_days") for a in local["agents"] if a["status"] == "blocked"
    )
    assert skill_stories(local) == skill_stories(distributed)
    assert_same(local, distributed)


def test_golden_fleet_review_is_the_same_on_dask(
    tmp_path_factory: pytest.TempPathFactory, dask_measure: Measure
) -> None:
    sys.path.insert(0, str(GOLDEN))
    try:
        from fleet import write_fleet
    finally:
        sys.path.remove(str(GOLDEN))
    local, distributed = reviews(write_fleet(tmp_path_factory.mktemp("golden") / "fleet"), dask_measure)
    assert sum(a["status"] == "demoted" for a in local["agents"]) >= 1
    assert sum(a["status"] == "approved" for a in local["agents"]) >= 2
    assert sum(a["skill"] is not None for a in local["agents"]) >= 40
    assert skill_stories(local) == skill_stories(distributed)
    assert_same(local, distributed)


def bench_generators() -> Any:
    """``benchmarks/bench_evaluate.py``, whose generators write the fleets below."""
    spec = importlib.util.spec_from_file_location("bench_evaluate", BENCH)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_evaluate"] = bench
    spec.loader.exec_module(bench)
    return bench


def with_bad_lines(folder: Path) -> None:
    """Two bad signal lines, appended: they must be counted by the same loader on both engines."""
    with (folder / "alpha" / "events.jsonl").open("a", encoding="utf-8") as alpha:
        alpha.write('{"ts": "2025-02-01T00:00:00Z", "agent": "agent-01"}\nnot json\n')


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fleet")
    bench_generators().generate(folder, signals=200_000, symbols=120, bars=240_000)
    config = folder / "metasup.yml"
    # A benchmark (its bars go to every partition) and a few bad lines through the same loader.
    config.write_text(config.read_text(encoding="utf-8") + "benchmark: S0001\n", encoding="utf-8")
    with_bad_lines(folder)
    return config


def test_generated_fleet_review_is_the_same_on_dask(fleet: Path, dask_measure: Measure) -> None:
    local, distributed = reviews(fleet, dask_measure)
    assert local["data_quality"]["rejected_total"] == 2
    assert local["data_quality"] == distributed["data_quality"]
    assert local["data_quality"]["benchmark_missing"] == distributed["data_quality"]["benchmark_missing"]
    assert_same(local, distributed)


def test_more_partitions_than_the_workers_take_at_once_give_the_same_review(
    fleet: Path, dask_measure: Measure
) -> None:
    """Nine partitions on two process workers: nothing is lost or counted twice on the way (the cap
    on parts out at once is tested below, with the reduction slowed)."""
    client = dask_measure.__self__.client  # type: ignore[attr-defined]
    many = DaskMeasure(client, EngineConfig(kind="dask", partitions=9)).measure
    local, distributed = reviews(fleet, many)
    assert local["data_quality"] == distributed["data_quality"]
    assert_same(local, distributed)


def test_the_driver_keeps_at_most_two_partitions_a_worker_out(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With reductions slower than the driver cuts parts, it waits before sending more: just after
    each send, at most two parts per worker are still being reduced. (Threads, not processes, so the
    slowed reduction is the one the workers run.)"""

    def slow_reduce(*parts: Any) -> Any:
        time.sleep(0.3)
        return reduce_partition(*parts)

    monkeypatch.setattr(dask_engine, "reduce_partition", slow_reduce)
    workspace = load_workspace(fleet)
    with open_measure(EngineConfig(kind="dask", partitions=9), workers=2, processes=False) as measure:
        client = measure.__self__.client  # type: ignore[attr-defined]
        sent: list[Any] = []
        out_at_each_send: list[int] = []
        submit = client.submit

        def counting_submit(*args: Any, **kwargs: Any) -> Any:
            sent.append(submit(*args, **kwargs))
            out_at_each_send.append(sum(not future.done() for future in sent))
            return sent[-1]

        monkeypatch.setattr(client, "submit", counting_submit)
        review = evaluate(workspace, None, None, run_id="t", measure=measure)
    assert len(out_at_each_send) == 9
    assert max(out_at_each_send) == 4  # the cap is reached, never passed
    assert_same(
        json.loads(evaluate(workspace, None, None, run_id="t").to_json()), json.loads(review.to_json())
    )


def test_a_million_signal_review_is_the_same_on_dask(
    tmp_path_factory: pytest.TempPathFactory, dask_measure: Measure
) -> None:
    """The issue's data shape at a million signals: horizons as durations and as seconds, notional,
    50 prod and sandbox agents, run/cost/eval/regime/violation telemetry, Parquet bars with the
    benchmark (SPY) among them; plus two bad lines."""
    folder = tmp_path_factory.mktemp("million")
    bench_generators().generate_user(folder, 1_000_000, symbols=200, bars=1_000_000, telemetry=200_000)
    with_bad_lines(folder)
    workspace = load_workspace(folder / "metasup.yml")
    assert len(workspace.artifacts.signals) == 1_000_000
    assert workspace.config.benchmark == "SPY"
    local, distributed = reviews(folder / "metasup.yml", dask_measure)
    assert local["data_quality"]["rejected_total"] == 2
    assert local["data_quality"] == distributed["data_quality"]
    statuses = [a["status"] for a in local["agents"]]
    assert len(statuses) == 50
    assert {"active", "blocked", "demoted", "killed"} <= set(statuses)
    assert skill_stories(local) == skill_stories(distributed)
    assert_same(local, distributed)


def test_skill_sums_merge_to_the_local_ones(fleet: Path, dask_measure: Measure) -> None:
    workspace = load_workspace(fleet)
    as_of = default_as_of(workspace.artifacts)
    visible = workspace.artifacts.until(as_of)
    local = measure_locally(visible, workspace.registry, workspace.config, as_of).skill
    merged = dask_measure(visible, workspace.registry, workspace.config, as_of).skill
    assert len(local.track_record) > 100
    assert len(local.demotion) > 100
    assert len(local.calibration) > 10
    for name in ("track_record", "demotion", "calibration"):
        whole, parts = getattr(local, name), getattr(merged, name)
        keys = list(whole.columns[:2])
        pd.testing.assert_frame_equal(
            whole.sort_values(keys, ignore_index=True),
            parts.sort_values(keys, ignore_index=True),
            check_dtype=False,
            rtol=1e-9,
            obj=name,
        )


@pytest.mark.parametrize("which", ["demo", "fleet"])
def test_lp_report_is_the_same_on_dask(which: str, fleet: Path, dask_measure: Measure) -> None:
    """The rolling run's LP report books the prod agents' realized signals: the cluster brings those
    back (only the report's columns), and the report equals the local one."""
    workspace = load_workspace(EXAMPLES if which == "demo" else fleet)
    as_of = default_as_of(workspace.artifacts)
    local = supervise_workspace(workspace, as_of, None, run_id="t")
    distributed = supervise_workspace(workspace, as_of, None, run_id="t", measure=dask_measure)

    prod = [a.name for a in workspace.registry.agents if a.stage == "prod"]
    booked = booked_signals(local.reconciled, prod, as_of)
    assert len(booked) > (100 if which == "demo" else 10_000)
    assert list(distributed.reconciled.columns) == list(BOOKED_COLUMNS)
    order = ["agent", "exit_ts", "pnl"]
    pd.testing.assert_frame_equal(
        distributed.reconciled.sort_values(order, ignore_index=True),
        booked.sort_values(order, ignore_index=True),
        check_exact=False,
        rtol=1e-12,
    )
    start = (as_of - pd.Timedelta(days=27)).date()
    period = Period.between(start, as_of.date())
    reports = [build_lp_report(run, workspace.config, as_of, period) for run in (local, distributed)]
    assert reports[0].pnl.period not in (None, 0.0)
    assert_same(reports[0].model_dump(mode="json"), reports[1].model_dump(mode="json"), "lp_report")


def test_lp_report_with_promotions_and_demotions_is_the_same_on_dask(dask_measure: Measure) -> None:
    """The fund books an agent's signals while the ledger shows it in prod (``lp.prod_spans``): the
    cluster also brings back the signals of agents the ledger moved, not only today's prod ones'."""
    workspace = load_workspace(EXAMPLES)
    as_of = default_as_of(workspace.artifacts)
    moves = [("promoted", "momo-beta", 20), ("demoted", "momo-alpha", 40)]
    ledger = [
        {"seq": n, "ts": (as_of - pd.Timedelta(days=days)).isoformat(), "event": event, "subject": agent}
        for n, (event, agent, days) in enumerate(moves, start=1)
    ]
    booked = moved_agents(ledger)
    local = supervise_workspace(workspace, as_of, None, run_id="t", booked=booked)
    distributed = supervise_workspace(workspace, as_of, None, run_id="t", measure=dask_measure, booked=booked)
    period = Period.between((as_of - pd.Timedelta(days=27)).date(), as_of.date())

    reports = [build_lp_report(run, workspace.config, as_of, period, ledger) for run in (local, distributed)]
    assert_same(reports[0].model_dump(mode="json"), reports[1].model_dump(mode="json"), "lp_report")
    without_ledger = build_lp_report(local, workspace.config, as_of, period)
    assert reports[0].pnl.since_inception != without_ledger.pnl.since_inception
    assert "momo-beta" in reports[0].attribution.agents
    assert "momo-beta" not in without_ledger.attribution.agents


def test_a_review_brings_no_signal_back() -> None:
    """Without ``booked`` (review mode) the partitions send sums only: the driver gets no rows."""
    workspace = load_workspace(EXAMPLES)
    as_of = default_as_of(workspace.artifacts)
    visible = workspace.artifacts.until(as_of)
    with open_measure(EngineConfig(kind="dask"), workers=1, processes=False) as measure:
        measured = measure(visible, workspace.registry, workspace.config, as_of)
    assert measured.reconciled.empty
    assert len(measure_locally(visible, workspace.registry, workspace.config, as_of).reconciled) > 100


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


def test_cli_report_on_a_scheduler_is_the_local_report(tmp_path: Path) -> None:
    """``metasup report --scheduler ADDR``: the LP report's JSON equals the local command's."""
    from distributed import LocalCluster

    from metasup.cli import main

    local_json, dask_json = tmp_path / "local.json", tmp_path / "dask.json"
    assert main(["report", "--config", str(EXAMPLES), "--json", str(local_json)]) == 0
    with LocalCluster(n_workers=2, processes=False, protocol="tcp", dashboard_address=":0") as cluster:
        command = ["report", "--config", str(EXAMPLES), "--json", str(dask_json)]
        assert main([*command, "--scheduler", cluster.scheduler_address]) == 0
        assert cluster.scheduler.task_prefixes["reduce_partition"].state_counts["memory"] >= 2
    local = json.loads(local_json.read_text(encoding="utf-8"))
    assert local["pnl"]["since_inception"] not in (None, 0)
    assert_same(local, json.loads(dask_json.read_text(encoding="utf-8")), "lp_report")


def test_a_scheduler_lost_during_the_run_is_said_so() -> None:
    """A scheduler that goes away between connecting and reducing is a ``ClusterError`` naming it
    (one ``Error:`` line from the CLI and the action), not an internal error."""
    import dask
    from distributed import LocalCluster

    from metasup.engine.dask import ClusterError

    workspace = load_workspace(EXAMPLES)
    as_of = default_as_of(workspace.artifacts)
    visible = workspace.artifacts.until(as_of)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        cluster = LocalCluster(n_workers=1, processes=False, protocol="tcp", dashboard_address=":0")
        address = cluster.scheduler_address
        with open_measure(EngineConfig(kind="dask", address=address)) as measure:
            cluster.close()
            with pytest.raises(
                ClusterError, match=f"dask engine: the cluster at {address} failed during the run"
            ):
                measure(visible, workspace.registry, workspace.config, as_of)


class DieOnReduce(WorkerPlugin):
    """Kills its worker's process when a partition starts being reduced: a crash, as out of memory."""

    def transition(self, key: object, start: str, finish: str, **kwargs: object) -> None:
        if finish == "executing" and "reduce_partition" in str(key):
            os._exit(1)


def test_a_worker_dying_during_the_run_is_said_so() -> None:
    """A worker process that dies reducing a partition is a ``ClusterError`` saying so and what to change."""
    import dask
    from distributed import Client, LocalCluster

    from metasup.engine.dask import ClusterError

    workspace = load_workspace(EXAMPLES)
    as_of = default_as_of(workspace.artifacts)
    visible = workspace.artifacts.until(as_of)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=":0") as cluster,
    ):
        with Client(cluster) as admin:
            admin.register_plugin(DieOnReduce())
        address = cluster.scheduler_address
        with (
            open_measure(EngineConfig(kind="dask", address=address)) as measure,
            pytest.raises(ClusterError, match=f"the cluster at {address} failed during the run") as raised,
        ):
            measure(visible, workspace.registry, workspace.config, as_of)
    assert "a worker died; if workers die, give them more memory" in str(raised.value)


class DieWhenAskedToCopy(WorkerPlugin):
    """Kills its worker's process when it is asked to copy data from another worker (``gather``:
    what ``replicate`` asks) or to hand its data over (``get_data``: a worker fetching the shared
    settings from the one holding them): a worker that dies, out of memory or preempted, then."""

    def setup(self, worker: Any) -> None:
        def die(*args: object, **kwargs: object) -> None:
            os._exit(1)

        worker.handlers["gather"] = die
        worker.handlers["get_data"] = die


def test_a_worker_dying_while_the_shared_settings_spread_does_not_hang_the_run() -> None:
    """``scatter(broadcast=True)``'s copy to every worker retried a dead worker for ever: the review
    (a PR check) hung until the job's timeout (an audit). The run now ends within the deadline."""
    from distributed import Client, LocalCluster

    workspace = load_workspace(EXAMPLES)
    as_of = default_as_of(workspace.artifacts)
    visible = workspace.artifacts.until(as_of)
    outcome: list[object] = []
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0") as cluster:
        with Client(cluster) as admin:
            admin.register_plugin(DieWhenAskedToCopy())

        def review() -> None:
            try:
                with open_measure(EngineConfig(kind="dask", address=cluster.scheduler_address)) as measure:
                    outcome.append(measure(visible, workspace.registry, workspace.config, as_of))
            except Exception as exc:  # what ended it is the test's to judge
                outcome.append(exc)

        runner = threading.Thread(target=review, daemon=True)
        runner.start()
        runner.join(timeout=120)
        assert not runner.is_alive(), "the run still waits on the cluster after 120 s"
    assert type(outcome[0]).__name__ == "ClusterError", outcome  # the dying worker is said, not waited on


CLUSTER_PROCESS = """
import sys, time
from pathlib import Path
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

class HoldOnReduce(WorkerPlugin):
    # says (a file) that a partition started reducing, then holds it: the run is mid-way
    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "reduce_partition" in str(key):
            Path(sys.argv[1]).touch()
            time.sleep(30)

with LocalCluster(n_workers=1, processes=False, protocol="tcp", dashboard_address=":0") as cluster:
    with Client(cluster) as admin:
        admin.register_plugin(HoldOnReduce())
    print(cluster.scheduler_address, flush=True)
    time.sleep(600)
"""


def test_a_scheduler_gone_mid_run_is_one_error_line_from_the_cli(tmp_path: Path) -> None:
    """The scheduler's process was killed while partitions were reduced: exit 1 and the one
    ``Error:`` line, after 36 lines of distributed's reconnection tracebacks (an audit)."""
    marker = tmp_path / "reducing"
    review = tmp_path / "review.json"
    cluster = subprocess.Popen(
        [sys.executable, "-c", CLUSTER_PROCESS, str(marker)], stdout=subprocess.PIPE, text=True
    )
    cli: subprocess.Popen[str] | None = None
    try:
        address = (cluster.stdout.readline() if cluster.stdout else "").strip()
        assert address.startswith("tcp://"), address
        command = [
            sys.executable,
            "-m",
            "metasup",
            "evaluate",
            "--config",
            str(EXAMPLES),
            "--json",
            str(review),
        ]
        cli = subprocess.Popen(
            [*command, "--scheduler", address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and cli.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "no partition started reducing"
        cluster.kill()  # SIGKILL: the scheduler is gone at once, mid-run
        _, stderr = cli.communicate(timeout=120)
    finally:
        for process in (cluster, cli):
            if process is not None:
                process.kill()
                process.communicate()
    assert cli.returncode == 1
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.strip()]
    assert len(errors) == 1, stderr
    assert errors[0].startswith("Error: dask engine: the cluster at tcp://")
    assert not review.exists()


def test_local_cluster__leaves_the_environment_as_it_found_it() -> None:
    """distributed writes MALLOC_TRIM_THRESHOLD_, OMP_NUM_THREADS… into the parent's environment when
    it spawns workers; processes metasup starts afterwards must not inherit them."""
    before = dict(os.environ)
    with open_measure(EngineConfig(kind="dask", partitions=2), workers=1, processes=True):
        pass
    assert dict(os.environ) == before


def test_the_client_log_is_quiet_while_any_run_lives_and_restored_after_the_last() -> None:
    """Two runs overlapping in one process: the first to end put the level back while the second
    still ran, and the last left it at critical for good (found by a review)."""
    import logging

    from metasup.engine.dask import _client_reconnects_unlogged

    log = logging.getLogger("distributed.client")
    before = log.level
    first, second = _client_reconnects_unlogged(), _client_reconnects_unlogged()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert log.level == logging.CRITICAL
    second.__exit__(None, None, None)
    assert log.level == before
