"""Parquet artifacts (SPEC §8): ``metasup convert``, hive folders, globs, ``s3://`` (a local moto server)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from review_compare import assert_same

from metasup.engine import open_measure
from metasup.engine.convert import convert
from metasup.ingest import source_files
from metasup.model.config import EngineConfig
from metasup.model.errors import ArtifactError, InputError
from metasup.runner import evaluate, load_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "metasup" / "examples" / "metasup.yml"
DECISIONS = ("as_of", "overall_severity", "agents", "strategy_classes", "allocation", "attribution")

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def review_of(config: Path, **kwargs: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(
        evaluate(load_workspace(config), None, None, run_id="t", **kwargs).to_json()
    )
    return parsed


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parquet")
    quality = convert(EXAMPLES, out)
    assert quality.rejected_total == 13  # the demo's bad lines: reported, not carried over
    return out


def test_convert_writes_day_partitions_and_gives_the_same_decisions(converted: Path) -> None:
    days = sorted(p.name for p in (converted / "alpha").iterdir())
    assert days
    assert all(d.startswith("date=") for d in days)
    assert (converted / "alpha" / days[0] / "part-0.parquet").is_file()
    local, parquet = review_of(EXAMPLES), review_of(converted / "metasup.yml")
    assert parquet["data_quality"]["rejected_total"] == 0
    for key in DECISIONS:
        assert parquet[key] == local[key], key


def test_globs_name_the_same_files(converted: Path) -> None:
    config = converted / "metasup.yml"
    text = config.read_text(encoding="utf-8")
    glob_config = converted / "glob.yml"
    glob_config.write_text(text.replace("alpha: alpha", "alpha: alpha/date=*/*.parquet"), encoding="utf-8")
    assert review_of(glob_config)["agents"] == review_of(config)["agents"]


def _signal_count(config: Path, confine_to: Path | None = None) -> int:
    return len(load_workspace(config, confine_to=confine_to).artifacts.signals)


def test_the_action_reads_hive_partitions_and_globs_inside_its_workspace(converted: Path) -> None:
    """The action checks every file an artifact path names against GITHUB_WORKSPACE: a hive folder
    (what ``metasup convert`` writes) and a glob are read as the CLI reads them. The check used to
    list only a flat folder's files, so the action refused both ("directory holds no data files")."""
    glob_config = converted / "glob-confined.yml"
    text = (converted / "metasup.yml").read_text(encoding="utf-8")
    glob_config.write_text(text.replace("alpha: alpha", "alpha: alpha/date=*/*.parquet"), encoding="utf-8")
    expected = _signal_count(converted / "metasup.yml")
    assert expected > 0
    assert _signal_count(converted / "metasup.yml", confine_to=converted) == expected
    assert _signal_count(glob_config, confine_to=converted) == expected


def test_the_action_refuses_a_partition_file_that_links_outside(converted: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(converted, workspace)
    part = sorted((workspace / "alpha").rglob("*.parquet"))[0]
    outside = tmp_path / "elsewhere.parquet"
    part.rename(outside)
    part.symlink_to(outside)
    with pytest.raises(InputError, match="outside the workspace"):
        load_workspace(workspace / "metasup.yml", confine_to=workspace)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3(converted: Path) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "FSSPEC_S3_ENDPOINT_URL": endpoint,
        }.items():
            env.setenv(key, value)
        import s3fs

        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
        fs.mkdir("artifacts")
        for name in ("alpha", "telemetry", "prices"):
            fs.put(str(converted / name), f"artifacts/fleet/{name}", recursive=True)
        fs.pipe("artifacts/fleet/alpha/_SUCCESS", b"")  # a marker file is skipped
        s3fs.S3FileSystem.clear_instance_cache()
        yield "s3://artifacts/fleet"
    server.stop()


def test_the_same_review_from_s3(converted: Path, s3: str) -> None:
    remote = converted / "s3.yml"
    text = (converted / "metasup.yml").read_text(encoding="utf-8")
    for name in ("alpha", "telemetry", "prices"):
        text = text.replace(f"{name}: {name}", f"{name}: {s3}/{name}")
    remote.write_text(text, encoding="utf-8")
    local, from_s3 = review_of(converted / "metasup.yml"), review_of(remote)
    files = from_s3["data_quality"]["files"]
    assert files[0]["path"].startswith("s3://artifacts/fleet/alpha/date=")
    assert [f["lines"] for f in files] == [f["lines"] for f in local["data_quality"]["files"]]
    for key in DECISIONS:
        assert from_s3[key] == local[key], key
    with open_measure(EngineConfig(kind="dask"), workers=2, processes=False) as measure:
        on_dask = review_of(remote, measure=measure)
    assert_same(from_s3, on_dask)
    # in the action: object storage is not the runner's disk, so the workspace check leaves it be
    assert _signal_count(remote, confine_to=converted) == _signal_count(converted / "metasup.yml")


def test_an_s3_prefix_is_listed_by_the_rule_of_a_local_folder(converted: Path, s3: str) -> None:
    """A glob's folders are read like folders; a stray file of another type below a prefix is named
    (both were skipped without a word until 2026-12)."""
    import s3fs

    days = source_files(Path(f"{s3}/alpha/date=*"))
    assert [p.parent.name for p in days] == sorted(p.name for p in (converted / "alpha").glob("date=*"))
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
    fs.pipe("artifacts/stray/alpha/date=2026-01-01/part-0.parquet", b"PAR1")
    fs.pipe("artifacts/stray/alpha/date=2026-01-01/events.json", b"{}")
    s3fs.S3FileSystem.clear_instance_cache()
    with pytest.raises(
        ArtifactError, match=r"^s3://artifacts/stray/alpha/date=2026-01-01/events\.json: unsupported"
    ):
        source_files(Path("s3://artifacts/stray/alpha"))


def test_folder_markers_below_a_prefix_are_folders_not_stray_files(converted: Path, s3: str) -> None:
    """The zero-byte ``key/`` objects the S3 console's "Create folder", s3a/Hadoop and many uploaders
    write stopped the review until 2026-12 ("…/date=…/: unsupported file type in an artifact
    directory"); a real stray file below the same prefix is still refused."""
    import boto3
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
    fs.put(str(converted / "alpha"), "artifacts/mk/alpha", recursive=True)
    first_day = sorted(p.name for p in (converted / "alpha").glob("date=*"))[0]
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    for key in ("mk/", "mk/alpha/", f"mk/alpha/{first_day}/"):
        client.put_object(Bucket="artifacts", Key=key, Body=b"")
    s3fs.S3FileSystem.clear_instance_cache()
    config = converted / "markers.yml"
    text = (converted / "metasup.yml").read_text(encoding="utf-8")
    config.write_text(text.replace("alpha: alpha", "alpha: s3://artifacts/mk/alpha"), encoding="utf-8")
    local, with_markers = review_of(converted / "metasup.yml"), review_of(config)
    for key in DECISIONS:
        assert with_markers[key] == local[key], key
    for glob in ("s3://artifacts/mk/alpha/date=*", "s3://artifacts/mk/alpha/*", "s3://artifacts/mk/*"):
        assert len(source_files(Path(glob))) == len(list((converted / "alpha").rglob("*.parquet"))), glob
    client.put_object(Bucket="artifacts", Key=f"mk/alpha/{first_day}/notes.txt", Body=b"")
    s3fs.S3FileSystem.clear_instance_cache()
    with pytest.raises(ArtifactError, match=rf"^s3://artifacts/mk/alpha/{first_day}/notes\.txt: unsupported"):
        source_files(Path("s3://artifacts/mk/alpha"))


def _partitioned(converted: Path, root: Path) -> Path:
    """The converted fleet again, signals partitioned by agent and prices by symbol, as pyarrow's
    ``write_to_dataset`` (and Spark's ``partitionBy``) write them: without the column in the files."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    shutil.copytree(converted, root, ignore=shutil.ignore_patterns("alpha", "prices", "*.yml"))
    shutil.copy(converted / "metasup.yml", root / "metasup.yml")
    for name, column in (("alpha", "agent"), ("prices", "symbol")):
        table = ds.dataset(converted / name, partitioning="hive").to_table().drop_columns(["date"])
        pq.write_to_dataset(table, str(root / name), partition_cols=[column])
    assert not {"agent", "symbol"} & set(pq.read_schema(next((root / "prices").rglob("*.parquet"))).names)
    return root


def test_hive_partitions_by_a_column_give_the_same_review(converted: Path, s3: str, tmp_path: Path) -> None:
    """Until 2026-12 each such file was refused: "…parquet: missing required column(s) symbol"."""
    import s3fs

    root = _partitioned(converted, tmp_path / "by-column")
    local, partitioned = review_of(converted / "metasup.yml"), review_of(root / "metasup.yml")
    assert partitioned["data_quality"]["files"][-1]["path"].startswith(f"{root / 'prices'}/symbol=")
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
    for name in ("alpha", "prices"):
        fs.put(str(root / name), f"artifacts/by-column/{name}", recursive=True)
    s3fs.S3FileSystem.clear_instance_cache()
    remote = root / "s3.yml"
    text = (root / "metasup.yml").read_text(encoding="utf-8")
    for name in ("alpha", "prices"):
        text = text.replace(f"{name}: {name}", f"{name}: s3://artifacts/by-column/{name}")
    remote.write_text(text, encoding="utf-8")
    from_s3 = review_of(remote)
    for review in (partitioned, from_s3):
        assert review["data_quality"]["rejected_total"] == 0
        for key in (*DECISIONS, "findings", "recommendations"):
            assert review[key] == local[key], key


@pytest.mark.parametrize(
    ("alpha", "words"),
    [
        ("s3://artifacts/fleet/alpha", "s3://artifacts/fleet/alpha: cannot list (EndpointConnectionError"),
        ("ftp://127.0.0.1:{port}/alpha", "cannot connect (ConnectionRefusedError"),
        ("http://127.0.0.1:{port}/alpha.jsonl", "cannot list (ClientConnectorError"),
    ],
    ids=["s3", "ftp", "http"],
)
def test_an_object_store_that_cannot_be_reached_is_said_so(converted: Path, alpha: str, words: str) -> None:
    """Nothing listens on the port: an environment problem, exit 2, naming the URL (in a process of its
    own, so no filesystem cached by the tests above answers instead)."""
    port = _free_port()
    config = converted / "unreachable.yml"
    text = (converted / "metasup.yml").read_text(encoding="utf-8")
    config.write_text(text.replace("alpha: alpha", f"alpha: {alpha.format(port=port)}"), encoding="utf-8")
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "FSSPEC_S3_ENDPOINT_URL": endpoint,
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "metasup", "evaluate", "--config", str(config), "--fail-on", "never"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: "), done.stderr
    assert words in done.stderr


def test_keys_a_path_cannot_carry_are_refused_by_name(converted: Path, s3: str) -> None:
    """``alpha//b.jsonl`` was read as ``alpha/b.jsonl`` (another object) and ``alpha/./c.jsonl`` not at
    all: 1,296 of 1,898 signals left out, exit 0 (an audit). Both are named now, as is a configured
    URL with ``//``."""
    import boto3
    import s3fs

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    for key in ("odd/alpha/a.jsonl", "odd/alpha//b.jsonl"):
        client.put_object(Bucket="artifacts", Key=key, Body=b"{}\n")
    client.put_object(Bucket="artifacts", Key="dot/alpha/./c.jsonl", Body=b"{}\n")
    s3fs.S3FileSystem.clear_instance_cache()
    with pytest.raises(
        ArtifactError, match=r"^s3://artifacts/odd/alpha//b\.jsonl: an object key with an empty"
    ):
        source_files(Path("s3://artifacts/odd/alpha"))
    with pytest.raises(
        ArtifactError, match=r"^s3://artifacts/dot/alpha/\./c\.jsonl: an object key with an empty"
    ):
        source_files(Path("s3://artifacts/dot/alpha"))
    config = converted / "odd.yml"
    text = (converted / "metasup.yml").read_text(encoding="utf-8")
    config.write_text(text.replace("alpha: alpha", "alpha: s3://artifacts/odd//alpha"), encoding="utf-8")
    with pytest.raises(
        InputError, match=r"artifacts\.alpha: .*an object key with an empty, '\.' or '\.\.' segment"
    ):
        load_workspace(config)


def test_a_glob_skips_hidden_and_underscore_folders_in_s3_as_on_disk(
    converted: Path, s3: str, tmp_path: Path
) -> None:
    """``alpha/**/*.parquet`` read ``.staging/`` from S3 but not from disk (an audit): two reviews of
    the same files. Both skip hidden and ``_`` folders a wildcard walks into."""
    import s3fs

    local = tmp_path / "glob"
    shutil.copytree(converted / "alpha", local / "alpha")
    first = sorted((local / "alpha").rglob("*.parquet"))[0]
    for folder in (".staging", "_temporary"):
        (local / "alpha" / folder).mkdir()
        shutil.copy(first, local / "alpha" / folder / "late.parquet")
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
    fs.put(str(local / "alpha"), "artifacts/glob/alpha", recursive=True)
    s3fs.S3FileSystem.clear_instance_cache()
    on_disk = source_files(local / "alpha" / "**" / "*.parquet")
    in_s3 = source_files(Path("s3://artifacts/glob/alpha/**/*.parquet"))
    assert len(on_disk) == len(in_s3) == len(list((converted / "alpha").rglob("*.parquet")))
    assert not [p for p in [*on_disk, *in_s3] if ".staging" in str(p) or "_temporary" in str(p)]
    named = source_files(Path("s3://artifacts/glob/*/_temporary/*.parquet"))  # named by the pattern: read
    assert [p.name for p in named] == ["late.parquet"]
