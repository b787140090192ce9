"""SPEC §2.6 "Bad input", one row per case: the exit code, the message's key words, never a
traceback, and for data cases that no good row was lost.

The CLI runs in-process (``metasup.cli.main``); the workspace cases run the action's entrypoint
(``metasup.action.run``), which refuses them before it talks to GitHub.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from metasup import cli
from metasup.action import run as run_action
from metasup.github.workflow_commands import Console

AGENTS = ("momo", "revert")
SIGNALS = 24
BARS = 10 * 24


def write_fleet(root: Path, names: tuple[str, ...] = AGENTS) -> Path:
    """A small, clean workspace: hourly AAPL bars over ten days, signals and telemetry per agent."""
    (root / "alpha").mkdir(parents=True, exist_ok=True)
    (root / "telemetry").mkdir(exist_ok=True)
    (root / "market").mkdir(exist_ok=True)
    bars = ["ts,symbol,price"] + [
        f"2026-03-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z,AAPL,{100 + (hour % 7) * 0.5}"
        for hour in range(BARS)
    ]
    (root / "market" / "prices.csv").write_text("\n".join(bars) + "\n")
    signals = [
        {
            "ts": f"2026-03-{1 + i // 3:02d}T{(i % 3) * 6:02d}:00:00Z",
            "signal_id": f"s{i}",
            "agent": names[i % len(names)],
            "symbol": "AAPL",
            "direction": 1 if i % 2 else -1,
            "confidence": 0.7,
            "horizon": "4h",
        }
        for i in range(SIGNALS)
    ]
    (root / "alpha" / "events.jsonl").write_text("".join(json.dumps(s) + "\n" for s in signals))
    events = [{"ts": "2026-03-05T00:00:00Z", "type": "run", "agent": n, "cost_usd": 1.0} for n in names]
    events += [
        {"ts": "2026-03-05T00:00:00Z", "type": "behavioral_eval", "agent": n, "score": 90} for n in names
    ]
    (root / "telemetry" / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    registry = "agents:\n" + "".join(f"  - {{name: {json.dumps(n)}, stage: sandbox}}\n" for n in names)
    (root / "agents.yaml").write_text(registry)
    (root / "metasup.yml").write_text(
        "registry: agents.yaml\n"
        "artifacts: {alpha: alpha/events.jsonl, telemetry: telemetry/events.jsonl,"
        " prices: market/prices.csv}\n"
    )
    return root / "metasup.yml"


@dataclass
class Case:
    """One row: set the workspace up, run these arguments, expect this."""

    name: str
    args: Callable[[Path], list[str]]
    code: int
    words: tuple[str, ...]
    setup: Callable[[Path], None] = lambda root: None
    check: Callable[[Path, str], None] = lambda root, out: None
    env: dict[str, str] = field(default_factory=dict)


def _cfg(root: Path) -> str:
    return str(root / "metasup.yml")


def _review(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / "review.json").read_text())
    return data


def _accepted(root: Path, suffix: str) -> int:
    quality = _review(root)["data_quality"]
    assert isinstance(quality, dict)
    return sum(f["accepted"] for f in quality["files"] if f["path"].endswith(suffix))


def _no_good_row_lost(root: Path, _out: str) -> None:
    assert _accepted(root, "alpha/events.jsonl") == SIGNALS
    assert _accepted(root, "prices.csv") == BARS


def _empty_alpha(root: Path) -> None:
    (root / "alpha" / "events.jsonl").write_bytes(b"")


def _empty_alpha_checked(root: Path, _out: str) -> None:
    findings = _review(root)["findings"]
    assert isinstance(findings, list)
    empty = [f for f in findings if f["kind"] == "empty_file"]
    assert [f["severity"] for f in empty] == ["MEDIUM"]
    assert "alpha/events.jsonl" in empty[0]["title"]
    assert _accepted(root, "prices.csv") == BARS


def _link_to_passwd(root: Path) -> None:
    (root / "alpha" / "events.jsonl").unlink()
    (root / "alpha" / "events.jsonl").symlink_to("/etc/passwd")


def _loop(root: Path) -> None:
    (root / "alpha" / "events.jsonl").unlink()
    (root / "alpha" / "a.jsonl").symlink_to(root / "alpha" / "events.jsonl")
    (root / "alpha" / "events.jsonl").symlink_to(root / "alpha" / "a.jsonl")


def _nasty_names(root: Path) -> None:
    write_fleet(root, names=("@everyone", "evil\x1b[31mred", "two\nlines", "@user"))


def _names_inert(root: Path, out: str) -> None:
    assert "\x1b" not in out
    assert "@everyone" not in out
    assert "@user" not in out
    assert "\\x1b" in out
    assert "\\n" in out


def _duplicate_agent(root: Path) -> None:
    (root / "agents.yaml").write_text(
        "agents:\n"
        + "".join(f"  - {{name: a{i}, stage: sandbox, regimes: [x, y, z]}}\n" for i in range(40))
        + "  - {name: a7, stage: prod}\n"
    )


def _short(_root: Path, out: str) -> None:
    assert len(out) < 300, out


def _safety_violation(root: Path) -> None:
    path = root / "telemetry" / "events.jsonl"
    event = {"ts": "2026-03-09T00:00:00Z", "type": "safety_violation", "agent": "momo", "rule": "no-leverage"}
    path.write_text(path.read_text() + json.dumps(event) + "\n")


def _unknown_key(root: Path) -> None:
    with (root / "metasup.yml").open("a") as handle:
        handle.write("windowz: {window: 30d}\n")


def _nul_in_a_path(root: Path) -> None:
    config = root / "metasup.yml"
    config.write_text(config.read_text().replace("registry: agents.yaml", 'registry: "agents\\0.yaml"'))


def _artifact_name_too_long(root: Path) -> None:
    config = root / "metasup.yml"
    config.write_text(config.read_text().replace("alpha: alpha/events.jsonl", "alpha: " + "x" * 300))


def _garbage_ledger(root: Path) -> None:
    (root / "garbage.jsonl").write_text("this is not a ledger\n")


def _review_json(root: Path) -> list[str]:
    return ["evaluate", "--config", _cfg(root), "--fail-on", "never", "--json", str(root / "review.json")]


def _comment_of_review(root: Path) -> list[str]:
    assert cli.main(_review_json(root)) == 0
    return ["comment", "--json", str(root / "review.json")]


def _file_in_the_way(root: Path) -> None:
    (root / "plain-file").write_text("x")


def _alpha_in_a_sub_folder_too(root: Path) -> None:
    """Half the signals in ``alpha/2026-03/``: until 2026-12 a folder's sub-folders were skipped."""
    config = root / "metasup.yml"
    config.write_text(config.read_text().replace("alpha: alpha/events.jsonl", "alpha: alpha"))
    lines = (root / "alpha" / "events.jsonl").read_text().splitlines(keepends=True)
    (root / "alpha" / "2026-03").mkdir()
    (root / "alpha" / "2026-03" / "events.jsonl").write_text("".join(lines[SIGNALS // 2 :]))
    (root / "alpha" / "events.jsonl").write_text("".join(lines[: SIGNALS // 2]))


def _every_signal_read(root: Path, _out: str) -> None:
    quality = _review(root)["data_quality"]
    assert isinstance(quality, dict)
    alpha = [f for f in quality["files"] if "/alpha/" in f["path"]]
    assert [f["path"].split("/alpha/")[1] for f in alpha] == ["2026-03/events.jsonl", "events.jsonl"]
    assert sum(f["accepted"] for f in alpha) == SIGNALS


def _epoch_prices(root: Path) -> None:
    path = root / "market" / "prices.csv"
    header, *rows = path.read_text().splitlines()
    epoch = [f"{1772323200 + 3600 * i},{row.split(',', 1)[1]}" for i, row in enumerate(rows)]
    path.write_text("\n".join([header, *epoch]) + "\n")


def _no_as_of_hint(_root: Path, out: str) -> None:
    assert "--as-of" not in out  # it does not fix a prices file whose every row is refused


def _gzip_under_a_plain_name(root: Path) -> None:
    path = root / "alpha" / "events.jsonl"
    path.write_bytes(gzip.compress(path.read_bytes()))


CASES = [
    # already working, kept working
    Case("clean run", _review_json, 0, ("as_of",), check=_no_good_row_lost),
    Case(
        "config missing",
        lambda r: ["evaluate", "--config", str(r / "nope.yml")],
        2,
        ("nope.yml", "not found"),
    ),
    Case(
        "unknown config key",
        lambda r: ["evaluate", "--config", _cfg(r)],
        2,
        ("windowz", "unknown key"),
        _unknown_key,
    ),
    Case(
        "NUL byte in a config path (found by fuzzing)",
        lambda r: ["evaluate", "--config", _cfg(r)],
        2,
        ("registry", "NUL character"),
        _nul_in_a_path,
    ),
    Case(
        "artifact name too long for the file system (found by the field fuzz)",
        _review_json,
        2,
        ("xxxxxxxx", "cannot read file (File name too long)"),
        _artifact_name_too_long,
    ),
    Case(
        "unreadable as-of",
        lambda r: ["evaluate", "--config", _cfg(r), "--as-of", "soon"],
        2,
        ("--as-of", "soon"),
    ),
    Case(
        "ledger verify missing",
        lambda r: ["ledger", "verify", str(r / "l.jsonl")],
        2,
        ("l.jsonl", "not found"),
    ),
    # the cases
    Case(
        "as-of out of range (evaluate)",
        lambda r: ["evaluate", "--config", _cfg(r), "--as-of", "3026-01-01T00:00:00Z"],
        2,
        ("--as-of", "3026", "outside the supported range"),
    ),
    Case(
        "as-of out of range (report)",
        lambda r: ["report", "--config", _cfg(r), "--as-of", "3026-01-01T00:00:00Z"],
        2,
        ("--as-of", "outside the supported range"),
    ),
    Case(
        "--json in a missing folder",
        lambda r: ["evaluate", "--config", _cfg(r), "--json", "/nonexistent/dir/out.json"],
        2,
        ("--json", "/nonexistent/dir", "does not exist"),
    ),
    Case(
        "--json name too long for the file system",
        lambda r: ["evaluate", "--config", _cfg(r), "--json", str(r / ("x" * 300))],
        2,
        ("--json", "cannot be written (File name too long)"),
    ),
    Case(
        "report --ledger garbage",
        lambda r: [
            "report",
            "--config",
            _cfg(r),
            "--ledger",
            str(r / "garbage.jsonl"),
            "--preview",
            str(r / "x.html"),
        ],
        2,
        ("--ledger", "garbage.jsonl", "not a valid audit ledger"),
        _garbage_ledger,
    ),
    Case(
        "report --preview in a missing folder",
        lambda r: ["report", "--config", _cfg(r), "--preview", str(r / "no" / "x.html")],
        2,
        ("--preview", "does not exist"),
    ),
    Case(
        "demo --out cannot be created",
        lambda r: ["demo", "--out", str(r / "plain-file" / "demo")],
        2,
        ("--out", "cannot create folder"),
        _file_in_the_way,
    ),
    Case(
        "stale prices",
        lambda r: [
            *_review_json(r)[:-4],
            "--json",
            str(r / "review.json"),
            "--as-of",
            "2099-01-01T00:00:00Z",
        ],
        1,
        ("Prices end at 2026-03-10", "Failed under --fail-on high", "HIGH"),
        check=_no_good_row_lost,
    ),
    Case("empty alpha file", _review_json, 0, (), _empty_alpha, _empty_alpha_checked),
    Case(
        "alpha folder with a sub-folder", _review_json, 0, (), _alpha_in_a_sub_folder_too, _every_signal_read
    ),
    Case(
        "every price row refused (evaluate)",
        lambda r: ["evaluate", "--config", _cfg(r)],
        2,
        ("market/prices.csv: 0 of 240 rows accepted", "line 2, unparsable timestamp: '1772323200,AAPL,"),
        _epoch_prices,
        _no_as_of_hint,
    ),
    Case(
        "every price row refused (report)",
        lambda r: ["report", "--config", _cfg(r)],
        2,
        ("market/prices.csv: 0 of 240 rows accepted", "line 2, unparsable timestamp"),
        _epoch_prices,
        _no_as_of_hint,
    ),
    Case("gzip-compressed events.jsonl", _review_json, 0, (), _gzip_under_a_plain_name, _no_good_row_lost),
    Case("symlink to /etc/passwd (CLI reads it)", _review_json, 0, (), _link_to_passwd),
    Case("symlink loop", _review_json, 2, ("events.jsonl", "symlink loop"), _loop),
    Case(
        "names cannot ping or break", _comment_of_review, 0, ("@\u200deveryone",), _nasty_names, _names_inert
    ),
    Case(
        "names in the console table",
        lambda r: ["evaluate", "--config", _cfg(r), "--fail-on", "never"],
        0,
        ("\\x1b",),
        _nasty_names,
        _names_inert,
    ),
    Case(
        "duplicate agent",
        lambda r: ["evaluate", "--config", _cfg(r)],
        2,
        ("agents.yaml", "repeated: a7"),
        _duplicate_agent,
        _short,
    ),
    Case(
        "comment --json missing",
        lambda r: ["comment", "--json", str(r / "missing.json")],
        2,
        ("review file not found",),
    ),
    # cost_usd null: unfinished (the readers cannot yet tell null from absent)
    Case(
        "failing --fail-on names its findings",
        lambda r: ["evaluate", "--config", _cfg(r)],
        1,
        ("Failed under --fail-on high", "HIGH: Safety violation by momo"),
        _safety_violation,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    write_fleet(root)
    case.setup(root)
    args = case.args(root)
    capsys.readouterr()
    code = cli.main(args)
    out, err = capsys.readouterr()
    both = out + err
    assert code == case.code, both
    assert "Traceback" not in both
    for word in case.words:
        assert word in both, (word, both)
    if code == 2:
        assert err.startswith("Error: "), err
        assert err.count("\n") <= 3, err
    case.check(root, err if code == 2 else out)


def test_a_bug_is_one_line_and_the_traceback_waits_for_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_fleet(tmp_path)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(cli, "evaluate", broken)
    monkeypatch.delenv("METASUP_DEBUG", raising=False)
    assert cli.main(["evaluate", "--config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.count("\n") == 1
    assert "bug" in err
    assert "ZeroDivisionError" in err
    assert "/issues" in err
    assert cli.main(["evaluate", "--config", str(config), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("METASUP_DEBUG", "1")
    assert cli.main(["evaluate", "--config", str(config)]) == 1
    assert "Traceback" in capsys.readouterr().err


# --- the action: nothing outside GITHUB_WORKSPACE ----------------------------------------------


def _action(workspace: Path, **env: str) -> tuple[int, str]:
    def no_github(*_args: object) -> object:
        raise AssertionError("the action must refuse before it talks to GitHub")

    stream = io.StringIO()
    environ = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": "octo-org/fleet",
        "GITHUB_WORKSPACE": str(workspace),
        "METASUP_GITHUB_TOKEN": "t0ken",
        "METASUP_DRY_RUN": "true",
        **env,
    }
    code = run_action(environ, console=Console(stream), connect=no_github)  # type: ignore[arg-type]
    return code, stream.getvalue()


def _outside_config(root: Path, elsewhere: Path) -> dict[str, str]:
    write_fleet(elsewhere)
    return {"METASUP_CONFIG": str(elsewhere / "metasup.yml")}


def _config_symlink_out(root: Path, elsewhere: Path) -> dict[str, str]:
    write_fleet(elsewhere)
    (root / "metasup.yml").unlink()
    (root / "metasup.yml").symlink_to(elsewhere / "metasup.yml")
    return {}


def _registry_out(root: Path, elsewhere: Path) -> dict[str, str]:
    write_fleet(elsewhere)
    (root / "agents.yaml").unlink()
    (root / "agents.yaml").symlink_to(elsewhere / "agents.yaml")
    return {}


def _artifact_link(root: Path, _elsewhere: Path) -> dict[str, str]:
    _link_to_passwd(root)
    return {}


def _artifact_dir_entry(root: Path, elsewhere: Path) -> dict[str, str]:
    write_fleet(elsewhere)
    (root / "metasup.yml").write_text(
        "registry: agents.yaml\nartifacts: {alpha: alpha, prices: market/prices.csv}\n"
    )
    (root / "alpha" / "more.jsonl").symlink_to(elsewhere / "alpha" / "events.jsonl")
    return {}


def _artifact_sub_folder_link(root: Path, elsewhere: Path) -> dict[str, str]:
    """A sub-folder linked outside: its files are read now, so the workspace check must see them."""
    write_fleet(elsewhere)
    (root / "metasup.yml").write_text(
        "registry: agents.yaml\nartifacts: {alpha: alpha, prices: market/prices.csv}\n"
    )
    (root / "alpha" / "2026-02").symlink_to(elsewhere / "alpha")
    return {}


def _action_loop(root: Path, _elsewhere: Path) -> dict[str, str]:
    _loop(root)
    return {}


ACTION_CASES: list[tuple[str, Callable[[Path, Path], dict[str, str]], tuple[str, ...]]] = [
    ("config outside", _outside_config, ("config", "outside the workspace")),
    ("config symlinked outside", _config_symlink_out, ("config", "outside the workspace")),
    ("registry symlinked outside", _registry_out, ("registry", "outside the workspace")),
    ("alpha -> /etc/passwd", _artifact_link, ("artifacts.alpha", "/etc/passwd", "outside the workspace")),
    ("a directory entry outside", _artifact_dir_entry, ("artifacts.alpha", "outside the workspace")),
    (
        "a sub-folder linked outside",
        _artifact_sub_folder_link,
        ("artifacts.alpha", "alpha/2026-02/events.jsonl", "outside the workspace"),
    ),
    ("symlink loop", _action_loop, ("symlink loop",)),
]


@pytest.mark.parametrize(("name", "setup", "words"), ACTION_CASES, ids=[c[0] for c in ACTION_CASES])
def test_action_refuses_paths_outside_the_workspace(
    name: str, setup: Callable[[Path, Path], dict[str, str]], words: tuple[str, ...], tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    write_fleet(root)
    env = setup(root, tmp_path / "elsewhere")
    code, out = _action(root, **env)
    assert code == 2, out
    assert "Traceback" not in out
    assert out.startswith("::add-mask::")
    assert "::error::" in out
    for word in words:
        assert word in out, (word, out)


def test_action_bad_as_of_is_a_usage_error(tmp_path: Path) -> None:
    write_fleet(tmp_path)
    code, out = _action(tmp_path, METASUP_AS_OF="3026-01-01T00:00:00Z")
    assert code == 2
    assert "as-of" in out
    assert "outside the supported range" in out


def test_the_cli_reads_outside_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = write_fleet(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path / "elsewhere" / "alpha")
    assert cli.main(["evaluate", "--config", str(elsewhere), "--fail-on", "never"]) == 0
    assert "Traceback" not in capsys.readouterr().err
