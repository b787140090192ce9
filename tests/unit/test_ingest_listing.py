"""Which files an artifact folder or glob names (``ingest.listing``): every data file at any depth, or an
error naming what is in the way; never a data file left unread without a word.

Until 2026-12 a folder's plain sub-folders were skipped (``alpha/2026-09/events.jsonl`` unread, exit 0,
nothing in ``data_quality``), and a hive folder skipped files of an unsupported type.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from artifact_factories import load, rejected, signal, write_jsonl, write_records

from metasup.model.artifacts import Artifacts
from metasup.model.errors import ArtifactError


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run inside ``tmp_path`` so reported paths are the short relative names written here."""
    monkeypatch.chdir(tmp_path)


def ids(artifacts: Artifacts) -> list[str]:
    return list(artifacts.signals["signal_id"])


def paths(artifacts: Artifacts) -> list[str]:
    return [item.path for item in artifacts.data_quality.files if item.path.startswith("alpha/")]


def test_a_plain_sub_folder_is_read_with_the_files_beside_it(tmp_path: Path) -> None:
    alpha = tmp_path / "alpha"
    (alpha / "2026-09").mkdir(parents=True)
    write_jsonl(alpha / "a.jsonl", [signal(1), signal(2)])
    write_jsonl(alpha / "2026-09" / "events.jsonl", [signal(3), signal(4), "{bad"])
    artifacts = load(tmp_path, alpha=alpha)
    assert paths(artifacts) == ["alpha/2026-09/events.jsonl", "alpha/a.jsonl"]  # in path order
    assert ids(artifacts) == ["s3", "s4", "s1", "s2"]
    assert rejected(artifacts) == [("alpha/2026-09/events.jsonl", 3, "invalid JSON")]


def test_data_files_beside_hive_partitions_are_all_read(tmp_path: Path) -> None:
    alpha = tmp_path / "alpha"
    (alpha / "date=2024-01-02").mkdir(parents=True)
    write_jsonl(alpha / "late.jsonl", [signal(1)])
    write_records(alpha / "date=2024-01-02" / "part-0.parquet", [signal(2)])
    artifacts = load(tmp_path, alpha=alpha)
    assert paths(artifacts) == ["alpha/date=2024-01-02/part-0.parquet", "alpha/late.jsonl"]
    assert ids(artifacts) == ["s2", "s1"]


@pytest.mark.parametrize("sub", ["notes", "date=2024-01-01"])
def test_a_file_of_another_type_below_is_named_not_skipped(tmp_path: Path, sub: str) -> None:
    """``events.json`` may be data under a wrong name: it stops the run, naming it."""
    folder = tmp_path / "alpha" / sub
    folder.mkdir(parents=True)
    write_jsonl(folder / "a.jsonl", [signal(1)])
    write_jsonl(folder / "events.json", [signal(2)])
    with pytest.raises(ArtifactError, match=rf"^alpha/{sub}/events\.json: unsupported file type"):
        load(tmp_path, alpha=tmp_path / "alpha")


def test_hidden_entries_and_writer_markers_are_skipped_underscore_data_is_read(tmp_path: Path) -> None:
    alpha = tmp_path / "alpha"
    for folder in (".git", "_temporary/0", "sub"):
        (alpha / folder).mkdir(parents=True)
    write_jsonl(alpha / "a.jsonl", [signal(1)])
    write_jsonl(alpha / "_b.jsonl", [signal(2)])
    write_jsonl(alpha / "sub" / "c.jsonl", [signal(3)])
    (alpha / "_SUCCESS").write_bytes(b"")  # Spark's marker
    (alpha / ".DS_Store").write_bytes(b"\x00")
    (alpha / ".git" / "notes.txt").write_text("x", encoding="utf-8")
    (alpha / "sub" / ".hidden.txt").write_text("x", encoding="utf-8")
    write_jsonl(alpha / "_temporary" / "0" / "part.jsonl", [signal(9)])  # unfinished output
    artifacts = load(tmp_path, alpha=alpha)
    assert paths(artifacts) == ["alpha/_b.jsonl", "alpha/a.jsonl", "alpha/sub/c.jsonl"]
    assert ids(artifacts) == ["s2", "s1", "s3"]


def test_a_folder_without_data_files_names_the_sub_folders_looked_in(tmp_path: Path) -> None:
    alpha = tmp_path / "alpha"
    for folder in ("x", "date=1"):
        (alpha / folder).mkdir(parents=True)
    (alpha / "x" / ".keep").write_bytes(b"")
    (alpha / "date=1" / "_SUCCESS").write_bytes(b"")
    with pytest.raises(
        ArtifactError, match=r"^alpha: directory holds no data files, nor do its sub-folders \(date=1/, x/\)"
    ):
        load(tmp_path, alpha=alpha)


def test_a_sub_folder_linking_back_up_is_a_symlink_loop(tmp_path: Path) -> None:
    alpha = tmp_path / "alpha"
    (alpha / "sub").mkdir(parents=True)
    write_jsonl(alpha / "a.jsonl", [signal(1)])
    (alpha / "sub" / "up").symlink_to(alpha)
    with pytest.raises(ArtifactError, match=r"^alpha/sub/up: symlink loop"):
        load(tmp_path, alpha=alpha)


def test_a_glob_reads_the_folders_it_matches(tmp_path: Path) -> None:
    alpha = tmp_path / "alpha"
    for day, index in (("2023-12-31", 3), ("2024-01-01", 1), ("2024-01-02", 2)):
        (alpha / f"date={day}").mkdir(parents=True)
        write_records(alpha / f"date={day}" / "part-0.parquet", [signal(index)])
    artifacts = load(tmp_path, alpha=Path("alpha/date=2024-*"))
    assert ids(artifacts) == ["s1", "s2"]


def test_a_glob_skips_hidden_and_underscore_folders_its_wildcards_walk_into(tmp_path: Path) -> None:
    """``alpha/**/*.jsonl`` read Spark's unfinished ``_temporary/`` output (Python's glob skips only
    hidden folders) while the same glob in S3 read both: one rule now, the folder rule (an audit).
    A ``_`` folder the pattern names itself is read."""
    alpha = tmp_path / "alpha"
    for folder, index in (("2024", 1), ("_temporary", 2), (".staging", 3)):
        (alpha / folder).mkdir(parents=True)
        write_jsonl(alpha / folder / "events.jsonl", [signal(index)])
    assert ids(load(tmp_path, alpha=Path("alpha/**/*.jsonl"))) == ["s1"]
    assert ids(load(tmp_path, alpha=Path("alpha/*/events.jsonl"))) == ["s1"]
    assert ids(load(tmp_path, alpha=Path("alpha/*"))) == ["s1"]  # folders a wildcard matched
    assert ids(load(tmp_path, alpha=Path("alpha/_temporary/*.jsonl"))) == ["s2"]
    (alpha / "2024" / "_part").mkdir()
    write_jsonl(alpha / "2024" / "_part" / "a.jsonl", [signal(4)])
    # named by the pattern after a wildcard: read (a review found the first version refused it)
    assert ids(load(tmp_path, alpha=Path("alpha/*/_part/*.jsonl"))) == ["s4"]
