"""A tiny content-addressed git object store: blobs, trees, commits and refs with real git SHA-1s.

Trees are nested like git's; :meth:`GitStore.flatten` / :meth:`GitStore.build_tree` convert between
a tree and a flat ``{path: TreeEntry}`` map of its leaves, which is how the fake implements
``base_tree``, contents lookup, merges and diffs.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

TREE_MODE = "040000"
FILE_MODES = frozenset({"100644", "100755", "120000", "160000"})


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    date: datetime

    def raw(self) -> str:
        return f"{self.name} <{self.email}> {int(self.date.timestamp())} +0000"


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # "100644", "100755", "040000", "160000", "120000"
    type: str  # "blob", "tree", "commit"
    sha: str


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    author: Signature
    committer: Signature


class GitError(Exception):
    """A git-level failure; ``kind`` tells which (missing object, bad input...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _hash(kind: str, payload: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(payload)}\0".encode() + payload, usedforsecurity=False).hexdigest()


@dataclass
class GitStore:
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, TreeEntry]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> commit sha

    # -- objects ----------------------------------------------------------------------------------

    def put_blob(self, data: bytes) -> str:
        sha = _hash("blob", data)
        self.blobs[sha] = data
        return sha

    def put_tree(self, entries: Mapping[str, TreeEntry]) -> str:
        def key(item: tuple[str, TreeEntry]) -> bytes:
            name, entry = item
            return (name + "/" if entry.type == "tree" else name).encode()

        payload = b"".join(
            f"{entry.mode.lstrip('0')} {name}\0".encode() + bytes.fromhex(entry.sha)
            for name, entry in sorted(entries.items(), key=key)
        )
        sha = _hash("tree", payload)
        self.trees[sha] = dict(sorted(entries.items(), key=key))
        return sha

    def put_commit(
        self, tree: str, parents: Iterable[str], message: str, author: Signature, committer: Signature
    ) -> str:
        parents = tuple(parents)
        if tree not in self.trees:
            raise GitError("tree", f"Tree SHA does not exist: {tree}")
        for parent in parents:
            if parent not in self.commits:
                raise GitError("parent", f"Parent SHA does not exist or is not a commit object: {parent}")
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines += [f"author {author.raw()}", f"committer {committer.raw()}", "", message]
        sha = _hash("commit", "\n".join(lines).encode())
        self.commits[sha] = Commit(sha, tree, parents, message, author, committer)
        return sha

    def kind_of(self, sha: str) -> str | None:
        if sha in self.blobs:
            return "blob"
        if sha in self.trees:
            return "tree"
        if sha in self.commits:
            return "commit"
        return None

    # -- trees as flat maps -------------------------------------------------------------------------

    def flatten(self, tree_sha: str, prefix: str = "") -> dict[str, TreeEntry]:
        """Every non-tree leaf under ``tree_sha`` keyed by its full path."""
        out: dict[str, TreeEntry] = {}
        for name, entry in self.trees[tree_sha].items():
            path = f"{prefix}{name}"
            if entry.type == "tree":
                out.update(self.flatten(entry.sha, f"{path}/"))
            else:
                out[path] = entry
        return out

    def walk(self, tree_sha: str, prefix: str = "") -> list[tuple[str, TreeEntry]]:
        """Every entry (trees included) under ``tree_sha``, depth first, with full paths."""
        out: list[tuple[str, TreeEntry]] = []
        for name, entry in self.trees[tree_sha].items():
            path = f"{prefix}{name}"
            out.append((path, entry))
            if entry.type == "tree":
                out.extend(self.walk(entry.sha, f"{path}/"))
        return out

    def build_tree(self, flat: Mapping[str, TreeEntry]) -> str:
        """Store the nested trees for a flat ``{path: leaf}`` map; return the root tree sha."""
        here: dict[str, TreeEntry] = {}
        subdirs: dict[str, dict[str, TreeEntry]] = {}
        for path, entry in flat.items():
            head, sep, rest = path.partition("/")
            if sep:
                subdirs.setdefault(head, {})[rest] = entry
            else:
                here[head] = entry
        for name, sub in subdirs.items():
            here[name] = TreeEntry(TREE_MODE, "tree", self.build_tree(sub))
        return self.put_tree(here)

    def lookup(self, tree_sha: str, path: str) -> TreeEntry | None:
        """The entry at ``path`` ("" is the root tree itself)."""
        entry = TreeEntry(TREE_MODE, "tree", tree_sha)
        for part in [p for p in path.split("/") if p]:
            if entry.type != "tree":
                return None
            found = self.trees[entry.sha].get(part)
            if found is None:
                return None
            entry = found
        return entry

    # -- history ------------------------------------------------------------------------------------

    def ancestors(self, sha: str) -> set[str]:
        """``sha`` and every commit reachable from it."""
        seen: set[str] = set()
        todo = deque([sha])
        while todo:
            cur = todo.popleft()
            if cur in seen or cur not in self.commits:
                continue
            seen.add(cur)
            todo.extend(self.commits[cur].parents)
        return seen

    def is_ancestor(self, old: str, new: str) -> bool:
        return old in self.ancestors(new)

    def merge_base(self, a: str, b: str) -> str | None:
        mine = self.ancestors(a)
        todo = deque([b])
        seen: set[str] = set()
        while todo:
            cur = todo.popleft()
            if cur in seen:
                continue
            seen.add(cur)
            if cur in mine:
                return cur
            todo.extend(self.commits[cur].parents)
        return None

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits reachable from ``head`` but not from ``base`` (like ``git log base..head``)."""
        exclude = self.ancestors(base)
        return [c for c in self.ancestors(head) if c not in exclude]

    def three_way(self, base_tip: str, head_tip: str) -> dict[str, TreeEntry] | None:
        """Flat tree of merging ``head_tip`` into ``base_tip``; ``None`` on a conflict."""
        mb = self.merge_base(base_tip, head_tip)
        ours = self.flatten(self.commits[base_tip].tree)
        theirs = self.flatten(self.commits[head_tip].tree)
        anc = self.flatten(self.commits[mb].tree) if mb else {}
        result = dict(ours)
        for path in set(ours) | set(theirs) | set(anc):
            o, t, a = ours.get(path), theirs.get(path), anc.get(path)
            if t in (a, o):
                continue
            if o != a:
                merged = self._merge_lines(o, a, t)
                if merged is None:
                    return None
                result[path] = merged
                continue
            if t is None:
                result.pop(path, None)
            else:
                result[path] = t
        return result

    def _merge_lines(
        self, ours: TreeEntry | None, anc: TreeEntry | None, theirs: TreeEntry | None
    ) -> TreeEntry | None:
        """A file both sides changed, merged line by line as GitHub's merge does (``git merge-file``:
        changes in different places of the file merge; overlapping or adjacent ones conflict);
        ``None`` on a conflict, or when a side deleted the file or it is not a text blob."""
        if ours is None or theirs is None or anc is None or ours.type != "blob" or ours.mode != theirs.mode:
            return None
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for name, entry in (("ours", ours), ("base", anc), ("theirs", theirs)):
                path = Path(folder) / name
                path.write_bytes(self.blobs[entry.sha])
                paths.append(str(path))
            merged = subprocess.run(
                ["git", "merge-file", "-p", "--quiet", *paths], capture_output=True, check=False
            )
        if merged.returncode != 0:
            return None
        return TreeEntry(ours.mode, "blob", self.put_blob(merged.stdout))
