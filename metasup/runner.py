"""The shell around the pure core that ``cli`` and ``action`` share: read files, run, gate.

Everything that touches the file system before an evaluation lives here once, so the CLI and
the GitHub Action can never disagree about how a workspace is read or when a run fails.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Final, Literal

import pandas as pd
from pydantic import ValidationError

from metasup.evaluate.measure import Measure, measure_locally
from metasup.evaluate.supervisor import Supervision, supervise
from metasup.ingest import Progress, load_artifacts, source_files, why_no_price_bars
from metasup.ingest.listing import GLOB_CHARACTERS
from metasup.model.artifacts import Artifacts
from metasup.model.config import OBJECT_STORAGE, Config, artifact_url, load_config, local_inputs
from metasup.model.errors import ArtifactError, InputError
from metasup.model.registry import Registry, load_registry
from metasup.model.review import SEVERITY_ORDER, BaseInfo, Review
from metasup.model.timestamps import utc
from metasup.model.validation_errors import validation_problems
from metasup.render.filters import inert
from metasup.render.paths import workspace_roots

FailOn = Literal["never", "blocked", "high", "critical"]
FAIL_ON_CHOICES: tuple[FailOn, ...] = ("never", "blocked", "high", "critical")


@dataclass(frozen=True)
class Workspace:
    """Everything one evaluation reads from disk, validated."""

    config: Config
    registry: Registry
    artifacts: Artifacts


def load_workspace(
    config_path: Path, progress: Progress | None = None, confine_to: Path | None = None
) -> Workspace:
    """Read and validate everything one evaluation needs.

    With ``confine_to`` (the action's ``GITHUB_WORKSPACE``), the config, the registry, the
    comment template and every artifact file (of a folder, of hive partitions, of a glob) must
    resolve, symlinks followed, inside that folder (SPEC §2.6 "Nothing outside the workspace");
    an object-storage URL (``s3://…``) is not on the runner's disk and is read as configured. The
    CLI passes nothing and reads any path.
    """
    if confine_to is not None:
        confine([("config", config_path)], confine_to)
    config = load_config(config_path)
    if confine_to is not None:
        artifacts_config = config.artifacts
        named = [("registry", config.registry)]
        if config.comment_template is not None:
            named.append(("comment_template", config.comment_template))
        for key, path in (
            ("artifacts.alpha", artifacts_config.alpha),
            ("artifacts.telemetry", artifacts_config.telemetry),
            ("artifacts.prices", artifacts_config.prices),
        ):
            if path is None:
                continue
            url = artifact_url(path)
            if url is not None:  # object storage is read with the environment's credentials
                if url.split(":", 1)[0].lower() not in OBJECT_STORAGE:
                    raise InputError(
                        f"{key}: {url}: not object storage: refused (the action reads files inside"
                        " GITHUB_WORKSPACE, or s3://, gs://, az:// (abfs://) with credentials)"
                    )
                continue
            confine([(key, path)], confine_to)
            named += [(key, path), *((key, file) for file in source_files(path))]
        confine(named, confine_to)
    registry = load_registry(config.registry)
    artifacts = load_artifacts(config.artifacts, progress=progress)
    return Workspace(config=config, registry=registry, artifacts=artifacts)


def confine(paths: Iterable[tuple[str, Path]], workspace: Path) -> None:
    """Refuse (``InputError``) any path that resolves outside ``workspace``; name loops as such."""
    root = Path(os.path.realpath(workspace))
    for key, path in paths:
        try:
            resolved = path.resolve(strict=False)
        except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a symlink loop
            raise InputError(f"{key}: {path}: symlink loop") from None
        if _is_loop(path):
            raise InputError(f"{key}: {path}: symlink loop")
        if not resolved.is_relative_to(root):
            raise InputError(
                f"{key}: {path} resolves to {resolved}, outside the workspace {root}: refused"
                " (the action reads and writes only files inside GITHUB_WORKSPACE)"
            )


def _is_loop(path: Path) -> bool:
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


TIMESTAMP_RANGE = (pd.Timestamp("1700-01-01", tz="UTC"), pd.Timestamp("2262-01-01", tz="UTC"))
"""The ``as_of`` accepted: inside what ``datetime64[ns]`` holds (1677-09-21 to 2262-04-11), with room
for the windows that reach back from it."""


def display_roots(config: Config) -> list[str]:
    """Path prefixes a reader of the comment does not need: the workspace, cwd, the config's folders."""
    return workspace_roots(config, os.environ.get("GITHUB_WORKSPACE"), os.getcwd())


def parse_as_of(text: str, flag: str = "--as-of") -> pd.Timestamp:
    """An RFC 3339 timestamp from the command line; without an offset it is UTC (SPEC §2).

    A time outside what pandas' nanosecond timestamps hold is a usage error naming ``flag``.
    """
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        raise InputError(
            f"{flag}: cannot read {text!r} as a timestamp (use e.g. 2026-10-30T16:00:00Z)"
        ) from None
    if pd.isna(stamp):
        raise InputError(f"{flag}: cannot read {text!r} as a timestamp")
    low, high = TIMESTAMP_RANGE
    try:
        when = utc(stamp)
    except (OverflowError, ValueError):  # OutOfBoundsDatetime is a ValueError
        when = None
    if when is None or not low <= when <= high:
        raise InputError(
            f"{flag}: {text!r} is outside the supported range ({low:%Y-%m-%d} to {high:%Y-%m-%d})"
        )
    return when


def check_output_path(flag: str, path: Path, confine_to: Path | None = None) -> None:
    """Fail before any work when ``path`` cannot be written (SPEC §2.6): folder missing, not a
    folder, not writable, or the path itself a folder.

    With ``confine_to`` (the action's ``GITHUB_WORKSPACE``), also a symlink at ``path`` and a path
    resolving outside that folder: the files the action writes there (the report, the fallback
    comment) may have been committed by the PR as links to any file the runner can write."""
    parent = path.parent if str(path.parent) else Path(".")
    if confine_to is not None:
        _refuse_link(flag, path, confine_to)
    try:
        if path.is_dir():
            raise InputError(f"{flag}: {path} is a directory, not a file")
        if not parent.exists():
            raise InputError(f"{flag}: {path}: folder {parent} does not exist")
        if not parent.is_dir():
            raise InputError(f"{flag}: {path}: {parent} is not a folder")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise InputError(f"{flag}: {path}: not writable")
    except OSError as exc:  # a name too long, a loop of symlinks: the path cannot be looked at
        raise InputError(f"{flag}: {path}: cannot be written ({exc.strerror or exc})") from None


def check_not_an_input(flag: str, path: Path, config_path: Path, config: Config) -> None:
    """Refuse an output that is one of the run's inputs or lies in an input folder (``InputError``,
    exit 2, before anything is written): ``--json alpha/events.jsonl`` replaced the signals with the
    review, and a file written into an artifact folder breaks the next run's read of it."""
    target = path.resolve()
    for given in (config_path, *local_inputs(config)):
        source = given.resolve()
        if GLOB_CHARACTERS & set(str(given)):  # a pattern: what it matches, or a folder it matches
            inside = [str(place) for place in (target, *target.parents)]
            if any(fnmatch(place, str(source)) for place in inside):
                raise InputError(f"{flag}: {path} matches {given}, an input of this run; write elsewhere")
        elif target == source:
            raise InputError(f"{flag}: {path} is an input of this run; write elsewhere")
        elif source in target.parents:
            raise InputError(f"{flag}: {path} is in {given}, an input of this run; write elsewhere")


def check_output_dir(flag: str, path: Path) -> None:
    """Create the output folder ``path`` now (SPEC §2.6: output paths are checked first)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{flag}: cannot create folder {path} ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK):
        raise InputError(f"{flag}: {path}: not writable")


def write_output(flag: str, path: Path, text: str, confine_to: Path | None = None) -> None:
    """Write ``text`` as a whole new file (:func:`_replace`); a failure (disk full, a folder removed
    meanwhile) is an error naming ``flag`` and leaves the previous file as it was.

    With ``confine_to``, the action's rule of ``check_output_path`` again, and the new file is
    renamed over the name itself: a link put there since the check is replaced, never followed.
    The CLI (a user's own machine) passes nothing and writes where its links point; a pipe or a
    terminal (``--json /dev/stdout``) is written in place."""
    if confine_to is not None:
        _refuse_link(flag, path, confine_to)
    data = text.encode("utf-8")  # before anything is written: text it cannot hold changes nothing
    try:
        own = os.lstat(path).st_mode if os.path.lexists(path) else None
        if confine_to is None and own is not None and not stat.S_ISREG(own):
            # The CLI's link (/dev/stdout, a name the user pointed elsewhere), pipe or terminal is
            # written in place: renaming over a link's target would replace a file the shell still
            # appends to (``>> log``), and a pipe has no folder for a new file. A descriptor's name
            # is written after what is there: the process's own output may go to the same file.
            descriptor = str(path).startswith(("/dev/", "/proc/"))
            with open(path, "ab" if descriptor else "wb") as stream:
                stream.write(data)
        else:
            _replace(path, data, 0o666 & ~_umask() if own is None else stat.S_IMODE(own))
    except OSError as exc:
        raise InputError(f"{flag}: cannot write {path} ({exc.strerror or exc})") from None


def _replace(target: Path, data: bytes, mode: int) -> None:
    """``data`` as the file ``target``, whole or not at all: written to a new file beside it, then
    renamed over it. Writing in place left a disk-full run's review.json cut short and the previous
    one gone, and wrote through a hard link into an input (found by an audit)."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            os.fchmod(file.fileno(), mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _refuse_link(flag: str, path: Path, workspace: Path) -> None:
    """``InputError`` for a symlink at ``path`` (wherever it points: inside, it could overwrite
    ``.git/config``) or a path that resolves outside ``workspace`` (:func:`confine`)."""
    try:
        if path.is_symlink():
            raise InputError(
                f"{flag}: {path} is a symbolic link (to {os.readlink(path)}): refused (the action"
                " writes only regular files inside GITHUB_WORKSPACE, never through a link; remove"
                " the link from the branch)"
            )
    except OSError as exc:  # a name too long
        raise InputError(f"{flag}: {path}: cannot be written ({exc.strerror or exc})") from None
    confine([(flag, path)], workspace)


def default_as_of(artifacts: Artifacts) -> pd.Timestamp:
    """The latest price bar: the last moment for which every signal could be judged."""
    if artifacts.prices.empty:  # the message names the prices file and what was wrong with it
        raise ArtifactError(why_no_price_bars(artifacts.prices))
    latest: pd.Timestamp = artifacts.prices["ts"].max()
    return latest


def load_baseline(path: Path, role: str = "baseline") -> Review:
    """A review JSON written by ``evaluate``; ``role`` names it in errors (``baseline``, ``review``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Review.model_validate(data)
    except FileNotFoundError:
        raise InputError(f"{path}: {role} file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: {role} is a directory, not a file") from None
    except ValidationError as exc:  # say which fields: "4 validation errors for Review" helps no one
        problems = validation_problems(exc, Review, data)
        more = (
            f"; and {len(problems) - REVIEW_PROBLEMS_SHOWN} more"
            if len(problems) > REVIEW_PROBLEMS_SHOWN
            else ""
        )
        shown = "; ".join(problems[:REVIEW_PROBLEMS_SHOWN]) + more
        raise InputError(f"{path}: not a metasup review JSON ({shown})") from None
    except (OSError, ValueError, RecursionError) as exc:
        first_line = str(exc).splitlines()[0]
        raise InputError(f"{path}: not a metasup review JSON ({first_line})") from None


REVIEW_PROBLEMS_SHOWN = 3
"""Problems named when a JSON is not a review: enough to tell an LP report from a typo."""


def evaluate(
    workspace: Workspace,
    as_of: pd.Timestamp | None,
    baseline: Review | None,
    run_id: str | None = None,
    base: BaseInfo | None = None,
    ledger_problem: str | None = None,
    standing_kills: Collection[str] = (),
    demotion_vetoes: Collection[str] = (),
    measure: Measure = measure_locally,
) -> Review:
    """The review of ``workspace`` at ``as_of`` (default: the latest price bar)."""
    return supervise_workspace(
        workspace, as_of, baseline, run_id, base, ledger_problem, standing_kills, demotion_vetoes, measure
    ).review


def supervise_workspace(
    workspace: Workspace,
    as_of: pd.Timestamp | None,
    baseline: Review | None,
    run_id: str | None = None,
    base: BaseInfo | None = None,
    ledger_problem: str | None = None,
    standing_kills: Collection[str] = (),
    demotion_vetoes: Collection[str] = (),
    measure: Measure = measure_locally,
    booked: Collection[str] = (),
) -> Supervision:
    """The review and its reconciliation, for callers that also build the LP report from it."""
    when = as_of if as_of is not None else default_as_of(workspace.artifacts)
    return supervise(
        workspace.artifacts,
        workspace.registry,
        workspace.config,
        when,
        baseline,
        run_id=run_id or f"local-{when:%Y%m%dT%H%M%SZ}",
        base=base,
        ledger_problem=ledger_problem,
        standing_kills=standing_kills,
        demotion_vetoes=demotion_vetoes,
        measure=measure,
        booked=booked,
    )


def gate_failed(review: Review, fail_on: FailOn) -> bool:
    """Whether ``review`` should fail the run under ``--fail-on`` (exit code 1)."""
    if fail_on == "never":
        return False
    if fail_on == "blocked":
        return any(a.promotion.result == "BLOCKED" for a in review.agents)
    threshold = SEVERITY_ORDER.index("HIGH" if fail_on == "high" else "CRITICAL")
    return SEVERITY_ORDER.index(review.overall_severity) >= threshold


def gate_reasons(review: Review, fail_on: FailOn) -> list[str]:
    """What made ``review`` fail under ``fail_on``: one line per finding (or blocked agent)."""
    if fail_on == "never":
        return []
    if fail_on == "blocked":
        return [
            f"BLOCKED: promotion of {a.agent}: "
            + "; ".join(g.evidence for g in a.promotion.gates if not g.passed)
            for a in review.agents
            if a.promotion.result == "BLOCKED"
        ]
    threshold = SEVERITY_ORDER.index("HIGH" if fail_on == "high" else "CRITICAL")
    return [
        f"{f.severity}: {f.title} — {f.evidence}"
        for f in review.findings
        if SEVERITY_ORDER.index(f.severity) >= threshold
    ]


INPUT_FINDINGS: Final = frozenset(
    {"data_quality", "empty_file", "stale_prices", "benchmark_missing", "benchmark_absent"}
)
"""Findings about the input itself: figures computed from it (the LP report's) are smaller, stale or
incomplete for a reason the reader must be told."""


def input_warnings(review: Review) -> list[str]:
    """One line per input finding of ``review`` (rejected lines, an empty file, stale prices, a
    missing benchmark), artifact text made inert: what a command that prints figures but no review
    (``metasup report``) must still say, SPEC §2.6 "never silently dropped", "stale data is loud"."""
    return [
        inert(f"{finding.title} — {finding.evidence}")
        for finding in review.findings
        if finding.kind in INPUT_FINDINGS
    ]
