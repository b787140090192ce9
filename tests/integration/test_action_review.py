"""The action end to end in review mode: real payloads, PyGithub, the fake GitHub over HTTP."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from at_once import at_once, jitter_requests
from cmarkgfm.cmark import Options
from dask_runs import run_on_a_cluster
from fakegithub import ACTIONS_TOKEN, FORK_TOKEN, PAT_TOKEN, FakeGitHub, Repo
from review_compare import assert_same

from metasup.action import run
from metasup.examples import EXAMPLES_DIR
from metasup.github.workflow_commands import Console
from metasup.render.comment import MARKER

REPO = "octo-org/fleet"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The checked-out repository: the demo fleet at its root."""
    root = tmp_path / "workspace"
    shutil.copytree(EXAMPLES_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md"))
    return root


@pytest.fixture
def pull_number(fake_github: FakeGitHub, fake_repo: Repo) -> int:
    fake_github.create_branch(REPO, "feature")
    fake_github.commit_files(REPO, "feature", {"NOTES.md": "tuning\n"})
    number: int = fake_github.open_pull(REPO, "feature", title="Tune momo-beta").number
    return number


class ActionRun:
    """One invocation of the action with GitHub's runtime contract, and what it left behind."""

    def __init__(
        self, fake: FakeGitHub, workspace: Path, event_path: Path, event_name: str, **env: str
    ) -> None:
        self.fake, self.workspace = fake, workspace
        self.output, self.summary = workspace.parent / "output.txt", workspace.parent / "summary.md"
        self.environ = {
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": fake.url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_RUN_ID": "4242",
            "METASUP_GITHUB_TOKEN": ACTIONS_TOKEN,
            "METASUP_FAIL_ON": "never",
            **env,
        }
        self.stdout = ""

    def __call__(self, **env: str) -> int:
        stream = io.StringIO()
        code = run({**self.environ, **env}, console=Console(stream))
        self.stdout += stream.getvalue()
        return code

    def outputs(self) -> dict[str, str]:
        """Parse ``$GITHUB_OUTPUT`` heredocs the way the runner does (last value wins)."""
        values: dict[str, str] = {}
        lines = self.output.read_text().splitlines()
        index = 0
        while index < len(lines):
            name, delimiter = lines[index].split("<<", 1)
            end = lines.index(delimiter, index + 1)
            values[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
        return values


@pytest.fixture
def action(
    fake_github: FakeGitHub, workspace: Path, pull_number: int, github_event_path: Callable[..., Path]
) -> ActionRun:
    event = github_event_path("pull_request.opened", repo=REPO, number=pull_number)
    return ActionRun(fake_github, workspace, event, "pull_request")


def our_comments(fake: FakeGitHub, number: int) -> list[Any]:
    return [c for c in fake.comments(REPO, number) if c.body.startswith(MARKER)]


def test_review__run_twice_one_comment_edited_not_duplicated(action: ActionRun, pull_number: int) -> None:
    assert action() == 0
    comments = our_comments(action.fake, pull_number)
    assert len(comments) == 1
    first_id = comments[0].id
    assert action.outputs()["comment-id"] == str(first_id)

    action.fake.reset_log()
    assert action() == 0
    assert [c.id for c in our_comments(action.fake, pull_number)] == [first_id]
    assert action.fake.writes() == []  # unchanged body → no API write

    (action.workspace / "agents.yaml").write_text(
        (action.workspace / "agents.yaml").read_text().replace("stage: prod", "stage: sandbox", 1)
    )
    assert action() == 0
    assert [c.id for c in our_comments(action.fake, pull_number)] == [first_id]
    assert [(r.method, r.path) for r in action.fake.writes()] == [
        ("PATCH", f"/repos/{REPO}/issues/comments/{first_id}")
    ]


def test_review__comment_content_and_outputs(action: ActionRun, pull_number: int) -> None:
    assert action(METASUP_FAIL_ON="high") == 1  # the demo fleet has HIGH findings
    body = our_comments(action.fake, pull_number)[0].body
    assert body.startswith(MARKER + "\n## 🤖 Meta-Agent Review Report\n")
    assert "**Run ID:** 4242  " in body
    assert "**Compared Against:** `main` (no baseline)" in body
    outputs = action.outputs()
    assert outputs["severity"] == "HIGH"
    assert outputs["result"] == "BLOCKED"
    assert json.loads(outputs["killed"]) == ["class:llm_macro", "meanrev-legacy", "news-sent"]
    report = json.loads(Path(outputs["report-path"]).read_text())
    assert report["run_id"] == "4242"
    summary = action.summary.read_text()
    assert "## 🤖 Meta-Agent Review Report" in summary
    assert "::error::HIGH: Safety violation by meanrev-fast" in action.stdout


def test_review__token_never_printed(action: ActionRun) -> None:
    action()
    lines_with_token = [line for line in action.stdout.splitlines() if ACTIONS_TOKEN in line]
    assert lines_with_token == [f"::add-mask::{ACTIONS_TOKEN}"]
    assert ACTIONS_TOKEN not in action.summary.read_text()
    assert ACTIONS_TOKEN not in action.output.read_text()


def test_review__synchronize_payload_edits_same_comment(
    action: ActionRun, pull_number: int, github_event_path: Callable[..., Path]
) -> None:
    action()
    sync = github_event_path("pull_request.synchronize", repo=REPO, number=pull_number)
    assert action(GITHUB_EVENT_PATH=str(sync)) == 0
    assert len(our_comments(action.fake, pull_number)) == 1


def test_review__found_among_150_comments(action: ActionRun, pull_number: int) -> None:
    action()
    own_id = our_comments(action.fake, pull_number)[0].id
    for n in range(150):
        action.fake.add_comment(REPO, pull_number, f"chatter {n}", user="alice")
    action.fake.reset_log()
    action(METASUP_AS_OF="2026-10-29T20:00:00Z")  # a different body
    assert [c.id for c in our_comments(action.fake, pull_number)] == [own_id]
    pages = [r for r in action.fake.requests("GET", f"/repos/{REPO}/issues/{pull_number}/comments")]
    assert len(pages) == 2  # 151 comments at 100 per page
    assert [r.method for r in action.fake.writes()] == ["PATCH"]


def test_review__human_comment_with_marker_is_not_hijacked(action: ActionRun, pull_number: int) -> None:
    action.fake.add_comment(REPO, pull_number, MARKER + "\nI copied your marker", user="alice")
    action()
    comments = action.fake.comments(REPO, pull_number)
    assert comments[0].body == MARKER + "\nI copied your marker"
    assert len([c for c in comments if c.body.startswith(MARKER)]) == 2


def test_review__pat_identity(action: ActionRun, pull_number: int) -> None:
    action(METASUP_GITHUB_TOKEN=PAT_TOKEN)
    action(METASUP_GITHUB_TOKEN=PAT_TOKEN, METASUP_AS_OF="2026-10-29T20:00:00Z")
    comments = our_comments(action.fake, pull_number)
    assert [c.user for c in comments] == ["octocat"]


def test_review__race_duplicates_deleted(action: ActionRun, pull_number: int) -> None:
    def racing_run(fake: FakeGitHub, request: object) -> None:
        fake.add_comment(REPO, pull_number, MARKER + "\nfrom a racing run", user="github-actions[bot]")

    action()  # ours exists
    action.fake.before_request(racing_run, method="GET", path=f"/repos/{REPO}/issues/{pull_number}/comments")
    action(METASUP_AS_OF="2026-10-29T20:00:00Z")
    assert len(our_comments(action.fake, pull_number)) == 1


@pytest.mark.parametrize("seed", range(6))
def test_review__two_first_runs_at_once_leave_one_comment(
    action: ActionRun, pull_number: int, seed: int
) -> None:
    """Two runs on a PR that has no comment yet (say, two workflows under different concurrency groups):
    both find no comment and both create one. The first comment is kept, the other deleted, by
    whichever run sees both — not left for the next run."""
    jitter_requests(action.fake, seed)
    codes = at_once([lambda: action(GITHUB_RUN_ID="1"), lambda: action(GITHUB_RUN_ID="2")])
    assert codes == [0, 0]
    assert len(our_comments(action.fake, pull_number)) == 1


def test_review__hostile_agent_names(action: ActionRun, pull_number: int) -> None:
    hostile = "evil|</td><script>alert(1)</script><!-- metasup:review -->[x](javascript:alert(1))"
    alpha = action.workspace / "alpha" / "events.jsonl"
    lines = alpha.read_text().splitlines()
    lines += [
        json.dumps(json.loads(line) | {"agent": hostile, "signal_id": f"h{n}"})
        for n, line in enumerate(lines[:40])
        if line.startswith("{") and '"ts"' in line and '"agent"' in line
    ]
    alpha.write_text("\n".join(lines) + "\n")
    action()
    body = our_comments(action.fake, pull_number)[0].body
    assert body.count("<!--") == 1
    html = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    assert "<script>" not in html
    assert "<a " not in html  # no link, javascript: or otherwise
    table = html.split("<table>")[1].split("</table>")[0]
    rows = table.count("<tr>")
    # header + the demo's 14 agents (10, plus the 4 evidence-of-skill stories) + the hostile one
    assert rows == 1 + 15
    assert all(row.count("<td>") == 5 for row in table.split("<tr>")[2:])


def test_review__fork_token_degrades(action: ActionRun, pull_number: int) -> None:
    code = action(METASUP_GITHUB_TOKEN=FORK_TOKEN, METASUP_FAIL_ON="high")
    assert code == 1  # fail-on still applies
    assert our_comments(action.fake, pull_number) == []
    assert "::warning::cannot write the comment" in action.stdout
    fallback = action.workspace / "metasup-comment.md"
    assert fallback.read_text().startswith(MARKER)
    assert action.outputs()["comment-id"] == ""
    assert "## 🤖 Meta-Agent Review Report" in action.summary.read_text()
    assert action(METASUP_GITHUB_TOKEN=FORK_TOKEN, METASUP_FAIL_ON="never") == 0


def test_review__5xx_burst_then_success(action: ActionRun, pull_number: int) -> None:
    action.fake.fail_next(2, method="POST", path=f"/repos/{REPO}/issues/{pull_number}/comments", status=502)
    assert action() == 0
    assert len(our_comments(action.fake, pull_number)) == 1


def test_review__secondary_rate_limit_honours_retry_after(action: ActionRun, pull_number: int) -> None:
    action.fake.secondary_rate_limit(1, method="POST", path=f"/repos/{REPO}/issues/{pull_number}/comments")
    assert action() == 0
    assert len(our_comments(action.fake, pull_number)) == 1


def test_review__lost_response_then_retry_leaves_one_comment(action: ActionRun, pull_number: int) -> None:
    """GitHub created the comment but the answer was lost: the retry duplicates, the next run cleans up."""
    action.fake.fail_next(
        1, method="POST", path=f"/repos/{REPO}/issues/{pull_number}/comments", after_handling=True
    )
    action()
    action(METASUP_AS_OF="2026-10-29T20:00:00Z")
    assert len(our_comments(action.fake, pull_number)) == 1


def test_review__ghes_api_url(action: ActionRun, pull_number: int) -> None:
    assert action(GITHUB_API_URL=action.fake.ghes_url) == 0
    assert len(our_comments(action.fake, pull_number)) == 1
    assert {r.prefix for r in action.fake.requests()} == {"/api/v3"}


def test_review__dry_run_writes_nothing(action: ActionRun, pull_number: int) -> None:
    action.fake.reset_log()
    assert action(METASUP_DRY_RUN="true") == 0
    assert action.fake.writes() == []
    assert action.outputs()["comment-id"] == ""


def test_review__bad_config_is_error_exit_2_nothing_written(action: ActionRun, pull_number: int) -> None:
    config = action.workspace / "metasup.yml"
    config.write_text(config.read_text() + "\nsurprise: 1\n")
    action.fake.reset_log()
    assert action() == 2
    assert "::error::" in action.stdout
    assert "surprise: unknown key" in action.stdout
    assert action.fake.writes() == []


def test_review__snapshot_baseline_from_state_branch(action: ActionRun, pull_number: int) -> None:
    action(METASUP_AS_OF="2026-10-23T20:00:00Z", METASUP_DRY_RUN="true")
    snapshot = Path(action.outputs()["report-path"]).read_text()
    action.fake.create_branch(REPO, "metasup-state")
    default = action.fake.repo(REPO).default_branch
    action.fake.commit_files(REPO, "metasup-state", {f"snapshots/{default}.json": snapshot})
    action()
    body = our_comments(action.fake, pull_number)[0].body
    assert "(no baseline)" not in body
    assert "(▲" in body or "(▼" in body
    report = json.loads(Path(action.outputs()["report-path"]).read_text())
    assert report["base"]["source"] == "snapshot"


def test_review__damaged_snapshot_is_no_snapshot(action: ActionRun, pull_number: int) -> None:
    """A snapshot that is not UTF-8 (or not a review) is a cache miss, not the run's end."""
    action.fake.create_branch(REPO, "metasup-state")
    default = action.fake.repo(REPO).default_branch
    action.fake.commit_files(REPO, "metasup-state", {f"snapshots/{default}.json": b"\xf8\xb8{"})
    assert action() == 0
    assert "Internal error" not in action.stdout
    report = json.loads(Path(action.outputs()["report-path"]).read_text())
    assert report["base"]["source"] != "snapshot"


def test_review__workflow_run_event_reviews_its_pr(
    action: ActionRun, pull_number: int, webhook_payload: Callable[[str], dict[str, Any]], tmp_path: Path
) -> None:
    payload = webhook_payload("workflow_run.completed")
    payload["workflow_run"]["pull_requests"] = [
        {
            "number": pull_number,
            "id": 1,
            "url": "",
            "head": {},
            "base": {"repo": {"url": f"{action.fake.url}/repos/{REPO}"}},
        }
    ]
    path = tmp_path / "workflow_run.json"
    path.write_text(json.dumps(payload))
    assert action(GITHUB_EVENT_NAME="workflow_run", GITHUB_EVENT_PATH=str(path)) == 0
    assert len(our_comments(action.fake, pull_number)) == 1


@pytest.mark.parametrize("status", [403, 429])
def test_review__primary_rate_limit_waits_for_reset(action: ActionRun, pull_number: int, status: int) -> None:
    action.fake.primary_rate_limit(
        1, method="POST", path=f"/repos/{REPO}/issues/{pull_number}/comments", status=status, reset_in=1
    )
    assert action() == 0
    assert len(our_comments(action.fake, pull_number)) == 1
    posts = action.fake.requests("POST", f"/repos/{REPO}/issues/{pull_number}/comments")
    assert [r.status for r in posts] == [status, 201]


def test_review__another_bots_comment_with_the_marker_is_left_alone(
    action: ActionRun, pull_number: int
) -> None:
    """With GITHUB_TOKEN our login is exactly github-actions[bot], not "any Bot" (SPEC §5)."""
    action.fake.add_comment(REPO, pull_number, MARKER + "\nrenovate's dependency table", user="renovate[bot]")
    action()
    action(METASUP_AS_OF="2026-10-29T20:00:00Z")
    comments = action.fake.comments(REPO, pull_number)
    assert comments[0].body == MARKER + "\nrenovate's dependency table"  # untouched, not deleted
    assert [c.user for c in comments if c.body.startswith(MARKER)] == ["renovate[bot]", "github-actions[bot]"]


def test_review__a_rate_limited_comment_edit_is_retried(action: ActionRun, pull_number: int) -> None:
    """PATCH is retried like every other method (it was not: GithubRetry's default method list)."""
    action()
    action.fake.secondary_rate_limit(1, method="PATCH", path=f"/repos/{REPO}/issues/comments/*")
    assert action(METASUP_AS_OF="2026-10-29T20:00:00Z") == 0
    assert len(action.fake.requests("PATCH", f"/repos/{REPO}/issues/comments/*")) == 2
    assert len(our_comments(action.fake, pull_number)) == 1
    assert "needs contents: write" not in action.stdout


def test_review__on_the_dask_scheduler_the_environment_names(action: ActionRun, pull_number: int) -> None:
    """SPEC §8: ``engine: {kind: dask}`` in metasup.yml, the scheduler from METASUP_DASK_SCHEDULER;
    the review (JSON and comment) is the local one, and the partitions really ran on the cluster."""
    assert action() == 0
    local_report = json.loads(Path(action.outputs()["report-path"]).read_text())
    local_comment = our_comments(action.fake, pull_number)[0].body

    address = run_on_a_cluster(action.workspace, action)
    assert f"dask engine ({address})" in action.stdout
    dask_report = json.loads(Path(action.outputs()["report-path"]).read_text())
    assert_same(local_report, dask_report)
    assert our_comments(action.fake, pull_number)[0].body == local_comment  # edited to the same body


def test_review__a_full_job_summary_is_a_warning_and_the_review_still_lands(
    action: ActionRun, pull_number: int
) -> None:
    """The summary repeats the comment: a disk that fills up under it (/dev/full) costs a warning."""
    assert action(GITHUB_STEP_SUMMARY="/dev/full") == 0
    assert len(our_comments(action.fake, pull_number)) == 1
    assert action.outputs()["severity"] == "HIGH"
    assert (
        "::warning::GITHUB_STEP_SUMMARY /dev/full: cannot append the job summary (No space left on device)"
        in action.stdout
    )
    assert "Internal error" not in action.stdout


def test_review__outputs_that_cannot_be_written_fail_the_step_with_an_error(
    action: ActionRun, pull_number: int
) -> None:
    """Later steps read severity and result from $GITHUB_OUTPUT: losing them fails the step, named."""
    assert action(GITHUB_OUTPUT="/dev/full") == 1
    assert len(our_comments(action.fake, pull_number)) == 1
    assert "::error::GITHUB_OUTPUT /dev/full: cannot write the step outputs (No space left on device);" in (
        action.stdout
    )
    assert "Internal error" not in action.stdout


@pytest.mark.parametrize("variable", ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"])
def test_review__a_runner_file_in_a_missing_folder_fails_before_any_work(
    action: ActionRun, pull_number: int, variable: str
) -> None:
    missing = action.workspace.parent / "no-such-folder" / "file"
    action.fake.reset_log()
    assert action(**{variable: str(missing)}) == 2
    assert f"::error::{variable}: {missing}: folder {missing.parent} does not exist" in action.stdout
    assert action.fake.writes() == []
    assert our_comments(action.fake, pull_number) == []
