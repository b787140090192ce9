"""Data quality bookkeeping: every line of every file ends up accepted, rejected or ignored.

Readers book lines they cannot turn into rows (blank, unparsable); the frame builders book the
rows they accept or reject. :meth:`LineAccounts.report` tallies it all into ``DataQuality`` (SPEC §4.1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metasup.ingest.rows import FileIds, Ints, Objects
from metasup.model.review import MAX_REJECTED_LISTED, DataQuality, FileQuality, RejectedLine

_FEW_FILES = 8
"""Up to this many files, counting each file's rows beats ``bincount`` (it copies ids to int64)."""


class LineAccounts:
    """Accounts for every line of every file: accepted, rejected (where and why) or ignored.

    Counts arrive as arrays of file ids (one per row) and are only tallied in :meth:`report`, so
    booking a million accepted rows costs one ``bincount``.
    """

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lines: list[int] = []
        self.blank: list[int] = []
        self.duplicates = 0
        self.cost_unknown = 0
        self._accepted: list[FileIds] = []
        self._ignored: list[FileIds] = []
        self._rejected: list[tuple[FileIds, Ints, Objects | str]] = []

    def add_file(self, path: str) -> int:
        self.paths.append(path)
        self.lines.append(0)
        self.blank.append(0)
        return len(self.paths) - 1

    def set_lines(self, file_id: int, lines: int) -> None:
        self.lines[file_id] = lines

    def ignore_lines(self, file_id: int, count: int) -> None:
        self.blank[file_id] += count

    def ignore(self, files: FileIds) -> None:
        self._ignored.append(files)

    def accept(self, files: FileIds) -> None:
        self._accepted.append(files)

    def reject(self, files: FileIds, lines: Ints, reasons: Objects | str) -> None:
        self._rejected.append((files, lines, reasons))

    def reject_each(self, file_id: int, lines: Ints, reasons: Sequence[str]) -> None:
        if len(lines):
            self.reject(
                np.full(len(lines), file_id, dtype=np.int32), lines, np.asarray(reasons, dtype=object)
            )

    def first_rejected(self, file_ids: Sequence[int]) -> tuple[int, int, str] | None:
        """The first rejected line (file id, line, reason) among ``file_ids``, in file then line order.

        ``report`` lists only the first lines of all files together; a message about one input's
        files needs that input's first, which may lie beyond them.
        """
        wanted = np.asarray(file_ids, dtype=np.int32)
        best: tuple[int, int, str] | None = None
        for files, lines, reasons in self._rejected:
            at = np.flatnonzero(np.isin(files, wanted))
            if not len(at):
                continue
            first = int(at[np.lexsort((lines[at], files[at]))[0]])
            found = (
                int(files[first]),
                int(lines[first]),
                reasons if isinstance(reasons, str) else str(reasons[first]),
            )
            if best is None or found[:2] < best[:2]:
                best = found
        return best

    def _count(self, parts: Sequence[FileIds]) -> Ints:
        counts = np.zeros(len(self.paths), dtype=np.int64)
        for files in parts:
            if len(self.paths) <= _FEW_FILES:  # one cheap int32 compare per file, no int64 copy
                counts += np.array([np.count_nonzero(files == file_id) for file_id in range(len(self.paths))])
            else:
                counts += np.bincount(files, minlength=len(self.paths)).astype(np.int64)
        return counts

    def report(self) -> DataQuality:
        """The ``data_quality`` section: per-file counts and the first rejected lines in file/line order."""
        files = np.concatenate([part[0] for part in self._rejected] + [np.zeros(0, dtype=np.int32)])
        lines = np.concatenate([part[1] for part in self._rejected] + [np.zeros(0, dtype=np.int64)])
        reasons = np.concatenate(
            [
                np.full(len(part[0]), part[2], dtype=object) if isinstance(part[2], str) else part[2]
                for part in self._rejected
            ]
            + [np.zeros(0, dtype=object)]
        )
        order = np.lexsort((lines, files))[:MAX_REJECTED_LISTED]
        rejected = self._count([part[0] for part in self._rejected])
        accepted = self._count(self._accepted)
        ignored = self._count(self._ignored) + np.asarray(self.blank, dtype=np.int64)
        return DataQuality(
            files=[
                FileQuality(
                    path=path,
                    lines=self.lines[index],
                    accepted=int(accepted[index]),
                    rejected=int(rejected[index]),
                    ignored=int(ignored[index]),
                )
                for index, path in enumerate(self.paths)
            ],
            rejected=[
                RejectedLine(file=self.paths[int(files[i])], line=int(lines[i]), reason=str(reasons[i]))
                for i in order
            ],
            rejected_total=len(files),
            duplicates=self.duplicates,
            cost_unknown=self.cost_unknown,
        )
