"""Artifact files as bytes: which files a configured path names, their content, their lines.

Directories are listed here, gzip is undone here, and a file's content is memory-mapped once and
shared without copies by every reader. Line positions are found with RE2 and numpy over whole
buffers, never by iterating lines in Python.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from metasup.ingest.rows import Bools, Ints
from metasup.model.errors import ArtifactError

SUPPORTED_SUFFIXES: Final = (".jsonl.gz", ".csv.gz", ".jsonl", ".csv", ".parquet")
"""File name endings an artifact file may have, in any case; the ``.gz`` ones are gunzipped first."""

Bytes = npt.NDArray[np.uint8]


def suffix_of(path: Path) -> str | None:
    """The supported extension ``path`` ends with (in any case), if any."""
    name = path.name.lower()
    return next((suffix for suffix in SUPPORTED_SUFFIXES if name.endswith(suffix)), None)


def _supported() -> str:
    return ", ".join(SUPPORTED_SUFFIXES[::-1])


def display_path(path: Path) -> str:
    """How a file is named to the user: relative to the working directory when it lies under it."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def data_files(path: Path) -> list[Path]:
    """The files behind one configured path: the file itself, or a directory's data files in order."""
    if path.is_dir():
        entries = sorted(
            (entry for entry in path.iterdir() if not entry.name.startswith(".") and not entry.is_dir()),
            key=lambda entry: entry.name,
        )
        for entry in entries:
            if suffix_of(entry) is None:
                raise ArtifactError(
                    f"{display_path(entry)}: unsupported file type in an artifact directory"
                    f" (expected {_supported()})"
                )
        if not entries:
            raise ArtifactError(
                f"{display_path(path)}: directory holds no data files (expected {_supported()})"
            )
        return entries
    if not path.exists():
        raise ArtifactError(f"{display_path(path)}: file not found")
    if suffix_of(path) is None:
        raise ArtifactError(f"{display_path(path)}: unsupported file type (expected {_supported()})")
    return [path]


@dataclass(frozen=True)
class Content:
    """A file's bytes without a copy: a memory map (or the decompressed gzip), seen as uint8 by numpy."""

    buffer: pa.Buffer

    def __len__(self) -> int:
        return int(self.buffer.size)

    @property
    def array(self) -> Bytes:
        return np.frombuffer(self.buffer, dtype=np.uint8)

    def bytes(self, start: int = 0, stop: int | None = None) -> bytes:
        """A copy of ``[start, stop)``, for Python code that needs ``bytes``."""
        return self.array[start:stop].tobytes()

    def reader(self, start: int = 0, stop: int | None = None) -> pa.BufferReader:
        """A pyarrow input over ``[start, stop)`` sharing the memory (nothing is copied)."""
        end = len(self) if stop is None else stop
        return pa.BufferReader(self.buffer.slice(start, end - start))

    def as_binary_array(self) -> pa.Array:
        """The content as a one-value binary array (no copy), for pyarrow's string kernels."""
        offsets = pa.array([0, len(self)], pa.int64()).buffers()[1]
        return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, self.buffer])

    def without_bom(self) -> Content:
        """A leading UTF-8 byte order mark is not part of the first line."""
        bom = len(codecs.BOM_UTF8)
        return Content(self.buffer.slice(bom)) if self.bytes(0, bom) == codecs.BOM_UTF8 else self


def read_content(path: Path, suffix: str) -> Content:
    """The file's content, decompressed when gzipped; an unreadable file is an ``ArtifactError``."""
    try:
        if suffix.endswith(".gz"):
            return Content(pa.py_buffer(_gunzip(path, path.read_bytes())))
        if path.stat().st_size == 0:
            return Content(pa.py_buffer(b""))
        return Content(pa.memory_map(str(path)).read_buffer())
    except FileNotFoundError:
        raise ArtifactError(f"{display_path(path)}: file not found") from None
    except OSError as exc:
        raise ArtifactError(f"{display_path(path)}: cannot read file ({exc.strerror or exc})") from None


def _gunzip(path: Path, data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArtifactError(f"{display_path(path)}: not a valid gzip file ({exc})") from None


@dataclass(frozen=True)
class Lines:
    """The lines of a text file: how many, and the 1-based numbers of the non-blank ones."""

    total: int
    numbers: Ints

    def ranges(self, data: Content) -> tuple[Ints, Ints]:
        """Byte ranges of the non-blank lines of ``data`` (this file, possibly rewritten).

        Scanned on demand: the fast path never needs them.
        """
        starts, ends = _line_offsets(data)
        return starts[self.numbers - 1], ends[self.numbers - 1]


_JSON_BLANK_HINT: Final = "\n[\n\r \t]"
_CSV_BLANK_HINT: Final = "\n[\n\r]"


def scan_lines(data: Content, whitespace_is_blank: bool) -> Lines:
    """Count lines and find the blank ones: one RE2 pass first, numpy only when there may be some.

    JSON Lines treats whitespace-only lines as blank (as pyarrow does); csv only empty ones
    (pyarrow reports whitespace-only csv lines as rows with too few columns).
    """
    raw = data.array
    newlines = sum(int(np.count_nonzero(block == ord("\n"))) for _, block in _blocks(raw))
    total = newlines + (1 if len(raw) and raw[-1] != ord("\n") else 0)
    hint = _JSON_BLANK_HINT if whitespace_is_blank else _CSV_BLANK_HINT
    # The hints find a blank line by the newline before it, which the first line lacks.
    first_line_hint = Content(pa.py_buffer(b"\n" + data.bytes(0, 1)))
    if not _contains(first_line_hint, hint) and not _contains(data, hint):
        return Lines(total, np.arange(1, total + 1, dtype=np.int64))
    starts, ends = _line_offsets(data)
    blank = _blank_lines(data, starts, ends, whitespace_is_blank)
    return Lines(total, np.flatnonzero(~blank).astype(np.int64) + 1)


def _contains(data: Content, pattern: str) -> bool:
    """Whether ``pattern`` (RE2) matches somewhere in ``data``: one pass of pyarrow's RE2, no copy.

    Its speed: ``docs/performance.md``, ``ingest.files``.
    """
    return bool(pc.count_substring_regex(data.as_binary_array(), pattern)[0].as_py())


def _blocks(raw: Bytes, size: int = 1 << 22) -> Iterator[tuple[int, Bytes]]:
    """``raw`` in cache-sized views, each with its offset.

    Comparing a whole 200 MB file at once would cost a 200 MB temporary.
    """
    for start in range(0, len(raw), size):
        yield start, raw[start : start + size]


def _line_offsets(data: Content) -> tuple[Ints, Ints]:
    """Start and end (exclusive, without the newline) of every line."""
    raw = data.array
    found = [np.flatnonzero(block == ord("\n")) + start for start, block in _blocks(raw)]
    newlines = np.concatenate([np.zeros(0, dtype=np.int64), *found]).astype(np.int64)
    starts = np.concatenate((np.zeros(1, dtype=np.int64), newlines + 1))
    ends = np.concatenate((newlines, np.array([len(raw)], dtype=np.int64)))
    if not len(raw) or raw[-1] == ord("\n"):
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _blank_lines(data: Content, starts: Ints, ends: Ints, whitespace_is_blank: bool) -> Bools:
    """Which lines are blank; only lines that start with whitespace are looked at one by one."""
    raw = data.array
    empty: Bools = np.equal(ends, starts)
    first = np.zeros(len(starts), dtype=np.uint8)
    first[~empty] = raw[starts[~empty]]
    blank_bytes = b" \t\r" if whitespace_is_blank else b"\r"
    candidates = empty | np.isin(first, np.frombuffer(blank_bytes, dtype=np.uint8))
    blank = empty.copy()
    for index in np.flatnonzero(candidates & ~empty):
        blank[index] = not data.bytes(int(starts[index]), int(ends[index])).strip(blank_bytes)
    return blank
