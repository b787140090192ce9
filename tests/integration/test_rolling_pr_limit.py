"""A rolling run opens at most ``promotion_prs.max_new_per_run`` new PRs (retirements first, then
demotions, then promotions); the rest wait for the next runs. A first run on a big fleet would
otherwise open hundreds at once, past ``GITHUB_TOKEN``'s 1,000 requests an hour. The demo decides
three kills, one demotion and one promotion at once. End to end against the fake GitHub."""

from __future__ import annotations

import io
import re

import yaml
from fakegithub import FakeGitHub
from test_action_rolling import REPO, Rolling
from test_action_rolling_safety import rolling, summary

from metasup.action import run
from metasup.github import connect
from metasup.github.workflow_commands import Console

__all__ = ["rolling"]  # the fixture, shared with test_action_rolling_safety


def limit_new_prs(rolling: Rolling, limit: int) -> None:
    path = rolling.workspace / "metasup.yml"
    config = yaml.safe_load(path.read_text())
    config["promotion_prs"] = {**config.get("promotion_prs", {}), "max_new_per_run": limit}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def opened(rolling: Rolling) -> list[str]:
    """Each PR's kind and subject, in the order opened."""
    pulls = sorted(rolling.fake.pulls(REPO, state="all"), key=lambda p: p.number)
    return [p.pull.head_ref.removeprefix("metasup/") for p in pulls]


def test_new_prs_open_a_few_a_run_kills_first_and_every_kill_is_recorded_at_once(rolling: Rolling) -> None:
    limit_new_prs(rolling, 2)

    assert rolling() == 0

    assert opened(rolling) == ["retire/class-llm_macro", "retire/meanrev-legacy"]
    assert {r["subject"] for r in rolling.events("killed")} == {
        "class:llm_macro",
        "meanrev-legacy",
        "news-sent",
    }
    text = summary(rolling).replace("\\", "")
    assert "3 more new PR(s) wait for the next runs (promotion_prs.max_new_per_run: 2): " in text
    assert "open [AUTO-RETIRE] PR for news-sent, open [AUTO-DEMOTE] PR for meanrev-swing" in text

    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert set(opened(rolling)[2:]) == {"retire/news-sent", "demote/meanrev-swing"}

    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert opened(rolling)[4:] == ["promote/momo-beta"]
    assert len(rolling.events("killed")) == 3  # each kill once

    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert len(opened(rolling)) == 5
    last_run = summary(rolling).rsplit("## 🤖 Meta-Supervisor rolling run", 1)[1]
    assert "wait for the next runs" not in last_run


def test_a_run_github_stops_part_way_says_what_it_did(rolling: Rolling) -> None:
    """GitHub fails (502, every retry) as the run opens its second PR: exit 1, and the job summary
    lists the PR it opened and the one it stopped in. The next run finishes the job without
    doing anything twice."""
    fake = rolling.fake
    created: list[int] = []

    def limit_after_the_first(fake: FakeGitHub, request: object) -> None:
        created.append(1)
        if len(created) == 2:
            fake.fail_next(100_000, method="POST", path=re.compile(r"/repos/[^/]+/[^/]+/pulls"))

    fake.before_request(
        limit_after_the_first, method="POST", path=re.compile(r"/repos/[^/]+/[^/]+/pulls"), times=None
    )

    stream = io.StringIO()
    code = run(
        {**rolling.environ, "GITHUB_RUN_ID": "1"},
        console=Console(stream),
        connect=lambda token, url: connect(token, url, sleep=lambda _: None),  # retries, no waits
        clock=fake.clock.now,
    )
    assert code == 1, stream.getvalue()

    stopped = summary(rolling).replace("\\", "")
    assert "## 🤖 Meta-Supervisor: run failed" in stopped
    assert "What it did before (on GitHub now; the next run takes it up):" in stopped
    assert "- open [AUTO-PROMOTE] PR for momo-beta\n" in stopped
    assert "- open [AUTO-DEMOTE] PR for meanrev-swing (it stopped here)" in stopped
    fake.advance(hours=1)
    fake.clear_faults()
    assert rolling() == 0, rolling.stdout
    assert len(fake.pulls(REPO, state="all")) == 5
    assert len(rolling.events("killed")) == 3
