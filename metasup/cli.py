"""The ``metasup`` command.

Exit codes (SPEC §7): 0 ok, 1 a gate failed under ``--fail-on``, 2 usage or input error; 130
stopped by Ctrl-C or SIGTERM, 141 the reader of the output went away (``metasup.runtime``).
Every expected error becomes one ``Error: …`` line on stderr; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from metasup import __version__
from metasup.engine import checked_engine, open_measure
from metasup.ingest.load import Progress
from metasup.lp.prod_spans import moved_agents
from metasup.lp.report import build_lp_report
from metasup.lp.statistics import last_complete_period
from metasup.model.config import ArtifactsConfig, Config, load_config
from metasup.model.errors import InputError, MetasupError
from metasup.model.review import Review
from metasup.render.comment import check_comment_template, load_template, render_comment
from metasup.render.filters import inert, usd
from metasup.rolling.audit_anchor import LedgerAnchor, check_anchors, parse_anchor
from metasup.rolling.audit_ledger import LedgerError, LedgerRecord, parse_ledger, verify_ledger
from metasup.rolling.kills import kills_in_force
from metasup.runner import (
    FAIL_ON_CHOICES,
    check_not_an_input,
    check_output_dir,
    check_output_path,
    default_as_of,
    display_roots,
    evaluate,
    gate_failed,
    gate_reasons,
    input_warnings,
    load_baseline,
    load_workspace,
    parse_as_of,
    supervise_workspace,
    write_output,
)
from metasup.runtime import INTERRUPTED, PIPE_CLOSED, prepare_one_shot_process, stdout_closed

DEMO_DIR = Path("metasup-demo")
ISSUES_URL = "https://github.com/marketagents/metasup/issues"
DEBUG_ENV = "METASUP_DEBUG"
DEFAULT_CONFIG = Config(artifacts=ArtifactsConfig(alpha=Path("-"), prices=Path("-")))
"""Thresholds for ``comment`` when no config is given: the spec's defaults."""


def terminal_progress() -> Progress | None:
    """Progress lines on an interactive terminal only, so logs and pipes stay clean."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        print(f"… {message}", file=sys.stderr, flush=True)

    return show


def format_table(review: Review) -> str:
    """The review as an aligned plain-text table, one agent per row."""
    header = (
        "agent",
        "class",
        "stage",
        "status",
        "pnl_30d",
        "alpha_30d",
        "hit",
        "score",
        "cost_30d",
        "promotion",
    )
    rows = [header]
    for a in review.agents:
        m = a.metrics
        rows.append(
            (
                inert(a.agent),
                inert(a.strategy_class),
                a.stage,
                a.status,
                f"{m.realized_pnl_30d:,.2f}",
                "-" if m.alpha_30d is None else f"{m.alpha_30d:.4%}",
                "-" if m.hit_rate is None else f"{m.hit_rate:.1%}",
                "-" if m.behavioral_score is None else f"{m.behavioral_score:.1f}",
                f"{m.cost_30d:,.2f}",
                a.promotion.result,
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    ]
    summary = (
        f"as_of {review.as_of} · overall severity {review.overall_severity} · "
        f"cash {review.allocation.cash:.1%} · {review.data_quality.rejected_total} rejected line(s)"
    )
    return "\n".join([summary, "", *lines])


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate the workspace described by --config and print the review as a table.

    Example: metasup evaluate --config metasup.yml --json review.json --fail-on blocked
    """
    as_of = parse_as_of(args.as_of) if args.as_of else None
    if args.json:
        check_output_path("--json", Path(args.json))
    baseline = load_baseline(Path(args.baseline)) if args.baseline else None
    configured = load_config(Path(args.config)).engine  # the engine is checked before the load
    engine = checked_engine(configured, args.engine, args.scheduler, os.environ)
    workspace = load_workspace(Path(args.config), progress=terminal_progress())
    if args.json:
        check_not_an_input("--json", Path(args.json), Path(args.config), workspace.config)
    with open_measure(engine) as measure:
        review = evaluate(workspace, as_of, baseline, run_id=os.environ.get("GITHUB_RUN_ID"), measure=measure)
    if args.json:
        write_output("--json", Path(args.json), review.to_json() + "\n")
    print(format_table(review))
    # After the review is written: a comment_template that does not render against it is exit 2
    # now, naming its file and line, not at the later `metasup comment` or action step.
    check_comment_template(review, workspace.config, display_roots(workspace.config))
    if not gate_failed(review, args.fail_on):
        return 0
    print(f"Failed under --fail-on {args.fail_on}:", file=sys.stderr)
    for reason in gate_reasons(review, args.fail_on):
        print(f"  {inert(reason)}", file=sys.stderr)
    return 1


def cmd_comment(args: argparse.Namespace) -> int:
    """Print the canonical PR comment for a review JSON (what the action posts).

    Example: metasup comment --json review.json
    """
    review = load_baseline(Path(args.json), role="review")
    config = load_config(Path(args.config)) if args.config else None
    template = load_template(config.comment_template if config else None)
    shown = config or DEFAULT_CONFIG
    print(render_comment(review, shown, template=template, roots=display_roots(shown)).body, end="")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run everything on the bundled example data (no network); write ./metasup-demo/, print the comment.

    Example: metasup demo
    """
    from metasup.lp.charts import render_charts  # matplotlib: only the commands that draw
    from metasup.lp.email import preview_html

    out = Path(args.out)
    check_output_dir("--out", out)
    examples = resources.files("metasup").joinpath("examples")
    with resources.as_file(examples) as folder:
        workspace = load_workspace(folder / "metasup.yml", progress=terminal_progress())
        supervision = supervise_workspace(workspace, None, None)
        review = supervision.review
        as_of = default_as_of(workspace.artifacts)
        period = last_complete_period(as_of, workspace.config.email.cadence)
        report = build_lp_report(supervision, workspace.config, as_of, period)
    comment = render_comment(review, workspace.config, roots=display_roots(workspace.config)).body
    write_output("--out", out / "review.json", review.to_json() + "\n")
    write_output("--out", out / "allocation.json", review.allocation.model_dump_json(indent=2) + "\n")
    write_output("--out", out / "comment.md", comment)
    write_output("--out", out / "lp-report.html", preview_html(report, render_charts(report)))
    print(comment)
    print(f"wrote {out}/: review.json, comment.md, allocation.json, lp-report.html", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Compute the LP report for the last complete period; write its JSON and/or an HTML preview.

    Example: metasup report --config metasup.yml --json lp.json --preview lp.html [--engine dask]
    """
    from metasup.lp.charts import render_charts  # matplotlib: only the commands that draw
    from metasup.lp.email import preview_html

    explicit_as_of = parse_as_of(args.as_of) if args.as_of else None
    for flag, target in (("--json", args.json), ("--preview", args.preview)):
        if target:
            check_output_path(flag, Path(target))
    records = read_ledger_records(Path(args.ledger)) if args.ledger else []
    configured = load_config(Path(args.config)).engine  # the engine is checked before the load
    engine = checked_engine(configured, args.engine, args.scheduler, os.environ)
    workspace = load_workspace(Path(args.config), progress=terminal_progress())
    for flag, target in (("--json", args.json), ("--preview", args.preview)):
        if target:
            check_not_an_input(flag, Path(target), Path(args.config), workspace.config)
    as_of = explicit_as_of or default_as_of(workspace.artifacts)
    ledger, standing = [r.fields() for r in records], kills_in_force(records, [], workspace.registry)
    with open_measure(engine, booked=True) as measure:  # the report books the realized signals
        supervision = supervise_workspace(  # the recorded kills whose entry is unchanged stand
            workspace, as_of, None, measure=measure, booked=moved_agents(ledger), standing_kills=standing
        )
    period = last_complete_period(as_of, workspace.config.email.cadence)
    report = build_lp_report(supervision, workspace.config, as_of, period, ledger)
    if args.json:
        write_output("--json", Path(args.json), report.to_json() + "\n")
    if args.preview:
        write_output("--preview", Path(args.preview), preview_html(report, render_charts(report)))
    print(
        f"LP report {period.label}: period PnL {usd(report.pnl.period)}, "
        f"since inception {usd(report.pnl.since_inception)}"
    )
    for warning in input_warnings(supervision.review):  # figures from refused or stale input
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """Write the artifacts of --config as Parquet partitioned by day (date=YYYY-MM-DD/), with a config.

    Example: metasup convert --config metasup.yml --out pq/ && metasup evaluate --config pq/metasup.yml
    """
    from metasup.engine.convert import convert, summary

    print(summary(convert(Path(args.config), Path(args.out)), args.out))
    return 0


def read_ledger_records(path: Path) -> list[LedgerRecord]:
    """The records of ``--ledger FILE``; a missing, unreadable or broken ledger is an input error."""
    try:
        return parse_ledger(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"--ledger {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--ledger {path}: cannot read ({exc})") from None
    except LedgerError as exc:
        raise InputError(f"--ledger {path}: not a valid audit ledger ({exc})") from None


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    """Verify a ledger's chain and --anchor records; print the first problem, exit 1 if any.

    Example: metasup ledger verify ledger.jsonl --anchor 42:HASH
    """
    path = Path(args.file)
    anchors: list[LedgerAnchor] = []
    for value in args.anchor or []:
        try:
            anchors.append(parse_anchor(value))
        except ValueError as exc:
            raise InputError(f"--anchor: {exc}") from None
    try:
        # Bytes as they are: read_text would turn CRLF into LF and pass a ledger the run refuses.
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        print(f"{path}: audit ledger broken: not UTF-8 text")
        return 1
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    problem = verify_ledger(text)
    if problem is not None:
        print(f"{path}: {problem}")
        return 1
    records = parse_ledger(text)
    cut = check_anchors(records, anchors, anchored_by="--anchor")
    if cut is not None:
        print(f"{path}: {cut}")
        return 1
    anchored = f", {len(anchors)} anchor(s) hold" if anchors else ""
    print(f"{path}: ok, {len(records)} record(s), chain intact{anchored}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metasup", description="MarketAgents Meta-Supervisor")
    debug_help = f"on an internal error, print the traceback (or set {DEBUG_ENV}=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    parser.add_argument("--version", action="version", version=f"metasup {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    engine_flags = argparse.ArgumentParser(add_help=False)  # where the reconciliation runs (SPEC §8)
    engine_flags.add_argument(
        "--engine", choices=("local", "dask"), help="where the review runs (default: metasup.yml engine.kind)"
    )
    engine_flags.add_argument(
        "--scheduler", metavar="ADDRESS", help="dask scheduler, e.g. tcp://host:8786 (implies --engine dask)"
    )

    evaluate_cmd = commands.add_parser(
        "evaluate",
        parents=[common, engine_flags],
        help="evaluate agents and write the review",
        description=cmd_evaluate.__doc__,
    )
    evaluate_cmd.add_argument("--config", default="metasup.yml", help="metasup.yml (default: ./metasup.yml)")
    evaluate_cmd.add_argument("--as-of", help="evaluation time, RFC 3339 (default: the latest price bar)")
    evaluate_cmd.add_argument("--json", metavar="FILE", help="write the review JSON to FILE")
    evaluate_cmd.add_argument(
        "--baseline", metavar="REVIEW.json", help="a review of the base to compare against"
    )
    evaluate_cmd.add_argument(
        "--fail-on", choices=FAIL_ON_CHOICES, default="high", help="when to exit 1 (default: high)"
    )
    evaluate_cmd.set_defaults(handler=cmd_evaluate)

    comment_cmd = commands.add_parser(
        "comment",
        parents=[common],
        help="print the PR comment for a review JSON",
        description=cmd_comment.__doc__,
    )
    comment_cmd.add_argument(
        "--json", required=True, metavar="REVIEW.json", help="a review written by evaluate"
    )
    comment_cmd.add_argument("--config", help="metasup.yml, for thresholds and comment_template")
    comment_cmd.set_defaults(handler=cmd_comment)

    demo_cmd = commands.add_parser(
        "demo", parents=[common], help="run on the bundled example data", description=cmd_demo.__doc__
    )
    demo_cmd.add_argument("--out", default=str(DEMO_DIR), help="output folder (default: ./metasup-demo)")
    demo_cmd.set_defaults(handler=cmd_demo)

    report_cmd = commands.add_parser(
        "report", parents=[common, engine_flags], help="LP performance report", description=cmd_report.__doc__
    )
    report_cmd.add_argument("--config", default="metasup.yml", help="metasup.yml (default: ./metasup.yml)")
    report_cmd.add_argument("--as-of", help="report time, RFC 3339 (default: the latest price bar)")
    report_cmd.add_argument("--json", metavar="FILE", help="write the LP metrics as JSON to FILE")
    report_cmd.add_argument(
        "--preview", metavar="FILE.html", help="write the e-mail as HTML with embedded charts"
    )
    report_cmd.add_argument("--ledger", metavar="FILE", help="ledger.jsonl for the promotion/demotion log")
    report_cmd.set_defaults(handler=cmd_report)

    convert_cmd = commands.add_parser(
        "convert", help="artifacts → Parquet partitioned by day", description=cmd_convert.__doc__
    )
    convert_cmd.add_argument("--config", default="metasup.yml", help="metasup.yml (default: ./metasup.yml)")
    convert_cmd.add_argument("--out", required=True, help="output folder")
    convert_cmd.set_defaults(handler=cmd_convert)

    ledger_cmd = commands.add_parser("ledger", help="audit ledger tools", description="Audit ledger tools.")
    ledger_commands = ledger_cmd.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")
    verify_cmd = ledger_commands.add_parser(
        "verify",
        parents=[common],
        help="verify the hash chain of a ledger file",
        description=cmd_ledger_verify.__doc__,
    )
    verify_cmd.add_argument("file", help="ledger.jsonl")
    verify_cmd.add_argument(
        "--anchor",
        action="append",
        metavar="SEQ:HASH",
        help="a Ledger-Head anchor (from a state commit's message) the ledger must still hold; repeatable",
    )
    verify_cmd.set_defaults(handler=cmd_ledger_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. A user's mistake is one ``Error: …`` (exit 2); a bug one line saying so and
    where to report it (exit 1), its traceback only with ``--debug`` or ``METASUP_DEBUG=1``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "").strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
    }
    try:
        code: int = args.handler(args)
    except InputError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except MetasupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError as exc:
        if not stdout_closed():
            print(bug_line(exc, debug), file=sys.stderr)
            return 1
        return PIPE_CLOSED
    except Exception as exc:  # a bug: say so in one line, never bury the user in a traceback
        if debug:
            traceback.print_exc()
        print(bug_line(exc, debug), file=sys.stderr)
        return 1
    return code


def bug_line(exc: BaseException, debug: bool) -> str:
    """The one line a bug ends with: what broke, where to report it, how to see more."""
    detail = " ".join(str(exc).split())[:200]
    more = "" if debug else f" (run again with --debug or {DEBUG_ENV}=1 for the traceback)"
    return (
        f"Internal error (a bug in metasup, not in your input): {type(exc).__name__}: {detail}."
        f" Please report it at {ISSUES_URL}{more}"
    )


def run(argv: Sequence[str] | None = None) -> int:
    """:func:`main` in a process prepared as the console script prepares it, for callers that have
    imported this module already (benchmarks, tests); the command itself starts at
    :func:`metasup.runtime.console_script`, which is ready for a signal before these imports."""
    prepare_one_shot_process()
    return main(argv)
