"""Remove from an installed site-packages what metasup's runtime never loads (Dockerfile builder).

Usage: python tools/prune_venv.py SITE_PACKAGES

Removed: test suites and testing data of the dependencies, C/C++ headers, Cython sources, type
stubs, static libraries, pyarrow's Flight and S3 extensions with their shared libraries (optional
imports: ``pyarrow.fs`` lists them as not available), pyarrow's C++ test module, matplotlib's
sample data, numpy's f2py, and every ``__pycache__``. The copies of a shared library that a wheel
ships under several names (zip has no symlinks: ``libarrow_python.so``, ``.so.2600``,
``.so.2600.1.0``) become symlinks to the one the loader asks for. Shared objects lose their
static symbol tables (``strip --strip-unneeded``; the dynamic symbols the loader uses stay),
except the libraries auditwheel grafted into ``<package>.libs/`` and the modules whose RPATH
points there: patchelf rewrote those, and strip breaks them ("ELF load command address/offset
not page-aligned"). Prints what it removed.

What must stay is checked in the built image by ``tests/integration/test_container.py`` (a review,
and ``metasup demo``: every stage, the LP report's charts included).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

TEST_DIRS = {"tests", "__pycache__"}
KEEP_DIRS = {"numpy/testing", "numpy/_core/testing"}
FILE_SUFFIXES = {".h", ".hpp", ".pxd", ".pyx", ".pxi", ".pyi", ".a", ".c", ".cc", ".cpp"}
PATHS = [
    "pyarrow/include",
    "pyarrow/src",
    "pyarrow/flight.py",
    "pyarrow/_flight.*.so",
    "pyarrow/libarrow_flight.so*",
    "pyarrow/libarrow_python_flight.so*",
    "pyarrow/_s3fs.*.so",
    "pyarrow/libarrow_s3.so*",
    "pyarrow/_pyarrow_cpp_tests.*.so",
    "pyarrow/conftest.py",
    "matplotlib/mpl-data/sample_data",
    "numpy/f2py",
]


def size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def remove(path: Path) -> int:
    freed = size(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    return freed


def dedupe_shared_libraries(site: Path) -> int:
    """``libX.so`` and ``libX.so.N.M.P`` identical to ``libX.so.N`` (the soname) → symlinks to it."""
    freed = 0
    for soname in sorted(site.glob("*/lib*.so.[0-9]*")):
        if not re.fullmatch(r"lib[\w.-]+?\.so\.\d+", soname.name) or soname.is_symlink():
            continue
        digest = hashlib.sha256(soname.read_bytes()).hexdigest()
        stem = soname.name.rsplit(".so.", 1)[0] + ".so"
        for other in [soname.with_name(stem), *soname.parent.glob(soname.name + ".*")]:
            same = other.is_file() and not other.is_symlink()
            if same and hashlib.sha256(other.read_bytes()).hexdigest() == digest:
                freed += remove(other)
                other.symlink_to(soname.name)
    return freed


def strip_shared_objects(site: Path) -> int:
    """``strip --strip-unneeded`` every shared object auditwheel's patchelf did not touch."""
    before = 0
    after = 0
    for path in sorted(site.rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or any(p.endswith(".libs") for p in path.parts):
            continue
        dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True)
        if re.search(r"\((?:RUN)?PATH\).*\.libs", dynamic.stdout):
            continue
        before += path.stat().st_size
        subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
        after += path.stat().st_size
    return before - after


def prune(site: Path) -> dict[str, int]:
    freed: dict[str, int] = {"test suites and __pycache__": 0, "headers, sources, stubs, .a": 0}
    for directory in sorted(site.rglob("*"), key=lambda p: len(p.parts)):
        rel = directory.relative_to(site).as_posix()
        if directory.is_dir() and directory.name in TEST_DIRS and rel not in KEEP_DIRS and directory.exists():
            freed["test suites and __pycache__"] += remove(directory)
    for file in list(site.rglob("*")):
        if file.suffix in FILE_SUFFIXES and (file.is_file() or file.is_symlink()):
            freed["headers, sources, stubs, .a"] += remove(file)
    for pattern in PATHS:
        for path in site.glob(pattern):
            freed[pattern] = freed.get(pattern, 0) + remove(path)
    freed["duplicate shared libraries"] = dedupe_shared_libraries(site)
    freed["symbol tables (strip)"] = strip_shared_objects(site)
    return freed


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__, file=sys.stderr)
        return 2
    site = Path(argv[0])
    freed = prune(site)
    for what, count in freed.items():
        print(f"prune: {count / 1e6:7.1f} MB  {what}")
    print(f"prune: {sum(freed.values()) / 1e6:7.1f} MB  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
