"""What a user sees of a review, as text: the review JSON, the PR comment, the LP JSON, the e-mail.

``python tests/golden/outputs.py`` rewrites ``tests/golden/expected/`` from the code as it is;
``test_golden.py`` checks that the code still produces those files byte for byte. They were
captured from the flat layout before the move to wings (SPEC §1.1), so the test proves that
the move changed no behaviour.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from metasup.cli import DEFAULT_CONFIG  # noqa: F401  (the CLI module must import cleanly)
from metasup.lp.email import render_text
from metasup.lp.report import build_lp_report, last_complete_period
from metasup.render.comment import render_comment
from metasup.runner import default_as_of, display_roots, load_workspace, supervise_workspace

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected"
SAMPLE_LEDGER = [
    {"seq": 1, "ts": "2026-10-27T12:00:00Z", "event": "promotion_proposed", "subject": "agent-01",
     "data": {"pr": 7}},
    {"seq": 2, "ts": "2026-10-28T12:00:00Z", "event": "promoted", "subject": "agent-01", "data": {"pr": 7}},
    {"seq": 3, "ts": "2026-10-29T12:00:00Z", "event": "killed", "subject": "agent-04",
     "data": {"rules": ["alpha_negative", "cost_over_value"]}},
]  # fmt: skip


def outputs(config_path: Path) -> dict[str, str]:
    """The four user-visible texts of one workspace at its default ``as_of``."""
    workspace = load_workspace(config_path)
    as_of: pd.Timestamp = default_as_of(workspace.artifacts)
    supervision = supervise_workspace(workspace, as_of, None)
    review = supervision.review
    period = last_complete_period(as_of, workspace.config.email.cadence)
    report = build_lp_report(supervision, workspace.config, as_of, period, SAMPLE_LEDGER)
    root = str(config_path.parent)
    return {
        "review.json": review.to_json().replace(root, "<workspace>") + "\n",
        "comment.md": render_comment(
            review, workspace.config, roots=display_roots(workspace.config)
        ).body.replace(root, "<workspace>"),
        "lp.json": report.to_json() + "\n",
        "email.txt": render_text(report),
    }


def workspaces(scratch: Path) -> dict[str, Path]:
    from fleet import write_fleet  # tests/golden is on sys.path beside this file

    from metasup.examples import CONFIG_PATH

    return {"demo": Path(CONFIG_PATH), "fleet": write_fleet(scratch / "fleet")}


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for name, config in workspaces(Path(scratch)).items():
            folder = EXPECTED / name
            folder.mkdir(parents=True, exist_ok=True)
            for file, text in outputs(config).items():
                (folder / file).write_text(text, encoding="utf-8")
                print(f"wrote {folder / file} ({len(text)} chars)")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
