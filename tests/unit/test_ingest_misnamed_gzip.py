"""A gzip-compressed file whose name does not end in ``.gz`` is read as gzip (its first bytes, 1f 8b,
say so): read as text, every line of an ``events.jsonl`` written by ``gzip -c`` was rejected as
"not a JSON object", and the file reported as empty."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from artifact_factories import counts, load, rejected, signal, write_records

from metasup.model.errors import ArtifactError


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_a_gzip_file_named_without_gz_reads_like_the_plain_one(tmp_path: Path, suffix: str) -> None:
    plain = write_records(tmp_path / f"plain{suffix}", [signal(1), signal(2, confidence=9), signal(3)])
    packed = tmp_path / f"alpha{suffix}"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected, got = load(tmp_path, alpha=plain), load(tmp_path, alpha=packed)
    pd.testing.assert_frame_equal(got.signals, expected.signals)
    assert list(got.signals["signal_id"]) == ["s1", "s3"]
    assert counts(got, packed.name) == counts(expected, plain.name) == (3, 2, 1, 0)
    assert [(line, why) for _, line, why in rejected(got)] == [
        (line, why) for _, line, why in rejected(expected)
    ]


def test_a_broken_gzip_named_without_gz_says_what_it_looks_like(tmp_path: Path) -> None:
    packed = tmp_path / "alpha.jsonl"
    packed.write_bytes(gzip.compress(b'{"a": 1}\n' * 100)[:30])
    with pytest.raises(
        ArtifactError,
        match=r"^alpha\.jsonl: not a valid gzip file \(it starts like one, though its name does not end"
        r" in \.gz\)",
    ):
        load(tmp_path, alpha=packed)
