"""Pull requests: list/create/update, merge, reviews, files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import factories
from .routes import (
    ACTIONS_PR_MESSAGE,
    DOCS,
    Request,
    Response,
    actor,
    body_dict,
    check_body_length,
    check_title_length,
    created,
    get_pull,
    get_repo,
    paginate,
    require_str,
    route,
)
from .state import BOT_LOGIN, ApiError, PullInfo, Repo, not_found, validation_failed

if TYPE_CHECKING:
    from .server import FakeGitHub
from .api_issues import set_state, sort_issues, state_filter

# -- pull requests ---------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    items = state_filter([i for i in repo.issues.values() if i.pull is not None], req)
    if req.query.get("head"):
        owner, sep, ref = req.query["head"].rpartition(":")
        items = [
            i
            for i in items
            if i.pull is not None
            and i.pull.head_ref == ref
            and (not sep or owner.lower() == repo.pull_head_repo(i).owner.lower())
        ]
    if req.query.get("base"):
        items = [i for i in items if i.pull is not None and i.pull.base_ref == req.query["base"]]
    if req.query.get("sort") == "popularity":
        items = sorted(items, key=lambda i: i.number, reverse=True)
    else:
        items = sort_issues(items, req)
    return paginate(req, [factories.pull_request(i, repo, fake.users, req.urls, simple=True) for i in items])


def _actions_forbidden(req: Request, repo: Repo) -> bool:
    """The repository setting "Allow GitHub Actions to create … pull requests" binds GITHUB_TOKEN
    (the github-actions App), not another App's installation token."""
    ident = req.identity
    return (
        ident is not None
        and ident.installation
        and ident.login == BOT_LOGIN
        and not repo.actions_can_create_prs
    )


@route("POST", "/repos/{owner}/{repo}/pulls")
def create_pull(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    if _actions_forbidden(req, repo):
        raise ApiError(403, ACTIONS_PR_MESSAGE, documentation_url=f"{DOCS}/pulls/pulls#create-a-pull-request")
    body = body_dict(req)
    head_spec = require_str(body, "head", "PullRequest")
    base = require_str(body, "base", "PullRequest")
    title = body.get("title")
    if not title:
        raise validation_failed("PullRequest", "title", "missing_field")
    check_title_length(title, "PullRequest")
    check_body_length(body.get("body"), "PullRequest")
    head_owner, _, head = head_spec.rpartition(":")
    head_repo = fake.head_repository(repo, head_owner or None, body.get("head_repo"))
    if head_repo is None:
        raise validation_failed("PullRequest", "head", "invalid")
    head_sha, base_sha = head_repo.branch_sha(head), repo.branch_sha(base)
    if base_sha is None:
        raise validation_failed("PullRequest", "base", "invalid")
    if head_sha is None:
        raise validation_failed("PullRequest", "head", "invalid")
    for other in repo.issues.values():
        if (
            other.pull
            and other.state == "open"
            and other.pull.head_ref == head
            and repo.pull_head_repo(other) is head_repo
            and other.pull.base_ref == base
        ):
            raise validation_failed(
                "PullRequest", None, "custom", f"A pull request already exists for {head_repo.owner}:{head}."
            )
    if repo.git.is_ancestor(head_sha, base_sha):
        raise validation_failed("PullRequest", None, "custom", f"No commits between {base} and {head}")
    iss = fake.new_issue(repo, str(title), body.get("body"), who)
    iss.pull = PullInfo(
        head_ref=head,
        base_ref=base,
        head_sha=head_sha,
        base_sha=base_sha,
        draft=bool(body.get("draft", False)),
        maintainer_can_modify=bool(body.get("maintainer_can_modify", False)),
        head_repo=None if head_repo is repo else head_repo,
    )
    return created(factories.pull_request(iss, repo, fake.users, req.urls))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull_route(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    iss = get_pull(repo, req.params["pull_number"])
    return Response(200, factories.pull_request(iss, repo, fake.users, req.urls))


@route("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}")
def update_pull(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    iss = get_pull(repo, req.params["pull_number"])
    assert iss.pull is not None
    body = body_dict(req)
    if body.get("title"):
        check_title_length(body["title"], "PullRequest")
        iss.title = str(body["title"])
    if "body" in body:
        check_body_length(body["body"], "PullRequest")
        iss.body = body["body"]
    if "base" in body:
        if repo.branch_sha(str(body["base"])) is None:
            raise validation_failed("PullRequest", "base", "invalid")
        iss.pull.base_ref = str(body["base"])
    if "maintainer_can_modify" in body:
        iss.pull.maintainer_can_modify = bool(body["maintainer_can_modify"])
    if "state" in body:
        if iss.state == "open" and body["state"] == "closed":
            repo.head_sha(iss)  # freeze the live SHAs before closing
            repo.base_sha(iss)
        set_state(fake, iss, str(body["state"]), who)
    iss.updated_at = fake.clock.now()
    return Response(200, factories.pull_request(iss, repo, fake.users, req.urls))


@route("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def merge_pull(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    iss = get_pull(repo, req.params["pull_number"])
    body = body_dict(req)
    method = body.get("merge_method", "merge")
    if method not in ("merge", "squash", "rebase"):
        raise validation_failed("PullRequest", "merge_method", "invalid")
    sha = fake.merge_pull(
        repo,
        iss,
        who,
        method=method,
        expected_sha=body.get("sha"),
        title=body.get("commit_title"),
        message=body.get("commit_message"),
    )
    return Response(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_reviews(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    iss = get_pull(repo, req.params["pull_number"])
    items = sorted((r for r in repo.reviews.values() if r.pull_number == iss.number), key=lambda r: r.id)
    return paginate(req, [factories.review(r, repo, fake.users, req.urls) for r in items])


REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def create_review(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    iss = get_pull(repo, req.params["pull_number"])
    body = body_dict(req)
    event = body.get("event")
    if event is not None and event not in REVIEW_STATES:
        raise ApiError(422, "Unprocessable Entity", errors=[f"Invalid event: {event}"])
    if event == "APPROVE" and _actions_forbidden(req, repo):
        raise ApiError(403, ACTIONS_PR_MESSAGE)
    if event in ("APPROVE", "REQUEST_CHANGES") and who == iss.user:
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise ApiError(422, "Unprocessable Entity", errors=[f"Can not {verb} your own pull request"])
    text = body.get("body") or ""
    if event in ("REQUEST_CHANGES", "COMMENT") and not text:
        raise ApiError(422, "Unprocessable Entity", errors=[f"Body is required when using {event}"])
    rev = fake.new_review(
        repo,
        iss,
        who,
        REVIEW_STATES[event] if event else "PENDING",
        text,
        body.get("commit_id") or repo.head_sha(iss),
    )
    return Response(200, factories.review(rev, repo, fake.users, req.urls))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def list_pull_files(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    iss = get_pull(repo, req.params["pull_number"])
    head, base = repo.head_sha(iss), repo.base_sha(iss)
    mb = repo.git.merge_base(base, head)
    old_tree = repo.git.commits[mb].tree if mb else None
    entries = factories.diff_entries(repo, old_tree, repo.git.commits[head].tree, req.urls, head)
    return paginate(req, entries)


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def is_merged(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    iss = get_pull(repo, req.params["pull_number"])
    assert iss.pull is not None
    if not iss.pull.merged:
        raise not_found()
    return Response(204)
