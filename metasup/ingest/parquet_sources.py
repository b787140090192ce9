"""Artifact paths beyond one file or a flat folder (SPEC §8): globs, hive-partitioned folders, object storage.

* a glob (``alpha/**/*.parquet``) names the supported files it matches, in path order;
* a folder holding no data file of its own but ``key=value`` sub-folders (hive partitions, as
  ``metasup convert`` writes them: ``date=2026-10-30/part-0.parquet``) names every data file below
  it, in path order; hidden and ``_``-prefixed entries (``_SUCCESS``) are skipped;
* ``s3://``, ``gs://``, ``az://``… (any fsspec protocol; ``s3fs`` etc. from the ``[dask]`` extra) is
  read through fsspec — a file, a prefix (every data file below it) or a glob. Credentials and
  endpoints come from the environment only (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``,
  ``FSSPEC_S3_ENDPOINT_URL``, …), never from ``metasup.yml``.

Every file is then read and checked by the same readers as any other (``ingest.load``), so a bad line
in a remote Parquet file is counted exactly like one on disk; files are named by their URL. A URL is
carried as a ``Path`` (``s3:/bucket/key``, what pathlib makes of it; ``model.config.artifact_url``
turns it back).
"""

from __future__ import annotations

import glob
import gzip
from pathlib import Path
from typing import Any

import pyarrow as pa

from metasup.ingest.files import Content, data_files, display_path, read_content, suffix_of
from metasup.model.config import artifact_url
from metasup.model.errors import ArtifactError, why_unreadable

_GLOB_CHARACTERS = frozenset("*?[")


def source_files(path: Path) -> list[Path]:
    """The data files one configured path names (see the module docstring)."""
    url = artifact_url(path)
    if url is not None:
        return _remote_files(url)
    try:
        return _local_files(path)
    except OSError as exc:  # a name too long to look up, a folder that cannot be listed
        raise ArtifactError(f"{display_path(path)}: {why_unreadable(exc)}") from None


def _local_files(path: Path) -> list[Path]:
    text = str(path)
    if _GLOB_CHARACTERS & set(text):
        found = sorted(Path(name) for name in glob.glob(text, recursive=True))
        files = [name for name in found if name.is_file() and _is_data(name.parts[-1:], name)]
        if not files:
            raise ArtifactError(f"{text}: the pattern matches no data file")
        return files
    if path.is_dir() and _is_hive_root(path):
        files = sorted(
            (name for name in path.rglob("*") if name.is_file()),
            key=lambda name: name.relative_to(path).as_posix(),
        )
        kept = [name for name in files if _is_data(name.relative_to(path).parts, name)]
        if not kept:
            raise ArtifactError(f"{display_path(path)}: partitioned folder holds no data files")
        return kept
    return data_files(path)


def shown_path(path: Path) -> str:
    """How a file is named in messages and ``data_quality``: its URL, or as ``ingest.files`` says."""
    return artifact_url(path) or display_path(path)


def source_content(path: Path, suffix: str) -> Content:
    """The file's bytes, from object storage when ``path`` is a URL."""
    url = artifact_url(path)
    if url is None:
        return read_content(path, suffix)
    try:
        with _filesystem(url)[0].open(url, "rb") as handle:
            data: bytes = handle.read()
    except FileNotFoundError:
        raise ArtifactError(f"{url}: file not found") from None
    except _remote_failures() as exc:
        raise ArtifactError(f"{url}: cannot read ({type(exc).__name__}: {exc})") from None
    if suffix.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ArtifactError(f"{url}: not a valid gzip file ({exc})") from None
    return Content(pa.py_buffer(data))


def _is_data(parts: tuple[str, ...], path: Path) -> bool:
    return suffix_of(path) is not None and not any(part.startswith((".", "_")) for part in parts)


def _is_hive_root(folder: Path) -> bool:
    entries = [entry for entry in folder.iterdir() if not entry.name.startswith((".", "_"))]
    has_files = any(entry.is_file() and suffix_of(entry) is not None for entry in entries)
    return not has_files and any(entry.is_dir() and "=" in entry.name for entry in entries)


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise ArtifactError(f"{url}: reading object storage needs: pip install 'metasup[dask]'") from None
    try:
        fs, root = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ArtifactError(f"{url}: no filesystem for this URL ({exc})") from None
    except _remote_failures() as exc:  # some filesystems connect at once (ftp)
        raise ArtifactError(f"{url}: cannot connect ({type(exc).__name__}: {exc})") from None
    return fs, str(root)


def _remote_failures() -> tuple[type[BaseException], ...]:
    """What object-storage clients raise for a network or credentials problem: ``OSError``, and the
    exception trees of botocore and aiohttp, which s3fs and fsspec's http do not always translate
    (an S3 endpoint refusing connections surfaces as botocore's ``EndpointConnectionError``)."""
    failures: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        failures += [BotoCoreError, ClientError]
    except ImportError:
        pass
    try:
        from aiohttp import ClientError as HttpClientError

        failures.append(HttpClientError)
    except ImportError:
        pass
    return tuple(failures)


def _remote_files(url: str) -> list[Path]:
    fs, root = _filesystem(url)
    protocol = url.split("://", 1)[0]
    try:
        if _GLOB_CHARACTERS & set(root):
            names = [str(name) for name in fs.glob(root)]
        elif fs.isdir(root):
            names = [str(name) for name in fs.find(root)]
        elif fs.exists(root):
            names = [root]
        else:
            raise ArtifactError(f"{url}: file not found")
    except _remote_failures() as exc:
        raise ArtifactError(f"{url}: cannot list ({type(exc).__name__}: {exc})") from None
    base = root.rstrip("/")
    files = sorted(
        Path(f"{protocol}://{name}")
        for name in names
        if _is_data(tuple(name[len(base) :].strip("/").split("/")) if name != root else (), Path(name))
    )
    if not files:
        raise ArtifactError(f"{url}: no data files there")
    return files
