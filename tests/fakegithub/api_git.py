"""Git data (refs, blobs, trees, commits), contents and repository commits."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

from . import factories
from .gitstore import FILE_MODES, TREE_MODE, GitError, TreeEntry
from .routes import (
    DOCS,
    Request,
    Response,
    actor,
    body_dict,
    created,
    get_repo,
    legacy_route,
    media_type,
    paginate,
    require_str,
    route,
    signature_from,
)
from .state import ApiError, Repo, not_found

if TYPE_CHECKING:
    from .server import FakeGitHub
from .api_issues import set_state

# -- git data --------------------------------------------------------------------------------------


def _ref_json(repo: Repo, ref: str, req: Request) -> dict[str, Any]:
    return factories.git_ref(ref, repo.git.refs[ref], repo, req.urls)


@route("GET", "/repos/{owner}/{repo}/git/ref/{ref}")
def get_ref(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    ref = f"refs/{req.params['ref']}"
    if ref not in repo.git.refs:
        raise not_found()
    return Response(200, _ref_json(repo, ref, req))


def _not_empty(repo: Repo) -> None:
    if not repo.git.refs:
        raise ApiError(409, "Git Repository is empty.", documentation_url=f"{DOCS}/git/refs")


@route("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}")
def matching_refs(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    _not_empty(repo)
    prefix = f"refs/{req.params['ref']}"
    refs = sorted(r for r in repo.git.refs if r.startswith(prefix))
    return paginate(req, [_ref_json(repo, r, req) for r in refs])


GET_REF = "/repos/{owner}/{repo}/git/ref/{ref}"


@legacy_route(
    "GET",
    "/repos/{owner}/{repo}/git/matching-refs/{ref}",
    "/repos/{owner}/{repo}/git/refs",
    "/repos/{owner}/{repo}/git/refs/{ref}",
)
def list_refs_legacy(fake: FakeGitHub, req: Request) -> Response:
    """GitHub's older "get all references" (``GET /git/refs/``, ``/git/refs/heads``): every ref, the
    refs under a prefix, or the one ref named exactly (an object then); 404 when none matches."""
    repo = get_repo(fake, req)
    _not_empty(repo)
    name = req.params.get("ref", "").strip("/")
    full = f"refs/{name}" if name else "refs/"
    if name and full in repo.git.refs:
        return Response(200, _ref_json(repo, full, req), template=GET_REF)
    refs = sorted(r for r in repo.git.refs if r.startswith(full))
    if not refs:
        raise not_found()
    return paginate(req, [_ref_json(repo, r, req) for r in refs])


@route("POST", "/repos/{owner}/{repo}/git/refs")
def create_ref(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    body = body_dict(req)
    ref = require_str(body, "ref", "Reference")
    sha = require_str(body, "sha", "Reference")
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    if not valid_ref_name(ref):
        raise ApiError(422, f"{ref} is not a valid ref name.")
    if ref in repo.git.refs:
        raise ApiError(422, "Reference already exists")
    if any(other.startswith(ref + "/") or ref.startswith(other + "/") for other in repo.git.refs):
        raise ApiError(422, "Reference update failed")  # git: `a` and `a/b` cannot both be refs
    if sha not in repo.git.commits:
        raise ApiError(422, "Object does not exist")
    repo.git.refs[ref] = sha
    repo.pushed_at = fake.clock.now()
    return created(_ref_json(repo, ref, req))


_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock/|^\.|/$|\.$|\.lock$")


def valid_ref_name(ref: str) -> bool:
    r"""``git check-ref-format``'s rules, which GitHub applies to a new ref (its 422 "… is not a
    valid ref name."): no control characters, space, ``~ ^ : ? * [ \``, ``..``, ``@{``, empty
    components, components starting with ``.`` or ending in ``.lock``, no final ``/`` or ``.``,
    and not ``@`` alone."""
    return ref != "@" and _REF_FORBIDDEN.search(ref) is None


@route("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}")
def update_ref(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    body = body_dict(req)
    ref = f"refs/{req.params['ref']}"
    sha = require_str(body, "sha", "Reference")
    if ref not in repo.git.refs:
        raise ApiError(422, "Reference does not exist")
    if sha not in repo.git.commits:
        raise ApiError(422, "Object does not exist")
    if not body.get("force", False) and not repo.git.is_ancestor(repo.git.refs[ref], sha):
        raise ApiError(422, "Update is not a fast forward")
    repo.git.refs[ref] = sha
    repo.pushed_at = fake.clock.now()
    return Response(200, _ref_json(repo, ref, req))


@route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}")
def delete_ref(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    ref = f"refs/{req.params['ref']}"
    if ref not in repo.git.refs:
        raise ApiError(422, "Reference does not exist")
    if ref == f"refs/heads/{repo.default_branch}":
        raise ApiError(422, "Cannot delete the default branch")
    branch = ref.removeprefix("refs/heads/")
    if ref.startswith("refs/heads/"):  # GitHub closes the open PRs of a deleted head branch
        for base_repo, iss in fake.pulls_with_head(repo, branch):
            base_repo.head_sha(iss)
            base_repo.base_sha(iss)
            set_state(fake, iss, "closed", who)
    del repo.git.refs[ref]
    return Response(204)


@route("POST", "/repos/{owner}/{repo}/git/blobs")
def create_blob(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    body = body_dict(req)
    content = body.get("content")
    if not isinstance(content, str):
        raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
    encoding = body.get("encoding", "utf-8")
    if encoding in ("utf-8", "utf8"):
        data = content.encode()
    elif encoding == "base64":
        try:
            data = base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise ApiError(422, "Invalid Base64 content") from None
    else:
        raise ApiError(422, f"Invalid request.\n\nencoding {encoding!r} is not a valid value.")
    sha = repo.git.put_blob(data)
    return created(factories.short_blob(sha, repo, req.urls))


@route("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}")
def get_blob(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    sha = req.params["file_sha"]
    if sha not in repo.git.blobs:
        raise not_found()
    if req.media == "raw":
        return raw_response(repo.git.blobs[sha], req)
    return Response(200, factories.blob(sha, repo, req.urls))


def raw_response(data: bytes, req: Request) -> Response:
    """The ``raw`` media type: the bytes themselves, typed as the media type asked for."""
    asked = next(
        (p.split(";")[0].strip() for p in req.accept.split(",") if media_type(p) == "raw"),
        "application/vnd.github.raw",
    )
    headers = {"Content-Type": f"{asked}; charset=utf-8", "x-github-media-type": "github.v3; param=raw"}
    return Response(200, raw=data, headers=headers)


@route("POST", "/repos/{owner}/{repo}/git/trees")
def create_tree(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    actor(fake, req)
    body = body_dict(req)
    entries = body.get("tree")
    if not isinstance(entries, list):
        raise ApiError(422, 'Invalid request.\n\n"tree" wasn\'t supplied.')
    git = repo.git
    base = body.get("base_tree")
    flat: dict[str, TreeEntry] = {}
    if base is not None:
        if base not in git.trees:
            raise ApiError(422, "Invalid tree info")
        flat = git.flatten(base)
    for item in entries:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"].strip("/"):
            raise ApiError(422, "Invalid tree info")
        path = item["path"].strip("/")
        mode, kind = item.get("mode"), item.get("type")
        if "content" in item and item.get("sha") is not None:
            raise ApiError(422, "Invalid tree info: use either tree.sha or content, not both")
        if "content" in item:
            if kind not in (None, "blob") or mode not in FILE_MODES - {"160000"}:
                raise ApiError(422, "Invalid tree info")
            data = str(item["content"]).encode()
            flat = {p: e for p, e in flat.items() if not p.startswith(f"{path}/")}
            flat[path] = TreeEntry(str(mode), "blob", git.put_blob(data))
            continue
        if "sha" not in item:
            raise ApiError(422, "Invalid tree info: each entry needs sha or content")
        sha = item["sha"]
        flat = {p: e for p, e in flat.items() if p != path and not p.startswith(f"{path}/")}
        if sha is None:  # deletion
            continue
        if kind == "tree" or mode == TREE_MODE:
            if sha not in git.trees:
                raise ApiError(422, "GitRPC::BadObjectState")
            flat.update({f"{path}/{p}": e for p, e in git.flatten(sha).items()})
        elif kind == "commit" or mode == "160000":
            flat[path] = TreeEntry("160000", "commit", str(sha))
        else:
            if mode not in FILE_MODES or sha not in git.blobs:
                raise ApiError(422, "GitRPC::BadObjectState")
            flat[path] = TreeEntry(str(mode), "blob", sha)
    sha = git.build_tree(flat)
    return created(factories.git_tree(sha, repo, req.urls))


@route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}")
def get_tree(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    sha = req.params["tree_sha"]
    if sha not in repo.git.trees:
        commit = repo.resolve_commitish(sha)
        if commit is None:
            raise not_found()
        sha = repo.git.commits[commit].tree
    return Response(200, factories.git_tree(sha, repo, req.urls, recursive="recursive" in req.query))


@route("POST", "/repos/{owner}/{repo}/git/commits")
def create_commit(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    who = actor(fake, req)
    body = body_dict(req)
    message = require_str(body, "message", "Commit")
    tree = require_str(body, "tree", "Commit")
    parents = body.get("parents", [])
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ApiError(422, 'Invalid request.\n\n"parents" must be an array of strings.')
    default = fake.signature(who)
    author = signature_from(body.get("author"), default, "author")
    committer = signature_from(body.get("committer"), author, "committer")
    try:
        sha = repo.git.put_commit(tree, parents, message, author, committer)
    except GitError as exc:
        raise ApiError(422, exc.message) from None
    return created(factories.git_commit(repo.git.commits[sha], repo, req.urls))


@route("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}")
def get_commit(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    com = repo.git.commits.get(req.params["commit_sha"])
    if com is None:
        raise not_found()
    return Response(200, factories.git_commit(com, repo, req.urls))


# -- contents --------------------------------------------------------------------------------------

LARGE_FILE = 1024 * 1024  # the contents API sends larger files without content ("encoding": "none")


@route("GET", "/repos/{owner}/{repo}/contents/{path}", aliases=("/repos/{owner}/{repo}/contents",))
def get_contents(fake: FakeGitHub, req: Request) -> Response:
    """A file (base64, or its bytes with the ``raw`` media type), a directory (a list, or one object
    with ``entries`` with the ``object`` media type); files over 1 MB come without content."""
    repo = get_repo(fake, req)
    if not repo.git.refs:
        raise ApiError(404, "This repository is empty.", documentation_url=f"{DOCS}/repos/contents")
    ref = req.query.get("ref") or repo.default_branch
    sha = repo.resolve_commitish(ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = req.params.get("path", "").strip("/")
    entry = repo.git.lookup(repo.git.commits[sha].tree, path)
    if entry is None:
        raise not_found()
    if entry.type == "tree":
        items = [
            factories.content_item(
                f"{path}/{name}" if path else name, sub, repo, req.urls, ref, with_content=False
            )
            for name, sub in repo.git.trees[entry.sha].items()
        ]
        if req.media == "object":
            tree = factories.content_item(path, entry, repo, req.urls, ref, with_content=False)
            return _object_media(Response(200, {**tree, "entries": items}))
        return Response(200, items)
    if req.media == "raw" and entry.type == "blob":
        return raw_response(repo.git.blobs[entry.sha], req)
    item = factories.content_item(path, entry, repo, req.urls, ref, with_content=True)
    if item.get("encoding") == "base64" and item["size"] > LARGE_FILE:
        item["content"], item["encoding"] = "", "none"
    return _object_media(Response(200, item)) if req.media == "object" else Response(200, item)


def _object_media(resp: Response) -> Response:
    resp.headers["x-github-media-type"] = "github.v3; param=object; format=json"
    return resp


@route("PUT", "/repos/{owner}/{repo}/contents/{path}")
def put_contents(fake: FakeGitHub, req: Request) -> Response:
    """Create or update one file with a commit on ``branch`` (default branch)."""
    repo = get_repo(fake, req)
    who = actor(fake, req)
    body = body_dict(req)
    message = require_str(body, "message", "Commit")
    content = require_str(body, "content", "Commit")
    branch = str(body.get("branch") or repo.default_branch)
    path = req.params["path"].strip("/")
    if not path:
        raise not_found()
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "content is not valid Base64") from None
    tip = repo.branch_sha(branch)
    if tip is None and repo.git.refs:  # an empty repository gets its first commit on ``branch``
        raise ApiError(404, f"Branch {branch} not found")
    current = repo.git.lookup(repo.git.commits[tip].tree, path) if tip else None
    if current is not None and current.type == "blob":
        if "sha" not in body:
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if body["sha"] != current.sha:
            raise ApiError(409, f"{path} does not match {body['sha']}")
    default = fake.signature(who)
    author = signature_from(body.get("author"), default, "author")
    committer = signature_from(body.get("committer"), default, "committer")
    flat = repo.git.flatten(repo.git.commits[tip].tree) if tip else {}
    flat[path] = TreeEntry("100644", "blob", repo.git.put_blob(data))
    sha = repo.git.put_commit(repo.git.build_tree(flat), [tip] if tip else [], message, author, committer)
    repo.git.refs[f"refs/heads/{branch}"] = sha
    repo.pushed_at = fake.clock.now()
    out = factories.file_commit(path, flat[path], sha, repo, req.urls, branch)
    return Response(200 if current is not None else 201, out)


@route("GET", "/repos/{owner}/{repo}/commits/{ref}")
def get_repo_commit(fake: FakeGitHub, req: Request) -> Response:
    repo = get_repo(fake, req)
    sha = repo.resolve_commitish(req.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {req.params['ref']}")
    return Response(200, factories.commit(sha, repo, fake.users, req.urls, with_files=True))
