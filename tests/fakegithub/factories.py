"""JSON objects as GitHub's REST API returns them, modelled on real payloads.

Every factory takes :class:`Urls` so that ``url`` fields point back at the fake (with the same
``/api/v3`` prefix the client used): PyGithub follows them for edits, deletes and lazy loads.
"""

from __future__ import annotations

import base64
import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from .gitstore import Commit, TreeEntry
from .state import Comment, Issue, Label, Repo, Review, User

JSON = dict[str, Any]


@dataclass(frozen=True)
class Urls:
    api: str  # e.g. "http://127.0.0.1:8765" or "http://127.0.0.1:8765/api/v3"
    web: str  # e.g. "http://127.0.0.1:8765"

    def repo_api(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_web(self, repo: Repo) -> str:
        return f"{self.web}/{repo.full_name}"


def ts(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(prefix: str, num: int) -> str:
    return base64.b64encode(f"{prefix}{num}".encode()).decode().rstrip("=")


def wrap_base64(data: bytes) -> str:
    """Base64 with a newline every 60 characters, as GitHub sends blob/contents payloads."""
    raw = base64.b64encode(data).decode()
    return "".join(raw[i : i + 60] + "\n" for i in range(0, len(raw), 60))


# -- users ---------------------------------------------------------------------------------------


def simple_user(user: User, urls: Urls) -> JSON:
    login = quote(user.login, safe="")
    api = f"{urls.api}/users/{login}"
    html = (
        f"{urls.web}/apps/{user.login.removesuffix('[bot]')}" if user.type == "Bot" else f"{urls.web}/{login}"
    )
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id("04:User", user.id) if user.type != "Bot" else node_id("03:Bot", user.id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": html,
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def author(user: User, urls: Urls) -> JSON | None:
    """The ``user`` (or ``closed_by``, ``merged_by``) of an issue, comment, PR or review: ``null``
    once the account was deleted, as the OpenAPI description allows (``nullable-simple-user``) and
    real repositories show for some old items (most get GitHub's ``ghost`` instead)."""
    return None if user.deleted else simple_user(user, urls)


def private_user(user: User, urls: Urls) -> JSON:
    """``GET /user`` for a personal access token."""
    return {
        **simple_user(user, urls),
        "user_view_type": "private",
        "name": user.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": user.email,
        "notification_email": user.email,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 2,
        "public_gists": 0,
        "followers": 20,
        "following": 0,
        "created_at": ts(user.created_at),
        "updated_at": ts(user.created_at),
        "private_gists": 0,
        "total_private_repos": 0,
        "owned_private_repos": 0,
        "disk_usage": 10000,
        "collaborators": 0,
        "two_factor_authentication": True,
        "plan": {"collaborators": 0, "name": "pro", "space": 976562499, "private_repos": 9999},
    }


# -- repositories --------------------------------------------------------------------------------


def repository(
    repo: Repo,
    owner: User,
    urls: Urls,
    *,
    full: bool = False,
    permissions: JSON | None = None,
    users: dict[str, User] | None = None,
) -> JSON:
    """A "Repository" (PR head/base) or, with ``full``, a "Full Repository" (``GET /repos/o/r``;
    a fork's has ``parent`` and ``source`` when ``users`` is given)."""
    api = urls.repo_api(repo)
    html = urls.repo_web(repo)
    host = urls.web.split("://", 1)[-1]
    open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
    out: JSON = {
        "id": repo.id,
        "node_id": node_id("010:Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": simple_user(owner, urls),
        "html_url": html,
        "description": repo.description,
        "fork": repo.parent is not None,
        "url": api,
        "forks_url": f"{api}/forks",
        "keys_url": f"{api}/keys{{/key_id}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "teams_url": f"{api}/teams",
        "hooks_url": f"{api}/hooks",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "events_url": f"{api}/events",
        "assignees_url": f"{api}/assignees{{/user}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "tags_url": f"{api}/tags",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "languages_url": f"{api}/languages",
        "stargazers_url": f"{api}/stargazers",
        "contributors_url": f"{api}/contributors",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "commits_url": f"{api}/commits{{/sha}}",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "comments_url": f"{api}/comments{{/number}}",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "merges_url": f"{api}/merges",
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{api}/downloads",
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "labels_url": f"{api}/labels{{/name}}",
        "releases_url": f"{api}/releases{{/id}}",
        "deployments_url": f"{api}/deployments",
        "created_at": ts(repo.created_at),
        "updated_at": ts(repo.pushed_at or repo.created_at),
        "pushed_at": ts(repo.pushed_at or repo.created_at),
        "git_url": f"git://{host}/{repo.full_name}.git",
        "ssh_url": f"git@{host}:{repo.full_name}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "homepage": None,
        "size": 108,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": repo.forks_count,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": open_issues,
        "license": {
            "key": "mit",
            "name": "MIT License",
            "spdx_id": "MIT",
            "url": f"{urls.api}/licenses/mit",
            "node_id": "MDc6TGljZW5zZTEz",
        },
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if repo.private else "public",
        "forks": repo.forks_count,
        "open_issues": open_issues,
        "watchers": 0,
        "default_branch": repo.default_branch,
    }
    if permissions is not None:
        out["permissions"] = permissions
    if full and permissions is not None and permissions.get("push"):
        out["temp_clone_token"] = ""  # GitHub's, to those who can push (a token only for private repos)
    if full:
        out.update(
            {
                "network_count": repo.source.forks_count,
                "subscribers_count": 1,
                "allow_squash_merge": repo.allow_squash_merge,
                "allow_merge_commit": True,
                "allow_rebase_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "allow_update_branch": False,
                "use_squash_pr_title_as_default": False,
                "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "merge_commit_title": "MERGE_MESSAGE",
                "merge_commit_message": "PR_TITLE",
            }
        )
        if owner.type == "Organization":
            out["organization"] = simple_user(owner, urls)
        if repo.parent is not None and users is not None:
            out["parent"] = repository(repo.parent, users[repo.parent.owner], urls)
            out["source"] = repository(repo.source, users[repo.source.owner], urls)
    return out


# -- labels, issues, comments --------------------------------------------------------------------


def label(lab: Label, repo: Repo, urls: Urls) -> JSON:
    return {
        "id": lab.id,
        "node_id": node_id("05:Label", lab.id),
        "url": f"{urls.repo_api(repo)}/labels/{quote(lab.name, safe='')}",
        "name": lab.name,
        "color": lab.color,
        "default": lab.default,
        "description": lab.description,
    }


def author_association(repo: Repo, login: str) -> str:
    if login == repo.owner:
        return "OWNER"
    if login in repo.collaborators:
        return "COLLABORATOR"
    return "NONE"


def issue(iss: Issue, repo: Repo, users: dict[str, User], urls: Urls, *, listed: bool = False) -> JSON:
    """An "Issue"; ``listed`` as in a list (``GET /issues``), which GitHub sends without ``closed_by``.

    ``type`` (issue types) is there for an organization's repository only, as GitHub documents.
    """
    api = f"{urls.repo_api(repo)}/issues/{iss.number}"
    kind = "pull" if iss.is_pull else "issues"
    labels = [repo.find_label(n) for n in iss.labels]
    out: JSON = {
        "url": api,
        "repository_url": urls.repo_api(repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{urls.repo_web(repo)}/{kind}/{iss.number}",
        "id": iss.id,
        "node_id": node_id("05:Issue" if not iss.is_pull else "011:PullRequest", iss.id),
        "number": iss.number,
        "title": iss.title,
        "user": author(users[iss.user], urls),
        "labels": [label(lab, repo, urls) for lab in labels if lab is not None],
        "state": iss.state,
        "locked": iss.locked,
        "assignee": simple_user(users[iss.assignees[0]], urls) if iss.assignees else None,
        "assignees": [simple_user(users[a], urls) for a in iss.assignees],
        "milestone": None,
        "comments": sum(1 for c in repo.comments.values() if c.issue_number == iss.number),
        "created_at": ts(iss.created_at),
        "updated_at": ts(iss.updated_at),
        "closed_at": ts(iss.closed_at),
        "author_association": author_association(repo, iss.user),
        "active_lock_reason": None,
        "body": iss.body,
        "reactions": reactions(f"{api}/reactions"),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": None,
        "state_reason": iss.state_reason,
    }
    if users[repo.owner].type == "Organization":
        out["type"] = None
    if not listed:
        out["closed_by"] = author(users[iss.closed_by], urls) if iss.closed_by else None
    if iss.pull is not None:
        pulls = f"{urls.repo_api(repo)}/pulls/{iss.number}"
        out["draft"] = iss.pull.draft
        out["pull_request"] = {
            "url": pulls,
            "html_url": f"{urls.repo_web(repo)}/pull/{iss.number}",
            "diff_url": f"{urls.repo_web(repo)}/pull/{iss.number}.diff",
            "patch_url": f"{urls.repo_web(repo)}/pull/{iss.number}.patch",
            "merged_at": ts(iss.pull.merged_at),
        }
    return out


def reactions(url: str) -> JSON:
    return {
        "url": url,
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


def comment(com: Comment, repo: Repo, users: dict[str, User], urls: Urls) -> JSON:
    api = f"{urls.repo_api(repo)}/issues/comments/{com.id}"
    target = repo.issues.get(com.issue_number)
    kind = "pull" if target is not None and target.is_pull else "issues"
    return {
        "url": api,
        "html_url": f"{urls.repo_web(repo)}/{kind}/{com.issue_number}#issuecomment-{com.id}",
        "issue_url": f"{urls.repo_api(repo)}/issues/{com.issue_number}",
        "id": com.id,
        "node_id": node_id("012:IssueComment", com.id),
        "user": author(users[com.user], urls),
        "created_at": ts(com.created_at),
        "updated_at": ts(com.updated_at),
        "author_association": author_association(repo, com.user),
        "body": com.body,
        "reactions": reactions(f"{api}/reactions"),
        "performed_via_github_app": None,
    }


# -- pull requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullStats:
    commits: int
    additions: int
    deletions: int
    changed_files: int
    mergeable: bool | None
    mergeable_state: str


def pull_stats(repo: Repo, iss: Issue, urls: Urls) -> PullStats:
    assert iss.pull is not None
    git = repo.git
    head, base = repo.head_sha(iss), repo.base_sha(iss)  # frozen once the PR is closed or merged
    mb = git.merge_base(base, head)
    files = diff_entries(repo, git.commits[mb].tree if mb else None, git.commits[head].tree, urls, head)
    mergeable: bool | None = None
    state = "unknown"
    if iss.state == "open":
        ok = git.three_way(base, head) is not None
        mergeable, state = ok, ("clean" if ok else "dirty")
    return PullStats(
        commits=len(git.commits_between(base, head)),
        additions=sum(f["additions"] for f in files),
        deletions=sum(f["deletions"] for f in files),
        changed_files=len(files),
        mergeable=mergeable,
        mergeable_state=state,
    )


def _lines(repo: Repo, entry: TreeEntry | None) -> list[str]:
    if entry is None or entry.type != "blob":
        return []
    return repo.git.blobs[entry.sha].decode("utf-8", "replace").splitlines()


def pull_request(iss: Issue, repo: Repo, users: dict[str, User], urls: Urls, *, simple: bool = False) -> JSON:
    """A "Pull Request" (``GET /pulls/{n}``) or, with ``simple``, a "Pull Request Simple" (lists)."""
    pr = iss.pull
    assert pr is not None
    api = f"{urls.repo_api(repo)}/pulls/{iss.number}"
    issue_api = f"{urls.repo_api(repo)}/issues/{iss.number}"
    html = f"{urls.repo_web(repo)}/pull/{iss.number}"
    owner = users[repo.owner]
    head_sha = repo.head_sha(iss)
    repo_json = repository(repo, owner, urls)
    head_repo = repo.pull_head_repo(iss)
    head_owner = users[head_repo.owner]
    head_repo_json = repo_json if head_repo is repo else repository(head_repo, head_owner, urls)
    labels = [repo.find_label(n) for n in iss.labels]
    label_json = [label(lab, repo, urls) for lab in labels if lab is not None]
    for item in label_json:
        # GitHub sends null here too, but the description types a PR's label description as a
        # plain string (unlike "Label" elsewhere); "" keeps the object valid and falsy.
        item["description"] = item["description"] or ""
    out: JSON = {
        "url": api,
        "id": iss.id,
        "node_id": node_id("011:PullRequest", iss.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_api,
        "number": iss.number,
        "state": iss.state,
        "locked": iss.locked,
        "title": iss.title,
        "user": author(users[iss.user], urls),
        "body": iss.body,
        "created_at": ts(iss.created_at),
        "updated_at": ts(iss.updated_at),
        "closed_at": ts(iss.closed_at),
        "merged_at": ts(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": simple_user(users[iss.assignees[0]], urls) if iss.assignees else None,
        "assignees": [simple_user(users[a], urls) for a in iss.assignees],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": label_json,
        "milestone": None,
        "draft": pr.draft,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{urls.repo_api(repo)}/pulls/comments{{/number}}",
        "comments_url": f"{issue_api}/comments",
        "statuses_url": f"{urls.repo_api(repo)}/statuses/{head_sha}",
        "head": {
            "label": f"{head_repo.owner}:{pr.head_ref}",
            "ref": pr.head_ref,
            "sha": head_sha,
            "user": simple_user(head_owner, urls),
            "repo": head_repo_json,
        },
        "base": {
            "label": f"{repo.owner}:{pr.base_ref}",
            "ref": pr.base_ref,
            "sha": repo.base_sha(iss),
            "user": simple_user(owner, urls),
            "repo": repo_json,
        },
        "_links": {
            "self": {"href": api},
            "html": {"href": html},
            "issue": {"href": issue_api},
            "comments": {"href": f"{issue_api}/comments"},
            "review_comments": {"href": f"{api}/comments"},
            "review_comment": {"href": f"{urls.repo_api(repo)}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/commits"},
            "statuses": {"href": f"{urls.repo_api(repo)}/statuses/{head_sha}"},
        },
        "author_association": author_association(repo, iss.user),
        "auto_merge": None,
        "active_lock_reason": None,
    }
    if simple:
        return out
    stats = pull_stats(repo, iss, urls)
    out.update(
        {
            "merged": pr.merged,
            "mergeable": stats.mergeable,
            "rebaseable": stats.mergeable,
            "mergeable_state": stats.mergeable_state,
            "merged_by": author(users[pr.merged_by], urls) if pr.merged_by else None,
            "comments": sum(1 for c in repo.comments.values() if c.issue_number == iss.number),
            "review_comments": 0,
            "maintainer_can_modify": pr.maintainer_can_modify,
            "commits": stats.commits,
            "additions": stats.additions,
            "deletions": stats.deletions,
            "changed_files": stats.changed_files,
        }
    )
    return out


def review(rev: Review, repo: Repo, users: dict[str, User], urls: Urls) -> JSON:
    pull_api = f"{urls.repo_api(repo)}/pulls/{rev.pull_number}"
    html = f"{urls.repo_web(repo)}/pull/{rev.pull_number}#pullrequestreview-{rev.id}"
    out: JSON = {
        "id": rev.id,
        "node_id": node_id("017:PullRequestReview", rev.id),
        "user": author(users[rev.user], urls),
        "body": rev.body,
        "state": rev.state,
        "html_url": html,
        "pull_request_url": pull_api,
        "author_association": author_association(repo, rev.user),
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_api}},
        "commit_id": rev.commit_id,
    }
    if rev.submitted_at is not None:
        out["submitted_at"] = ts(rev.submitted_at)
    return out


# -- git data ------------------------------------------------------------------------------------


def git_ref(ref: str, sha: str, repo: Repo, urls: Urls) -> JSON:
    return {
        "ref": ref,
        "node_id": node_id("03:Ref", abs(hash((repo.full_name, ref))) % 10**9),
        "url": f"{urls.repo_api(repo)}/git/{quote(ref)}",
        "object": {"sha": sha, "type": "commit", "url": f"{urls.repo_api(repo)}/git/commits/{sha}"},
    }


def _signature(sig: Any) -> JSON:
    return {"name": sig.name, "email": sig.email, "date": ts(sig.date)}


def _verification() -> JSON:
    return {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}


def git_commit(com: Commit, repo: Repo, urls: Urls) -> JSON:
    api = urls.repo_api(repo)
    return {
        "sha": com.sha,
        "node_id": node_id("06:Commit", int(com.sha[:8], 16)),
        "url": f"{api}/git/commits/{com.sha}",
        "html_url": f"{urls.repo_web(repo)}/commit/{com.sha}",
        "author": _signature(com.author),
        "committer": _signature(com.committer),
        "tree": {"sha": com.tree, "url": f"{api}/git/trees/{com.tree}"},
        "message": com.message,
        "parents": [
            {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{urls.repo_web(repo)}/commit/{p}"}
            for p in com.parents
        ],
        "verification": _verification(),
    }


def short_blob(sha: str, repo: Repo, urls: Urls) -> JSON:
    return {"url": f"{urls.repo_api(repo)}/git/blobs/{sha}", "sha": sha}


def blob(sha: str, repo: Repo, urls: Urls) -> JSON:
    data = repo.git.blobs[sha]
    return {
        "sha": sha,
        "node_id": node_id("04:Blob", int(sha[:8], 16)),
        "size": len(data),
        "url": f"{urls.repo_api(repo)}/git/blobs/{sha}",
        "content": wrap_base64(data),
        "encoding": "base64",
    }


def tree_entry(path: str, entry: TreeEntry, repo: Repo, urls: Urls) -> JSON:
    out: JSON = {"path": path, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
    if entry.type == "blob":
        out["size"] = len(repo.git.blobs[entry.sha])
        out["url"] = f"{urls.repo_api(repo)}/git/blobs/{entry.sha}"
    elif entry.type == "tree":
        out["url"] = f"{urls.repo_api(repo)}/git/trees/{entry.sha}"
    return out


def git_tree(sha: str, repo: Repo, urls: Urls, *, recursive: bool = False) -> JSON:
    items = repo.git.walk(sha) if recursive else list(repo.git.trees[sha].items())
    return {
        "sha": sha,
        "url": f"{urls.repo_api(repo)}/git/trees/{sha}",
        "tree": [tree_entry(path, entry, repo, urls) for path, entry in items],
        "truncated": False,
    }


# -- contents and branches -----------------------------------------------------------------------


def content_item(
    path: str, entry: TreeEntry, repo: Repo, urls: Urls, ref: str, *, with_content: bool
) -> JSON:
    api = urls.repo_api(repo)
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.type]
    if entry.type == "blob" and entry.mode == "120000":
        kind = "symlink"
    git_url = f"{api}/git/{'trees' if entry.type == 'tree' else 'blobs'}/{entry.sha}"
    self_url = f"{api}/contents/{quote(path)}?ref={quote(ref, safe='')}"
    html = f"{urls.repo_web(repo)}/{'tree' if kind == 'dir' else 'blob'}/{quote(ref)}/{quote(path)}"
    out: JSON = {
        "type": kind,
        "size": len(repo.git.blobs[entry.sha]) if entry.type == "blob" else 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": entry.sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html,
        "download_url": (
            f"{urls.web}/{repo.full_name}/raw/{quote(ref)}/{quote(path)}" if entry.type == "blob" else None
        ),
        "_links": {"self": self_url, "git": git_url, "html": html},
    }
    if with_content and kind == "file":
        out["content"] = wrap_base64(repo.git.blobs[entry.sha])
        out["encoding"] = "base64"
    if kind == "symlink":
        out["target"] = repo.git.blobs[entry.sha].decode()
    if kind == "submodule":
        out["submodule_git_url"] = f"{urls.web}/submodule.git"
    return out


def commit(sha: str, repo: Repo, users: dict[str, User], urls: Urls, *, with_files: bool = False) -> JSON:
    """A "Commit" (``GET /repos/o/r/commits/{ref}``, and a branch's ``commit``)."""
    api = urls.repo_api(repo)
    com = repo.git.commits[sha]
    by_email = {u.commit_email: u for u in users.values()}
    author = by_email.get(com.author.email)
    committer = by_email.get(com.committer.email)
    out: JSON = {
        "sha": sha,
        "node_id": node_id("06:Commit", int(sha[:8], 16)),
        "commit": {
            "author": _signature(com.author),
            "committer": _signature(com.committer),
            "message": com.message,
            "tree": {"sha": com.tree, "url": f"{api}/git/trees/{com.tree}"},
            "url": f"{api}/git/commits/{sha}",
            "comment_count": 0,
            "verification": _verification(),
        },
        "url": f"{api}/commits/{sha}",
        "html_url": f"{urls.repo_web(repo)}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "author": simple_user(author, urls) if author else {},
        "committer": simple_user(committer, urls) if committer else {},
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{urls.repo_web(repo)}/commit/{p}"}
            for p in com.parents
        ],
    }
    if with_files:
        base = repo.git.commits[com.parents[0]].tree if com.parents else None
        files = diff_entries(repo, base, com.tree, urls, sha)
        adds = sum(f["additions"] for f in files)
        dels = sum(f["deletions"] for f in files)
        out["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
        out["files"] = files
    return out


def diff_entries(repo: Repo, old_tree: str | None, new_tree: str, urls: Urls, ref: str) -> list[JSON]:
    """ "Diff Entry" objects between two trees (``GET /pulls/{n}/files``, a commit's ``files``)."""
    old = repo.git.flatten(old_tree) if old_tree else {}
    new = repo.git.flatten(new_tree)
    out: list[JSON] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        a, b = _lines(repo, before), _lines(repo, after)
        diff = list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]
        additions = sum(1 for line in diff if line.startswith("+"))
        deletions = sum(1 for line in diff if line.startswith("-"))
        status = "added" if before is None else "removed" if after is None else "modified"
        entry = after or before
        assert entry is not None
        quoted = quote(path)
        out.append(
            {
                "sha": entry.sha,
                "filename": path,
                "status": status,
                "additions": additions,
                "deletions": deletions,
                "changes": additions + deletions,
                "blob_url": f"{urls.repo_web(repo)}/blob/{ref}/{quoted}",
                "raw_url": f"{urls.repo_web(repo)}/raw/{ref}/{quoted}",
                "contents_url": f"{urls.repo_api(repo)}/contents/{quoted}?ref={ref}",
                "patch": "\n".join(diff),
            }
        )
    return out


def branch(name: str, sha: str, repo: Repo, users: dict[str, User], urls: Urls) -> JSON:
    api = urls.repo_api(repo)
    return {
        "name": name,
        "commit": commit(sha, repo, users, urls),
        "_links": {
            "self": f"{api}/branches/{quote(name)}",
            "html": f"{urls.repo_web(repo)}/tree/{quote(name)}",
        },
        "protected": False,
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{api}/branches/{quote(name)}/protection",
    }


def file_commit(path: str, entry: TreeEntry, commit_sha: str, repo: Repo, urls: Urls, ref: str) -> JSON:
    """``PUT /contents/{path}``: the new file and the commit that wrote it."""
    item = content_item(path, entry, repo, urls, ref, with_content=False)
    return {"content": item, "commit": git_commit(repo.git.commits[commit_sha], repo, urls)}


def rate_limit(limit: int, remaining: int, reset: int) -> JSON:
    def res(lim: int, rem: int) -> JSON:
        return {"limit": lim, "remaining": rem, "reset": reset, "used": lim - rem}

    core = res(limit, remaining)
    return {
        "resources": {
            "core": core,
            "search": res(30, 30),
            "graphql": res(5000, 5000),
            "integration_manifest": res(5000, 5000),
            "code_search": res(10, 10),
        },
        "rate": core,
    }
