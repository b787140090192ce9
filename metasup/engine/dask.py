"""The review on a Dask cluster (``dask.distributed``): partitions by symbol, sums on the workers.

The driver (this process) loads the artifacts, cuts them at ``as_of``, decides the metric groups
(which agents and classes exist), splits signals and prices by symbol
(``engine.partitions.split_by_symbol``) and submits one task per partition. Each worker reconciles
its partition with the pure core and reduces it to per-cell metric sums and the skill statistics'
sums per (agent, booked day) and per (agent, confidence bin) (``engine.partitions.reduce_partition``);
only those sums travel back, with the prod agents' realized signals in the LP report's columns. The
driver adds the telemetry's sums (per agent, computed once here), merges, and builds the same
``MetricsTable`` and ``SkillInputs`` the local engine builds; every decision after that (skill,
promotion, demotion, allocation, the LP report) is the local code.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Collection, Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dask
import pandas as pd
from dask.utils import parse_timedelta
from distributed import Client, Future, KilledWorker, LocalCluster, wait
from distributed.comm.addressing import parse_address, parse_host_port
from distributed.comm.core import CommClosedError
from distributed.comm.core import connect as comm_connect
from distributed.comm.inproc import global_manager as inproc_manager

from metasup.engine.partitions import (
    PartitionSums,
    Shared,
    auto_partitions,
    reduce_partition,
    split_by_symbol,
)
from metasup.evaluate.cells import Sums
from metasup.evaluate.measure import Measure, Measurement
from metasup.evaluate.metrics import MetricGroups, metrics_table, telemetry_cell_sums
from metasup.evaluate.skill_inputs import SkillInputs
from metasup.evaluate.windows import Windows
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config, EngineConfig
from metasup.model.errors import InputError, MetasupError
from metasup.model.registry import Registry
from metasup.model.timestamps import utc


@contextmanager
def connect(
    settings: EngineConfig,
    *,
    workers: int | None = None,
    processes: bool = True,
    memory_limit: str | None = None,
    booked: bool = False,
) -> Iterator[Measure]:
    """A client to ``settings.address``, or to a ``LocalCluster`` started (and closed) here.

    ``booked``: bring the signals the LP report may book back (rolling runs, ``metasup report``). How long
    to wait for a scheduler is Dask's own setting (``distributed.comm.timeouts.connect``, 30 s unless
    ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT`` says otherwise): :func:`probe` asks the address
    who it is within that time before a ``Client`` is made, since a ``Client`` waits for ever on a
    port that accepts the connection and never answers (the dashboard's, any HTTP server)."""
    if settings.address:
        check_scheduler(settings.address)
        try:
            client = Client(settings.address)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"dask scheduler {settings.address}: cannot connect ({exc})") from None
        with _client_reconnects_unlogged(), client:  # closing the client cancels its reconnection: quiet too
            yield DaskMeasure(client, settings, booked).measure
        return
    # distributed writes its workers' settings (MALLOC_TRIM_THRESHOLD_, OMP_NUM_THREADS, …) into
    # this process's environment when it spawns them; they are put back once the cluster is gone,
    # so nothing this process starts later inherits them.
    saved = dict(os.environ)
    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1 if workers else None,
            processes=processes,
            dashboard_address=":0",
            memory_limit=memory_limit or "auto",
        )
        with cluster, Client(cluster) as client:
            yield DaskMeasure(client, settings, booked).measure
    finally:
        os.environ.clear()
        os.environ.update(saved)


_QUIET = {"runs": 0, "level": logging.NOTSET}
_QUIET_LOCK = threading.Lock()


@contextmanager
def _client_reconnects_unlogged() -> Iterator[None]:
    """A scheduler that goes away mid-run: distributed's client logs each failed reconnection with
    its traceback (36 lines before metasup's one ``Error:`` line, an audit). The run's outcome is
    that ``ClusterError``; the client's own log is critical-only while any of metasup's clients
    lives (counted, so overlapping runs in one process put the level back once, after the last)."""
    log = logging.getLogger("distributed.client")
    with _QUIET_LOCK:
        if _QUIET["runs"] == 0:
            _QUIET["level"] = log.level
            log.setLevel(logging.CRITICAL)
        _QUIET["runs"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["runs"] -= 1
            if _QUIET["runs"] == 0:
                log.setLevel(_QUIET["level"])


def check_address(address: str) -> None:
    """Refuse an address metasup cannot use before a ``Client`` is made of it.

    ``tcp://`` is, and ``inproc://`` when a scheduler listens at it inside this very process (a
    ``LocalCluster(processes=False)`` started by the caller, as in Python or the tests). TLS needs the
    cluster's certificates, which metasup cannot be given yet; ``ucx://`` and the rest need
    transports metasup does not set up (distributed raised ValueError or TypeError on them, an
    "internal error").
    A ``Client`` whose start fails on the address is also left half-built; collected later while
    another one starts, its ``__del__`` waits on the loop the new one holds (seen as a hung test run).
    """
    try:
        scheme, location = parse_address(address)
        if scheme == "inproc":
            if in_process_listener(location) is None:
                raise ValueError("no scheduler runs inside this process at that inproc:// address")
            return
        if scheme != "tcp":
            raise ValueError(unsupported_scheme(scheme))
        host, _ = parse_host_port(location)
        if ":" not in host:  # a name, not an IPv6 address: labels DNS can hold (no "a..b")
            host.encode("idna")
    except ValueError as exc:  # IDNA's UnicodeError is a ValueError too
        raise InputError(
            f"dask scheduler {address}: not a scheduler address ({exc}); use tcp://host:8786"
        ) from None


def in_process_listener(location: str) -> object | None:
    """The listener at ``inproc://location`` in this process, or None (another process's, or none)."""
    try:
        listener: object | None = inproc_manager.get_listener_for(location)
    except ValueError:  # another host's or process's address
        return None
    return listener


def check_scheduler(address: str) -> None:
    """Refuse ``address`` unless a Dask scheduler answers there (:func:`check_address`, then
    :func:`probe`; an ``inproc://`` one is in this process: it is there, or ``check_address`` said not)."""
    check_address(address)
    if not address.startswith("inproc://"):
        probe(address)


def unsupported_scheme(scheme: str) -> str:
    """Why ``scheme://`` is refused, in the words of :func:`check_address`'s error."""
    if scheme in ("tls", "wss"):
        certificates = "metasup has no setting for the cluster's certificates"
        return f"TLS ({scheme}://) is not supported yet: {certificates}"
    if scheme in ("http", "https"):
        return f"{scheme}:// is the dashboard's address, not the scheduler's"
    return f"metasup reaches a scheduler over tcp:// only, not {scheme or '(no scheme)'}://"


PROBE_GRACE = 1.0
"""Seconds the probe waits beyond ``distributed.comm.timeouts.connect``: distributed's own connect
gives up on a refused or unresolvable address at that timeout, and must be the one to say so."""


def probe(address: str) -> None:
    """Ask ``address`` who it is (the ``identity`` request every Dask server answers) and refuse it
    unless a scheduler answers within ``distributed.comm.timeouts.connect``.

    ``distributed.comm.connect`` bounds the TCP connection but not the handshake after it, nor does
    the ``Client``: on a port that accepts and stays silent (the dashboard's 8787, a plain listener)
    both wait for ever. Here the whole exchange has a deadline, and runs on a thread of its own
    (its own event loop, a daemon), so that a caller inside an event loop (Jupyter) can use it and
    nothing is left waiting when the deadline passes.
    """
    timeout = connect_timeout()
    outcome: list[object] = []

    async def ask() -> object:
        comm = await comm_connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def run() -> None:
        try:
            outcome.append(asyncio.run(asyncio.wait_for(ask(), timeout + PROBE_GRACE)))
        except BaseException as exc:  # handed to the caller's thread, which decides
            outcome.append(exc)

    thread = threading.Thread(target=run, name=f"metasup-probe {address}", daemon=True)
    thread.start()
    thread.join(timeout + 2 * PROBE_GRACE)
    answer = outcome[0] if outcome else TimeoutError()
    waited = f"{timeout:g} s"
    hint = (
        "8787 is the dashboard's port; a scheduler listens on 8786 by default"
        if address.endswith(":8787")
        else "is this the dashboard's port? a scheduler listens on 8786 by default"
    )
    if isinstance(answer, TimeoutError):  # asyncio's is this one since Python 3.11
        raise InputError(
            f"dask scheduler {address}: nothing answered as a Dask scheduler within {waited} ({hint})"
        )
    if isinstance(answer, OSError) and not isinstance(answer, CommClosedError):
        # distributed's connect gave up: refused or unresolvable all along
        raise InputError(f"dask scheduler {address}: cannot connect ({answer})")
    if isinstance(answer, BaseException):  # closed or garbled during the handshake: not Dask's protocol
        said = f"{type(answer).__name__}: {answer}" if str(answer) else type(answer).__name__
        raise InputError(f"dask scheduler {address}: did not answer as a Dask scheduler ({said}; {hint})")
    kind = server_type(answer)
    if "Scheduler" not in kind:
        raise InputError(
            f"dask scheduler {address}: a Dask {kind or 'server'} answered, not a scheduler; give the"
            " address the workers were started with (dask worker tcp://scheduler:8786)"
        )


def connect_timeout() -> float:
    """Seconds to wait for a scheduler, or for its first worker: ``distributed.comm.timeouts.connect``."""
    seconds = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds")
    return float(seconds) if seconds is not None else 30.0


def server_type(identity: Any) -> str:
    """The ``type`` an ``identity`` reply names (``Scheduler``, ``Worker``, ``Nanny``), or ""."""
    kind = identity.get("type") if isinstance(identity, dict) else None
    return kind if isinstance(kind, str) else ""


class ClusterError(MetasupError):
    """The Dask cluster failed during a run: the scheduler went away, or a worker died.

    Neither the user's input nor a bug in metasup, so it is said as such; nothing was written, since
    every decision is taken only once all partitions are back.
    """


@dataclass
class DaskMeasure:
    client: Client
    settings: EngineConfig
    booked: bool = False
    """Whether partitions bring back the realized signals of today's prod agents and of the agents
    ``measure`` is told the ledger moved (the LP report's rows)."""

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {})) or 1

    def partitions(self, signals: int) -> int:
        """``engine.partitions``, or for ``auto`` :func:`auto_partitions` of this cluster's workers."""
        if isinstance(self.settings.partitions, int):
            return self.settings.partitions
        return auto_partitions(signals, self.workers())

    def measure(
        self,
        visible: Artifacts,
        registry: Registry,
        config: Config,
        as_of: pd.Timestamp,
        booked: Collection[str] = (),
    ) -> Measurement:
        try:
            return self._measure(visible, registry, config, as_of, booked)
        # A worker that dies takes its partitions along (KilledWorker, or futures cancelled: distributed's
        # Future(s)CancelledError) and may close a stream a scatter was using (OSError); a scheduler
        # that goes away closes them all. The exception does not reliably tell which, so both are named.
        except (KilledWorker, CancelledError, OSError, TimeoutError) as exc:
            cluster = (
                f"the cluster at {self.settings.address}" if self.settings.address else "the local cluster"
            )
            said = " ".join(str(exc).split())  # distributed's reasons run over several lines
            raise ClusterError(
                f"dask engine: {cluster} failed during the run ({type(exc).__name__}: {said}): its"
                " scheduler went away or a worker died; if workers die, give them more memory or"
                " raise engine.partitions so that each partition is smaller"
            ) from None

    def broadcast(self, shared: Shared) -> Future[Shared]:
        """``shared`` scattered to one worker, from which every other fetches it when its first
        partition needs it: the run's first call that needs a worker.

        Not ``broadcast=True``: its copy to every worker (the scheduler's ``replicate``) keeps
        retrying a worker that died meanwhile, and the run never ended (an audit: a worker killed
        at that moment, the run still waiting 11 minutes later). A fetch from a dead worker fails
        the partitions that needed it, which ends the run as a ``ClusterError``.

        On a scheduler without workers distributed waits ``distributed.comm.timeouts.connect`` for one
        (time for an adaptive cluster to start some) and raises ``TimeoutError("No valid workers
        found")``: that is said as what it is, not as a scheduler gone or a worker dead.
        """
        waited = connect_timeout()
        try:
            scattered: Future[Shared] = self.client.scatter(shared, timeout=waited)
        except TimeoutError:
            if self.client.scheduler_info().get("workers"):
                raise
            address = self.settings.address
            where = f"the scheduler at {address}" if address else "the local cluster"
            start = f" (start some: dask worker {address})" if address else ""
            raise ClusterError(
                f"dask engine: {where} has no workers{start}; none joined within {waited:g} s"
            ) from None
        return scattered

    def _measure(
        self,
        visible: Artifacts,
        registry: Registry,
        config: Config,
        as_of: pd.Timestamp,
        booked: Collection[str],
    ) -> Measurement:
        as_of = utc(as_of)
        groups = MetricGroups.of(registry, visible.signals, visible)
        prod_now = {a.name for a in registry.agents if a.stage == "prod"}
        prod = tuple(sorted(prod_now | set(booked))) if self.booked else ()
        shared = self.broadcast(Shared(groups, visible.regimes, config, as_of, prod))
        # Each part is scattered (it travels as data to a worker, not inside the task graph) and
        # submitted before the next is cut: the driver holds one part's copy at a time. At most two
        # parts a worker are out at once, so a slow cluster does not pile up parts on its workers
        # faster than it reduces them.
        futures: list[Future[PartitionSums]] = []
        most_out = 2 * self.workers()
        for signals, prices in split_by_symbol(
            visible.signals, visible.prices, config.benchmark, self.partitions(len(visible.signals))
        ):
            out = [future for future in futures if not future.done()]
            if len(out) >= most_out:
                wait(out, return_when="FIRST_COMPLETED")
            scattered = self.client.scatter([signals, prices])
            futures.append(self.client.submit(reduce_partition, *scattered, shared, pure=False))
            del signals, prices, scattered
        reduced: list[PartitionSums] = self.client.gather(futures)
        windows = Windows.from_config(as_of, config.windows)
        telemetry = telemetry_cell_sums(visible, groups, windows)
        sums = Sums.merged([*(part.cells for part in reduced), telemetry])
        return Measurement(
            reconciled=pd.concat([part.booked for part in reduced], ignore_index=True),
            benchmark_missing=sum(part.benchmark_missing for part in reduced),
            table=metrics_table(groups, sums, config),
            skill=SkillInputs.merged([part.skill for part in reduced]),
        )
