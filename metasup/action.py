"""The GitHub Actions runtime: environment → settings → mode → run → outputs and exit code.

The settings come from ``action_settings.ActionSettings.from_environ``, the only place that reads
the environment. ``select_mode`` is a pure function of the event, so every event → mode rule is
a one-line test.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metasup.action_event import default_base_ref, pull_request_number, rolling_ref_problem, select_mode
from metasup.action_settings import ActionSettings
from metasup.baseline import Baseline, from_git, from_snapshot
from metasup.engine import checked_engine, open_measure
from metasup.evaluate.measure import Measure, measure_locally
from metasup.github import (
    Console,
    GitHubClient,
    GitHubIOError,
    NotPermitted,
    WorkflowFileError,
    append_summary,
    declare_app,
    read_text,
    upsert_comment,
    write_outputs,
)
from metasup.github import connect as github_connect
from metasup.model.config import EngineConfig, load_config
from metasup.model.errors import DONE_NOTE, InputError, MetasupError
from metasup.model.review import CLASS_SUBJECT_PREFIX, BaseInfo, Review
from metasup.render.annotations import finding_annotations
from metasup.render.comment import JOB_SUMMARY_LIMIT, MARKER, render_comment
from metasup.render.filters import escape_markdown
from metasup.rolling.state_layout import STATE_BRANCH, snapshot_path
from metasup.runner import (
    check_output_path,
    confine,
    display_roots,
    evaluate,
    gate_failed,
    load_workspace,
    parse_as_of,
    write_output,
)
from metasup.runtime import INTERRUPTED, STOPPED_IN_ACTION

ISSUES_URL = "https://github.com/marketagents/metasup/issues"


COMMENT_FILE = "metasup-comment.md"
REPORT_FILE = "metasup-review.json"


# --- the run ----------------------------------------------------------------------------------


def promotion_result(review: Review) -> str:
    """``BLOCKED`` if any sandbox agent is blocked, ``APPROVED`` if all are approved."""
    results = {a.promotion.result for a in review.agents} - {"NOT_APPLICABLE"}
    if not results:
        return "NOT_APPLICABLE"
    return "BLOCKED" if "BLOCKED" in results else "APPROVED"


def annotate(review: Review, console: Console) -> None:
    for level, text in finding_annotations(review):
        console.command(level, text)


ClientFactory = Callable[[str, str], GitHubClient]
Clock = Callable[[], datetime]


def run_link(settings: ActionSettings) -> str:
    return f"{settings.server_url}/{settings.repository}/actions/runs/{settings.run_id}"


def find_baseline(
    settings: ActionSettings, client: GitHubClient, base_ref: str, measure: Measure = measure_locally
) -> Baseline:
    """SPEC §5: the base's snapshot on the state branch, else the base commit via git, else none."""
    # replace: a damaged snapshot fails from_snapshot's validation and the base is evaluated from git
    text = read_text(client, settings.repository, snapshot_path(base_ref), STATE_BRANCH, errors="replace")
    found = from_snapshot(text, base_ref) or from_git(
        settings.workspace,
        base_ref,
        settings.workspace_path(settings.config),
        lambda path: evaluate(
            load_workspace(path), None, None, run_id=f"{settings.run_id}-base", measure=measure
        ),
    )
    return found or Baseline(None, BaseInfo(ref=base_ref, source="none"))


def _client(settings: ActionSettings, connect: ClientFactory) -> GitHubClient:
    """The run's client, knowing who it writes as when the token is a GitHub App's (``app-slug``)."""
    client = connect(settings.token.get_secret_value(), settings.api_url)
    if settings.app_slug is not None:
        declare_app(client, settings.app_slug)
    return client


CONFIG_ADDRESS_IGNORED = (
    "metasup.yml: engine.address is not used by the action: the checkout may be a pull request's, "
    "and the action would connect to whatever host it names. Set METASUP_DASK_SCHEDULER in the "
    "workflow's env instead (without it, engine kind dask starts a local cluster on the runner)"
)


def action_engine(settings: ActionSettings, environ: Mapping[str, str], console: Console) -> EngineConfig:
    """The engine of an action run: ``metasup.yml``'s ``kind`` and ``partitions``, the scheduler's
    address from the workflow (``METASUP_DASK_SCHEDULER``) only.

    The checkout is the pull request's in review mode, and a Dask client unpickles what the
    address it connects to sends back: an address a PR could write would run the PR's code in
    the action, next to the token. So the config's ``engine.address`` is set aside with a warning."""
    configured = load_config(settings.workspace_path(settings.config)).engine
    if configured.address:
        console.command("warning", CONFIG_ADDRESS_IGNORED)
    return checked_engine(configured.model_copy(update={"address": None}), environ=environ)


def run_review(
    settings: ActionSettings,
    event: Mapping[str, Any],
    console: Console,
    connect: ClientFactory,
    environ: Mapping[str, str],
) -> int:
    """Review mode. The engine is ``metasup.yml``'s; ``METASUP_DASK_SCHEDULER`` gives a dask
    engine's scheduler (SPEC §8). The base, when evaluated from git, runs on the same engine."""
    engine = action_engine(settings, environ, console)  # before the load
    workspace = load_workspace(settings.workspace_path(settings.config), confine_to=settings.workspace)
    as_of = parse_as_of(settings.as_of) if settings.as_of else None
    base_ref = default_base_ref(event, settings.repository, settings.base_ref, workspace.config.base)
    client = _client(settings, connect)
    if engine.kind != "local":
        console.info(
            f"metasup: reviewing on the {engine.kind} engine ({engine.address or 'a local cluster'})"
        )
    with open_measure(engine) as measure:
        baseline = find_baseline(settings, client, base_ref, measure)
        review = evaluate(
            workspace, as_of, baseline.review, run_id=settings.run_id, base=baseline.info, measure=measure
        )

    report_path = settings.workspace_path(Path(REPORT_FILE))
    write_output("report-path", report_path, review.to_json() + "\n", confine_to=settings.workspace)
    roots = display_roots(workspace.config)
    rendered = render_comment(review, workspace.config, roots=roots)
    _summarize(
        settings.summary_path,
        render_comment(review, workspace.config, limit=JOB_SUMMARY_LIMIT, roots=roots).body,
        console,
    )
    annotate(review, console)

    comment_id = ""
    number = pull_request_number(event, settings.repository)
    if settings.dry_run or number is None:
        reason = "dry-run" if settings.dry_run else "no pull request in this event"
        console.info(f"metasup: not commenting ({reason}); the comment is in the job summary")
    else:
        comment_id = _post_comment(settings, client, number, rendered.body, console)

    write_outputs(settings.output_path, _outputs(review, report_path, comment_id, []))
    return 1 if gate_failed(review, settings.fail_on) else 0


def _outputs(review: Review, report_path: Path, comment_id: str, promote_prs: list[int]) -> dict[str, str]:
    return {
        "severity": review.overall_severity,
        "result": promotion_result(review),
        "comment-id": comment_id,
        "report-path": str(report_path),
        "promote-prs": json.dumps(promote_prs),
        "killed": json.dumps(
            sorted(
                [a.agent for a in review.agents if a.retirement.kill]
                + [CLASS_SUBJECT_PREFIX + c.name for c in review.strategy_classes if c.retirement.kill]
            )
        ),
    }


def _post_comment(
    settings: ActionSettings, client: GitHubClient, number: int, body: str, console: Console
) -> str:
    try:
        outcome = upsert_comment(client, settings.repository, number, body, MARKER)
    except NotPermitted as exc:
        fallback = settings.workspace_path(Path(COMMENT_FILE))
        write_output("comment file", fallback, body, confine_to=settings.workspace)
        console.command("warning", f"{exc} The comment was written to the job summary and {fallback}.")
        return ""
    console.info(f"metasup: comment {outcome.comment_id} {outcome.action}")
    return str(outcome.comment_id)


def run_rolling_mode(
    settings: ActionSettings,
    environ: Mapping[str, str],
    console: Console,
    connect: ClientFactory,
    clock: Clock,
) -> int:
    # Rolling mode alone needs the LP e-mail (matplotlib, smtplib) and the rolling plan: imported
    # here, not at start.
    from metasup.render.bodies import render_rolling_summary
    from metasup.rolling.context import RollingContext
    from metasup.rolling.run import registry_path_in_repo, run_rolling

    engine = action_engine(settings, environ, console)  # before the load
    workspace = load_workspace(settings.workspace_path(settings.config), confine_to=settings.workspace)
    if engine.kind != "local":
        console.info(
            f"metasup: rolling run on the {engine.kind} engine ({engine.address or 'a local cluster'})"
        )
    base_ref = settings.base_ref or workspace.config.base
    client = _client(settings, connect)
    context = RollingContext(
        repository=settings.repository,
        base_ref=base_ref,
        registry_path=registry_path_in_repo(workspace.config, settings.workspace),
        run_id=settings.run_id,
        run_link=run_link(settings),
        now=clock(),
        as_of=parse_as_of(settings.as_of) if settings.as_of else None,
        dry_run=settings.dry_run,
        environ=environ,
    )
    with open_measure(engine, booked=True) as measure:  # the LP report books the realized signals
        outcome = run_rolling(workspace, client, context, console, measure)
    review = outcome.review
    report_path = settings.workspace_path(Path(REPORT_FILE))
    write_output("report-path", report_path, review.to_json() + "\n", confine_to=settings.workspace)
    _summarize(
        settings.summary_path,
        render_rolling_summary(outcome, workspace.config, display_roots(workspace.config)),
        console,
    )
    annotate(review, console)
    for warning in outcome.warnings:
        console.command("warning", warning)
    for error in outcome.errors:
        console.command("error", error)
    write_outputs(settings.output_path, _outputs(review, report_path, "", sorted(set(outcome.promote_prs))))
    if outcome.audit_ledger_broken or outcome.errors:
        return 1
    return 1 if gate_failed(review, settings.fail_on) else 0


def run(
    environ: Mapping[str, str],
    console: Console | None = None,
    connect: ClientFactory | None = None,
    clock: Clock | None = None,
) -> int:
    """The whole action; returns the exit code. Expected failures are one ``::error::`` line."""
    out = console or Console()
    factory: ClientFactory = connect or github_connect
    now: Clock = clock or (lambda: datetime.now(UTC))
    try:
        settings = ActionSettings.from_environ(environ)
        out.command("add-mask", settings.token.get_secret_value())
        for variable, path in (
            ("GITHUB_OUTPUT", settings.output_path),
            ("GITHUB_STEP_SUMMARY", settings.summary_path),
        ):
            if path is not None:  # SPEC §2.6: where the run writes is checked before any work
                check_output_path(variable, path)
        event = _read_event(settings.event_path)
        if settings.as_of:  # checked now, so a bad as-of fails before anything is fetched
            parse_as_of(settings.as_of, "as-of")
        config_path = settings.workspace_path(settings.config)
        confine([("config", config_path)], settings.workspace)
        base_ref = settings.base_ref or load_config(config_path).base
        mode = select_mode(settings.event_name, settings.mode, event, base_ref, settings.repository)
        out.info(f"metasup: {settings.event_name} event → {mode} mode")
        if mode == "skip":
            write_outputs(settings.output_path, {"severity": "NONE", "result": "NOT_APPLICABLE"})
            return 0
        # the files it writes into the checkout, which a PR may commit as links (SPEC §2.6)
        written = [("report-path", REPORT_FILE)]
        if mode == "review":
            written.append(("comment file", COMMENT_FILE))
        for flag, name in written:
            check_output_path(flag, settings.workspace_path(Path(name)), confine_to=settings.workspace)
        if mode == "rolling":
            if problem := rolling_ref_problem(settings.event_name, settings.ref, base_ref):
                raise InputError(problem)
            return run_rolling_mode(settings, environ, out, factory, now)
        return run_review(settings, event, out, factory, environ)
    except InputError as exc:
        out.command("error", str(exc))
        _failure_summary(environ, str(exc), out)
        return exc.exit_code
    except (GitHubIOError, MetasupError) as exc:
        out.command("error", str(exc))
        _failure_summary(environ, str(exc), out, _done_before(exc))
        return 1
    except KeyboardInterrupt as exc:  # SIGINT or SIGTERM (metasup.runtime): a cancelled job, a stopped runner
        out.command("error", STOPPED_IN_ACTION)
        _failure_summary(environ, STOPPED_IN_ACTION, out, _done_before(exc))
        return INTERRUPTED
    except Exception as exc:  # a bug: one line saying so; the traceback only when asked for
        if environ.get("METASUP_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
            print(_redact(traceback.format_exc(), environ), end="", file=sys.stderr)
        detail = " ".join(_redact(str(exc), environ).split())[:200]
        message = (
            f"Internal error (a bug in metasup, not in your input): {type(exc).__name__}: {detail}."
            f" Please report it at {ISSUES_URL} (set METASUP_DEBUG=1 for the traceback)"
        )
        out.command("error", message)
        _failure_summary(environ, message, out, _done_before(exc))  # SPEC §5: failed runs too
        return 1


def _redact(text: str, environ: Mapping[str, str]) -> str:
    """``text`` without the token: an exception can quote it (requests' ``InvalidHeader`` quotes
    the whole ``Authorization`` value), and only the exact ``::add-mask::`` value is masked."""
    for name in ("METASUP_GITHUB_TOKEN", "GITHUB_TOKEN"):
        for secret in {environ.get(name, ""), environ.get(name, "").strip()} - {""}:
            text = text.replace(secret, "***").replace(repr(secret)[1:-1], "***")
    return text


def _failure_summary(
    environ: Mapping[str, str], error: str, console: Console, done: Sequence[str] = ()
) -> None:
    """The job summary of a run that failed before writing its own: what failed, what it had done
    on GitHub (``done``: a rolling run's decisions, the last one the action it stopped in), and that
    the state branch holds only whole commits (each state write is one commit, or none)."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    did = [f"- {escape_markdown(line)}" for line in done]
    if did:
        did[-1] += " (it stopped here)"
        did = ["What it did before (on GitHub now; the next run takes it up):\n", *did, "\n"]
    _summarize(
        Path(path),
        f"## 🤖 Meta-Supervisor: run failed\n\n❌ {escape_markdown(error)}\n\n"
        + "".join(f"{line}\n" for line in did)
        + "The state branch holds only whole commits, and the next run starts from it: it records "
        "what this run did but could not record, and does nothing twice.\n",
        console,
    )


def _done_before(exc: BaseException) -> list[str]:
    """A failed rolling run's decisions carried out before it stopped (``rolling.run.noting_done``)."""
    notes: list[str] = getattr(exc, "__notes__", [])
    return [note.removeprefix(DONE_NOTE) for note in notes if note.startswith(DONE_NOTE)]


def _summarize(path: Path | None, markdown: str, console: Console) -> None:
    """Append to the job summary; one that cannot be written (disk full) costs a warning, not the
    run: it repeats what the comment, the annotations and the outputs say."""
    try:
        append_summary(path, markdown)
    except WorkflowFileError as exc:
        console.command("warning", str(exc))


def _read_event(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"GITHUB_EVENT_PATH {path}: cannot read the event payload ({exc})") from None
    return data if isinstance(data, dict) else {}
