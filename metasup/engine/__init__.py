"""Where a review runs (SPEC §8): ``local`` (embedded, the default) or a Dask cluster.

The shell picks the engine (:func:`engine_settings`: CLI flags, then ``METASUP_DASK_SCHEDULER``, then
``metasup.yml``) and opens it (:func:`open_measure`) for the length of a run; the engine gives
``evaluate.supervise`` its ``Measure``. Dask is an optional extra (``pip install 'metasup[dask]'``),
imported only when ``kind: dask`` is chosen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType

from metasup.evaluate.measure import Measure, measure_locally
from metasup.model.config import EngineConfig
from metasup.model.errors import InputError

SCHEDULER_ENV = "METASUP_DASK_SCHEDULER"


def engine_settings(
    configured: EngineConfig,
    kind: str | None = None,
    scheduler: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> EngineConfig:
    """The engine of this run: ``--engine`` / ``--scheduler`` win over the environment, which wins over
    the config. ``--scheduler`` implies ``dask``; the environment variable only gives the address of a
    dask engine chosen by flag or config (it never switches a local run to a cluster).
    """
    chosen = kind or ("dask" if scheduler else configured.kind)
    if chosen not in ("local", "dask"):
        raise InputError(f"--engine: unknown engine {chosen!r} (allowed: local, dask)")
    address = scheduler or (environ or {}).get(SCHEDULER_ENV) or configured.address
    if chosen == "local":
        if scheduler:
            raise InputError("--scheduler: only with --engine dask")
        return configured.model_copy(update={"kind": "local"})
    return configured.model_copy(update={"kind": "dask", "address": address or None})


def checked_engine(
    configured: EngineConfig,
    kind: str | None = None,
    scheduler: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> EngineConfig:
    """The run's engine (:func:`engine_settings` over the config's ``engine:``), a dask engine's
    scheduler refused *before* the artifacts are read when nothing answers there as a scheduler: a
    wrong ``--scheduler`` is said in seconds, not after minutes of loading. :func:`open_measure`
    checks again when it connects (one round trip)."""
    settings = engine_settings(configured, kind, scheduler, environ)
    if settings.kind == "dask" and settings.address:
        _dask_engine().check_scheduler(settings.address)
    return settings


def _dask_engine() -> ModuleType:
    try:
        from metasup.engine import dask as dask_engine
    except ImportError as exc:
        raise InputError(
            f"engine 'dask' needs the optional extra: pip install 'metasup[dask]' ({exc})"
        ) from None
    return dask_engine


@contextmanager
def open_measure(
    settings: EngineConfig,
    *,
    workers: int | None = None,
    processes: bool = True,
    memory_limit: str | None = None,
    booked: bool = False,
) -> Iterator[Measure]:
    """The ``Measure`` of the chosen engine, valid inside the ``with`` block (a cluster is closed after).

    ``workers`` / ``processes`` / ``memory_limit`` (per worker, e.g. ``2GiB``) size the local cluster
    started when ``kind: dask`` has no address. ``booked``: a run that builds the LP report needs the
    prod agents' realized signals back from a cluster (``Measurement.reconciled``); a review does not.
    """
    if settings.kind == "local":
        yield measure_locally
        return
    with _dask_engine().connect(
        settings, workers=workers, processes=processes, memory_limit=memory_limit, booked=booked
    ) as measure:
        yield measure
