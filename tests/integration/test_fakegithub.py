"""The fake GitHub itself, driven through PyGithub: semantics, pagination, faults, validation."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakegithub import (
    ACTIONS_TOKEN,
    BOT_LOGIN,
    FORK_TOKEN,
    PAT_TOKEN,
    ApiError,
    FakeGitHub,
    OpenAPISpec,
    RequestInfo,
    WebhookExamples,
    served_operations,
)
from fakegithub import factories as fake_factories
from fakegithub import npm as fake_npm
from github import Github, GithubException, InputGitTreeElement, RateLimitExceededException
from github.Commit import Commit
from github.ContentFile import ContentFile

REPO = "octo-org/fleet"


def raw_get(fake: FakeGitHub, path: str, token: str = PAT_TOKEN) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(f"{fake.url}{path}", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return (
                resp.status,
                {k.lower(): v for k, v in resp.headers.items()},
                json.loads(resp.read() or b"null"),
            )
    except urllib.error.HTTPError as err:
        with err:
            return err.code, {k.lower(): v for k, v in err.headers.items()}, json.loads(err.read() or b"null")


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Github:
    return fake_github.client(PAT_TOKEN, retry=None)


@pytest.fixture
def repo_name(fake_github: FakeGitHub) -> str:
    fake_github.create_repo(
        REPO, {"README.md": "# fleet\n", "agents.yaml": "agents: []\n", "docs/a.md": "A\n"}
    )
    return REPO


# -- spec and fixtures -------------------------------------------------------------------------------


def test_served_operations__all_documented(github_openapi: OpenAPISpec) -> None:
    ops = served_operations()
    assert len(ops) == len(set(ops)) >= 35
    for method, template in ops:
        assert github_openapi.has_operation(method, template), (method, template)


def test_npm_cache__reused_without_npm(
    github_openapi: OpenAPISpec, webhook_examples: WebhookExamples, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)  # no download possible now
    path = fake_npm.openapi_deref_path()
    assert path.is_file()
    assert path.parts[-3:] == ("package", "generated", "api.github.com.deref.json")
    assert fake_npm.webhook_examples_path().is_file()
    assert github_openapi.version == fake_npm.OPENAPI_VERSION


def test_webhook_payload__named_examples(
    webhook_payload: Callable[[str], dict[str, Any]], webhook_examples: WebhookExamples
) -> None:
    opened = webhook_payload("pull_request.opened")
    assert opened["action"] == "opened"
    assert opened["pull_request"]["number"] == opened["number"]
    assert webhook_payload("pull_request.opened.12")["action"] == "opened"
    assert "commits" in webhook_payload("push")
    assert webhook_payload("issue_comment.created")["comment"]["body"]
    assert "pull_request.synchronize.22" in webhook_examples.names()
    opened["action"] = "mutated"
    assert webhook_payload("pull_request.opened")["action"] == "opened"  # fresh copy each time
    with pytest.raises(KeyError):
        webhook_payload("pull_request.no_such_action")


def test_github_event_path__adjusted_to_fake(
    fake_github: FakeGitHub, repo_name: str, github_event_path: Callable[..., Path]
) -> None:
    fake_github.commit_files(repo_name, "feature", {"x.txt": "x\n"})
    pr = fake_github.open_pull(repo_name, "feature", title="Feature")
    path = github_event_path("pull_request.opened", repo=repo_name, number=pr.number)
    event = json.loads(path.read_text())
    assert event["action"] == "opened"
    assert event["number"] == pr.number
    assert event["repository"]["full_name"] == repo_name
    assert event["pull_request"]["head"]["ref"] == "feature"
    assert event["pull_request"]["base"]["sha"] == fake_github.ref_sha(repo_name, "main")
    assert event["pull_request"]["url"].startswith(fake_github.url)
    plain = json.loads(github_event_path("workflow_dispatch", ref="refs/heads/main").read_text())
    assert plain["ref"] == "refs/heads/main"


# -- identity and permissions ------------------------------------------------------------------------


def test_get_user__pat_identity(fake_github: FakeGitHub, gh: Github) -> None:
    me = gh.get_user()
    assert me.login == "octocat"
    assert me.name == "The Octocat"
    assert me.type == "User"


def test_get_user__actions_bot_forbidden(fake_github: FakeGitHub) -> None:
    bot = fake_github.client(ACTIONS_TOKEN, retry=None)
    with pytest.raises(GithubException) as exc:
        _ = bot.get_user().login
    assert exc.value.status == 403
    assert exc.value.data["message"] == "Resource not accessible by integration"


def test_get_user__bad_credentials(fake_github: FakeGitHub) -> None:
    with pytest.raises(GithubException) as exc:
        _ = fake_github.client("ghp_unknown", retry=None).get_user().login
    assert exc.value.status == 401


def test_fork_token__write_forbidden(fake_github: FakeGitHub, repo_name: str) -> None:
    pr = fake_github.create_issue(repo_name, "an issue")
    fork = fake_github.client(FORK_TOKEN, retry=None)
    issue = fork.get_repo(repo_name).get_issue(pr.number)  # reads are fine
    with pytest.raises(GithubException) as exc:
        issue.create_comment("hello")
    assert exc.value.status == 403
    assert exc.value.data["message"] == "Resource not accessible by integration"
    assert fake_github.comments(repo_name, pr.number) == []
    assert [(w.method, w.status) for w in fake_github.writes()] == [("POST", 403)]


def test_get_repo__permissions_by_identity(fake_github: FakeGitHub, repo_name: str) -> None:
    assert fake_github.client(PAT_TOKEN).get_repo(repo_name).permissions.push is True
    assert fake_github.client(ACTIONS_TOKEN).get_repo(repo_name).permissions.push is True
    assert fake_github.client(FORK_TOKEN).get_repo(repo_name).permissions.push is False
    with pytest.raises(GithubException) as exc:
        fake_github.client(PAT_TOKEN, retry=None).get_repo("octo-org/missing")
    assert exc.value.status == 404


# -- comments and pagination ---------------------------------------------------------------------------


def test_comments__150_paginated(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    issue = gh.get_repo(repo_name).create_issue("many comments")
    for i in range(150):
        issue.create_comment(f"comment {i}")
    fake_github.reset_log()
    comments = list(issue.get_comments())
    assert [c.body for c in comments] == [f"comment {i}" for i in range(150)]
    pages = fake_github.requests("GET", f"/repos/{repo_name}/issues/{issue.number}/comments")
    assert len(pages) == 5  # 30 per page, followed through Link rel="next"
    assert issue.get_comments().totalCount == 150
    big = fake_github.client(PAT_TOKEN, per_page=100, retry=None)
    fake_github.reset_log()
    assert len(list(big.get_repo(repo_name).get_issue(issue.number).get_comments())) == 150
    assert len(fake_github.requests("GET", "/repos/*/comments")) == 2


def test_comments__link_header(fake_github: FakeGitHub, repo_name: str) -> None:
    iss = fake_github.create_issue(repo_name, "x")
    for i in range(7):
        fake_github.add_comment(repo_name, iss.number, f"c{i}")
    base = f"/repos/{repo_name}/issues/{iss.number}/comments"
    status, headers, body = raw_get(fake_github, f"{base}?per_page=2&page=2")
    assert status == 200
    assert [c["body"] for c in body] == ["c2", "c3"]
    links = {
        part.split('rel="')[1].rstrip('"'): part.split(">")[0].lstrip("<")
        for part in headers["link"].split(", ")
    }
    assert set(links) == {"first", "prev", "next", "last"}
    repo_id = fake_github.repo(repo_name).id  # GitHub links a repository's lists by id
    assert (
        links["next"]
        == f"{fake_github.url}/repositories/{repo_id}/issues/{iss.number}/comments?per_page=2&page=3"
    )
    assert links["last"].endswith("page=4")
    assert links["first"].endswith("page=1")
    _, _, served = raw_get(fake_github, links["next"].removeprefix(fake_github.url))
    assert [c["body"] for c in served] == ["c4", "c5"]
    _, last_headers, last = raw_get(fake_github, f"{base}?per_page=2&page=4")
    assert [c["body"] for c in last] == ["c6"]
    assert 'rel="next"' not in last_headers["link"]
    _, single, _ = raw_get(fake_github, f"{base}?per_page=100")
    assert "link" not in single


def test_comments__edit_delete(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    issue = gh.get_repo(repo_name).create_issue("edit me")
    comment = issue.create_comment("v1")
    fake_github.advance(minutes=5)
    comment.edit("v2")
    assert comment.body == "v2"
    again = gh.get_repo(repo_name).get_issue(issue.number).get_comment(comment.id)
    assert again.body == "v2"
    assert again.updated_at is not None
    assert again.updated_at > again.created_at
    comment.delete()
    assert fake_github.comments(repo_name, issue.number) == []
    with pytest.raises(GithubException) as exc:
        comment.delete()
    assert exc.value.status == 404


def test_comments__other_authors_and_too_long(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    iss = fake_github.create_issue(repo_name, "x")
    fake_github.add_comment(repo_name, iss.number, "human", user="alice")
    bot = fake_github.client(ACTIONS_TOKEN, retry=None)
    bot.get_repo(repo_name).get_issue(iss.number).create_comment("from the bot")
    authors = [c.user.login for c in gh.get_repo(repo_name).get_issue(iss.number).get_comments()]
    assert authors == ["alice", BOT_LOGIN]
    with pytest.raises(GithubException) as exc:
        gh.get_repo(repo_name).get_issue(iss.number).create_comment("x" * 65537)
    assert exc.value.status == 422


def test_titles__over_256_characters_are_refused_as_github_does(
    fake_github: FakeGitHub, repo_name: str, gh: Github
) -> None:
    """GitHub answers 422 "title is too long (maximum is 256 characters)" for issues and PRs
    (reported e.g. in OpenDigitalProductFactory/opendigitalproductfactory#856); 256 is accepted."""
    repo = gh.get_repo(repo_name)
    assert repo.create_issue(title="t" * 256).title == "t" * 256
    with pytest.raises(GithubException) as exc:
        repo.create_issue(title="t" * 257)
    assert exc.value.status == 422
    assert exc.value.data["errors"][0]["message"] == "title is too long (maximum is 256 characters)"
    fake_github.create_branch(repo_name, "feature")
    fake_github.commit_files(repo_name, "feature", {"x.txt": "x\n"})
    with pytest.raises(GithubException) as exc:
        repo.create_pull(base="main", head="feature", title="p" * 257, body="")
    assert exc.value.status == 422


def test_before_request__concurrent_comment(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    iss = fake_github.create_issue(repo_name, "race")

    def racing_run(fake: FakeGitHub, info: RequestInfo) -> None:
        fake.add_comment(repo_name, iss.number, "<!-- marker --> from the other run", user=BOT_LOGIN)

    fake_github.before_request(racing_run, method="POST", path="/repos/*/issues/*/comments")
    gh.get_repo(repo_name).get_issue(iss.number).create_comment("<!-- marker --> mine")
    bodies = [c.body for c in fake_github.comments(repo_name, iss.number)]
    assert bodies == ["<!-- marker --> from the other run", "<!-- marker --> mine"]


def test_before_request__ref_moved_under_client(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    repo = gh.get_repo(repo_name)
    ref = repo.get_git_ref("heads/main")
    tip = repo.get_git_commit(ref.object.sha)
    tree = repo.create_git_tree(
        [InputGitTreeElement("mine.txt", "100644", "blob", content="mine\n")], tip.tree
    )
    mine = repo.create_git_commit("mine", tree, [tip])

    def racing_push(fake: FakeGitHub, info: RequestInfo) -> None:
        fake.commit_files(repo_name, "main", {"theirs.txt": "theirs\n"}, message="racing run")

    fake_github.before_request(racing_push, method="PATCH", path="/repos/*/git/refs/heads/main")
    with pytest.raises(GithubException) as exc:
        ref.edit(mine.sha)
    assert exc.value.status == 422
    assert exc.value.data["message"] == "Update is not a fast forward"
    moved = repo.get_git_ref("heads/main").object.sha
    assert moved != tip.sha
    retry_tree = repo.create_git_tree(
        [InputGitTreeElement("mine.txt", "100644", "blob", content="mine\n")], repo.get_git_commit(moved).tree
    )
    retried = repo.create_git_commit("mine, rebased", retry_tree, [repo.get_git_commit(moved)])
    ref.edit(retried.sha)
    assert fake_github.files_at(repo_name)["theirs.txt"] == "theirs\n"
    assert fake_github.files_at(repo_name)["mine.txt"] == "mine\n"


def test_before_request__hook_error_fails_loudly(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    def boom(fake: FakeGitHub, info: RequestInfo) -> None:
        raise RuntimeError("hook bug")

    fake_github.before_request(boom, method="GET")
    with pytest.raises(GithubException) as exc:
        gh.get_repo(repo_name)
    assert exc.value.status == 500
    errors = fake_github.take_errors()
    assert len(errors) == 1
    assert "hook bug" in errors[0]


def test_server__concurrent_clients(fake_github: FakeGitHub, repo_name: str) -> None:
    iss = fake_github.create_issue(repo_name, "busy")
    clients = [fake_github.client(PAT_TOKEN, retry=None) for _ in range(4)]

    def post(n: int) -> None:
        issue = clients[n].get_repo(repo_name).get_issue(iss.number)
        for i in range(10):
            issue.create_comment(f"{n}-{i}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    comments = fake_github.comments(repo_name, iss.number)
    assert len(comments) == 40
    assert len({c.id for c in comments}) == 40


def test_writes__none_on_reads(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    fake_github.create_issue(repo_name, "x")
    repo = gh.get_repo(repo_name)
    list(repo.get_issues())
    list(repo.get_pulls())
    assert fake_github.writes() == []
    repo.create_label("auto-promote", "0e8a16")
    assert fake_github.write_counts() == {("POST", f"/repos/{repo_name}/labels"): 1}


# -- issues and labels ---------------------------------------------------------------------------------


def test_issues__filters_and_labels(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    repo = gh.get_repo(repo_name)
    label = repo.create_label("auto-promote", "0e8a16", "metasup promotion")
    assert repo.get_label("AUTO-PROMOTE").name == "auto-promote"
    with pytest.raises(GithubException) as exc:
        repo.create_label("auto-promote", "0e8a16")
    assert exc.value.status == 422
    a = repo.create_issue("a")
    a.add_to_labels(label, "new-label")
    fake_github.advance(hours=1)
    b = fake_github.create_issue(repo_name, "b", user="alice", labels=["auto-promote"])
    c = repo.create_issue("c")
    c.edit(state="closed")
    assert [i.number for i in repo.get_issues()] == [b.number, a.number]  # open, newest first
    assert [i.number for i in repo.get_issues(state="all", direction="asc")] == [a.number, b.number, c.number]
    assert [i.number for i in repo.get_issues(labels=["auto-promote", "new-label"])] == [a.number]
    assert [i.number for i in repo.get_issues(creator="alice")] == [b.number]  # type: ignore[arg-type]
    assert [i.number for i in repo.get_issues(state="closed")] == [c.number]
    assert sorted(lab.name for lab in repo.get_labels()) == ["auto-promote", "new-label"]
    with pytest.raises(GithubException):
        repo.get_label("missing")


# -- pull requests ------------------------------------------------------------------------------------


REF_NAMES = [
    "metasup/promote/momo-beta",
    "日本語",
    "a@b",
    "-x",
    "a..b",
    "x.lock",
    "x.lock/y",
    "a b",
    "a:b",
    "a~1",
    "a^",
    "a?",
    "a*",
    "a[",
    "a\\b",
    "a@{1}",
    "a//b",
    ".hidden",
    "a/.b",
    "a/",
    "a.",
    "a\x7f",
]


@pytest.mark.parametrize("branch", REF_NAMES)
def test_create_ref__refuses_what_git_refuses(
    fake_github: FakeGitHub, repo_name: str, gh: Github, branch: str
) -> None:
    """GitHub checks a new ref name as ``git check-ref-format`` does (its 422 "… is not a valid
    ref name."); the real git here is the independent judge."""
    git_accepts = (
        subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"], check=False).returncode == 0
    )
    repo = gh.get_repo(repo_name)
    sha = fake_github.ref_sha(repo_name, "main")
    if git_accepts:
        assert repo.create_git_ref(f"refs/heads/{branch}", sha).object.sha == sha
        return
    with pytest.raises(GithubException) as refused:
        repo.create_git_ref(f"refs/heads/{branch}", sha)
    assert refused.value.status == 422
    assert refused.value.data["message"] == f"refs/heads/{branch} is not a valid ref name."


def test_create_ref__a_branch_and_a_branch_under_it_cannot_both_exist(
    fake_github: FakeGitHub, repo_name: str, gh: Github
) -> None:
    repo = gh.get_repo(repo_name)
    sha = fake_github.ref_sha(repo_name, "main")
    repo.create_git_ref("refs/heads/metasup/promote", sha)
    for ref in ("refs/heads/metasup/promote/momo", "refs/heads/metasup"):
        with pytest.raises(GithubException) as refused:
            repo.create_git_ref(ref, sha)
        assert (refused.value.status, refused.value.data["message"]) == (422, "Reference update failed")


def test_pulls__create_list_merge(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    fake_github.commit_files(repo_name, "metasup/promote/momo", {"agents.yaml": "agents: [momo]\n"})
    repo = gh.get_repo(repo_name)
    pr = repo.create_pull(title="[AUTO-PROMOTE] momo", body="gates", head="metasup/promote/momo", base="main")
    assert pr.mergeable is True
    assert pr.changed_files == 1
    assert pr.commits == 1
    assert pr.head.sha == fake_github.ref_sha(repo_name, "metasup/promote/momo")
    pr.add_to_labels("auto-promote")
    by_head = repo.get_pulls(state="open", head="octo-org:metasup/promote/momo")
    assert [p.number for p in by_head] == [pr.number]
    assert list(repo.get_pulls(head="octo-org:other")) == []
    assert [p.number for p in repo.get_pulls(base="main")] == [pr.number]
    assert [i.number for i in repo.get_issues()] == [pr.number]  # PRs are issues too
    with pytest.raises(GithubException) as dup:
        repo.create_pull(title="again", body="", head="metasup/promote/momo", base="main")
    assert dup.value.status == 422
    old_main = fake_github.ref_sha(repo_name, "main")
    status = pr.merge(merge_method="merge")
    assert status.merged is True
    merged = repo.get_pull(pr.number)
    assert merged.merged is True
    assert merged.state == "closed"
    assert merged.merge_commit_sha == status.sha
    assert fake_github.ref_sha(repo_name, "main") == status.sha
    commit = repo.get_git_commit(status.sha)
    assert [p.sha for p in commit.parents] == [old_main, pr.head.sha]
    assert fake_github.read_file(repo_name, "agents.yaml") == "agents: [momo]\n"
    assert list(repo.get_pulls()) == []
    with pytest.raises(GithubException) as again:
        pr.merge()
    assert again.value.status == 405


def test_pulls__merge_keeps_base_changes_and_detects_conflicts(
    fake_github: FakeGitHub, repo_name: str
) -> None:
    fake_github.commit_files(repo_name, "a", {"a.txt": "a\n"})
    fake_github.commit_files(repo_name, "b", {"agents.yaml": "agents: [b]\n"})
    fake_github.commit_files(repo_name, "c", {"agents.yaml": "agents: [c]\n"})
    pa, pb, pc = (fake_github.open_pull(repo_name, br) for br in ("a", "b", "c"))
    fake_github.merge(repo_name, pb.number)
    fake_github.merge(repo_name, pa.number)
    assert fake_github.read_file(repo_name, "a.txt") == "a\n"
    assert fake_github.read_file(repo_name, "agents.yaml") == "agents: [b]\n"
    gh = fake_github.client(PAT_TOKEN, retry=None)
    conflicted = gh.get_repo(repo_name).get_pull(pc.number)
    assert conflicted.mergeable is False
    with pytest.raises(GithubException) as exc:
        conflicted.merge()
    assert exc.value.status == 405


def test_pulls__actions_not_permitted(fake_github: FakeGitHub) -> None:
    fake_github.create_repo(REPO, {"a": "1\n"}, actions_can_create_prs=False)
    fake_github.commit_files(REPO, "feature", {"a": "2\n"})
    bot = fake_github.client(ACTIONS_TOKEN, retry=None)
    with pytest.raises(GithubException) as exc:
        bot.get_repo(REPO).create_pull(title="t", body="b", head="feature", base="main")
    assert exc.value.status == 403
    assert exc.value.data["message"] == "GitHub Actions is not permitted to create or approve pull requests."
    pat_pr = (
        fake_github.client(PAT_TOKEN)
        .get_repo(REPO)
        .create_pull(title="t", body="", head="feature", base="main")
    )
    assert pat_pr.user.login == "octocat"


def test_pulls__human_veto_and_review(fake_github: FakeGitHub, repo_name: str) -> None:
    fake_github.commit_files(repo_name, "p1", {"x": "1\n"})
    bot = fake_github.client(ACTIONS_TOKEN, retry=None)
    pr = bot.get_repo(repo_name).create_pull(title="promote", body="", head="p1", base="main")
    fake_github.submit_review(repo_name, pr.number, "CHANGES_REQUESTED", "not yet", user="maintainer")
    reviews = list(bot.get_repo(repo_name).get_pull(pr.number).get_reviews())
    assert [(r.user.login, r.state) for r in reviews] == [("maintainer", "CHANGES_REQUESTED")]
    review = (
        fake_github.client(PAT_TOKEN)
        .get_repo(repo_name)
        .get_pull(pr.number)
        .create_review(body="fine", event="APPROVE")
    )
    assert review.state == "APPROVED"
    fake_github.advance(hours=2)
    fake_github.close_pull(repo_name, pr.number, user="maintainer")
    closed = bot.get_repo(repo_name).get_pull(pr.number)
    assert closed.state == "closed"
    assert closed.merged is False
    assert closed.closed_at is not None
    assert closed.closed_at > closed.created_at


# -- git data ----------------------------------------------------------------------------------------


def test_git_data__round_trip(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    repo = gh.get_repo(repo_name)
    main = repo.get_git_ref("heads/main")
    base_commit = repo.get_git_commit(main.object.sha)
    text_blob = repo.create_git_blob("snapshot ✓\n", "utf-8")
    bin_blob = repo.create_git_blob(base64.b64encode(b"\x00\x01binary").decode(), "base64")
    assert (
        repo.get_git_blob(bin_blob.sha).content.replace("\n", "")
        == base64.b64encode(b"\x00\x01binary").decode()
    )
    tree = repo.create_git_tree(
        [
            InputGitTreeElement("snapshots/main.json", "100644", "blob", sha=text_blob.sha),
            InputGitTreeElement("bin/data", "100644", "blob", sha=bin_blob.sha),
            InputGitTreeElement("ledger.jsonl", "100644", "blob", content='{"seq": 1}\n'),
            InputGitTreeElement("docs/a.md", "100644", "blob", sha=None),
        ],
        base_tree=base_commit.tree,
    )
    paths = {e.path for e in repo.get_git_tree(tree.sha, recursive=True).tree}
    assert {"README.md", "snapshots", "snapshots/main.json", "ledger.jsonl", "bin/data"} <= paths
    assert "docs/a.md" not in paths
    commit = repo.create_git_commit("state update", tree, [base_commit])
    assert commit.parents[0].sha == base_commit.sha
    assert len(commit.sha) == 40
    state_ref = repo.create_git_ref("refs/heads/metasup-state", commit.sha)
    assert state_ref.ref == "refs/heads/metasup-state"
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/metasup-state", commit.sha)
    assert exists.value.status == 422
    assert fake_github.read_file(repo_name, "snapshots/main.json", "metasup-state") == "snapshot ✓\n"
    # fast-forward update
    tree2 = repo.create_git_tree(
        [InputGitTreeElement("ledger.jsonl", "100644", "blob", content='{"seq": 2}\n')], base_tree=tree
    )
    child = repo.create_git_commit("next", tree2, [commit])
    state_ref.edit(child.sha)
    assert fake_github.ref_sha(repo_name, "heads/metasup-state") == child.sha
    # non-fast-forward (a sibling of child) is refused unless forced
    orphan = repo.create_git_commit("orphan", tree2, [])
    with pytest.raises(GithubException) as nff:
        state_ref.edit(orphan.sha)
    assert nff.value.status == 422
    assert nff.value.data["message"] == "Update is not a fast forward"
    state_ref.edit(orphan.sha, force=True)
    assert repo.get_git_ref("heads/metasup-state").object.sha == orphan.sha
    assert [r.ref for r in repo.get_git_matching_refs("heads/metasup")] == ["refs/heads/metasup-state"]
    state_ref.delete()
    with pytest.raises(GithubException) as gone:
        repo.get_git_ref("heads/metasup-state")
    assert gone.value.status == 404


def test_git_data__shas_are_git_shas(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    blob = gh.get_repo(repo_name).create_git_blob("hello\n", "utf-8")
    assert blob.sha == "ce013625030ba8dba906f756967f9e9ca394464a"  # `echo hello | git hash-object --stdin`


def test_contents__files_dirs_refs(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    repo = gh.get_repo(repo_name)

    def text(path: str, ref: str | None = None) -> bytes:
        found = repo.get_contents(path, ref=ref) if ref else repo.get_contents(path)
        assert isinstance(found, ContentFile)
        return found.decoded_content

    assert text("agents.yaml") == b"agents: []\n"
    fake_github.commit_files(repo_name, "feature", {"agents.yaml": "agents: [x]\n"})
    assert text("agents.yaml", "feature") == b"agents: [x]\n"
    sha = fake_github.ref_sha(repo_name, "main")
    assert sha is not None
    assert text("agents.yaml", sha) == b"agents: []\n"
    listing = repo.get_contents("docs")
    assert isinstance(listing, list)
    assert [f.path for f in listing] == ["docs/a.md"]
    with pytest.raises(GithubException) as missing:
        repo.get_contents("nope.txt")
    assert missing.value.status == 404
    branch = repo.get_branch("feature")
    assert branch.commit.sha == fake_github.ref_sha(repo_name, "feature")


def test_contents__put_file_create_update(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    repo = gh.get_repo(repo_name)
    created = repo.create_file("snapshots/main.json", "add snapshot", "{}\n", branch="main")
    assert fake_github.read_file(repo_name, "snapshots/main.json") == "{}\n"
    with pytest.raises(GithubException) as stale:
        repo.update_file("snapshots/main.json", "update", "{1}\n", sha="0" * 40)
    assert stale.value.status == 409
    content = created["content"]
    assert isinstance(content, ContentFile)
    updated = repo.update_file("snapshots/main.json", "update", '{"a": 1}\n', sha=content.sha)
    assert fake_github.read_file(repo_name, "snapshots/main.json") == '{"a": 1}\n'
    commit = repo.get_commit(updated["commit"].sha)
    assert [(f.filename, f.status, f.additions, f.deletions) for f in commit.files] == [
        ("snapshots/main.json", "modified", 1, 1)
    ]


def test_pulls__files_labels_is_merged(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    fake_github.commit_files(repo_name, "feature", {"agents.yaml": "agents: [a, b]\n", "new.txt": "n\n"})
    pr = gh.get_repo(repo_name).create_pull(title="t", body="", head="feature", base="main")
    files = {f.filename: f.status for f in pr.get_files()}
    assert files == {"agents.yaml": "modified", "new.txt": "added"}
    pr.add_to_labels("a", "b")
    pr.remove_from_labels("a")
    assert [lab.name for lab in pr.get_labels()] == ["b"]
    pr.set_labels("c")
    assert [lab.name for lab in gh.get_repo(repo_name).get_issue(pr.number).labels] == ["c"]
    assert pr.is_merged() is False
    pr.merge(merge_method="squash")
    assert pr.is_merged() is True
    squash = gh.get_repo(repo_name).get_commit("main")
    assert len(squash.parents) == 1


def test_ghes_prefix__urls_and_pagination(fake_github: FakeGitHub, repo_name: str) -> None:
    iss = fake_github.create_issue(repo_name, "ghes")
    for i in range(35):
        fake_github.add_comment(repo_name, iss.number, f"c{i}")
    ghes = fake_github.client(PAT_TOKEN, ghes=True, retry=None)
    repo = ghes.get_repo(repo_name)
    assert repo.url == f"{fake_github.ghes_url}/repos/{repo_name}"
    assert len(list(repo.get_issue(iss.number).get_comments())) == 35
    assert {r.prefix for r in fake_github.requests()} == {"/api/v3"}


# -- faults -------------------------------------------------------------------------------------------


def test_fail_next__5xx_burst_then_success(fake_github: FakeGitHub, repo_name: str) -> None:
    iss = fake_github.create_issue(repo_name, "flaky")
    fake_github.fail_next(2, method="GET", path="/repos/*/issues/*", status=502)
    gh = fake_github.client(PAT_TOKEN)  # PyGithub's default GithubRetry
    assert gh.get_repo(repo_name).get_issue(iss.number).title == "flaky"
    statuses = [r.status for r in fake_github.requests("GET", "/repos/*/issues/*")]
    assert statuses == [502, 502, 200]
    fake_github.fail_next(1, method="GET", status=503)
    with pytest.raises(GithubException) as exc:
        fake_github.client(PAT_TOKEN, retry=None).get_repo(repo_name)
    assert exc.value.status == 503


def test_fail_next__after_handling_loses_only_the_answer(fake_github: FakeGitHub, repo_name: str) -> None:
    iss = fake_github.create_issue(repo_name, "x")
    fake_github.fail_next(1, method="POST", path="/repos/*/issues/*/comments", after_handling=True)
    with pytest.raises(GithubException) as exc:
        fake_github.client(PAT_TOKEN, retry=None).get_repo(repo_name).get_issue(iss.number).create_comment(
            "once"
        )
    assert exc.value.status == 502
    assert [c.body for c in fake_github.comments(repo_name, iss.number)] == ["once"]


def test_secondary_rate_limit__retry_after(fake_github: FakeGitHub, repo_name: str) -> None:
    fake_github.secondary_rate_limit(1, method="POST", retry_after=1)
    iss = fake_github.create_issue(repo_name, "x")
    gh = fake_github.client(PAT_TOKEN, retry=None)
    issue = gh.get_repo(repo_name).get_issue(iss.number)
    with pytest.raises(GithubException) as exc:
        issue.create_comment("hello")
    assert exc.value.status == 403
    assert exc.value.headers is not None
    assert exc.value.headers["retry-after"] == "1"
    assert "secondary rate limit" in exc.value.data["message"]
    issue.create_comment("hello")  # the limit is lifted after n requests
    assert len(fake_github.comments(repo_name, iss.number)) == 1


def test_primary_rate_limit__remaining_zero(fake_github: FakeGitHub, repo_name: str) -> None:
    fake_github.primary_rate_limit(1, method="GET", status=403, reset_in=30)
    with pytest.raises(RateLimitExceededException) as exc:
        fake_github.client(PAT_TOKEN, retry=None).get_repo(repo_name)
    headers = exc.value.headers or {}
    assert headers["x-ratelimit-remaining"] == "0"
    assert int(headers["x-ratelimit-reset"]) > 0


def test_rate_limit_headers__on_every_response(fake_github: FakeGitHub, repo_name: str) -> None:
    for path in (f"/repos/{repo_name}", f"/repos/{repo_name}/issues/999", "/user"):
        _, headers, _ = raw_get(fake_github, path)
        for name in ("limit", "remaining", "reset", "used", "resource"):
            assert f"x-ratelimit-{name}" in headers
    assert int(headers["x-ratelimit-used"]) == 3
    assert int(headers["x-ratelimit-remaining"]) == 5000 - 3
    status, _, body = raw_get(fake_github, "/rate_limit")  # does not count, like on GitHub
    assert status == 200
    assert body["resources"]["core"]["used"] == 3
    _, bot_headers, _ = raw_get(fake_github, "/user", token=ACTIONS_TOKEN)
    assert bot_headers["x-ratelimit-limit"] == "1000"
    assert bot_headers["x-ratelimit-used"] == "1"


# -- validation ----------------------------------------------------------------------------------------


def test_validation__invalid_response_is_caught(
    fake_github: FakeGitHub, repo_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fake_factories.comment

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = real(*args, **kwargs)
        del out["id"]  # required by GitHub's "Issue Comment" schema
        return out

    monkeypatch.setattr(fake_factories, "comment", broken)
    iss = fake_github.create_issue(repo_name, "x")
    gh = fake_github.client(PAT_TOKEN, retry=None)
    with pytest.raises(GithubException) as exc:
        gh.get_repo(repo_name).get_issue(iss.number).create_comment("hello")
    assert exc.value.status == 500
    errors = fake_github.take_errors()  # consumed here, so the fixture's teardown stays green
    assert len(errors) == 1
    assert "'id' is a required property" in errors[0]
    assert "post /repos/{owner}/{repo}/issues/{issue_number}/comments" in errors[0]


def test_validation__unserved_route_is_an_error(fake_github: FakeGitHub, repo_name: str) -> None:
    gh = fake_github.client(PAT_TOKEN, retry=None)
    with pytest.raises(GithubException) as exc:
        list(gh.get_repo(repo_name).get_releases())
    assert exc.value.status == 404
    assert any("not served by the fake" in e for e in fake_github.take_errors())


def test_validation__spec_rejects_bad_objects(github_openapi: OpenAPISpec) -> None:
    ok = github_openapi.validate_response("get", "/user", 403, {}, b'{"message": "x"}')
    assert ok == []
    bad = github_openapi.validate_response(
        "get", "/repos/{owner}/{repo}/labels/{name}", 200, {}, b'{"id": 1}'
    )
    assert any("required property" in p for p in bad)
    undeclared = github_openapi.validate_response(
        "delete", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200, {}, b"{}"
    )
    assert undeclared
    assert "not declared" in undeclared[0]


BROKEN_FACTORIES: list[tuple[str, str, Callable[[Github, dict[str, str]], object]]] = [
    ("private_user", "created_at", lambda gh, ids: gh.get_user().login),
    ("repository", "full_name", lambda gh, ids: gh.get_repo(REPO).description),
    ("issue", "number", lambda gh, ids: gh.get_repo(REPO).get_issue(int(ids["issue"]))),
    ("pull_request", "head", lambda gh, ids: gh.get_repo(REPO).get_pull(int(ids["pull"]))),
    ("label", "color", lambda gh, ids: gh.get_repo(REPO).get_label("bug")),
    (
        "review",
        "state",
        lambda gh, ids: list(gh.get_repo(REPO).get_pull(int(ids["pull"])).get_reviews()),
    ),
    ("git_ref", "object", lambda gh, ids: gh.get_repo(REPO).get_git_ref("heads/main")),
    ("git_commit", "tree", lambda gh, ids: gh.get_repo(REPO).get_git_commit(ids["commit"])),
    ("git_tree", "truncated", lambda gh, ids: gh.get_repo(REPO).get_git_tree(ids["tree"])),
    ("blob", "content", lambda gh, ids: gh.get_repo(REPO).get_git_blob(ids["blob"])),
    ("content_item", "sha", lambda gh, ids: gh.get_repo(REPO).get_contents("README.md")),
    ("branch", "protected", lambda gh, ids: gh.get_repo(REPO).get_branch("main")),
]


@pytest.mark.parametrize(("factory", "field", "call"), BROKEN_FACTORIES, ids=[c[0] for c in BROKEN_FACTORIES])
def test_validation__every_factory_is_checked(
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    factory: str,
    field: str,
    call: Callable[[Github, dict[str, str]], object],
) -> None:
    repo = fake_github.create_repo(REPO, {"README.md": "hi\n"})
    fake_github.commit_files(REPO, "feature", {"README.md": "ho\n"})
    pr = fake_github.open_pull(REPO, "feature", labels=["bug"])
    fake_github.submit_review(REPO, pr.number)
    commit = repo.git.commits[repo.branch_sha("main") or ""]
    ids = {
        "issue": str(fake_github.create_issue(REPO, "i").number),
        "pull": str(pr.number),
        "commit": commit.sha,
        "tree": commit.tree,
        "blob": repo.git.put_blob(b"hi\n"),
    }
    real = getattr(fake_factories, factory)

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = real(*args, **kwargs)
        del out[field]
        return out

    monkeypatch.setattr(fake_factories, factory, broken)
    with pytest.raises(GithubException) as exc:
        call(fake_github.client(PAT_TOKEN, retry=None), ids)
    assert exc.value.status == 500
    errors = fake_github.take_errors()
    assert len(errors) == 1
    assert f"'{field}' is a required property" in errors[0]


# -- truthfulness: forks, authors, large files, merge sha, rate limits, links -------------------------


def raw_request(
    fake: FakeGitHub, path: str, accept: str, token: str = PAT_TOKEN
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"token {token}", "Accept": accept}
    req = urllib.request.Request(f"{fake.url}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_fork_pull__head_repo_is_the_fork(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    fork = fake_github.fork_repo(repo_name, "contributor")
    assert fork.full_name == "contributor/fleet"
    fake_github.commit_files(
        "contributor/fleet", "main", {"agents.yaml": "agents: [fork]\n"}, user="contributor"
    )
    assert fake_github.read_file(repo_name, "agents.yaml") == "agents: []\n"  # the base is untouched
    fake_github.add_token("ghp_contributor", "contributor")
    contributor = fake_github.client("ghp_contributor", retry=None)
    created = contributor.get_repo(repo_name).create_pull(
        title="From my fork", body="", head="contributor:main", base="main"
    )
    pr = gh.get_repo(repo_name).get_pull(created.number)
    assert pr.user.login == "contributor"
    assert (pr.head.ref, pr.head.label, pr.head.user.login) == ("main", "contributor:main", "contributor")
    assert pr.head.repo.full_name == "contributor/fleet"
    assert pr.head.repo.fork is True
    assert pr.base.repo.full_name == repo_name
    assert pr.head.sha == fake_github.ref_sha("contributor/fleet", "main")
    assert pr.base.sha == fake_github.ref_sha(repo_name, "main")
    assert [f.filename for f in pr.get_files()] == ["agents.yaml"]
    repo = gh.get_repo(repo_name)
    assert [p.number for p in repo.get_pulls(head="contributor:main")] == [pr.number]
    assert list(repo.get_pulls(head="octo-org:main")) == []
    fork_json = gh.get_repo("contributor/fleet")
    assert fork_json.fork is True
    assert fork_json.parent.full_name == repo_name
    assert repo.forks_count == 1
    pr.merge(merge_method="merge", sha=pr.head.sha)
    assert fake_github.read_file(repo_name, "agents.yaml") == "agents: [fork]\n"
    merge_commit = repo.get_git_commit(fake_github.ref_sha(repo_name, "main") or "")
    assert merge_commit.message.startswith(f"Merge pull request #{pr.number} from contributor/main")


def test_fork_pull__helpers_and_branch_deletion(fake_github: FakeGitHub, repo_name: str) -> None:
    fake_github.fork_repo(repo_name, "alice")
    fake_github.commit_files("alice/fleet", "fix", {"x.txt": "x\n"}, user="alice")
    same_name = fake_github.commit_files(repo_name, "fix", {"y.txt": "y\n"})  # a base branch of that name
    pr = fake_github.open_pull(repo_name, "alice:fix", user="alice")
    other = fake_github.open_pull(repo_name, "fix", head_repo="alice/fleet", user="alice", title="again")
    mine = fake_github.open_pull(repo_name, "fix", title="same-repo")
    gh = fake_github.client(PAT_TOKEN, retry=None)
    assert gh.get_repo(repo_name).get_pull(mine.number).head.sha == same_name
    assert gh.get_repo(repo_name).get_pull(other.number).head.repo.full_name == "alice/fleet"
    with pytest.raises(KeyError):
        fake_github.open_pull(repo_name, "nobody:fix")
    gh.get_repo("alice/fleet").get_git_ref("heads/fix").delete()  # closes the PRs from that branch
    assert [p.number for p in fake_github.pulls(repo_name)] == [mine.number]
    assert fake_github.issue(repo_name, pr.number).state == "closed"


def test_push_to_pull__moves_head_sha(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    fake_github.fork_repo(repo_name, "contributor")
    fake_github.commit_files("contributor/fleet", "feature", {"a.txt": "1\n"}, user="contributor")
    pr = fake_github.open_pull(repo_name, "contributor:feature", user="contributor")
    before = gh.get_repo(repo_name).get_pull(pr.number).head.sha
    pushed = fake_github.push_to_pull(repo_name, pr.number, {"a.txt": "2\n"}, user="maintainer")
    after = gh.get_repo(repo_name).get_pull(pr.number)
    assert after.head.sha == pushed != before
    assert after.commits == 2
    assert gh.get_repo(repo_name).get_commit(pushed).commit.author.name == "maintainer"
    fake_github.commit_files(repo_name, "own", {"b.txt": "b\n"})
    own = fake_github.open_pull(repo_name, "own", user="renovate[bot]")
    moved = fake_github.commit_files(repo_name, "own", {"b.txt": "c\n"}, user="bob")  # another user pushes
    assert gh.get_repo(repo_name).get_pull(own.number).head.sha == moved


def test_pull_authors__bots(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    fake_github.commit_files(repo_name, "deps", {"x": "1\n"})
    fake_github.commit_files(repo_name, "bump", {"y": "1\n"})
    renovate = fake_github.open_pull(repo_name, "deps", user="renovate[bot]")
    dependabot = fake_github.open_pull(repo_name, "bump", user="dependabot[bot]")
    fake_github.commit_files(repo_name, "promote", {"z": "1\n"})
    actions = fake_github.client(ACTIONS_TOKEN, retry=None).get_repo(repo_name)
    ours = actions.create_pull(title="promote", body="", head="promote", base="main")
    fake_github.commit_files(repo_name, "human", {"h": "1\n"})
    human = fake_github.open_pull(repo_name, "human", user="alice")
    repo = gh.get_repo(repo_name)
    users = {
        n: repo.get_pull(n).user for n in (renovate.number, dependabot.number, ours.number, human.number)
    }
    assert [(u.login, u.type) for u in users.values()] == [
        ("renovate[bot]", "Bot"),
        ("dependabot[bot]", "Bot"),
        (BOT_LOGIN, "Bot"),
        ("alice", "User"),
    ]
    assert users[renovate.number].id == 29139614
    assert users[renovate.number].html_url.endswith("/apps/renovate")
    assert {i.user.login: i.user.type for i in repo.get_issues()}["renovate[bot]"] == "Bot"
    assert fake_github.add_user("svc", type="Bot").type == "Bot"


def test_contents__large_file_blob_and_raw(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    big = "".join(f"line {i:07d}\n" for i in range(110_000)).encode()  # 1.43 MB
    fake_github.commit_files(repo_name, "main", {"big.txt": big})
    repo = gh.get_repo(repo_name)
    content = repo.get_contents("big.txt")
    assert isinstance(content, ContentFile)
    assert (content.encoding, content.content, content.size) == ("none", "", len(big))
    blob = repo.get_git_blob(content.sha)
    assert blob.encoding == "base64"
    assert base64.b64decode(blob.content) == big
    status, headers, body = raw_request(
        fake_github, f"/repos/{repo_name}/contents/big.txt", "application/vnd.github.raw"
    )
    assert (status, body) == (200, big)
    assert headers["content-type"] == "application/vnd.github.raw; charset=utf-8"
    assert headers["x-github-media-type"] == "github.v3; param=raw"
    _, data = gh.requester.requestJsonAndCheck(
        "GET", f"/repos/{repo_name}/contents/big.txt", headers={"Accept": "application/vnd.github.raw+json"}
    )
    assert data["data"] == big.decode()  # PyGithub hands a non-JSON body back as {"data": text}
    _, _, blob_raw = raw_request(
        fake_github, f"/repos/{repo_name}/git/blobs/{content.sha}", "application/vnd.github.raw"
    )
    assert blob_raw == big
    small = repo.get_contents("agents.yaml")
    assert isinstance(small, ContentFile)
    assert small.decoded_content == b"agents: []\n"
    _, _, small_raw = raw_request(
        fake_github, f"/repos/{repo_name}/contents/agents.yaml", "application/vnd.github.v3.raw"
    )
    assert small_raw == b"agents: []\n"


def test_contents__object_media_root_and_empty_repo(
    fake_github: FakeGitHub, repo_name: str, gh: Github
) -> None:
    status, _, body = raw_request(
        fake_github, f"/repos/{repo_name}/contents/docs", "application/vnd.github.object"
    )
    tree = json.loads(body)
    assert (status, tree["type"], [e["path"] for e in tree["entries"]]) == (200, "dir", ["docs/a.md"])
    root = gh.get_repo(repo_name).get_contents("")
    assert isinstance(root, list)
    assert sorted(f.path for f in root) == ["README.md", "agents.yaml", "docs"]
    fake_github.create_repo("octo-org/empty", auto_init=False)
    empty = gh.get_repo("octo-org/empty")
    with pytest.raises(GithubException) as exc:
        empty.get_contents("README.md")
    assert (exc.value.status, exc.value.data["message"]) == (404, "This repository is empty.")
    with pytest.raises(GithubException) as no_refs:
        list(empty.get_git_refs())
    assert no_refs.value.status == 409
    root_commit = empty.create_file("README.md", "first", "hi\n")["commit"]
    assert isinstance(root_commit, Commit)
    assert root_commit.parents == []
    assert [r.ref for r in empty.get_git_refs()] == ["refs/heads/main"]  # GET /git/refs (legacy list)


def test_labels__edit_delete_and_defaults(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    repo = gh.get_repo(repo_name)
    label = repo.create_label("auto-promote", "0E8A16")
    iss = fake_github.create_issue(repo_name, "x", labels=["auto-promote"])
    label.edit("promote", "BADA55", "renamed")
    assert (label.name, label.color, label.description) == ("promote", "BADA55", "renamed")
    assert [lab.name for lab in repo.get_issue(iss.number).labels] == ["promote"]
    repo.get_label("promote").delete()
    assert list(repo.get_labels()) == []
    assert repo.get_issue(iss.number).labels == []
    fake_github.create_repo("octo-org/fresh", default_labels=True)
    assert len(list(gh.get_repo("octo-org/fresh").get_labels())) == 9
    fake_github.create_label("octo-org/fresh", "metasup", "0e8a16", "ours")
    assert gh.get_repo("octo-org/fresh").get_label("metasup").description == "ours"


def test_merge__sha_must_be_the_head(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    fake_github.commit_files(repo_name, "feature", {"a.txt": "1\n"})
    pr = gh.get_repo(repo_name).create_pull(title="t", body="", head="feature", base="main")
    seen = pr.head.sha
    fake_github.push_to_pull(repo_name, pr.number, {"a.txt": "2\n"}, user="bob")  # pushed after review
    with pytest.raises(GithubException) as exc:
        pr.merge(merge_method="squash", sha=seen)
    assert exc.value.status == 409
    assert exc.value.data["message"] == "Head branch was modified. Review and try the merge again."
    assert fake_github.issue(repo_name, pr.number).state == "open"
    with pytest.raises(ApiError) as helper:
        fake_github.merge(repo_name, pr.number, sha=seen)
    assert helper.value.status == 409
    head = gh.get_repo(repo_name).get_pull(pr.number).head.sha
    assert pr.merge(merge_method="squash", sha=head).merged is True


def test_rate_limit__primary_window_is_consistent(fake_github: FakeGitHub, repo_name: str) -> None:
    iss = fake_github.create_issue(repo_name, "x")
    _, before, _ = raw_get(fake_github, f"/repos/{repo_name}")
    fake_github.primary_rate_limit(2, method="GET", path="/repos/*/issues/*", status=429, reset_in=30)
    status, limited, body = raw_get(fake_github, f"/repos/{repo_name}/issues/{iss.number}")
    assert status == 429
    assert body["message"] == f"API rate limit exceeded for user ID {fake_github.users['octocat'].id}."
    assert (limited["x-ratelimit-remaining"], limited["x-ratelimit-used"]) == ("0", "5000")
    reset = int(limited["x-ratelimit-reset"])
    assert 0 < reset - time.time() <= 31
    _, _, rate = raw_get(fake_github, "/rate_limit")  # the window stays exhausted...
    assert (rate["resources"]["core"]["remaining"], rate["resources"]["core"]["reset"]) == (0, reset)
    status, again, _ = raw_get(fake_github, f"/repos/{repo_name}/issues/{iss.number}")
    assert (status, again["x-ratelimit-remaining"]) == (429, "0")
    status, after, _ = raw_get(fake_github, f"/repos/{repo_name}/issues/{iss.number}")  # ...then resets
    assert (status, after["x-ratelimit-remaining"], after["x-ratelimit-used"]) == (200, "4999", "1")
    assert int(after["x-ratelimit-reset"]) == reset + 3600
    assert int(before["x-ratelimit-remaining"]) == 4999
    fake_github.primary_rate_limit(1, status=403)
    _, _, bot_body = raw_get(fake_github, "/rate_limit", token=ACTIONS_TOKEN)
    assert bot_body["message"] == "API rate limit exceeded for installation ID 1."
    fake_github.secondary_rate_limit(1, status=429, retry_after=2)
    status, secondary, _ = raw_get(fake_github, f"/repos/{repo_name}")
    assert (status, secondary["retry-after"]) == (429, "2")
    assert secondary["x-ratelimit-remaining"] != "0"  # a secondary limit leaves the primary alone


def test_pagination__links_by_repository_id(fake_github: FakeGitHub, repo_name: str, gh: Github) -> None:
    for i in range(35):
        fake_github.create_issue(repo_name, f"issue {i}")
    repo_id = fake_github.repo(repo_name).id
    _, headers, _ = raw_get(fake_github, f"/repos/{repo_name}/issues?state=open")
    assert headers["link"] == (
        f'<{fake_github.url}/repositories/{repo_id}/issues?state=open&page=2>; rel="next", '
        f'<{fake_github.url}/repositories/{repo_id}/issues?state=open&page=2>; rel="last"'
    )
    fake_github.reset_log()
    assert len(list(gh.get_repo(repo_name).get_issues())) == 35
    logged = fake_github.requests("GET", f"/repos/{repo_name}/issues")  # logged under the /repos path
    assert [r.raw_path for r in logged] == [f"/repos/{repo_name}/issues", f"/repositories/{repo_id}/issues"]
    status, _, body = raw_get(fake_github, f"/repositories/{repo_id}")
    assert (status, body["full_name"]) == (200, repo_name)
    assert raw_get(fake_github, "/repositories/1")[0] == 404
    assert fake_github.take_errors() == []  # an unknown id is GitHub's 404, not an unserved route
