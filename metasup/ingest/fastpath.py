"""Fast paths over string columns: answers the plain pandas/pyarrow calls give, without their cost.

Each function gives exactly the answer of the plain call it stands for (the tests compare the
two) and takes that plain call itself where its trick does not apply. They exist because, at fleet
scale (a million signals, millions of price bars), the plain calls were among the slowest steps
of loading; the measurements are in ``docs/performance.md`` (section "``ingest.fastpath``").

* :func:`repeated` finds repeated ``signal_id`` values. A hash table over a million distinct ids
  (pyarrow's dictionary encoding) is the slow way; instead numpy mixes each id's UTF-8 bytes into
  a 64-bit hash, 8 bytes at a time, and sorts the hashes. Only rows whose hash occurs more than
  once are compared exactly, so a collision costs a little time, never a wrong verdict.
* :func:`blank` is ``text.str.strip() == ""`` without building a stripped copy of every string:
  the first byte of each string is read from arrow's buffer, and a string that starts with a
  visible ASCII character is not blank. Only the other strings are decoded.
* Both read an arrow string array's offsets and bytes in place (:func:`_utf8_buffers`) instead
  of turning millions of strings into Python objects.
* :func:`factorize` numbers distinct values with pyarrow's dictionary encoding: the exact
  comparison behind :func:`repeated`, and what lets the checks parse each distinct direction or
  horizon once and the price frame rank its symbols without a Python string per row.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasup.ingest.rows import Bools, Ints


def blank(text: pd.Series) -> Bools:
    """Empty or whitespace-only values: ``text.str.strip() == ""`` without building stripped strings.

    For arrow strings pyarrow's ``utf8_is_space`` answers in place; it knows the same whitespace as
    the ``utf8_trim_whitespace`` behind ``str.strip`` (compared on every Unicode code point).
    """
    if _is_arrow_text(text):
        strings = pa.array(text.array)
        if isinstance(strings, pa.ChunkedArray):  # one buffer: no Python loop over hundreds of chunks
            strings = strings.combine_chunks()
        suspect = _may_be_blank(strings)
        if strings.null_count:  # missing is never blank: an absent optional field has only nulls
            suspect &= np.asarray(strings.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        maybe = np.flatnonzero(suspect)
        result = np.zeros(len(text), dtype=bool)
        if len(maybe):  # only these strings are decoded
            suspects = strings.take(pa.array(maybe))
            empty = pc.equal(pc.binary_length(suspects), 0)  # byte length: no UTF-8 decoding
            verdict = pc.or_(empty, pc.utf8_is_space(suspects)).fill_null(False)
            result[maybe] = np.asarray(verdict.to_numpy(zero_copy_only=False), dtype=bool)
        return result
    return np.asarray((text.str.strip() == "").to_numpy(dtype=bool, na_value=False), dtype=bool)


def _is_arrow_text(text: pd.Series) -> bool:
    return isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow"


def _may_be_blank(strings: pa.Array) -> Bools:
    """Strings that are empty or start with a byte other than visible ASCII (``!`` to ``~``).

    Any other string has a visible first character, so it is not blank; its first byte is read
    straight from arrow's buffers, without decoding the string.
    """
    if len(strings) == 0:
        return np.zeros(0, dtype=bool)
    offsets, raw = _utf8_buffers(strings)
    if not len(raw):
        raw = np.zeros(1, dtype=np.uint8)  # every string is empty: any byte will do
    starts = offsets[:-1]
    first = np.take(raw, starts, mode="clip")  # an empty last string starts past the end
    return np.asarray((offsets[1:] == starts) | (first < ord("!")) | (first > ord("~")), dtype=bool)


def _utf8_buffers(strings: pa.Array) -> tuple[Ints, npt.NDArray[np.uint8]]:
    """An arrow string array's offsets (one more than its strings) and its bytes, without copies.

    ``string`` arrays' 32-bit offsets are widened (``large_string``, what pandas holds, is not).
    """
    width = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(strings.buffers()[1], dtype=width)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    data = strings.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets.astype(np.int64, copy=False), raw


HASH_BLOCK: Final = 1 << 20
"""Strings hashed per call of :func:`_string_hashes`. Its temporaries (a dozen arrays of one value
per string) then stay a few MiB and are reused from block to block, instead of growing with the
column: fresh pages are what this step paid for most, and they set the loader's peak at ten
million signals (``docs/performance.md``, "Duplicate ids in blocks")."""


def repeated(text: pd.Series) -> Bools:
    """Every occurrence of a value after its first (NA compares like any other value).

    Arrow strings without NA are screened by a 64-bit hash of their bytes (:func:`_string_hashes`,
    block by block, the column's chunks never joined), sorted; only rows whose hash occurs more than
    once are compared exactly. Anything else is compared exactly throughout.
    """
    blocks = _arrow_blocks(text)
    if blocks is None:
        return _after_first(_factorize_codes(text))
    hashes = np.empty(len(text), dtype=np.uint64)
    start = 0
    for block in blocks:
        hashes[start : start + len(block)] = _string_hashes(block)
        start += len(block)
    ordered = np.sort(hashes)
    collided = ordered[1:][ordered[1:] == ordered[:-1]]
    result = np.zeros(len(text), dtype=bool)
    if len(collided):
        suspects = np.flatnonzero(np.isin(hashes, collided))
        result[suspects] = _after_first(_factorize_codes(text.iloc[suspects]))
    return result


def _after_first(codes: Ints) -> Bools:
    """Rows whose code was seen before (codes are numbered in order of first appearance)."""
    after = np.zeros(len(codes), dtype=bool)
    if len(codes) > 1:
        after[1:] = codes[1:] <= np.maximum.accumulate(codes)[:-1]
    return after


def _arrow_blocks(text: pd.Series) -> list[pa.Array] | None:
    """The values as arrow string arrays of at most :data:`HASH_BLOCK` strings, in order, if they
    are arrow strings without NA (else ``None``): slices of the column's own chunks, not copies."""
    if not _is_arrow_text(text):
        return None
    strings = pa.array(text.array)
    if strings.null_count:
        return None
    chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
    return [chunk.slice(start, HASH_BLOCK) for chunk in chunks for start in range(0, len(chunk), HASH_BLOCK)]


_ONE, _EIGHT = np.uint64(1), np.uint64(8)
_MIX: Final = np.uint64(0x9E3779B97F4A7C15)
"""Odd 64-bit multiplier (2^64 / golden ratio) that spreads every input bit over the hash."""


def _string_hashes(strings: pa.Array) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each string from its UTF-8 bytes, read 8 at a time from arrow's buffer.

    Each round mixes the next 8 bytes of the strings that still have bytes left, so a few long
    strings cost rounds over a few rows only. The length is mixed in first: ``"a"`` and ``"a\0"``
    differ.
    """
    offsets, data = _utf8_buffers(strings)
    raw = data[offsets[0] : offsets[-1]]
    padded = np.zeros(len(raw) + 8, dtype=np.uint8)  # every 8-byte read stays inside the buffer
    padded[: len(raw)] = raw
    words = np.ndarray(shape=(len(raw) + 1,), dtype="<u8", buffer=padded, strides=(1,))  # at every byte
    starts = offsets[:-1] - offsets[0]
    lengths = np.diff(offsets)
    hashes = lengths.astype(np.uint64) * _MIX
    active = np.flatnonzero(lengths > 0)
    step = 0
    with np.errstate(over="ignore"):
        while len(active):
            left = np.minimum(lengths[active] - step, 8).astype(np.uint64)
            # The low ``left`` bytes: (1 << 8·left) − 1, shifted in two steps so 8 bytes do not overflow.
            low_bytes = ((_ONE << (left * _EIGHT - _ONE)) << _ONE) - _ONE
            mixed = (hashes[active] ^ (words[starts[active] + step] & low_bytes)) * _MIX
            hashes[active] = mixed ^ (mixed >> np.uint64(31))
            step += 8
            active = active[lengths[active] > step]
    return hashes


def factorize(text: pd.Series) -> tuple[Ints, list[str]]:
    """Codes (-1 for NA) and distinct values in order of appearance, hashed by pyarrow."""
    chunks = _encoded_chunks(text)
    if not chunks:
        return np.zeros(0, dtype=np.int64), []
    # One memo table runs across the chunks, so the last chunk's dictionary holds every value.
    return _codes(chunks), [str(word) for word in chunks[-1].dictionary.to_pylist()]


def _factorize_codes(text: pd.Series) -> Ints:
    """Codes numbered in order of first appearance, NA included; no Python string per value."""
    chunks = _encoded_chunks(text, nulls="encode")  # NA gets a code too: a second NA is a repeat
    return _codes(chunks) if chunks else np.zeros(0, dtype=np.int64)


def _encoded_chunks(text: pd.Series, nulls: str = "mask") -> list[pa.DictionaryArray]:
    strings = pa.array(text, from_pandas=True)
    if not isinstance(strings, pa.ChunkedArray):
        strings = pa.chunked_array([strings])
    return list(pc.dictionary_encode(strings, null_encoding=nulls).chunks)


def _codes(chunks: list[pa.DictionaryArray]) -> Ints:
    codes = np.concatenate([chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in chunks])
    return codes.astype(np.int64)
