"""The ``csv`` dataset: any CSV file with a time column and numeric value columns (the user's own series), and
:func:`read_series_csv`, the reader every CSV-based dataset goes through.

Every CSV goes through the same checks: the file exists, is non-empty UTF-8 text, has the time and value columns,
every value is a number, every timestamp parses, timestamps strictly increase on a regular step, and no cell is
empty. Missing timestamps and empty cells are an error unless ``interpolate`` is set; then they are filled by linear
interpolation and the fill is recorded in :attr:`~harness_tasks.forecasting.data.series.Series.notes`. A file may
hold several series in long format (an id column).
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from harness_tasks.forecasting.data.series import (
    Series,
    calendar_freq,
    check_increasing,
    count,
    duration,
    fill_empty,
    fill_gaps,
    freq_alias,
    list_times,
    regular_step,
)
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.datafiles import DataPath, decode_utf8, resolve_data_path
from harness.errors import DataError, hint_suffix
from harness.task import DatasetInfo

if TYPE_CHECKING:
    import pandas as pd


class CsvOptions(BaseModel):
    """Options of the generic ``csv`` dataset."""

    model_config = ConfigDict(extra="forbid")

    path: DataPath = Field(min_length=1, description="CSV file, relative to the data directory, or absolute")
    time_column: str = Field("date", min_length=1, description="column holding the timestamps")
    columns: list[str] | None = Field(
        None, min_length=1, description="numeric columns to keep, in this order (None: every other column)"
    )
    interpolate: bool = Field(
        False, description="fill missing timestamps and empty cells by linear interpolation (else they are an error)"
    )
    id_column: str | None = Field(
        None, min_length=1, description="column naming the series of each row, for a file holding several series "
                                        "(long format, each series' rows together and in time order)"
    )
    train_fraction: float = Field(0.7, gt=0, lt=1, description="fraction of the rows for training (split in time)")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="fraction of the rows for test; validation gets the rest")
    valid_start: str | None = Field(None, min_length=1, description="split by dates instead: validation starts here "
                                                                    "(ISO date, with test_start)")
    test_start: str | None = Field(None, min_length=1, description="test starts at this date (with valid_start)")

    @field_validator("valid_start", "test_start", mode="before")
    @classmethod
    def _iso(cls, value):
        """A TOML date or date-time (``valid_start = 2017-07-01``) as its ISO text."""
        import datetime as dt

        return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value

    @model_validator(mode="after")
    def _one_split(self) -> CsvOptions:
        if (self.valid_start is None) != (self.test_start is None):
            raise ValueError("give both valid_start and test_start (a split by dates), or neither (a split by fractions)")
        if self.train_fraction + self.test_fraction >= 1:
            raise ValueError(f"train_fraction + test_fraction = {self.train_fraction + self.test_fraction:g} leaves no "
                             "validation rows; keep their sum below 1")
        return self

    def borders(self, series: Series, lookback: int):
        """The split of ``series`` in time: by ``valid_start`` / ``test_start`` when given
        (:func:`~harness_tasks.forecasting.windows.date_borders`), else by the fractions
        (:func:`~harness_tasks.forecasting.windows.ratio_borders`)."""
        from harness_tasks.forecasting.windows import Borders, date_borders, ratio_borders

        def split(time: np.ndarray) -> Borders:
            if self.valid_start is not None:
                return date_borders(time, lookback, self.valid_start, self.test_start)
            return ratio_borders(len(time), lookback, self.train_fraction, self.test_fraction)

        if not series.segments:
            return split(series.time)
        parts = []
        for name, start, end in series.segments:  # each series split in its own time, in rows of the whole array
            try:
                local = split(series.time[start:end])
            except DataError as exc:
                raise DataError(f"series '{name}' of {series.name}: {exc}") from None
            parts.append(Borders(*((a + start, b + start) for a, b in (local.train, local.valid, local.test))))
        return parts

    @field_validator("columns")
    @classmethod
    def _distinct(cls, columns: list[str] | None) -> list[str] | None:
        if columns is not None:
            repeated = sorted({c for c in columns if columns.count(c) > 1})
            if repeated:
                raise ValueError(f"columns lists {', '.join(repr(c) for c in repeated)} more than once")
        return columns


def load_csv(options: CsvOptions, data_dir: Path | None) -> Series:
    """Read a CSV time series: a header line, a time column and numeric value columns.

    ``options.path`` is absolute, or relative to ``data_dir`` (or the working directory when there is none); a
    relative path may not climb out of it with ``..``. See :func:`read_series_csv` for the checks.

    Args:
        options: Validated options.
        data_dir: The data folder against which a relative ``options.path`` is resolved.

    Returns:
        The series, named after the file's stem.

    Raises:
        DataError: The file fails a check of :func:`read_series_csv`.
    """
    path = resolve_data_path(data_dir, options.path, "csv") if data_dir is not None else Path(options.path)
    return read_series_csv(
        path,
        time_column=options.time_column,
        columns=options.columns,
        interpolate=options.interpolate,
        id_column=options.id_column,
        missing_hint="check the path (a relative path is read under the data directory)",
    )


def read_series_csv(
    path: Path,
    *,
    time_column: str = "date",
    columns: Sequence[str] | None = None,
    interpolate: bool = False,
    id_column: str | None = None,
    name: str | None = None,
    citation: str = "",
    missing_hint: str = "",
) -> Series:
    """Read and check a CSV time series.

    Line numbers in messages count the header as line 1 (a file without quoted line breaks). The
    regular step is the most frequent difference between consecutive timestamps (the smallest on
    a tie); a larger difference that is a whole number of steps is a gap. A calendar frequency that
    pandas recognises without gaps (month starts, say) is accepted as it is.

    Args:
        path: The CSV file.
        time_column: Column holding the timestamps (any format pandas parses; time-zone offsets are
            converted to UTC).
        columns: Value columns to keep, in this order; ``None``: every column but the time column.
        interpolate: Fill missing timestamps and empty cells by linear interpolation instead of
            raising; each fill is recorded in the notes.
        id_column: A column naming the series of each row: the file holds several series (long format,
            each series' rows together and in time order, all at one frequency); ``Series.segments`` says
            where each lies.
        name: Series name; default: the file's stem.
        citation: Citation of the series.
        missing_hint: Appended to the missing-file message (how to get the file).

    Returns:
        The series.

    Raises:
        DataError: The file is missing, empty or not UTF-8; a column is missing; a value is not a
            finite number; a timestamp does not parse; timestamps repeat, go back, or step
            irregularly; or timestamps are missing or cells empty without ``interpolate``.
    """
    frame = _read_frame(path, missing_hint)
    header = list(frame.columns)
    if time_column not in header:
        raise DataError(_missing_column_message(path, "time column", time_column, header))
    if columns is None:
        columns = [c for c in header if c not in (time_column, id_column)]
        if not columns:
            raise DataError(f"{path} has only the time column '{time_column}'; a series needs a value column")
    for column in columns:
        if column == time_column:
            raise DataError(f"{path}: '{column}' is the time column and cannot also be a value column")
        if column not in header:
            raise DataError(_missing_column_message(path, "column", column, header))
    if id_column is not None:
        return _several_series(frame, path, header, time_column, list(columns), id_column, interpolate,
                               name or path.stem, citation)
    time, values, freq, notes = _one_series(frame, path, time_column, list(columns), interpolate, first_line=2)
    return Series(
        name=name or path.stem,
        time=time,
        values=values,
        columns=tuple(columns),
        freq=freq,
        citation=citation,
        notes=tuple(notes),
    )


def _one_series(frame: pd.DataFrame, path: Path, time_column: str, columns: list[str], interpolate: bool, *,
                first_line: int, label: str = "") -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    """``(time, values, freq, notes)`` of the rows of ``frame`` (file lines from ``first_line``): parsed, checked for
    a regular step, gaps and empty cells filled or refused. ``label`` names the series in notes (several per file)."""
    values = _parse_numbers(frame, columns, path, first_line)
    time = _parse_times(frame[time_column], path, time_column, first_line)
    notes: list[str] = []
    if time.tz is not None:
        time = time.tz_convert(None)
        notes.append(f"{label}converted the timestamps' time-zone offsets to UTC")
    time = time.as_unit("ns")
    where = str(path)
    check_increasing(time, where, line_offset=first_line)
    freq = calendar_freq(time)
    added = np.zeros(len(time), dtype=bool)
    if freq is None:
        step = regular_step(time, where, line_offset=first_line)
        time_full, values_full, added = fill_gaps(time, values, step)
        if added.any() and not interpolate:
            raise DataError(f"{path} {label}{_gap_summary(time, step)}; fix the file or set interpolate = true to fill them")
        if added.any():
            n = int(added.sum())
            filled = list_times(time_full[added])
            notes.append(f"{label}filled {count(n, 'missing timestamp')} ({filled}) by linear interpolation")
        time, values = time_full, values_full
        freq = freq_alias(time, step)
    values, note = fill_empty(values, added, columns, where, interpolate=interpolate, line_offset=first_line)
    if note:
        notes.append(f"{label}{note}")
    return time.to_numpy(), values, freq, notes


def _several_series(frame: pd.DataFrame, path: Path, header: list[str], time_column: str, columns: list[str],
                    id_column: str, interpolate: bool, name: str, citation: str) -> Series:
    """A long-format file: one series per value of ``id_column``, each series' rows together (the file sorted by id,
    then time), every series at the same frequency."""
    if id_column not in header:
        raise DataError(_missing_column_message(path, "id column", id_column, header))
    if id_column == time_column or id_column in columns:
        raise DataError(f"{path}: the id column '{id_column}' cannot also be the time column or a value column")
    ids = frame[id_column]
    empty = np.flatnonzero(ids.isna().to_numpy())
    if len(empty):
        raise DataError(f"{path} line {empty[0] + 2}: the id column '{id_column}' is empty; every row needs a series id")
    labels = ids.to_numpy()
    changes = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes, [len(labels)]])
    last_line: dict[str, int] = {}
    for a, b in zip(starts, ends):
        if labels[a] in last_line:
            raise DataError(f"{path} line {a + 2}: the rows of series '{labels[a]}' resume after line "
                            f"{last_line[labels[a]]}; keep each series' rows together (sort the file by {id_column}, "
                            f"then {time_column})")
        last_line[labels[a]] = int(b) + 1
    times, blocks, segments, notes, freqs = [], [], [], [], {}
    row = 0
    for a, b in zip(starts, ends):
        label = str(labels[a])
        if b - a < 2:
            raise DataError(f"{path} line {a + 2}: series '{label}' has one row; a series needs at least two")
        time, values, freq, found = _one_series(frame.iloc[a:b], path, time_column, columns, interpolate,
                                                first_line=int(a) + 2, label=f"series '{label}': ")
        freqs[label] = freq
        times.append(time)
        blocks.append(values)
        segments.append((label, row, row + len(time)))
        notes += found
        row += len(time)
    if len(set(freqs.values())) > 1:
        shown = ", ".join(f"'{k}' {v}" for k, v in list(freqs.items())[:4])
        raise DataError(f"{path}: the series step at different frequencies ({shown}); every series needs the same step")
    return Series(name=name, time=np.concatenate(times), values=np.concatenate(blocks), columns=tuple(columns),
                  freq=next(iter(freqs.values())), citation=citation,
                  notes=(f"{len(segments)} series by '{id_column}'", *notes), segments=tuple(segments))


def _read_frame(path: Path, missing_hint: str) -> pd.DataFrame:
    """The CSV's cells as strings (NaN for empty and NA-like cells), one row per line after the header."""
    import pandas as pd
    if not path.is_file():
        raise DataError(f"missing file {path}" + (f"; {missing_hint}" if missing_hint else ""))
    data = path.read_bytes()
    if not data.strip():
        raise DataError(f"{path} is empty; expected a header line and one line per timestamp")
    text = decode_utf8(data, path).removeprefix("\ufeff")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        reason = " ".join(str(e).split())
        raise DataError(
            f"{path} is not a readable CSV file: {reason}; every line needs one field per header column"
        ) from e
    header = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"{path} line 1 names column(s) {', '.join(repr(c) for c in repeated)} more than once; "
                        "column names must be distinct")
    while len(frame) and frame.iloc[-1].isna().all():  # blank lines at the end of the file
        frame = frame.iloc[:-1]
    if not len(frame):
        raise DataError(f"{path} has a header line but no data rows")
    if len(frame) < 2:
        raise DataError(f"{path} has only one data row; a series needs at least two")
    blank = np.flatnonzero(frame.isna().all(axis=1).to_numpy())
    if len(blank):
        raise DataError(f"{path} line {blank[0] + 2} is blank; remove blank lines inside the file")
    return frame


def _missing_column_message(path: Path, kind: str, column: str, header: list[str]) -> str:
    return f"{path} has no {kind} '{column}'{hint_suffix(column, header)}; its columns are: {', '.join(header)}"


def _parse_numbers(frame: pd.DataFrame, columns: Sequence[str], path: Path, first_line: int = 2) -> np.ndarray:
    """Float64 values of ``columns``, with the shape of (T, C); NaN where a cell is empty.

    Raises:
        DataError: At the first cell in file order that is not a finite number.
    """
    import pandas as pd
    cells = frame[list(columns)]
    numbers = cells.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = cells.notna().to_numpy() & ~np.isfinite(numbers)
    if bad.any():
        rows, cols = np.nonzero(bad)  # row-major: the first bad cell in file order
        raise DataError(
            f"{path} line {rows[0] + first_line} column '{columns[cols[0]]}': '{cells.iat[rows[0], cols[0]]}' is not a finite "
            f"number ({count(len(rows), 'such cell')} in all); values must be numbers, empty cells are missing values"
        )
    return numbers


def _parse_times(cells: pd.Series, path: Path, column: str, first_line: int = 2) -> pd.DatetimeIndex:
    """Timestamps of the time column; a :class:`DataError` naming the first cell that does not parse."""
    import pandas as pd
    empty = np.flatnonzero(cells.isna().to_numpy())
    if len(empty):
        raise DataError(f"{path} line {empty[0] + first_line}: the time column '{column}' is empty; every row needs a "
                        "timestamp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format": parsed one by one
        try:
            parsed = pd.to_datetime(cells, errors="coerce")
        except (ValueError, TypeError):  # mixed time-zone offsets
            parsed = pd.to_datetime(cells, errors="coerce", utc=True)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        raise DataError(
            f"{path} line {bad[0] + first_line} column '{column}': cannot parse '{cells.iloc[bad[0]]}' as a timestamp "
            f"(first line: '{cells.iloc[0]}'); use one format throughout, e.g. 2016-07-01 00:00:00 (ISO 8601)"
        )
    return pd.DatetimeIndex(parsed)


def _gap_summary(time: pd.DatetimeIndex, step: np.timedelta64) -> str:
    """``"misses 3 timestamps in 2 gaps of the regular 1h step (first: ...)"``."""
    import pandas as pd
    diffs = np.diff(time.asi8)
    gaps = np.flatnonzero(diffs > step.astype(np.int64))
    n_missing = int(sum(diffs[gaps] // step.astype(np.int64) - 1))
    row = gaps[0] + 1
    first_missing = diffs[gaps[0]] // step.astype(np.int64) - 1
    return (
        f"misses {count(n_missing, 'timestamp')} in {count(len(gaps), 'gap')} of the regular "
        f"{duration(step)} step (first: {count(int(first_missing), 'timestamp')} from "
        f"{time[row - 1] + pd.Timedelta(step)} between line {row + 1} ({time[row - 1]}) "
        f"and line {row + 2} ({time[row]}))"
    )


CSV = DatasetInfo(
    name="csv",
    summary="Any CSV time series: a time column and numeric columns, checked for gaps and bad values",
    options=CsvOptions,
    load=load_csv,
    needs_data_dir=True,
)
"""The ``csv`` dataset, registered as ``forecasting.csv`` in the ``harness.datasets`` entry points."""
