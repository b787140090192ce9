"""``metasup convert --out``: never over the inputs, never over someone else's folder, safe to re-run.

Converting into the workspace itself once replaced the user's ``metasup.yml`` and deleted ``alpha/``
and ``telemetry/`` (each output folder was emptied before being written).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from test_bad_input import write_fleet

import metasup.engine.convert as convert_module
from metasup import cli


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` and a hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _convert(config: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["convert", "--config", str(config), "--out", str(out)])
    out_text, err = capsys.readouterr()
    assert "Traceback" not in out_text + err
    return code, out_text + err


@pytest.mark.parametrize(
    ("out", "words"),
    [
        (".", "overlaps the input"),
        ("alpha", "overlaps the input"),
        ("market", "overlaps the input"),
        ("alpha/events.jsonl/x", "overlaps the input"),
        ("metasup.yml", "is a file"),
        ("..", "overlaps the input"),
    ],
)
def test_an_out_over_the_inputs_is_refused_and_nothing_changes(
    out: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    config = write_fleet(root)
    before = _files(tmp_path)
    code, text = _convert(config, root / out, capsys)
    assert code == 2, text
    assert text.startswith("Error: --out")
    assert words in text
    assert _files(tmp_path) == before


def test_a_folder_convert_did_not_write_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_fleet(tmp_path / "ws")
    elsewhere = tmp_path / "reports"
    elsewhere.mkdir()
    (elsewhere / "q3.pdf").write_bytes(b"%PDF")
    code, text = _convert(config, elsewhere, capsys)
    assert code == 2, text
    assert "not empty, and not a folder `metasup convert` wrote" in text
    assert [p.name for p in elsewhere.iterdir()] == ["q3.pdf"]


def test_a_re_run_replaces_the_earlier_output_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second conversion, of fewer days, leaves none of the first one's days behind."""
    config = write_fleet(tmp_path / "ws")
    out = tmp_path / "pq"
    assert _convert(config, out, capsys)[0] == 0
    first_days = sorted(p.name for p in (out / "alpha").iterdir())
    signals = tmp_path / "ws" / "alpha" / "events.jsonl"
    rows = [json.loads(line) for line in signals.read_text().splitlines()]
    signals.write_text("".join(json.dumps(r) + "\n" for r in rows if r["ts"] < "2026-03-03"))
    assert _convert(config, out, capsys)[0] == 0
    second_days = sorted(p.name for p in (out / "alpha").iterdir())
    assert second_days == ["date=2026-03-01", "date=2026-03-02"]
    assert len(first_days) > len(second_days)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_a_conversion_that_fails_leaves_the_earlier_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_fleet(tmp_path / "ws")
    out = tmp_path / "pq"
    assert _convert(config, out, capsys)[0] == 0
    before = _files(out)

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(convert_module, "_write_by_day", disk_full)
    code, text = _convert(config, out, capsys)
    assert code == 2
    assert text == f"Error: --out {out}: cannot write the conversion (No space left on device)\n"
    assert _files(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_empty_input_is_written_without_a_day_and_reviews_as_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Until 2026-12 an empty signals file became ``alpha/date=1970-01-01/part-0.parquet``."""
    config = write_fleet(tmp_path / "ws")
    (tmp_path / "ws" / "alpha" / "events.jsonl").write_bytes(b"")
    out = tmp_path / "pq"
    assert _convert(config, out, capsys)[0] == 0
    assert sorted(str(p.relative_to(out / "alpha")) for p in (out / "alpha").rglob("*")) == ["part-0.parquet"]
    review = tmp_path / "review.json"
    args = ["evaluate", "--config", str(out / "metasup.yml"), "--fail-on", "never", "--json", str(review)]
    assert cli.main(args) == 0
    findings = json.loads(review.read_text())["findings"]
    assert [f["title"] for f in findings if f["kind"] == "empty_file"] == [
        f"No data row in {out / 'alpha' / 'part-0.parquet'}"
    ]


def test_the_rejected_lines_left_out_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_fleet(tmp_path / "ws")
    signals = tmp_path / "ws" / "alpha" / "events.jsonl"
    bad = ['{"ts": "2026-03-02T00:00:00Z", "signal_id": "x", "confidence": 9}', "{broken"] * 2
    signals.write_text(signals.read_text() + "\n".join(bad) + "\n")
    code, text = _convert(config, tmp_path / "pq", capsys)
    assert code == 0, text
    assert text.splitlines() == [
        f"wrote {tmp_path / 'pq'}/: alpha/, telemetry/, prices/ (by day), metasup.yml;"
        " 4 rejected line(s) not carried over",
        f"  first: {signals}:25 missing required field 'agent'; {signals}:26 invalid JSON;"
        f" {signals}:27 missing required field 'agent'",
    ]


@pytest.mark.parametrize(
    ("out", "copy"),
    [("s3://bucket/prefix", "aws s3 sync pq/ s3://bucket/prefix"), ("gs://bucket", "your store's copy")],
)
def test_an_object_storage_out_is_refused_before_anything_is_made(
    out: str, copy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12 this ended as an internal error (``ArrowInvalid: Missing bucket name in S3 URI``,
    exit 1) and left an empty ``./s3:/bucket/`` in the working directory."""
    config = write_fleet(tmp_path / "ws")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, text = _convert(config, Path(out), capsys)
    assert code == 2, text
    assert text.startswith(f"Error: --out {out}: must be a local folder;"), text
    assert copy in text
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def _review(config: Path, tmp_path: Path, name: str) -> dict[str, Any]:
    review = tmp_path / f"{name}.json"
    args = ["evaluate", "--config", str(config), "--fail-on", "never", "--json", str(review)]
    assert cli.main(args) == 0
    parsed: dict[str, Any] = json.loads(review.read_text())
    return parsed


def test_a_config_without_telemetry_converts_to_one_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Until 2026-12 an empty ``telemetry/part-0.parquet`` was written and named in the config, and the
    converted review had a MEDIUM finding the original had not ("No data row in telemetry/…")."""
    config = write_fleet(tmp_path / "ws")
    config.write_text(
        "registry: agents.yaml\nartifacts: {alpha: alpha/events.jsonl, prices: market/prices.csv}\n"
    )
    out = tmp_path / "pq"
    code, text = _convert(config, out, capsys)
    assert code == 0, text
    assert text.startswith(f"wrote {out}/: alpha/, prices/ (by day), metasup.yml; no line rejected")
    assert not (out / "telemetry").exists()
    assert "telemetry" not in (out / "metasup.yml").read_text()
    original, converted = _review(config, tmp_path, "original"), _review(out / "metasup.yml", tmp_path, "pq")
    assert [f["title"] for f in converted["findings"]] == [f["title"] for f in original["findings"]]
    assert "empty_file" not in {f["kind"] for f in converted["findings"]}


def test_a_run_of_unknown_cost_stays_unknown_and_ignored_lines_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``run`` with ``cost_usd: null`` became a known $0 run once converted (SPEC §2.6 counts it in
    ``cost_unknown``); lines of another ``type`` vanished from the summary without a word."""
    config = write_fleet(tmp_path / "ws")
    telemetry = tmp_path / "ws" / "telemetry" / "events.jsonl"
    extra = [
        {"ts": "2026-03-06T00:00:00Z", "type": "run", "agent": "momo", "cost_usd": None},
        {"ts": "2026-03-06T00:00:00Z", "type": "heartbeat", "agent": "momo"},
    ]
    telemetry.write_text(telemetry.read_text() + "".join(json.dumps(e) + "\n" for e in extra))
    signals = tmp_path / "ws" / "alpha" / "events.jsonl"
    signals.write_text(signals.read_text() + json.dumps({"type": "note", "text": "rebalanced"}) + "\n")
    out = tmp_path / "pq"
    code, text = _convert(config, out, capsys)
    assert code == 0, text
    assert text.rstrip("\n").endswith(
        "; no line rejected; 2 ignored line(s) (blank, or of a type not read) not carried over"
    )
    original, converted = _review(config, tmp_path, "original"), _review(out / "metasup.yml", tmp_path, "pq")
    assert original["data_quality"]["cost_unknown"] == 1
    assert converted["data_quality"]["cost_unknown"] == 1
    assert converted["data_quality"]["rejected_total"] == 0
    for key in ("agents", "allocation", "findings"):
        assert converted[key] == original[key], key
