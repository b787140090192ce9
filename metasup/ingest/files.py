"""Artifact files as bytes: their content, their lines.

Gzip is undone here (which files a configured path names is ``ingest.listing``'s), and a file's
content is memory-mapped once and shared without copies by every reader. Line positions are found
with RE2 and numpy over whole buffers, never by iterating lines in Python.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import mmap
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from metasup.ingest.rows import Bools, Ints, Objects
from metasup.model.errors import ArtifactError, why_unreadable

SUPPORTED_SUFFIXES: Final = (".jsonl.gz", ".csv.gz", ".jsonl", ".csv", ".parquet")
"""File name endings an artifact file may have, in any case; the ``.gz`` ones are gunzipped first."""

Bytes = npt.NDArray[np.uint8]


def suffix_of(path: Path) -> str | None:
    """The supported extension ``path`` ends with (in any case), if any."""
    name = path.name.lower()
    return next((suffix for suffix in SUPPORTED_SUFFIXES if name.endswith(suffix)), None)


def display_path(path: Path) -> str:
    """How a file is named to the user: relative to the working directory when it lies under it.

    A name that is not UTF-8 (a Latin-1 zip unpacked into an artifact folder) shows its odd bytes
    as ``\\xe9``: Python holds them as lone surrogates, which no JSON, markdown or UTF-8 file can
    carry (the review's JSON failed to write, as "Internal error")."""
    try:
        shown = path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        shown = str(path)
    return shown.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_not_a_loop(path: Path) -> None:
    """A symlink loop is named as such (``exists()`` alone would call it "file not found")."""
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ArtifactError(f"{display_path(path)}: symlink loop") from None


@dataclass(frozen=True)
class Content:
    """A file's bytes without a copy: a memory map (or the decompressed gzip), seen as uint8 by numpy.

    ``mapping`` is the memory map the bytes lie in, when they do, starting at byte ``offset`` of it:
    what lets :meth:`release_before` hand pages already read back to the kernel.
    """

    buffer: pa.Buffer
    mapping: mmap.mmap | None = field(default=None, compare=False, repr=False)
    offset: int = 0

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

    def piece(self, start: int, stop: int) -> Content:
        """``[start, stop)`` as content of its own (no copy)."""
        return Content(self.buffer.slice(start, stop - start))

    def as_binary_array(self) -> pa.Array:
        """The content as a one-value binary array (no copy), for pyarrow's string kernels."""
        offsets = pa.array([0, len(self)], pa.int64()).buffers()[1]
        return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, self.buffer])

    def without_bom(self) -> Content:
        """A leading UTF-8 byte order mark is not part of the first line."""
        bom = len(codecs.BOM_UTF8)
        if self.bytes(0, bom) != codecs.BOM_UTF8:
            return self
        return Content(self.buffer.slice(bom), self.mapping, self.offset + bom)

    def release_before(self, position: int) -> None:
        """Drop the pages of ``[0, position)`` from this process's memory; they are read again if needed.

        A memory-mapped file's pages stay resident once read: a 250 MB file read in pieces would
        still weigh 250 MB at the end. Its pages are clean copies of the file, so the kernel can
        drop them (``MADV_DONTNEED``) and fault them in again from the page cache if they are
        touched later: nothing can be lost. Decompressed content (no mapping) is left alone.
        """
        if self.mapping is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        end = (self.offset + position) // mmap.PAGESIZE * mmap.PAGESIZE
        if end > 0:
            self.mapping.madvise(mmap.MADV_DONTNEED, 0, end)


UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
"""What a UTF-16 text file starts with (Windows tools write them); metasup reads UTF-8 only."""

GZIP_MAGIC: Final = b"\x1f\x8b"
"""The first two bytes of every gzip file; no UTF-8 text starts with them (``0x8b`` cannot start a
character), nor does a Parquet file (``PAR1``), so content starting with them is gzip whatever the
file's name says."""


def read_content(path: Path, suffix: str) -> Content:
    """The file's content, decompressed when gzipped; an unreadable file is an ``ArtifactError``.

    A file whose name does not end in ``.gz`` but whose bytes start with :data:`GZIP_MAGIC` (an
    ``events.jsonl`` written by ``gzip -c``) is gunzipped too: read as text, each of its lines was
    rejected as "not a JSON object" — noise burying the one fact that mattered. Two bytes tell it.
    """
    shown = display_path(path)
    try:
        if suffix.endswith(".gz"):
            return Content(pa.py_buffer(gunzip(shown, path.read_bytes())))
        if path.stat().st_size == 0:
            return Content(pa.py_buffer(b""))
        with path.open("rb") as handle:
            mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if mapping[: len(GZIP_MAGIC)] == GZIP_MAGIC:
            with mapping:
                return Content(pa.py_buffer(gunzip(shown, mapping, unnamed=True)))
        return Content(pa.py_buffer(mapping), mapping)
    except OSError as exc:
        raise ArtifactError(f"{shown}: {why_unreadable(exc)}") from None


def gunzip(shown: str, data: bytes | mmap.mmap, unnamed: bool = False) -> bytes:
    """``data`` decompressed; a broken gzip file is an ``ArtifactError`` naming ``shown``.

    ``unnamed``: the file was taken for gzip by its first bytes, not its name, which the error says.
    """
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        how = " (it starts like one, though its name does not end in .gz)" if unnamed else ""
        raise ArtifactError(f"{shown}: not a valid gzip file{how} ({exc})") from None


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


def line_pieces(data: Content, size: int) -> Iterator[tuple[int, Content]]:
    """``data`` in consecutive pieces of about ``size`` bytes, each with its offset.

    Every piece but the last ends right after a newline, so each starts at a line start (which
    ``scan_json_lines``' guard needs) and no line is split. Empty content is one empty piece.
    """
    raw = data.array
    start = 0
    while True:
        stop = len(raw) if start + size >= len(raw) else _after_newline(raw, start + size)
        yield start, data.piece(start, stop)
        if stop >= len(raw):
            return
        start = stop


def line_at(data: Content, number: int) -> bytes:
    """Line ``number`` (1-based) without its line ending; scans only up to it (for error messages)."""
    raw = data.array
    start, seen = 0, 0
    if number > 1:
        for offset, block in _blocks(raw):
            found = np.flatnonzero(block == ord("\n"))
            if seen + len(found) >= number - 1:
                start = offset + int(found[number - 2 - seen]) + 1
                break
            seen += len(found)
        else:
            return b""
    return data.bytes(start, _after_newline(raw, start)).rstrip(b"\r\n")


def _after_newline(raw: Bytes, position: int) -> int:
    """The offset just after the first newline at or after ``position`` (the end if none)."""
    for start, block in _blocks(raw[position:], 1 << 16):
        found = np.flatnonzero(block == ord("\n"))
        if len(found):
            return position + start + int(found[0]) + 1
    return len(raw)


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


NOT_AN_OBJECT: Final = "not a JSON object"
"""Why a JSON Lines line whose first non-whitespace byte is not ``{`` is rejected."""
BARE_CARRIAGE_RETURN: Final = "carriage return (\\r) inside the line"
"""Why a line with a ``\\r`` followed by anything but whitespace or ``{`` is rejected (see below)."""
_NOT_OBJECT_START: Final = r"^[ \t\r]*[^{ \t\r\n]"
_BAD_CARRIAGE_RETURN: Final = r"\r[ \t\r]*[^{ \t\r\n]"
_WHITESPACE_ONLY: Final = r"^[ \t\r\n]*$"


@dataclass(frozen=True)
class JsonLines:
    """A JSON Lines file made safe for pyarrow's JSON reader, and what became of its lines.

    ``content`` is the file itself, or, when lines were refused, a copy in which each refused line
    is overwritten by spaces (same length: every line keeps its byte offsets, and pyarrow skips it
    as blank). ``lines`` counts every physical line and numbers those left to read (neither blank
    nor refused); ``blank`` counts the blank ones; ``refused`` numbers the refused ones (1-based,
    ascending) and ``reasons`` says why.
    """

    content: Content
    lines: Lines
    blank: int
    refused: Ints
    reasons: Objects


def scan_json_lines(data: Content) -> JsonLines:
    """Count and number the lines of a JSON Lines file; refuse those pyarrow must never be given.

    pyarrow 26's JSON reader dies (SIGSEGV, no exception) when the first JSON value of the data it
    parses is ``null`` (``b"null"``, ``b"  null"``, ``b"\\nnull"``, ``b"null\\n{…}"``). That holds for
    the whole input and for each block it cuts the input into (``ReadOptions.block_size``). Its
    chunker (``newlines_in_values=False``, which ``ingest.jsonl`` sets) cuts blocks only right after
    a ``\\n`` or a ``\\r``, and skips whitespace (`` \\t\\r\\n``) before a block's first value.

    So, instead of guessing where pyarrow will cut (an implementation detail of its block reader),
    every place it could cut is made safe: a line whose first non-whitespace byte is not ``{`` is
    refused (:data:`NOT_AN_OBJECT`), and so is a line holding a ``\\r`` followed, on the same line,
    by anything other than whitespace or ``{`` (:data:`BARE_CARRIAGE_RETURN`; ``\\r\\n`` endings
    are fine). What is left obeys: after the start of the data and after every ``\\n`` and ``\\r``,
    the first non-whitespace byte, if any, is ``{``. Whatever block or stretch of whole lines
    pyarrow is then given (the whole file, ``ingest.jsonl``'s chunks and bisected halves, which
    start at line starts, and its re-joined good lines), its first value is an object.

    Cost on clean data: two RE2 passes (``\\n[^{]`` and ``\\r[^\\n]``), which together take about
    as long as the blank-line search of :func:`scan_lines` they replace (a clean file has no blank
    line either); as one alternation RE2 loses its ``memchr`` prefix scan and is ten times slower.
    Only when one matches, or the first byte is not ``{``, are the lines located (numpy) and the
    suspect ones — not starting with ``{``, or holding a bare ``\\r`` — matched one by one by
    pyarrow's RE2 (vectorized, no Python per line).
    """
    raw = data.array
    newlines = sum(int(np.count_nonzero(block == ord("\n"))) for _, block in _blocks(raw))
    total = newlines + (1 if len(raw) and raw[-1] != ord("\n") else 0)
    nothing, no_reasons = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    if not len(raw):
        return JsonLines(data, Lines(0, nothing), 0, nothing, no_reasons)
    if raw[0] == ord("{") and not _contains(data, "\n[^{]") and not _contains(data, "\r[^\n]"):
        every_line = Lines(total, np.arange(1, total + 1, dtype=np.int64))
        return JsonLines(data, every_line, 0, nothing, no_reasons)
    starts, ends = _line_offsets(data)
    suspect = np.ones(len(starts), dtype=bool)
    filled = ends > starts
    suspect[filled] = raw[starts[filled]] != ord("{")
    suspect[_lines_with_bare_carriage_return(raw, starts)] = True
    candidates = np.flatnonzero(suspect)
    picked = _line_array(data, starts).take(pa.array(candidates))
    blank = _matches(picked, _WHITESPACE_ONLY)
    not_object = _matches(picked, _NOT_OBJECT_START)
    refused = not_object | _matches(picked, _BAD_CARRIAGE_RETURN)
    skipped = np.zeros(len(starts), dtype=bool)
    skipped[candidates[blank | refused]] = True
    refused_lines = candidates[refused]
    reasons = np.where(not_object[refused], NOT_AN_OBJECT, BARE_CARRIAGE_RETURN).astype(object)
    content = _blanked(data, starts[refused_lines], ends[refused_lines]) if len(refused_lines) else data
    numbers = np.flatnonzero(~skipped).astype(np.int64) + 1
    return JsonLines(content, Lines(total, numbers), int(blank.sum()), refused_lines + 1, reasons)


def _lines_with_bare_carriage_return(raw: Bytes, starts: Ints) -> Ints:
    """Indices of the lines holding a ``\\r`` that is not the last byte before a ``\\n``."""
    found = [np.flatnonzero(block == ord("\r")) + start for start, block in _blocks(raw)]
    returns = np.concatenate([np.zeros(0, dtype=np.int64), *found]).astype(np.int64)
    after = returns + 1
    bare = returns[(after >= len(raw)) | (raw[np.minimum(after, len(raw) - 1)] != ord("\n"))]
    return np.asarray(np.searchsorted(starts, bare, side="right") - 1, dtype=np.int64)


def _line_array(data: Content, starts: Ints) -> pa.Array:
    """Every line, with its newline, as one binary array over the file's bytes (no copy)."""
    offsets = pa.array(np.append(starts, len(data)), pa.int64()).buffers()[1]
    return pa.Array.from_buffers(pa.large_binary(), len(starts), [None, offsets, data.buffer])


def chosen_lines(data: Content, numbers: Ints) -> pa.Array:
    """The lines numbered ``numbers`` (1-based), each with its newline, as one binary array."""
    starts, _ = _line_offsets(data)
    return _line_array(data, starts).take(pa.array(numbers - 1))


def contains(data: Content, pattern: str) -> bool:
    """Whether RE2 ``pattern`` matches somewhere in ``data`` (one pass, no copy)."""
    return _contains(data, pattern)


def matches(lines: pa.Array, pattern: str) -> Bools:
    """Which of ``lines`` RE2 ``pattern`` matches somewhere in (pyarrow, no Python per line)."""
    return _matches(lines, pattern)


def _matches(lines: pa.Array, pattern: str) -> Bools:
    found = pc.match_substring_regex(lines, pattern)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _blanked(data: Content, starts: Ints, ends: Ints) -> Content:
    """A copy of ``data`` with the bytes ``[starts[i], ends[i])`` overwritten by spaces.

    The ranges are disjoint non-empty lines, so a running sum of +1 at each start and -1 at each
    end is 1 exactly inside them.
    """
    raw = data.array.copy()
    step = np.zeros(len(raw) + 1, dtype=np.int8)
    step[starts] = 1
    step[ends] -= 1
    inside = np.cumsum(step[:-1], dtype=np.int8).view(bool)
    raw[inside] = ord(" ")
    return Content(pa.py_buffer(raw))
