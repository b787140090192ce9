"""``ingest.fastpath``: fast answers that never differ from the plain ones (duplicate ids, blank text)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metasup.ingest import fastpath
from metasup.ingest.fastpath import blank, repeated

# Few characters, some of them multi-byte, so lists hold many repeats and shared prefixes.
ids = st.lists(st.text(alphabet="ab\0é€", max_size=20), max_size=60)


@given(ids)
def test_repeated__agrees_with_pandas_duplicated(values: list[str]) -> None:
    expected = pd.Series(values, dtype=object).duplicated().to_numpy()
    assert repeated(pd.Series(values, dtype="str")).tolist() == expected.tolist()


@given(ids, st.integers(1, 4), st.integers(1, 3))
def test_repeated__hashed_in_blocks_across_chunks_agrees_with_pandas(
    values: list[str], chunk: int, block: int
) -> None:
    """A column of many arrow chunks, hashed a few strings at a time: repeats across chunks and
    blocks are found as in one pass."""
    expected = pd.Series(values, dtype=object).duplicated().to_numpy()
    parts = [pd.Series(values[at : at + chunk], dtype="str") for at in range(0, len(values), chunk)]
    column = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype="str")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastpath, "HASH_BLOCK", block)
        assert repeated(column).tolist() == expected.tolist()


def test_repeated__marks_every_occurrence_after_the_first() -> None:
    values = ["s1", "s2", "s1", "s3", "s1", "s2"]
    assert repeated(pd.Series(values, dtype="str")).tolist() == [False, False, True, False, True, True]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a", "a\0"),  # same bytes but for a trailing zero: the length tells them apart
        ("abcdefgh", "abcdefgh1"),  # differ right after the first 8-byte word
        ("x" * 16 + "1", "x" * 16 + "2"),  # differ in the third word only
        ("", " "),
    ],
)
def test_repeated__strings_that_differ_late_are_distinct(first: str, second: str) -> None:
    assert not repeated(pd.Series([first, second], dtype="str")).any()
    assert repeated(pd.Series([first, second, second], dtype="str")).tolist() == [False, False, True]


def test_repeated__a_hash_collision_is_settled_by_comparing_the_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every string gets the same hash: only the exact comparison can tell them apart.
    monkeypatch.setattr(fastpath, "_string_hashes", lambda strings: np.zeros(len(strings), dtype=np.uint64))
    values = ["s1", "s2", "s3", "s2"]
    assert repeated(pd.Series(values, dtype="str")).tolist() == [False, False, False, True]


def test_repeated__python_strings_and_missing_values_take_the_exact_path() -> None:
    values = pd.Series(["s1", None, "s1", None], dtype=object)
    assert repeated(values.astype("str")).tolist() == [False, False, True, True]
    assert repeated(values).tolist() == [False, False, True, True]


def test_repeated__a_sliced_chunked_column_is_read_at_its_offset() -> None:
    values = pd.concat(
        [pd.Series(["z", "s1", "s2"], dtype="str"), pd.Series(["s2", "s1", "s4"], dtype="str")],
        ignore_index=True,
    ).iloc[1:]
    assert repeated(values).tolist() == [False, False, True, True, False]


# Unicode whitespace (no-break, em and ideographic space), visible non-ASCII and ASCII control bytes.
texts = st.lists(st.one_of(st.none(), st.text(alphabet=" \t\n\x0b\u00a0\u2003\u3000aé€\x00~!", max_size=6)))


@given(texts, st.integers(0, 3))
def test_blank__agrees_with_python_strip(values: list[str | None], skipped: int) -> None:
    column = pd.concat(
        [
            pd.Series(values[: len(values) // 2], dtype="str"),
            pd.Series(values[len(values) // 2 :], dtype="str"),
        ],
        ignore_index=True,
    ).iloc[skipped:]  # several arrow chunks, read from an offset
    expected = [value is not None and value.strip() == "" for value in values[skipped:]]
    assert blank(column).tolist() == expected
