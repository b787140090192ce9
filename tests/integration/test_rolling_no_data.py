"""A rolling run with no signal at all decides nothing (found by an audit of months of unattended
runs, 2026-12-08): SPEC §2.6 makes an empty file a finding, which a review shows; a rolling run
that acted on it withdrew PRs, wrote an all-cash allocation and would e-mail $0.00 to LPs."""

from __future__ import annotations

from test_action_rolling import Rolling
from test_action_rolling_safety import rolling, summary

__all__ = ["rolling"]  # the fixture, shared


def test_a_rolling_run_with_no_signal_at_all_decides_nothing(rolling: Rolling) -> None:
    """An export that failed (an empty alpha file): judging nothing, the run withdrew the open PRs
    (their gates failed closed), put the allocation in cash, and would have e-mailed $0.00 (an
    audit of months of unattended runs). Now it decides nothing; the next run with signals does."""
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    alpha = rolling.workspace / "alpha" / "events.jsonl"
    signals = alpha.read_text()
    alpha.write_text("")
    rolling.fake.advance(hours=6)
    rolling.fake.reset_log()

    assert rolling() == 2
    assert "holds no signal at all: a rolling run decides nothing from no data" in rolling.stdout
    assert rolling.fake.writes() == []
    assert "run failed" in summary(rolling)

    alpha.write_text(signals)
    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert [(p.number, p.state) for p in rolling.promote_pulls()] == [(pull.number, "open")]
