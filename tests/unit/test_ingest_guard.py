"""pyarrow 26's JSON reader dies (SIGSEGV) when the first value of what it parses is ``null``: of
the whole input, of a stretch the loader cuts, or of one of pyarrow's own blocks. The loader
refuses every line not starting with ``{`` before pyarrow sees the data (``ingest.files``,
:func:`scan_json_lines`); the rest loads as usual.

Inputs that crashed the loader run in subprocesses (all started at once), so a regression fails
its test instead of killing pytest; the scan itself never calls pyarrow's JSON reader and is
tested in-process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from artifact_factories import DROP, bar, event, signal
from hypothesis import given, settings
from hypothesis import strategies as st

import metasup
from metasup.ingest import load_artifacts
from metasup.ingest.files import BARE_CARRIAGE_RETURN, NOT_AN_OBJECT, Content, scan_json_lines
from metasup.model.artifacts import Artifacts
from metasup.model.config import ArtifactsConfig

NOT, CR = NOT_AN_OBJECT, BARE_CARRIAGE_RETURN
BLOCK = 1 << 20
"""pyarrow's default JSON block size, and the size of the stretches the loader re-reads."""


def lines(*items: str | dict[str, object]) -> bytes:
    return "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items).encode()


def signals_to(size: int, first: int = 0) -> bytes:
    """Valid signal lines (ids from ``first``) of exactly ``size`` bytes: the last one is padded."""
    out: list[bytes] = []
    used, index = 0, first
    while True:
        text = json.dumps(signal(index)).encode()
        if used + len(text) + 1 + 200 > size:
            out.append(text + b" " * (size - used - len(text) - 1) + b"\n")
            return b"".join(out)
        out.append(text + b"\n")
        used += len(text) + 1
        index += 1


@dataclass(frozen=True)
class Case:
    """An input file's bytes, which input it is, and what the report must say about it."""

    name: str
    data: bytes
    role: str = "alpha"  # alpha | telemetry | prices
    rejected: tuple[tuple[int, str], ...] = ((1, NOT),)
    accepted: int | None = None


ONE = json.dumps(signal(1))
_AT_BLOCK = signals_to(BLOCK)  # a line starts exactly where pyarrow's second block does
_PAST_BLOCK = signals_to(BLOCK + 100)  # the loader's second stretch starts at the first line after 1 MiB
_N_AT, _N_PAST = _AT_BLOCK.count(b"\n"), _PAST_BLOCK.count(b"\n")
CASES = [
    Case("null", b"null", accepted=0),
    Case("spaces-null", b"  null", accepted=0),
    Case("newline-null", b"\nnull", rejected=((2, NOT),), accepted=0),
    Case("null-then-object", lines("null", ONE), accepted=1),
    Case("null-tail", b"nullx\n" + lines(ONE), accepted=1),
    Case("null-null", b"null null\n\t null\n" + lines(ONE), rejected=((1, NOT), (2, NOT)), accepted=1),
    Case("telemetry", lines("null", event("run")), role="telemetry", accepted=1),
    Case("prices", lines("null", bar()), role="prices", accepted=1),
    Case("block-start", _AT_BLOCK + lines("null", signal(10**6)), rejected=((_N_AT + 1, NOT),)),
    Case(
        "block-start-after-blank",
        _AT_BLOCK + b"  \n\n" + lines("null", signal(10**6)),
        rejected=((_N_AT + 3, NOT),),
    ),
    Case(
        "block-start-after-cr",
        _AT_BLOCK[:-3] + b"\rnull\n" + lines(signal(10**6)),
        rejected=((_N_AT, CR),),
        accepted=_N_AT,  # the line holding the \r was a signal too
    ),
    Case(
        "stretch-start",  # the broken first line sends the file to the chunked re-read
        b'{"broken\n' + _PAST_BLOCK + lines("null", signal(10**6)),
        rejected=((1, "invalid JSON"), (_N_PAST + 2, NOT)),
    ),
    Case(
        "other-values", lines("1", '"x"', "[1]", "true", ONE), rejected=tuple((i, NOT) for i in (1, 2, 3, 4))
    ),
    Case("crlf", lines(ONE + "\r", json.dumps(signal(2)) + "\r"), rejected=(), accepted=2),
]

_SCRIPT = """
import json, os, sys
from pathlib import Path
from typing import Any
from metasup.ingest import load_artifacts
from metasup.model.config import ArtifactsConfig
outcomes = {}
for name, role, folder in json.loads(sys.argv[1]):
    folder = Path(folder)
    pid = os.fork()
    if pid == 0:
        paths = {"alpha": folder / "alpha.jsonl", "prices": folder / "prices.jsonl", "telemetry": None}
        if role == "telemetry":
            paths["telemetry"] = folder / "telemetry.jsonl"
        quality = load_artifacts(ArtifactsConfig(**paths)).data_quality
        (folder / "quality.json").write_text(json.dumps(quality.model_dump(mode="json")))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    outcomes[name] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
print(json.dumps(outcomes))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int | None, dict[str, Any]]]:
    """Every case loaded in a child process of its own (one interpreter forks them): a signal that
    kills a child, and the data quality report of those that finish."""
    jobs = []
    for case in CASES:
        folder = tmp_path_factory.mktemp(case.name)
        (folder / "alpha.jsonl").write_bytes(lines(signal(1)))
        (folder / "prices.jsonl").write_bytes(lines(bar()))
        (folder / f"{case.role}.jsonl").write_bytes(case.data)
        jobs.append((case.name, case.role, str(folder)))
    root = Path(metasup.__file__).parent.parent  # this checkout's metasup, whatever is installed
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(jobs)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        check=True,
    )
    signals = json.loads(result.stdout)
    reports = {}
    for name, _, folder in jobs:
        report = Path(folder) / "quality.json"
        reports[name] = (signals[name], json.loads(report.read_text()) if report.exists() else {})
    return reports


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_line_pyarrow_would_crash_on_is_rejected(
    case: Case, outcomes: dict[str, tuple[int | None, dict[str, Any]]]
) -> None:
    killed_by, quality = outcomes[case.name]
    assert killed_by is None, f"the loader died of signal {killed_by}"
    listed = [
        (item["line"], item["reason"])
        for item in quality["rejected"]
        if item["file"].endswith(f"{case.role}.jsonl")
    ]
    assert listed == list(case.rejected)
    stats = next(item for item in quality["files"] if item["path"].endswith(f"{case.role}.jsonl"))
    assert stats["rejected"] == len(case.rejected)
    assert stats["lines"] == stats["accepted"] + stats["rejected"] + stats["ignored"]
    if case.accepted is not None:
        assert stats["accepted"] == case.accepted
    else:  # every signal line is kept
        assert stats["accepted"] == case.data.count(b'"signal_id"')


# ---- the scan alone (no pyarrow JSON reader involved: safe in-process) ----


def _first_values_are_objects(data: bytes) -> bool:
    """After the start and after every \\n and \\r, the first non-whitespace byte is ``{`` (or none)."""
    return all(
        match.group(1) in (b"", b"{") for match in re.finditer(rb"(?:^|(?<=[\n\r]))[ \t\r\n]*(.?)", data)
    )


def scan(data: bytes) -> tuple[bytes, int, list[int], list[int], list[str]]:
    found = scan_json_lines(Content(pa.py_buffer(data)))
    return (
        found.content.bytes(),
        found.lines.total,
        found.lines.numbers.tolist(),
        found.refused.tolist(),
        list(found.reasons),
    )


def test_clean_file_is_not_copied() -> None:
    data = Content(pa.py_buffer(lines(ONE, ONE)))
    found = scan_json_lines(data)
    assert found.content is data
    assert found.lines.numbers.tolist() == [1, 2]
    assert found.blank == 0
    assert not len(found.refused)


@pytest.mark.parametrize(
    ("data", "numbers", "refused", "reasons", "blank"),
    [
        (b"", [], [], [], 0),
        (b"null", [], [1], [NOT], 0),
        (b'\n \t\r\nnull\n{"a":1}', [4], [3], [NOT], 2),
        (b'{"a":1}\rnull\n{"a":1}\r\n', [2], [1], [CR], 0),
        (b'{"a":1}\r{"b":2}\n{"a": \r \r\n', [1, 2], [], [], 0),  # \r before { or at line end is harmless
        (b'\r{"a":1}\n\r\n', [1], [], [], 1),
        (b'x\n{"a":1}\n[]\n', [2], [1, 3], [NOT, NOT], 0),
    ],
)
def test_scan_refuses_lines_not_starting_an_object(
    data: bytes, numbers: list[int], refused: list[int], reasons: list[str], blank: int
) -> None:
    found = scan_json_lines(Content(pa.py_buffer(data)))
    assert found.lines.numbers.tolist() == numbers
    assert found.refused.tolist() == refused
    assert list(found.reasons) == reasons
    assert found.blank == blank
    assert _first_values_are_objects(found.content.bytes())


_ALPHABET = st.sampled_from(
    [b"{", b"}", b"null", b"n", b"1", b"[", b'"a"', b":", b",", b" ", b"\t", b"\n", b"\r", b"\xff"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map(b"".join))
def test_scan_leaves_pyarrow_only_object_starts(data: bytes) -> None:
    content, total, numbers, refused, _ = scan(data)
    assert len(content) == len(data)  # offsets kept: refused lines are blanked, not cut
    assert _first_values_are_objects(content)
    assert total == data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert not set(numbers) & set(refused)
    original = data.split(b"\n")
    blanked = content.split(b"\n")
    for number in numbers:  # the lines left to read are unchanged and not blank
        assert blanked[number - 1] == original[number - 1]
        assert original[number - 1].strip(b" \t\r")
    for number in refused:
        assert not blanked[number - 1].strip(b" ")
    blank = [i + 1 for i, text in enumerate(original[:total]) if not text.strip(b" \t\r")]
    assert sorted([*numbers, *refused, *blank]) == list(range(1, total + 1))


def test_many_refused_lines_cost_no_python_loop() -> None:
    """100,000 ``null`` lines among as many objects: refused by vectorized passes, in well under a second."""
    data = b'{"a":1}\nnull\n' * 100_000
    found = scan_json_lines(Content(pa.py_buffer(data)))
    assert found.refused.tolist() == list(range(2, 200_001, 2))
    assert np.array_equal(found.lines.numbers, np.arange(1, 200_001, 2))


# ---- run events of unknown cost (SPEC §2.6): `"cost_usd": null` ----


def _load_telemetry(folder: Path, data: bytes) -> Artifacts:
    (folder / "alpha.jsonl").write_bytes(lines(signal(1)))
    (folder / "prices.jsonl").write_bytes(lines(bar()))
    (folder / "telemetry.jsonl").write_bytes(data)
    return load_artifacts(
        ArtifactsConfig(
            alpha=folder / "alpha.jsonl", prices=folder / "prices.jsonl", telemetry=folder / "telemetry.jsonl"
        )
    )


def test_run_with_null_cost_is_kept_as_unknown_cost(tmp_path: Path) -> None:
    data = lines(
        event("run", cost_usd=None),  # kept, unknown cost
        event("run", cost_usd=DROP),  # no cost_usd at all: rejected
        event("cost", cost_usd=None),  # a cost event without a cost says nothing: rejected
        event("run", cost_usd=2.5),
        '{"type": "run", "ts": "2024-01-01T00:00:00Z", "agent": "x", "detail": "\\"cost_usd\\": null"}',
        '{"type":"run","ts":"2024-01-01T01:00:00Z","agent":"momo","cost_usd" :\tnull,"tokens":5}',
    )
    artifacts = _load_telemetry(tmp_path, data)
    quality = artifacts.data_quality
    assert quality.cost_unknown == 2
    telemetry = [(r.line, r.reason) for r in quality.rejected if r.file.endswith("telemetry.jsonl")]
    assert telemetry == [
        (2, "missing required field 'cost_usd'"),
        (3, "missing required field 'cost_usd'"),
        (5, "missing required field 'cost_usd'"),  # the key only inside a string
    ]
    costs = artifacts.costs
    assert list(costs["kind"]) == ["run", "run", "run"]
    assert list(costs["cost_usd"]) == [0.0, 2.5, 0.0]  # unknown adds nothing to sums
    assert list(costs["agent"]) == ["momo", "momo", "momo"]
    assert list(costs["ts"].dt.hour) == [0, 0, 1]


def test_100k_runs_of_unknown_cost_are_all_kept(tmp_path: Path) -> None:
    run = json.dumps(event("run", cost_usd=None)).encode() + b"\n"
    artifacts = _load_telemetry(tmp_path, run * 100_000)
    stats = next(item for item in artifacts.data_quality.files if item.path.endswith("telemetry.jsonl"))
    assert (stats.lines, stats.accepted, stats.rejected) == (100_000, 100_000, 0)
    assert artifacts.data_quality.cost_unknown == 100_000
    assert len(artifacts.costs) == 100_000
    assert float(artifacts.costs["cost_usd"].sum()) == 0.0


def test_null_cost_in_a_refused_file_is_told_apart_too(tmp_path: Path) -> None:
    """The per-line path (a broken line sends the file there) tells null from absent alike."""
    data = b'{"broken\n' + lines(event("run", cost_usd=None), event("run", cost_usd=DROP), "null")
    quality = _load_telemetry(tmp_path, data).data_quality
    assert quality.cost_unknown == 1
    telemetry = [(r.line, r.reason) for r in quality.rejected if r.file.endswith("telemetry.jsonl")]
    assert telemetry == [(1, "invalid JSON"), (3, "missing required field 'cost_usd'"), (4, NOT)]
