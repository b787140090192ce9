"""Users, repositories, branches, issues, issue comments and labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import factories
from .routes import (
    DOCS,
    INTEGRATION_MESSAGE,
    Request,
    Response,
    actor,
    body_dict,
    check_body_length,
    check_title_length,
    created,
    get_issue,
    get_repo,
    paginate,
    parse_time,
    require_str,
    route,
)
from .state import ApiError, Comment, Issue, Label, Repo, not_found, validation_failed

if TYPE_CHECKING:
    from .server import FakeGitHub


# -- users and repositories ----------------------------------------------------------------------


@route("GET", "/user")
def get_authenticated_user(fake: FakeGitHub, req: Request) -> Response:
    if req.identity is None:
        raise ApiError(401, "Requires authentication")
    if req.identity.installation:
        raise ApiError(
            403, INTEGRATION_MESSAGE, documentation_url=f"{DOCS}/users/users#get-the-authenticated-user"
        )
    return Response(200, factories.private_user(fake.users[req.identity.login], req.urls))


@route("GET", "/rate_limit")
def get_rate_limit(fake: FakeGitHub, req: Request) -> Response:
    limit, remaining, reset = fake.rate_limit_state(req.identity)
    return Response(200, factories.rate_limit(limit, remaining, reset))


@route("GET", "/repos/{owner}/{repo}")
def get_repository(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    ident = req.identity
    if ident is None or ident.read_only:
        perms = {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True}
    elif ident.installation:
        perms = {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}
    else:
        owner = ident.login == repo.owner
        perms = {"admin": owner, "maintain": owner, "push": True, "triage": True, "pull": True}
    return Response(
        200,
        factories.repository(
            repo, fake.users[repo.owner], req.urls, full=True, permissions=perms, users=fake.users
        ),
    )


@route("GET", "/repos/{owner}/{repo}/branches/{branch}")
def get_branch(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    sha = repo.branch_sha(req.params["branch"])
    if sha is None:
        raise ApiError(404, "Branch not found")
    return Response(200, factories.branch(req.params["branch"], sha, repo, fake.users, req.urls))


# -- issues ----------------------------------------------------------------------------------------


def _issue_json(
    fake: FakeGitHub, req: Request, repo: Repo, iss: Issue, *, listed: bool = False
) -> dict[str, Any]:
    return factories.issue(iss, repo, fake.users, req.urls, listed=listed)


def sort_issues(items: list[Issue], req: Request) -> list[Issue]:
    sort = req.query.get("sort", "created")
    keyfn: Callable[[Issue], Any] = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
    }.get(sort, lambda i: (i.created_at, i.number))
    if sort == "comments":
        return sorted(items, key=lambda i: i.number, reverse=req.query.get("direction", "desc") == "desc")
    return sorted(items, key=keyfn, reverse=req.query.get("direction", "desc") == "desc")


def state_filter(items: list[Issue], req: Request) -> list[Issue]:
    state = req.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise validation_failed("Issue", "state", "invalid")
    return items if state == "all" else [i for i in items if i.state == state]


@route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    items = state_filter(list(repo.issues.values()), req)
    if req.query.get("labels"):
        wanted = {n.strip().lower() for n in req.query["labels"].split(",") if n.strip()}
        items = [i for i in items if wanted <= {n.lower() for n in i.labels}]
    if "creator" in req.query:
        items = [i for i in items if i.user.lower() == req.query["creator"].lower()]
    if "assignee" in req.query:
        who = req.query["assignee"]
        if who == "none":
            items = [i for i in items if not i.assignees]
        elif who != "*":
            items = [i for i in items if who in i.assignees]
    if "since" in req.query:
        since = parse_time(req.query["since"])
        if since is not None:
            items = [i for i in items if i.updated_at >= since]
    return paginate(req, [_issue_json(fake, req, repo, i, listed=True) for i in sort_issues(items, req)])


def apply_labels(fake: FakeGitHub, repo: Repo, iss: Issue, names: list[Any]) -> None:
    for raw in names:
        name = raw.get("name") if isinstance(raw, dict) else raw
        if not isinstance(name, str) or not name:
            raise validation_failed("Label", "name", "invalid")
        lab = repo.find_label(name)
        if lab is None:
            lab = Label(fake.ids.next("label"), name)
            repo.labels[name.lower()] = lab
        if lab.name not in iss.labels:
            iss.labels.append(lab.name)


@route("POST", "/repos/{owner}/{repo}/issues")
def create_issue(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    body = body_dict(req)
    title = body.get("title")
    if title is None or title == "":
        raise validation_failed("Issue", "title", "missing_field")
    check_title_length(title, "Issue")
    check_body_length(body.get("body"), "Issue")
    iss = fake.new_issue(repo, str(title), body.get("body"), who)
    apply_labels(fake, repo, iss, list(body.get("labels") or []))
    iss.assignees = [a for a in body.get("assignees") or [] if a in fake.users]
    return created(_issue_json(fake, req, repo, iss))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue_route(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    return Response(200, _issue_json(fake, req, repo, get_issue(repo, req.params["issue_number"])))


def set_state(fake: FakeGitHub, iss: Issue, state: str, who: str, reason: str | None = None) -> None:
    if state not in ("open", "closed"):
        raise validation_failed("Issue", "state", "invalid")
    if state == iss.state:
        return
    now = fake.clock.now()
    if state == "closed":
        iss.state, iss.closed_at, iss.closed_by = "closed", now, who
        iss.state_reason = reason or ("completed" if not iss.is_pull else None)
    else:
        if iss.pull is not None and iss.pull.merged:
            raise validation_failed(
                "PullRequest", "state", "custom", "state cannot be changed. It was merged."
            )
        iss.state, iss.closed_at, iss.closed_by = "open", None, None
        iss.state_reason = "reopened" if not iss.is_pull else None
    iss.updated_at = now


@route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
def update_issue(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    iss = get_issue(repo, req.params["issue_number"])
    body = body_dict(req)
    if "title" in body:
        if not body["title"]:
            raise validation_failed("Issue", "title", "missing_field")
        check_title_length(body["title"], "Issue")
        iss.title = str(body["title"])
    if "body" in body:
        check_body_length(body["body"], "Issue")
        iss.body = body["body"]
    if "labels" in body:
        iss.labels = []
        apply_labels(fake, repo, iss, list(body["labels"] or []))
    if "assignees" in body:
        iss.assignees = [a for a in body["assignees"] or [] if a in fake.users]
    if "state" in body:
        set_state(fake, iss, str(body["state"]), who, body.get("state_reason"))
    iss.updated_at = fake.clock.now()
    return Response(200, _issue_json(fake, req, repo, iss))


# -- issue comments --------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    iss = get_issue(repo, req.params["issue_number"])
    items = sorted((c for c in repo.comments.values() if c.issue_number == iss.number), key=lambda c: c.id)
    if "since" in req.query:
        since = parse_time(req.query["since"])
        if since is not None:
            items = [c for c in items if c.updated_at >= since]
    return paginate(req, [factories.comment(c, repo, fake.users, req.urls) for c in items])


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    iss = get_issue(repo, req.params["issue_number"])
    text = require_str(body_dict(req), "body", "IssueComment")
    check_body_length(text, "IssueComment")
    com = fake.new_comment(repo, iss, text, who)
    return created(factories.comment(com, repo, fake.users, req.urls))


def _get_comment(repo: Repo, comment_id: str) -> Comment:
    com = repo.comments.get(int(comment_id))
    if com is None:
        raise not_found()
    return com


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    com = _get_comment(repo, req.params["comment_id"])
    return Response(200, factories.comment(com, repo, fake.users, req.urls))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    com = _get_comment(repo, req.params["comment_id"])
    text = require_str(body_dict(req), "body", "IssueComment")
    check_body_length(text, "IssueComment")
    com.body = text
    com.updated_at = fake.clock.now()
    return Response(200, factories.comment(com, repo, fake.users, req.urls))


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def delete_comment(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    com = _get_comment(repo, req.params["comment_id"])
    del repo.comments[com.id]
    return Response(204)


# -- labels ----------------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/labels")
def list_labels(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    labels = sorted(repo.labels.values(), key=lambda lab: lab.name.lower())
    return paginate(req, [factories.label(lab, repo, req.urls) for lab in labels])


@route("POST", "/repos/{owner}/{repo}/labels")
def create_label(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    body = body_dict(req)
    name = require_str(body, "name", "Label")
    color = _label_color(body.get("color") or "ededed")
    if repo.find_label(name) is not None:
        raise validation_failed("Label", "name", "already_exists")
    lab = Label(fake.ids.next("label"), name, color, body.get("description"))
    repo.labels[name.lower()] = lab
    return created(factories.label(lab, repo, req.urls))


def _label_color(value: Any) -> str:
    color = str(value).lstrip("#")  # GitHub keeps the case it is given ("BADA55")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
        raise validation_failed("Label", "color", "invalid")
    return color


@route("PATCH", "/repos/{owner}/{repo}/labels/{name}")
def update_label(fake: FakeGitHub, req: Request) -> Response:
    """Rename / recolour / redescribe a label; the issues carrying it follow a rename."""
    repo = get_repo(fake, req)
    actor(fake, req)
    lab = repo.find_label(req.params["name"])
    if lab is None:
        raise not_found()
    body = body_dict(req)
    if "color" in body:
        lab.color = _label_color(body["color"])
    if "description" in body:
        lab.description = body["description"]
    new_name = body.get("new_name")
    if isinstance(new_name, str) and new_name and new_name != lab.name:
        other = repo.find_label(new_name)
        if other is not None and other is not lab:
            raise validation_failed("Label", "name", "already_exists")
        del repo.labels[lab.name.lower()]
        for iss in repo.issues.values():
            iss.labels = [new_name if n == lab.name else n for n in iss.labels]
        lab.name = new_name
        repo.labels[new_name.lower()] = lab
    return Response(200, factories.label(lab, repo, req.urls))


@route("DELETE", "/repos/{owner}/{repo}/labels/{name}")
def delete_label(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    lab = repo.find_label(req.params["name"])
    if lab is None:
        raise not_found()
    del repo.labels[lab.name.lower()]
    for iss in repo.issues.values():
        iss.labels = [n for n in iss.labels if n != lab.name]
    return Response(204)


@route("GET", "/repos/{owner}/{repo}/labels/{name}")
def get_label(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    lab = repo.find_label(req.params["name"])
    if lab is None:
        raise not_found()
    return Response(200, factories.label(lab, repo, req.urls))


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    iss = get_issue(repo, req.params["issue_number"])
    body = req.body
    names = body.get("labels") if isinstance(body, dict) else body
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        raise validation_failed("Label", "labels", "invalid")
    apply_labels(fake, repo, iss, names)
    iss.updated_at = fake.clock.now()
    labels = [repo.find_label(n) for n in iss.labels]
    return Response(200, [factories.label(lab, repo, req.urls) for lab in labels if lab is not None])


def _issue_labels(repo: Repo, iss: Issue, req: Request) -> list[dict[str, Any]]:
    labels = [repo.find_label(n) for n in iss.labels]
    return [factories.label(lab, repo, req.urls) for lab in labels if lab is not None]


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def list_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    return paginate(req, _issue_labels(repo, get_issue(repo, req.params["issue_number"]), req))


@route("PUT", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def set_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    iss = get_issue(repo, req.params["issue_number"])
    names = req.body.get("labels") if isinstance(req.body, dict) else req.body
    if not isinstance(names, list):
        raise validation_failed("Label", "labels", "invalid")
    iss.labels = []
    apply_labels(fake, repo, iss, names)
    iss.updated_at = fake.clock.now()
    return Response(200, _issue_labels(repo, iss, req))


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def clear_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    iss = get_issue(repo, req.params["issue_number"])
    iss.labels = []
    iss.updated_at = fake.clock.now()
    return Response(204)


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_issue_label(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    iss = get_issue(repo, req.params["issue_number"])
    lab = repo.find_label(req.params["name"])
    if lab is None or lab.name not in iss.labels:
        raise ApiError(404, "Label does not exist")
    iss.labels.remove(lab.name)
    iss.updated_at = fake.clock.now()
    return Response(200, _issue_labels(repo, iss, req))
