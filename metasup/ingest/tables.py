"""csv and parquet reading: the formats that name their columns up front.

A file missing a required column, or naming one twice, cannot be used at all (``ArtifactError``).
pyarrow reads a csv with its numbers and timestamps typed; when a cell does not convert it reads
every cell as text instead, and numeric fields are converted vectorized afterwards. Only a csv
pyarrow cannot map line by line (invalid UTF-8, a quoted field spanning lines) goes through
Python's ``csv`` module, which knows the line every record starts on. A parquet file's
columns keep the types they were written with; its "lines" are its rows, numbered from 1.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from metasup.ingest.files import Content, Lines, scan_lines
from metasup.ingest.quality import LineAccounts
from metasup.ingest.rows import Column, InputSpec, Ints, Kind, Rows, no_rows, object_column, rows_from_table
from metasup.model.errors import ArtifactError


@dataclass(frozen=True)
class _InvalidCsvRow:
    number: int | None  # pyarrow's count of non-empty rows, the header being 1
    text: str
    expected: int
    actual: int


def read_csv(
    data: Content,
    spec: InputSpec,
    file_id: int,
    accounts: LineAccounts,
    shown: str,
    *,
    typed_timestamps: bool = False,
) -> Rows:
    """A csv file read by pyarrow, typed when every cell converts, else as text converted afterwards.

    ``typed_timestamps`` lets the typed read parse timestamps too; only for an input of one file,
    whose ``ts`` is never concatenated with another file's text timestamps (that would mix dtypes).
    """
    # When line 1 is the header, the lines are scanned after pyarrow's read, which can then start
    # at once: the scan is only needed to say which line each row came from.
    lines = None if _starts_with_a_record(data) else scan_lines(data, whitespace_is_blank=False)
    if lines is not None and not len(lines.numbers):
        accounts.set_lines(file_id, lines.total)
        accounts.ignore_lines(file_id, lines.total)
        return no_rows()
    header = _csv_header(data, lines, shown)
    wanted = _check_columns(header, spec, shown)
    invalid: list[_InvalidCsvRow] = []

    def on_invalid_row(row: Any) -> str:
        invalid.append(_InvalidCsvRow(row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    table = None
    for column_types in (
        _typed_columns(spec, wanted, typed_timestamps),
        dict.fromkeys(wanted, pa.large_string()),
    ):
        invalid.clear()
        try:
            table = pa_csv.read_csv(
                data.reader(),
                parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid_row),
                convert_options=pa_csv.ConvertOptions(
                    include_columns=wanted,
                    column_types=column_types,
                    null_values=[""],
                    strings_can_be_null=True,
                ),
            )
            break
        except pa.ArrowException:
            continue
    if lines is None:
        lines = scan_lines(data, whitespace_is_blank=False)
    located = None if table is None else _locate_csv_rows(lines, table.num_rows, invalid)
    if table is None or located is None:
        rows = _read_csv_slowly(data, spec, wanted, file_id, accounts, shown)
    else:
        row_lines, invalid_lines = located
        after_header = lines.total - int(lines.numbers[0])
        accounts.set_lines(file_id, after_header)
        accounts.ignore_lines(file_id, after_header - (len(lines.numbers) - 1) + _blank_count(invalid))
        rejected = [(line, row) for line, row in zip(invalid_lines, invalid, strict=True) if row.text.strip()]
        accounts.reject_each(
            file_id,
            np.asarray([line for line, _ in rejected], dtype=np.int64),
            [_wrong_columns(row.expected, row.actual) for _, row in rejected],
        )
        rows = rows_from_table(table, file_id, row_lines, spec.fields)
    return _numbers_from_text(rows, spec)


def _typed_columns(spec: InputSpec, wanted: Sequence[str], timestamps: bool) -> dict[str, pa.DataType]:
    """Column types for the first, typed read: numbers as float64, timestamps as UTC nanoseconds.

    pyarrow's csv converters use the same ISO 8601 and float parsers as the casts of the text path
    (``_parse_numbers``, ``timestamp_field``), so when every cell converts the values are the same,
    without building millions of strings first. One cell that does not convert (a naive timestamp,
    a word among numbers) fails the whole read and the text read takes over, so rejected cells
    still get the text path's reasons. (A number padded with spaces is read as that number here;
    the text path gets the same float through pandas.)
    """
    types: dict[str, pa.DataType] = {}
    for name in wanted:
        kind = spec.fields[name]
        if kind is Kind.NUMBER:
            types[name] = pa.float64()
        elif kind is Kind.TIMESTAMP and timestamps:
            types[name] = pa.timestamp("ns", tz="UTC")
        else:
            types[name] = pa.large_string()
    return types


def _blank_count(invalid: Sequence[_InvalidCsvRow]) -> int:
    return sum(1 for row in invalid if not row.text.strip())


def _wrong_columns(expected: int, actual: int) -> str:
    """The reason for a record with too few or too many cells, whichever reader found it."""
    return f"wrong number of columns (expected {expected}, got {actual})"


def _starts_with_a_record(data: Content) -> bool:
    """Whether line 1 is not blank (neither empty nor a lone ``\r``): then it is the header."""
    return len(data) > 0 and int(data.array[0]) not in (ord("\n"), ord("\r"))


def _csv_header(data: Content, lines: Lines | None, shown: str) -> list[str]:
    """Column names from the first non-blank line (line 1 when ``lines`` is not scanned yet)."""
    if lines is not None and lines.numbers[0] > 1:  # blank lines before the header
        starts, ends = lines.ranges(data)
        raw = data.bytes(int(starts[0]), int(ends[0]))
    else:
        newlines = np.flatnonzero(data.array[: 1 << 20] == ord("\n"))
        raw = data.bytes(0, int(newlines[0]) if len(newlines) else None)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(f"{shown}: csv header is not valid UTF-8") from None
    text = text.removesuffix("\r")
    if "\r" in text:
        raise ArtifactError(
            f"{shown}: line 1 holds a carriage return (\\r) that ends no line: csv lines must end in "
            "\\n or \\r\\n (a file saved as 'CSV (Macintosh)' ends them in \\r alone; save it as "
            "'CSV UTF-8')"
        )
    try:
        return [name.strip() for name in next(csv.reader([text]), [])]
    except csv.Error as exc:
        raise ArtifactError(f"{shown}: csv header cannot be read ({exc})") from None


def _check_columns(header: Sequence[str], spec: InputSpec, shown: str) -> list[str]:
    """The known columns present; a missing required or a repeated column makes the file unusable."""
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ArtifactError(f"{shown}: repeated column(s) {', '.join(repeated)}")
    missing = [name for name in spec.required_columns if name not in header]
    if missing:
        raise ArtifactError(
            f"{shown}: missing required column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'})"
        )
    return [name for name in spec.fields if name in header]


def _locate_csv_rows(
    lines: Lines, table_rows: int, invalid: Sequence[_InvalidCsvRow]
) -> tuple[Ints, list[int]] | None:
    """Line numbers of pyarrow's rows and of the rows it skipped, or ``None`` if they cannot be mapped.

    pyarrow numbers non-empty rows (header = 1); with no record spanning lines that is the index into
    the non-blank lines. Anything inconsistent (a quoted newline, a threaded read that did not
    number its rows) returns ``None`` and the slow reader takes over.
    """
    if not invalid and table_rows == len(lines.numbers) - 1:
        return lines.numbers[1:], []  # the common case: every non-blank line after the header is a row
    if any(row.number is None or not 1 < row.number <= len(lines.numbers) for row in invalid):
        return None
    skipped = np.asarray([row.number for row in invalid], dtype=np.int64) - 1
    data_rows = np.ones(len(lines.numbers), dtype=bool)
    data_rows[0] = False
    data_rows[skipped] = False
    if int(data_rows.sum()) != table_rows:
        return None
    return lines.numbers[data_rows], [int(line) for line in lines.numbers[skipped]]


_FIELD_LIMIT = threading.Lock()
LONGEST_FIELD = 2**31 - 1
"""Python's csv reader refuses a field over 128 KiB, which made a whole file unusable for one
pasted blob; its limit is process-wide, so it is lifted only while metasup's reader runs."""


@contextmanager
def _longest_fields() -> Iterator[None]:
    with _FIELD_LIMIT:
        before = csv.field_size_limit(LONGEST_FIELD)
        try:
            yield
        finally:
            csv.field_size_limit(before)


def _read_csv_slowly(
    data: Content, spec: InputSpec, wanted: Sequence[str], file_id: int, accounts: LineAccounts, shown: str
) -> Rows:
    """Python's csv reader, record by record: only for files pyarrow cannot map to lines."""
    with _longest_fields():
        return _read_records(data, spec, wanted, file_id, accounts, shown)


def _read_records(
    data: Content, spec: InputSpec, wanted: Sequence[str], file_id: int, accounts: LineAccounts, shown: str
) -> Rows:
    text = data.bytes().decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    position: dict[str, int] = {}
    values: dict[str, list[object]] = {name: [] for name in wanted}
    row_lines: list[int] = []
    records = blank = 0
    previous = 0
    try:
        for record in reader:
            line, previous = previous + 1, reader.line_num
            if header is None:
                if record:
                    header = [name.strip() for name in record]
                    position = {name: header.index(name) for name in wanted}
                continue
            records += 1
            if not record or (len(record) == 1 and not record[0].strip()):
                blank += 1
            elif len(record) != len(header):
                reasons = [_wrong_columns(len(header), len(record))]
                end = reader.line_num
                if end > line:  # a stray quote took the lines after it into this record: each counts
                    reasons[0] += f"; a quote opened on line {line} runs to line {end}"
                    reasons += [f"inside the quoted field opened on line {line}"] * (end - line)
                    records += end - line
                accounts.reject_each(file_id, np.arange(line, end + 1, dtype=np.int64), reasons)
            elif not _is_valid_utf8(record):
                accounts.reject_each(file_id, np.asarray([line], dtype=np.int64), ["invalid UTF-8"])
            else:
                row_lines.append(line)
                for name in wanted:
                    values[name].append(record[position[name]] or None)
    except csv.Error as exc:
        raise ArtifactError(f"{shown}: malformed csv at line {reader.line_num} ({exc})") from None
    accounts.set_lines(file_id, records)
    accounts.ignore_lines(file_id, blank)
    lines = np.asarray(row_lines, dtype=np.int64)
    columns = {name: object_column(column) for name, column in values.items()}
    return Rows.of_file(file_id, lines, columns)


def _is_valid_utf8(record: Sequence[str]) -> bool:
    """False when ``surrogateescape`` decoding had to smuggle in undecodable bytes."""
    try:
        for value in record:
            value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _numbers_from_text(rows: Rows, spec: InputSpec) -> Rows:
    """csv cells are text: numeric fields become floats; a cell that is no number stays text (wrong type)."""
    columns = dict(rows.columns)
    for name, kind in spec.fields.items():
        if (
            kind is Kind.NUMBER
            and name in columns
            and not pd.api.types.is_numeric_dtype(columns[name].values)
        ):
            columns[name] = _parse_numbers(columns[name])
    return replace(rows, columns=columns)


def _parse_numbers(column: Column) -> Column:
    """Vectorized text → float: pyarrow's cast first, pandas' coercion when a cell is not a number."""
    text = column.values.astype("str")
    try:
        numbers = pa.array(text, from_pandas=True).cast(pa.float64()).to_pandas()
        return Column(pd.Series(numbers).reset_index(drop=True), column.missing)
    except pa.ArrowException:
        pass
    coerced = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    spelled_nan = (
        text.str.strip().str.lower().isin(["nan", "+nan", "-nan"]).to_numpy(dtype=bool, na_value=False)
    )
    not_a_number = np.isnan(coerced) & ~column.missing & ~spelled_nan
    mixed = coerced.astype(object)
    mixed[not_a_number] = text.to_numpy(dtype=object)[not_a_number]
    return Column(pd.Series(mixed, dtype=object), column.missing)


def read_parquet(
    data: Content,
    spec: InputSpec,
    file_id: int,
    accounts: LineAccounts,
    shown: str,
    partitions: Mapping[str, str | None] | None = None,
) -> Rows:
    """A parquet file: typed columns as written; its "lines" are its rows, numbered from 1.

    ``partitions`` are the hive ``key=value`` folders the file lies in (``prices/symbol=AAPL/…``, as
    pyarrow's ``write_to_dataset`` and Spark's ``partitionBy`` write them, leaving the column out of
    the files): a known field the file lacks is read from its folder, as text converted like a
    csv cell, then checked like any column. A file that has the column keeps its own values; a
    text value that differs from its folder's is rejected (which one was meant is ambiguous, and
    readers disagree: pyarrow's datasets take the folder's, ours the file's).
    """
    if not len(data):
        accounts.set_lines(file_id, 0)
        return no_rows()
    try:
        parquet = pa_parquet.ParquetFile(data.reader())
        names = list(parquet.schema_arrow.names)
        from_folders = {key: value for key, value in (partitions or {}).items() if key not in names}
        wanted = _check_columns(names + list(from_folders), spec, shown)
        table = parquet.read(columns=[name for name in wanted if name not in from_folders])
    except (pa.ArrowException, OSError) as exc:
        raise ArtifactError(f"{shown}: not a valid parquet file ({exc})") from None
    accounts.set_lines(file_id, table.num_rows)
    for key in wanted:
        if key in from_folders:
            value = from_folders[key]
            column = (
                pa.nulls(table.num_rows, pa.large_string())
                if value is None
                else pa.repeat(value, table.num_rows)
            )
            table = table.append_column(key, column.cast(pa.large_string()))
    rows = _nulls_apart(
        rows_from_table(table, file_id, np.arange(1, table.num_rows + 1, dtype=np.int64), spec.fields),
        [name for name in spec.null_apart if name in names],
    )
    numbers = {key: kind for key, kind in spec.fields.items() if key in from_folders and kind is Kind.NUMBER}
    rows = _numbers_from_text(rows, InputSpec(numbers, ())) if numbers else rows
    return _agreeing_with_folders(rows, partitions or {}, from_folders, file_id, accounts)


def _nulls_apart(rows: Rows, names: Sequence[str]) -> Rows:
    """A null in a column the file has is ``null`` written out, not a field left out: a column
    cannot leave one row's field out (``InputSpec.null_apart``; a ``run`` of unknown cost)."""
    if not any(name in rows.columns for name in names):
        return rows
    columns = dict(rows.columns)
    for name in names:
        if name in columns:
            column = columns[name]
            columns[name] = Column(column.values, column.missing, column.missing.copy())
    return replace(rows, columns=columns)


def _agreeing_with_folders(
    rows: Rows,
    partitions: Mapping[str, str | None],
    from_folders: Mapping[str, str | None],
    file_id: int,
    accounts: LineAccounts,
) -> Rows:
    """The rows whose text columns agree with the file's ``key=value`` folders; the others rejected."""
    differs = np.zeros(len(rows), dtype=bool)
    reasons = np.full(len(rows), "", dtype=object)
    for key, value in partitions.items():
        column = rows.columns.get(key)
        if key in from_folders or column is None or value is None:
            continue
        if not pd.api.types.is_string_dtype(column.values.dtype):
            continue  # a typed column (ts, a number) in the file is kept as written
        other = ~column.missing & (column.values.to_numpy(dtype=object, na_value="") != value) & ~differs
        reasons[other] = f"{key} differs from its folder's ({key}={value})"
        differs |= other
    if not differs.any():
        return rows
    accounts.reject_each(file_id, rows.line[differs], list(reasons[differs]))
    return rows.take(~differs)
