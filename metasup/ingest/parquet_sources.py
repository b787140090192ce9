"""Where the data files of a configured path are (SPEC §8): on local disk, or in object storage.

* a local file, folder or glob is listed by ``ingest.listing``: a folder is read recursively, hive
  partitions (``date=2026-10-30/part-0.parquet``, as ``metasup convert`` writes them) included;
* ``s3://``, ``gs://``, ``az://``… (any fsspec protocol; ``s3fs`` etc. from the ``[dask]`` extra) is
  read through fsspec — a file, a prefix (every data file below it, by the rule of a local folder)
  or a glob. Credentials and
  endpoints come from the environment only (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``,
  ``FSSPEC_S3_ENDPOINT_URL``, …), never from ``metasup.yml``.

Every file is then read and checked by the same readers as any other (``ingest.load``), so a bad line
in a remote Parquet file is counted exactly like one on disk; files are named by their URL. A URL is
carried as a ``Path`` (``s3:/bucket/key``, what pathlib makes of it; ``model.config.artifact_url``
turns it back).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

import pyarrow as pa

from metasup.ingest.files import GZIP_MAGIC, Content, display_path, gunzip, read_content, suffix_of
from metasup.ingest.listing import GLOB_CHARACTERS, glob_file_parts, glob_folder_skipped, local_files, wanted
from metasup.model.config import UNADDRESSABLE, artifact_url, unaddressable_key
from metasup.model.errors import ArtifactError, why_unreadable


def source_files(path: Path) -> list[Path]:
    """The data files one configured path names (see the module docstring)."""
    url = artifact_url(path)
    if url is not None:
        return _remote_files(url)
    try:
        return local_files(path)
    except OSError as exc:  # a name too long to look up, a folder that cannot be listed
        raise ArtifactError(f"{display_path(path)}: {why_unreadable(exc)}") from None


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
    if suffix.endswith(".gz") or data.startswith(GZIP_MAGIC):  # as ``files.read_content`` does
        data = gunzip(url, data, unnamed=not suffix.endswith(".gz"))
    return Content(pa.py_buffer(data))


HIVE_NULL: Final = "__HIVE_DEFAULT_PARTITION__"
"""The folder value Hive, Spark and pyarrow write for a null partition value."""


def hive_partitions(path: Path, shown: str, fields: Collection[str]) -> dict[str, str | None]:
    """The ``key=value`` folders ``path`` lies in whose key is one of ``fields`` (``symbol=AAPL`` →
    ``{"symbol": "AAPL"}``), values URL-decoded as pyarrow and Spark encode them, :data:`HIVE_NULL`
    as ``None``. Such a key given twice with different values is an ``ArtifactError``: which one
    holds is anybody's guess. Any other ``key=value`` folder (``date=``) is a folder, nothing more."""
    found: dict[str, str | None] = {}
    for part in path.parent.parts:
        key, equals, value = part.partition("=")
        key = unquote(key)
        if not equals or key not in fields:
            continue
        decoded = unquote(value)
        given = None if decoded == HIVE_NULL else decoded
        if key in found and found[key] != given:
            raise ArtifactError(f"{shown}: its folders give {key} two values ({found[key]}, {given})")
        found[key] = given
    return found


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
    """The data files a URL names, by the rule of a local path (``ingest.listing``)."""
    fs, root = _filesystem(url)
    protocol = url.split("://", 1)[0]
    try:
        if GLOB_CHARACTERS & set(root):
            found: list[tuple[str, tuple[str, ...]]] = []
            for name, info in fs.glob(root, detail=True).items():
                matched = str(name).rstrip("/")
                if info.get("type") == "directory":  # a folder it matches is read like one
                    if not glob_folder_skipped(root, matched):
                        found += [(below, _below(name, below)) for below in _files_in(fs, name)]
                elif not _is_folder_marker(name, info):
                    found.append((name, glob_file_parts(root, matched)))
        elif fs.isdir(root):
            found = [(name, _below(root, name)) for name in _files_in(fs, root)]
        elif fs.exists(root):
            if suffix_of(Path(root)) is None:
                raise ArtifactError(f"{url}: unsupported file type")
            return [Path(url)]
        else:
            raise ArtifactError(f"{url}: file not found")
    except _remote_failures() as exc:
        raise ArtifactError(f"{url}: cannot list ({type(exc).__name__}: {exc})") from None
    for name, _ in found:
        if unaddressable_key(f"{protocol}://{name}"):
            raise ArtifactError(f"{protocol}://{name}: {UNADDRESSABLE}")
    files = sorted(
        Path(f"{protocol}://{name}") for name, parts in found if wanted(parts, f"{protocol}://{name}")
    )
    if not files:
        raise ArtifactError(f"{url}: no data files there")
    return files


def _files_in(fs: Any, folder: str) -> list[str]:
    """The objects below ``folder``, folder markers left out (see :func:`_is_folder_marker`)."""
    listed: dict[str, dict[str, Any]] = fs.find(folder, detail=True)
    return [str(name) for name, info in listed.items() if not _is_folder_marker(str(name), info)]


def _is_folder_marker(name: str, info: dict[str, Any]) -> bool:
    """Whether a listed object stands for a folder rather than a file: a key ending in ``/`` (the
    zero-byte object the S3 console's "Create folder", s3a/Hadoop and many uploaders write), or an
    entry the filesystem itself calls a directory. A marker is a folder, and so no file to refuse;
    until 2026-12 one stopped the review as "unsupported file type in an artifact directory"."""
    return name.endswith("/") or info.get("type") == "directory"


def _below(folder: str, name: str) -> tuple[str, ...]:
    return tuple(name[len(folder.rstrip("/")) :].strip("/").split("/"))
