"""Which local files a configured path names: the file itself, a folder read recursively, or a glob.

One rule for every folder, at every depth, because each of the earlier two lost data silently: a
flat folder skipped its sub-folders (``alpha/2026-09/events.jsonl`` unread, exit 0, nothing in
``data_quality``), and a hive-partitioned one skipped files of an unsupported type. Now:

* every file below the folder is read, in the order of its path below it (``a.jsonl`` then
  ``b/c.jsonl``); hive ``key=value`` folders are sub-folders like any other;
* hidden entries (a leading ``.``) are skipped, files and folders alike, as they always were;
* ``_``-prefixed folders are skipped (Spark's ``_temporary/`` holds unfinished output), and so are
  ``_``-prefixed files without a data extension (``_SUCCESS``, ``_metadata``: the markers Spark,
  Hive and Dask leave); a ``_``-prefixed file with a data extension is data, and read;
* any other file must have a supported extension, else the run stops naming it: a stray
  ``README.txt`` cannot be told from a misnamed data file (``events.json``), and neither may be
  skipped without a word;
* a folder with no data file at any depth is an error that names the sub-folders looked in.

A glob names the files it matches (their names must be supported, unless hidden or markers as
above, and the folders a wildcard segment matched are judged as above; folders the pattern names
are read) and, for each folder it
matches, that folder's files by the rule above. A symlinked folder
is followed (the action's workspace check then judges every file it leads to); one leading back to
a folder it is in is a symlink loop, named as such.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from metasup.ingest.files import SUPPORTED_SUFFIXES, check_not_a_loop, display_path, suffix_of
from metasup.model.errors import ArtifactError, why_unreadable

GLOB_CHARACTERS: Final = frozenset("*?[")


def _supported() -> str:
    return ", ".join(SUPPORTED_SUFFIXES[::-1])


def local_files(path: Path) -> list[Path]:
    """The data files one local path names: a file, a folder (recursively) or a glob."""
    text = str(path)
    if GLOB_CHARACTERS & set(text):
        return _glob_files(text)
    check_not_a_loop(path)
    if path.is_dir():
        return _folder_files(path)
    if not path.exists():
        raise ArtifactError(f"{display_path(path)}: file not found")
    if suffix_of(path) is None:
        raise ArtifactError(f"{display_path(path)}: unsupported file type (expected {_supported()})")
    return [path]


def glob_file_parts(pattern: str, name: str) -> tuple[str, ...]:
    """What :func:`wanted` judges of a file the glob ``pattern`` matched as ``name``: the folders a
    wildcard segment matched, then the file's own name.

    ``alpha/**/*.jsonl`` skips ``alpha/.staging/`` and ``alpha/_temporary/`` on disk and in object
    storage alike (Python's glob skipped hidden folders but read ``_`` ones; fsspec's read both:
    one review, two answers, an audit); a folder the pattern names (``*/_part/*.jsonl``) is read."""
    folders, _ = _wildcard_walked(pattern, name)
    return (*folders, name.rsplit("/", 1)[-1])


def glob_folder_skipped(pattern: str, name: str) -> bool:
    """Whether a folder the glob ``pattern`` matched as ``name`` is skipped: hidden or ``_``, or in
    such a folder, where a wildcard segment matched it (see :func:`glob_file_parts`)."""
    folders, last_walked = _wildcard_walked(pattern, name)
    return in_skipped_folder((*folders, name.rsplit("/", 1)[-1]) if last_walked else folders)


def _wildcard_walked(pattern: str, name: str) -> tuple[tuple[str, ...], bool]:
    """The folders of ``name`` that a wildcard segment of ``pattern`` matched, and whether one
    matched its last entry."""
    pat, got = pattern.split("/"), name.split("/")
    if "**" in pat:
        at = pat.index("**")
        after = len(pat) - at - 1
        pairs = list(zip(pat[:at], got[:at], strict=False))
        pairs += [("**", segment) for segment in got[at : len(got) - after]]
        pairs += list(zip(pat[at + 1 :], got[len(got) - after :], strict=False))
    else:
        pairs = list(zip(pat, got, strict=False))
    walked = [bool(GLOB_CHARACTERS & set(glob_part)) for glob_part, _ in pairs]
    folders = tuple(segment for (_, segment), wild in zip(pairs[:-1], walked[:-1], strict=True) if wild)
    return folders, bool(walked and walked[-1])


def in_skipped_folder(parts: Sequence[str]) -> bool:
    """Whether a folder at ``parts`` (below the folder listed) is hidden or ``_``-prefixed, or in one."""
    return any(part.startswith((".", "_")) for part in parts)


def _glob_files(pattern: str) -> list[Path]:
    found: set[Path] = set()
    for name in glob.glob(pattern, recursive=True):
        match = Path(name)
        if match.is_dir():
            if not glob_folder_skipped(pattern, name):
                found.update(_walk(match, match, frozenset())[0])
        elif wanted(glob_file_parts(pattern, name), display_path(match)):
            found.add(match)
    if not found:
        raise ArtifactError(f"{pattern}: the pattern matches no data file")
    return sorted(found)


def _folder_files(folder: Path) -> list[Path]:
    files, folders = _walk(folder, folder, frozenset())
    if not files:
        below = f", nor do its sub-folders ({_names(folder, folders)})" if folders else ""
        raise ArtifactError(
            f"{display_path(folder)}: directory holds no data files{below} (expected {_supported()};"
            " hidden and _-prefixed entries are skipped)"
        )
    return sorted(files, key=lambda name: name.relative_to(folder).as_posix())


def _walk(root: Path, folder: Path, ancestors: frozenset[str]) -> tuple[list[Path], list[Path]]:
    """The data files below ``folder`` and the sub-folders looked in (``ancestors``: real paths of
    the folders above, to name a symlink loop instead of following it forever)."""
    real = os.path.realpath(folder)
    if real in ancestors:
        raise ArtifactError(f"{display_path(folder)}: symlink loop (leads back to a folder it is in)")
    try:
        entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    except OSError as exc:
        raise ArtifactError(f"{display_path(folder)}: {why_unreadable(exc)}") from None
    files: list[Path] = []
    folders: list[Path] = []
    for entry in entries:
        check_not_a_loop(entry)
        if entry.is_dir():
            if not in_skipped_folder((entry.name,)):
                below_files, below_folders = _walk(root, entry, ancestors | {real})
                files += below_files
                folders += [entry, *below_folders]
        elif _wanted(entry):
            files.append(entry)
    return files, folders


def _wanted(entry: Path) -> bool:
    return wanted((entry.name,), display_path(entry))


def wanted(parts: Sequence[str], shown: str) -> bool:
    """Whether the file at ``parts`` (its path below the folder listed) is data, by the rule above.

    Hidden files and ``_`` markers, and anything in a hidden or ``_`` folder, are not; any other
    file must have a supported extension (``ArtifactError`` naming ``shown`` otherwise). Shared with
    the object-storage listing (``ingest.parquet_sources``), so a prefix follows the same rule.
    """
    *folders, name = parts
    if in_skipped_folder(folders):
        return False
    supported = suffix_of(Path(name)) is not None
    if name.startswith(".") or (name.startswith("_") and not supported):
        return False
    if not supported:
        raise ArtifactError(
            f"{shown}: unsupported file type in an artifact directory"
            f" (expected {_supported()}; move it out, or hide it with a leading '.')"
        )
    return True


def _names(folder: Path, folders: list[Path], shown: int = 3) -> str:
    names = [sub.relative_to(folder).as_posix() + "/" for sub in folders[:shown]]
    more = f" and {len(folders) - shown} more" if len(folders) > shown else ""
    return ", ".join(names) + more
