"""Branches, files and commits: the contents API and the Git data API (no working tree).

Files are read whole at any size: the contents API sends no content past 1 MB
(``"encoding": "none"``), so such files — and every state file — are read as blobs of the Git
data API, which has no such limit.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from github import GithubException, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GitRef import GitRef
from github.GitTree import GitTree
from github.Repository import Repository

from metasup.github.client import GitHubClient, GitHubIOError, translate_error


def loaded_ref(repo: Repository, branch: str) -> GitRef:
    """The branch's ref, fetched: a lazy GitRef keeps the ``/git/ref/`` URL, which GitHub's
    PATCH does not serve (it wants ``/git/refs/``); loading it takes the URL GitHub returns."""
    ref = repo.get_git_ref(f"heads/{branch}")
    _ = ref.object.sha
    return ref


def branch_head(gh: GitHubClient, repository: str, branch: str) -> str | None:
    """The commit ``branch`` points at; None when there is no such branch."""
    try:
        sha: str = gh.get_repo(repository).get_git_ref(f"heads/{branch}").object.sha
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise translate_error(exc, f"branch {branch}") from None
    return sha


def read_text(gh: GitHubClient, repository: str, path: str, ref: str, errors: str = "strict") -> str | None:
    """A file's text at ``ref``; None when the file (or the ref) does not exist.

    ``errors`` as for ``bytes.decode``: strict (a file that is not UTF-8 is a ``GitHubIOError``
    naming it), or ``replace`` for files whose readers check what they read anyway.
    """
    try:
        content = gh.get_repo(repository).get_contents(path, ref=ref)
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise translate_error(exc, f"file {path}@{ref}") from None
    if isinstance(content, list):
        return None
    if content.encoding != "base64":  # "none": over 1 MB, read the blob
        try:
            return blob_text(gh.get_repo(repository), content.sha, f"{path}@{ref}", errors)
        except GithubException as exc:
            raise translate_error(exc, f"file {path}@{ref}") from None
    return _decoded(content.decoded_content, f"{path}@{ref}", errors)


def blob_text(repo: Repository, sha: str, name: str, errors: str = "strict") -> str:
    """A blob's whole text through the Git data API (any size); ``name`` says which file it is."""
    blob = repo.get_git_blob(sha)
    data = blob.content
    raw = base64.b64decode(data) if blob.encoding == "base64" else data.encode("utf-8")
    return _decoded(raw, name, errors)


def _decoded(raw: bytes, name: str, errors: str) -> str:
    try:
        return raw.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        raise GitHubIOError(f"file {name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_texts_at(
    gh: GitHubClient, repository: str, commit: str, paths: Iterable[str], errors: str = "strict"
) -> dict[str, str]:
    """The texts of those ``paths`` that exist in ``commit``, read as blobs (tree → blob, any size);
    ``errors`` as for :func:`read_text`."""
    try:
        repo = gh.get_repo(repository)
        trees: dict[str, dict[str, tuple[str, str]]] = {}

        def entries(tree_sha: str) -> dict[str, tuple[str, str]]:
            if tree_sha not in trees:
                tree = repo.get_git_tree(tree_sha)
                trees[tree_sha] = {e.path: (e.type, e.sha) for e in tree.tree}
            return trees[tree_sha]

        root = repo.get_git_commit(commit).tree.sha
        files: dict[str, str] = {}
        for path in paths:
            kind, sha = "tree", root
            for part in path.split("/"):
                if kind != "tree" or part not in entries(sha):
                    kind = ""
                    break
                kind, sha = entries(sha)[part]
            if kind == "blob":
                files[path] = blob_text(repo, sha, f"{path}@{commit[:12]}", errors)
    except GithubException as exc:
        raise translate_error(exc, f"files at {commit[:12]}") from None
    return files


def commit_files(
    gh: GitHubClient, repository: str, parent: str | None, files: dict[str, str], message: str
) -> str:
    """A commit with ``files`` changed on top of ``parent`` (an orphan when None), via the Git data API."""
    repo = gh.get_repo(repository)
    parent_commit = None if parent is None else repo.get_git_commit(parent)
    tree = _tree_with(repo, parent_commit, files)
    commit = repo.create_git_commit(message, tree, [] if parent_commit is None else [parent_commit])
    sha: str = commit.sha
    return sha


def _tree_with(repo: Repository, parent: GitCommit | None, files: dict[str, str]) -> GitTree:
    """``parent``'s tree with ``files`` set (just ``files`` without a parent); trees are named by
    their content, so the same files on the same parent always give the same tree sha."""
    elements = [
        InputGitTreeElement(path, "100644", "blob", sha=repo.create_git_blob(text, "utf-8").sha)
        for path, text in files.items()
    ]
    if parent is None:
        return repo.create_git_tree(elements)
    return repo.create_git_tree(elements, base_tree=parent.tree)


def is_exact_change(
    gh: GitHubClient, repository: str, commit: str, parent: str, files: dict[str, str]
) -> bool:
    """Whether ``commit`` is ``parent`` with ``files`` set and nothing else: its only parent is
    ``parent`` and its tree is the tree :func:`commit_files` would build there.

    What decides that metasup merges only its own change, whatever its records say: a head whose
    sha someone wrote into the state branch still has to be, byte for byte, metasup's edit.
    """
    try:
        repo = gh.get_repo(repository)
        head = repo.get_git_commit(commit)
        if [p.sha for p in head.parents] != [parent]:
            return False
        return _tree_with(repo, repo.get_git_commit(parent), files).sha == head.tree.sha
    except GithubException as exc:
        raise translate_error(exc, f"commit {commit[:12]}") from None


def commit_messages(gh: GitHubClient, repository: str, head: str, limit: int) -> list[tuple[str, str]]:
    """``(sha, message)`` of ``head`` and its first parents, newest first, at most ``limit`` commits."""
    found: list[tuple[str, str]] = []
    try:
        repo = gh.get_repo(repository)
        sha: str | None = head
        while sha is not None and len(found) < limit:
            commit = repo.get_git_commit(sha)
            found.append((sha, commit.message))
            sha = commit.parents[0].sha if commit.parents else None
    except GithubException as exc:
        raise translate_error(exc, f"history of {head[:12]}") from None
    return found
