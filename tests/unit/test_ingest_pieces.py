"""JSON Lines files read piece by piece (#16: bounded memory): the same result as one read.

A large file is cut into pieces after a newline, each read on its own and its memory-mapped pages
handed back; nothing about the outcome may depend on where the cuts fall.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from artifact_factories import Line, event, load, signal, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

import metasup.ingest.jsonl as jsonl_module
from metasup.ingest.files import Content, line_pieces, read_content
from metasup.model.errors import ArtifactError

FRAMES = ("signals", "costs", "evals", "violations", "regimes", "prices")


def fleet_lines(count: int) -> tuple[list[Line], list[Line]]:
    """Signals and telemetry with every kind of trouble the reader handles, spread over the file."""
    rng = np.random.default_rng(5)
    alpha: list[Line] = []
    for number in range(1, count + 1):
        horizon: str | int = "4h" if number % 2 else 14400
        line: Line = signal(number, horizon=horizon, agent=f"a{number % 7}", confidence=float(rng.random()))
        if number % 401 == 0:
            line = "{not json"
        elif number % 389 == 0:
            line = "null"  # pyarrow must never see it
        elif number % 367 == 0:
            line = ""
        elif number % 353 == 0:
            line = signal(number, direction=True)  # valid JSON pyarrow refuses
        elif number % 331 == 0:
            line = signal(number - 300)  # a repeated id, often from an earlier piece
        alpha.append(line)
    telemetry: list[Line] = []
    for number in range(1, count + 1):
        if number % 5 == 0:
            telemetry.append(
                event("run", agent=f"a{number % 7}", cost_usd=None if number % 45 == 0 else 0.01)
            )
        elif number % 5 == 1:
            telemetry.append(event("behavioral_eval", agent=f"a{number % 7}", score=0.9))
        elif number % 5 == 2:
            telemetry.append(event("regime", regime="calm" if number % 2 else "storm"))
        elif number % 97 == 0:
            telemetry.append('{"type": "run", "ts": 3')
        elif number % 89 == 0:
            telemetry.append(event("safety_violation", agent="a1", rule="r", severity="high"))
        else:
            telemetry.append(event("heartbeat", agent="a2"))
    return alpha, telemetry


def test_a_file_read_in_small_pieces_gives_exactly_what_one_read_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha, telemetry = fleet_lines(3000)
    alpha_path = write_jsonl(tmp_path / "alpha.jsonl", alpha)
    telemetry_path = write_jsonl(tmp_path / "telemetry.jsonl", telemetry)
    assert alpha_path.stat().st_size > 200 * 1000  # hundreds of pieces, cut anywhere in the trouble
    monkeypatch.setattr(jsonl_module, "PIECE_BYTES", 1 << 30)
    whole = load(tmp_path, alpha=alpha_path, telemetry=telemetry_path)
    monkeypatch.setattr(jsonl_module, "PIECE_BYTES", 1000)
    pieces = load(tmp_path, alpha=alpha_path, telemetry=telemetry_path)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(pieces, name), getattr(whole, name), check_exact=True)
    assert pieces.data_quality == whole.data_quality
    quality = whole.data_quality
    assert quality.rejected_total > 30
    assert quality.duplicates > 5
    assert quality.cost_unknown > 5
    reasons = {line.reason for line in quality.rejected}
    assert {"invalid JSON", "not a JSON object", "wrong type for 'direction'"} <= reasons


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r\n", b"{}", b"  "]), max_size=60).map(b"".join),
    size=st.integers(min_value=1, max_value=40),
)
def test_pieces_cut_only_after_a_newline_and_lose_no_byte(text: bytes, size: int) -> None:
    data = Content(pa.py_buffer(text))
    pieces = list(line_pieces(data, size))
    assert b"".join(piece.bytes() for _, piece in pieces) == text
    assert [offset for offset, _ in pieces] == list(np.cumsum([0] + [len(p) for _, p in pieces[:-1]]))
    for _, piece in pieces[:-1]:
        # Each piece ends at the first newline once it holds ``size`` bytes, not before, not after.
        assert len(piece) >= size
        assert piece.bytes().endswith(b"\n")
        assert b"\n" not in piece.bytes()[size:-1]


def mapped_rss_kib(path: Path) -> int:
    """Resident KiB of this process's mappings of ``path`` (Linux ``/proc/self/smaps``)."""
    resident, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:
            inside = line.endswith(str(path))
        elif inside and fields[0] == "Rss:":
            resident += int(fields[1])
    return resident


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/smaps is Linux's")
def test_pages_already_read_leave_memory_and_the_bytes_stay_readable(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"type": "signal"}\n' * (3 << 20))  # 57 MiB
    content = read_content(path, ".jsonl")
    digest = hashlib.sha256(content.array.tobytes()).hexdigest()  # reads every page
    assert mapped_rss_kib(path) > 50 << 10
    content.release_before(len(content) // 2)
    assert 20 << 10 < mapped_rss_kib(path) < 35 << 10  # the first half went, the second stayed
    content.release_before(len(content))
    assert mapped_rss_kib(path) < 1 << 10
    assert hashlib.sha256(content.array.tobytes()).hexdigest() == digest  # read again from the page cache


SIGNAL_LINES: list[Line] = [
    signal(1),
    signal(2, horizon=3600),  # an integer horizon among duration strings: the file gets quoted
    signal(3, direction="sell", signal_id=33),
    signal(1),  # a repeated id
    signal(4, direction=True),  # valid JSON pyarrow refuses
    signal(5, ts="yesterday"),
    signal(7, ts="2024-01-01T10:00:00+02:00"),  # a stamp pyarrow parses, or a piece of text ones
    signal(8, ts="2024-01-01T10:00:00"),
    signal(9, ts=1700000000),
    signal(10, ts="3000-01-01T00:00:00Z"),
    signal(6, confidence=1.5),
    "{not json",
    "null",
    "",
    "   ",
    '["a list"]',
    '{"type": "heartbeat", "agent": "momo"}',
    '{"ts": "2024-01-01T00:00:00Z", "ts": "2024-01-02T00:00:00Z", "signal_id": "d"}',
]
TELEMETRY_LINES: list[Line] = [
    event("run"),
    event("run", cost_usd=None),  # a run of unknown cost
    event("cost", cost_usd=None),
    event("behavioral_eval", score="high"),
    event("safety_violation"),
    event("regime"),
    event("mystery"),
    '{"ts": "2024-01-01T00:00:00Z"}',
    "{",
    "",
]


@settings(max_examples=60, deadline=None)
@given(
    alpha=st.lists(st.sampled_from(range(len(SIGNAL_LINES))), min_size=1, max_size=60),
    telemetry=st.lists(st.sampled_from(range(len(TELEMETRY_LINES))), min_size=1, max_size=60),
    piece_bytes=st.integers(min_value=1, max_value=700),
    bom=st.booleans(),
)
def test_any_file_cut_anywhere_reads_as_one_piece_does(
    alpha: list[int], telemetry: list[int], piece_bytes: int, bom: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        alpha_path = write_jsonl(root / "alpha.jsonl", [SIGNAL_LINES[i] for i in alpha])
        if bom:
            alpha_path.write_bytes(codecs.BOM_UTF8 + alpha_path.read_bytes())
        telemetry_path = write_jsonl(root / "telemetry.jsonl", [TELEMETRY_LINES[i] for i in telemetry])
        with patched(jsonl_module, "PIECE_BYTES", 1 << 30):
            whole = load(root, alpha=alpha_path, telemetry=telemetry_path)
        with patched(jsonl_module, "PIECE_BYTES", piece_bytes):
            pieces = load(root, alpha=alpha_path, telemetry=telemetry_path)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(pieces, name), getattr(whole, name), check_exact=True)
    assert pieces.data_quality == whole.data_quality


@contextmanager
def patched(module: object, name: str, value: object) -> Iterator[None]:
    """``monkeypatch.setattr`` for a hypothesis test (a function-scoped fixture would be shared)."""
    before = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, before)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: None, "file not found"),
        (lambda p: p.symlink_to(p), "symlink loop"),
        (lambda p: p.mkdir(), "cannot read file (Is a directory)"),
    ],
    ids=["missing", "loop", "a-folder"],
)
def test_read_content__an_unreadable_file_is_an_artifact_error_naming_why(
    tmp_path: Path, make: Callable[[Path], object], words: str
) -> None:
    path = tmp_path / "alpha.jsonl"
    make(path)
    with pytest.raises(ArtifactError, match=re.escape(f"alpha.jsonl: {words}")):
        read_content(path, ".jsonl")
