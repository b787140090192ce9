"""The metasup command: exit codes, exact output lines, files written."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

import metasup
from metasup.cli import main
from metasup.examples import EXAMPLES_DIR

AS_OF = "2026-10-16T20:00:00Z"


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled workspace."""
    target = tmp_path / "ws"
    shutil.copytree(EXAMPLES_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_evaluate__writes_json_and_table(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "review.json"
    code, stdout, stderr = run(
        capsys,
        "evaluate",
        "--config",
        str(example_copy / "metasup.yml"),
        "--json",
        str(out),
        "--fail-on",
        "never",
    )
    assert code == 0
    assert stderr == ""
    lines = stdout.splitlines()
    assert lines[0].startswith("as_of 2026-10-30T20:00:00+00:00 · overall severity HIGH")
    assert lines[2].split() == [
        "agent", "class", "stage", "status", "pnl_30d", "alpha_30d", "hit", "score", "cost_30d", "promotion"
    ]  # fmt: skip
    assert any(line.split()[:4] == ["momo-beta", "momentum", "sandbox", "approved"] for line in lines)
    review = json.loads(out.read_text())
    assert review["overall_severity"] == "HIGH"


@pytest.mark.parametrize(
    ("fail_on", "expected"), [("never", 0), ("blocked", 1), ("high", 1), ("critical", 0)]
)
def test_evaluate__fail_on(
    example_copy: Path, capsys: pytest.CaptureFixture[str], fail_on: str, expected: int
) -> None:
    code, _, _ = run(capsys, "evaluate", "--config", str(example_copy / "metasup.yml"), "--fail-on", fail_on)
    assert code == expected


def test_evaluate__bad_config_is_one_error_line_and_exit_2(
    example_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = example_copy / "metasup.yml"
    config.write_text(config.read_text() + "\nsurprise: 1\n")
    code, stdout, stderr = run(capsys, "evaluate", "--config", str(config))
    assert code == 2
    assert stdout == ""
    assert stderr.startswith(f"Error: {config} is not valid:\n  surprise: unknown key (allowed: ")
    assert "Traceback" not in stderr


def test_evaluate__missing_artifact_is_exit_2(example_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (example_copy / "market" / "prices.csv").unlink()
    code, _, stderr = run(capsys, "evaluate", "--config", str(example_copy / "metasup.yml"))
    assert code == 2
    assert stderr.startswith("Error: ")
    assert "prices.csv" in stderr


def test_evaluate__bad_as_of_is_exit_2(example_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(
        capsys, "evaluate", "--config", str(example_copy / "metasup.yml"), "--as-of", "soon"
    )
    assert code == 2
    assert stderr == "Error: --as-of: cannot read 'soon' as a timestamp (use e.g. 2026-10-30T16:00:00Z)\n"


def test_evaluate__unknown_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--frobnicate"])
    assert exit_info.value.code == 2


def truncate_workspace(folder: Path, as_of: pd.Timestamp) -> None:
    """Rewrite the artifacts without anything after ``as_of`` (unparsable lines are kept)."""
    for name in ("alpha/events.jsonl", "telemetry/events.jsonl"):
        path = folder / name
        kept = []
        for line in path.read_text().splitlines():
            try:
                stamp = pd.Timestamp(json.loads(line)["ts"])
                stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
            except (ValueError, KeyError, TypeError):
                kept.append(line)
                continue
            if stamp <= as_of:
                kept.append(line)
        path.write_text("\n".join(kept) + "\n")
    prices = folder / "market/prices.csv"
    frame = pd.read_csv(prices, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    frame.loc[stamps <= as_of].to_csv(prices, index=False)


def test_evaluate__as_of_equals_truncated_data(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full_json, cut_json = tmp_path / "full.json", tmp_path / "cut.json"
    run(
        capsys,
        "evaluate",
        "--config",
        str(example_copy / "metasup.yml"),
        "--as-of",
        AS_OF,
        "--json",
        str(full_json),
    )
    cut = tmp_path / "cut"
    shutil.copytree(example_copy, cut)
    truncate_workspace(cut, pd.Timestamp(AS_OF))
    run(capsys, "evaluate", "--config", str(cut / "metasup.yml"), "--json", str(cut_json))  # as_of = last bar
    full, truncated = json.loads(full_json.read_text()), json.loads(cut_json.read_text())
    assert full["as_of"] == truncated["as_of"] == "2026-10-16T20:00:00+00:00"
    for key in ("agents", "strategy_classes", "allocation", "attribution", "recommendations"):
        assert full[key] == truncated[key], key


def test_evaluate__baseline_fills_deltas(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(example_copy / "metasup.yml")
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    run(capsys, "evaluate", "--config", config, "--as-of", AS_OF, "--json", str(base))
    run(capsys, "evaluate", "--config", config, "--baseline", str(base), "--json", str(head))
    in_base = {a["agent"] for a in json.loads(base.read_text())["agents"]}
    agents = json.loads(head.read_text())["agents"]
    assert {a["agent"] for a in agents} - in_base == {"scalper-x"}  # first seen after the base's as_of
    for entry in agents:
        expected = {"realized_pnl_30d", "cost_30d"} if entry["agent"] in in_base else set()
        assert expected <= set(entry["delta_vs_base"])
        assert bool(entry["delta_vs_base"]) == (entry["agent"] in in_base)


def test_evaluate__baseline_not_a_review_is_exit_2(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"hello": 1}')
    code, _, stderr = run(
        capsys, "evaluate", "--config", str(example_copy / "metasup.yml"), "--baseline", str(bogus)
    )
    assert code == 2
    assert stderr.startswith(f"Error: {bogus}: not a metasup review JSON")


def test_demo__writes_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert code == 0
    assert (tmp_path / "demo" / "review.json").exists()
    allocation = json.loads((tmp_path / "demo" / "allocation.json").read_text())
    assert set(allocation["weights"]) == {"momo-alpha", "meanrev-core", "momo-slow"}
    assert "momo-beta" in stdout
    # stdout is the comment alone (`metasup demo > comment.md`); what was written goes to stderr
    assert stdout.rstrip("\n") == (tmp_path / "demo" / "comment.md").read_text().rstrip("\n")
    assert f"wrote {tmp_path / 'demo'}/" in stderr


def test_version__names_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"metasup {metasup.__version__}\n"


def leaf_commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every runnable command (``ledger verify``, not ``ledger``) with its parser."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(leaf_commands(sub, f"{prefix}{name} "))
    return found or {prefix.strip(): parser}


def test_help__every_command_has_help_with_example() -> None:
    from metasup.cli import build_parser

    commands = leaf_commands(build_parser())
    assert {"evaluate", "demo", "ledger verify"} <= set(commands)
    for name, parser in commands.items():
        text = parser.format_help()
        assert f"Example: metasup {name}" in text, name


def test_ledger_verify__ok_and_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metasup.rolling.audit_ledger import NewEntry, append, serialize

    records = append(
        [],
        [
            NewEntry(event="killed", subject=f"agent-{n}", data={"rules": ["alpha_negative"]})
            for n in range(3)
        ],
        ts="2026-10-30T20:00:00Z",
        run_id="r1",
    )
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(serialize(records))
    code, stdout, _ = run(capsys, "ledger", "verify", str(ledger))
    assert (code, stdout) == (0, f"{ledger}: ok, 3 record(s), chain intact\n")
    lines = ledger.read_text().splitlines(keepends=True)
    ledger.write_text(lines[0] + lines[1].replace("agent-1", "agent-X") + lines[2])
    code, stdout, _ = run(capsys, "ledger", "verify", str(ledger))
    assert code == 1
    assert stdout.startswith(f"{ledger}: audit ledger broken at line 2 (seq 2)")
    # CRLF line ends: the rolling run refuses such a ledger (not canonical), so an audit must too
    ledger.write_bytes(serialize(records).replace("\n", "\r\n").encode("utf-8"))
    code, stdout, _ = run(capsys, "ledger", "verify", str(ledger))
    assert code == 1
    assert "line ends in CR LF" in stdout


def test_ledger_verify__missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(capsys, "ledger", "verify", str(tmp_path / "none.jsonl"))
    assert code == 2
    assert stderr == f"Error: {tmp_path / 'none.jsonl'}: file not found\n"


def test_report__json_and_preview(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lp_json, preview = tmp_path / "lp.json", tmp_path / "lp.html"
    code, stdout, stderr = run(
        capsys,
        "report",
        "--config",
        str(example_copy / "metasup.yml"),
        "--json",
        str(lp_json),
        "--preview",
        str(preview),
    )
    assert code == 0
    report = json.loads(lp_json.read_text())
    assert report["period"]["key"] == "weekly:2026-W43"
    assert set(report) >= {
        "period",
        "pnl",
        "volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "bridge",
        "daily",
    }
    assert stdout.startswith("LP report week 2026-W43 (Oct 19 – Oct 25): period PnL $")
    # the figures leave out the demo's 13 bad lines: said, never silent (SPEC §2.6)
    assert stderr.splitlines()[0].startswith("warning: 13 input line(s) rejected — first: ")
    assert "alpha/events.jsonl:1267 invalid JSON" in stderr
    html = preview.read_text()
    assert html.count("data:image/png;base64,") == 2
    assert "<script" not in html


def test_report__stale_prices_are_said(example_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run(
        capsys, "report", "--config", str(example_copy / "metasup.yml"), "--as-of", "2020-01-01T00:00:00Z"
    )
    assert code == 0
    assert "period PnL $0.00" in stdout
    assert "warning: No price bars — no valid price bar at or before as_of 2020-01-01" in stderr


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_evaluate__progress_on_a_terminal_only(
    example_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, piped = run(capsys, "evaluate", "--config", str(example_copy / "metasup.yml"), "--fail-on", "never")
    assert piped == ""  # not a TTY: quiet
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    main(["evaluate", "--config", str(example_copy / "metasup.yml"), "--fail-on", "never"])
    lines = terminal.getvalue().splitlines()
    assert any(line.startswith("… reading ") and line.endswith("events.jsonl") for line in lines)
    assert any(line.endswith("prices.csv") for line in lines)


def test_comment__prints_the_canonical_comment(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    review = tmp_path / "review.json"
    run(capsys, "evaluate", "--config", str(example_copy / "metasup.yml"), "--json", str(review))
    code, stdout, _ = run(capsys, "comment", "--json", str(review))
    assert code == 0
    assert stdout.startswith("<!-- metasup:review -->\n## 🤖 Meta-Agent Review Report\n")
    assert "| momo-beta | 87.9 | 0.69% | $139.58 | approved |" in stdout
    template = tmp_path / "mine.md.j2"
    template.write_text("{{ review.overall_severity }} · {{ agents | length }} agents\n")
    config = example_copy / "metasup.yml"
    config.write_text(config.read_text().replace("comment_template: null", f"comment_template: {template}"))
    code, stdout, _ = run(capsys, "comment", "--json", str(review), "--config", str(config))
    # 14 agents: the demo's ten plus the four evidence-of-skill stories (metasup/examples/README.md)
    assert stdout == "<!-- metasup:review -->\nHIGH · 14 agents\n"


def test_python_dash_m_metasup__is_the_cli(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "metasup", "ledger", "verify", str(tmp_path / "none.jsonl")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == f"Error: {tmp_path / 'none.jsonl'}: file not found\n"


def test_evaluate__a_repeated_config_key_is_exit_2_naming_file_key_and_lines(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second ``portfolio:`` block pasted at the end used to replace the first without a word."""
    config = example_copy / "metasup.yml"
    text = config.read_text()
    first = text.splitlines().index("portfolio:") + 1
    config.write_text(text + "portfolio:\n  capital: 5000\n")
    last = len(config.read_text().splitlines()) - 1
    code, stdout, stderr = run(
        capsys, "evaluate", "--config", str(config), "--json", str(tmp_path / "r.json")
    )
    assert (code, stdout) == (2, "")
    assert stderr.startswith(f"Error: {config}: key portfolio appears twice, at lines {first} and {last}: ")
    assert not (tmp_path / "r.json").exists()


def test_evaluate__a_comment_template_that_does_not_render_is_exit_2_after_writing_the_review(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = example_copy / "mine.md.j2"
    template.write_text("# Review\n{% for f in findings %}\n- {{ severity }}\n{% endfor %}\n")
    config = example_copy / "metasup.yml"
    config.write_text(config.read_text().replace("comment_template: null", "comment_template: mine.md.j2"))
    review = tmp_path / "review.json"
    code, stdout, stderr = run(
        capsys, "evaluate", "--config", str(config), "--json", str(review), "--fail-on", "never"
    )
    assert code == 2
    assert (
        stderr == f"Error: comment_template {template}: line 3: failed to render: 'severity' is undefined\n"
    )
    assert json.loads(review.read_text())["overall_severity"] == "HIGH"  # the review is kept
    assert stdout.startswith("as_of ")


def test_comment__a_number_too_large_for_a_float_reads_as_missing(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON numbers have no size limit; ``10**400`` in a review (a baseline, a hand-edited file) made
    ``float()`` raise and the run end as an internal error (found by an audit). Like NaN and ±inf,
    it reads as no number."""
    review = tmp_path / "review.json"
    run(capsys, "evaluate", "--config", str(example_copy / "metasup.yml"), "--json", str(review))
    huge_path = tmp_path / "huge.json"
    parsed = json.loads(review.read_text(encoding="utf-8"))
    parsed["agents"][0]["metrics"]["alpha_30d"] = int("9" * 400)
    huge_path.write_text(json.dumps(parsed), encoding="utf-8")
    code, stdout, stderr = run(capsys, "comment", "--json", str(huge_path))
    assert (code, stderr) == (0, "")
    assert stdout.startswith("<!-- metasup:review -->\n")
    code, _, stderr = run(
        capsys,
        "evaluate",
        "--config",
        str(example_copy / "metasup.yml"),
        "--baseline",
        str(huge_path),
        "--fail-on",
        "never",
    )
    assert (code, stderr) == (0, "")


def test_comment__nan_spelled_as_a_string_reads_as_missing(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``"alpha_30d": "NaN"`` passed the NaN check as a string and became NaN after: the comment
    showed ``nan%`` (found by an audit)."""
    review = tmp_path / "review.json"
    run(capsys, "evaluate", "--config", str(example_copy / "metasup.yml"), "--json", str(review))
    parsed = json.loads(review.read_text(encoding="utf-8"))
    for agent, spelled in zip(parsed["agents"][:2], ("NaN", "-Infinity"), strict=True):
        agent["metrics"]["alpha_30d"] = spelled
    review.write_text(json.dumps(parsed), encoding="utf-8")
    code, stdout, _ = run(capsys, "comment", "--json", str(review))
    assert code == 0
    assert "nan%" not in stdout
    assert "inf%" not in stdout


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            "{}",
            "run_id: required key is missing; as_of: required key is missing;"
            " base: required key is missing; ",
        ),
        ('{"period": {}, "pnl": {}}', "run_id: required key is missing; "),
    ],
    ids=["empty", "lp-report"],
)
def test_comment__a_json_that_is_not_a_review_names_the_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: str, words: str
) -> None:
    path = tmp_path / "not-a-review.json"
    path.write_text(document)
    code, stdout, stderr = run(capsys, "comment", "--json", str(path))
    assert (code, stdout) == (2, "")
    assert stderr.startswith(f"Error: {path}: not a metasup review JSON ({words}")
    assert "validation error" not in stderr


@pytest.mark.parametrize(
    ("command", "flag", "target"),
    [
        ("evaluate", "--json", "metasup.yml"),
        ("evaluate", "--json", "agents.yaml"),
        ("evaluate", "--json", "alpha/events.jsonl"),
        ("report", "--json", "market/prices.csv"),
        ("report", "--preview", "agents.yaml"),
    ],
)
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(
    example_copy: Path, capsys: pytest.CaptureFixture[str], command: str, flag: str, target: str
) -> None:
    """``evaluate --json alpha/events.jsonl`` replaced the signals with the review and exited 0."""
    path = example_copy / target
    before = path.read_bytes() if path.exists() else None
    code, _, stderr = run(capsys, command, "--config", str(example_copy / "metasup.yml"), flag, str(path))

    assert code == 2
    assert f"{flag}: {path} is an input of this run" in stderr
    assert (path.read_bytes() if path.exists() else None) == before


def test_an_output_a_glob_input_would_match_is_refused_and_others_are_not(
    example_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``alpha: alpha/*.jsonl``, ``--json alpha/more.jsonl`` would be read as signals by the
    next run; ``alpha/review.json`` matches nothing the run reads."""
    config = example_copy / "metasup.yml"
    config.write_text(config.read_text().replace("alpha/events.jsonl", "alpha/*.jsonl"))
    matched = example_copy / "alpha" / "more.jsonl"

    code, _, stderr = run(capsys, "evaluate", "--config", str(config), "--json", str(matched))

    assert code == 2
    assert f"--json: {matched} matches {example_copy / 'alpha' / '*.jsonl'}, an input of this run" in stderr
    assert not matched.exists()
    beside = example_copy / "alpha" / "review.json"
    code, _, _ = run(capsys, "evaluate", "--config", str(config), "--json", str(beside), "--fail-on", "never")
    assert code == 0
    assert beside.exists()
