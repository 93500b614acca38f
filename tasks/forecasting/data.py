"""Time series for forecasting: embedded Seattle/San Francisco temperatures, ETT, and any CSV file.

Every dataset has a pydantic options model (unknown keys are rejected) and a loader that turns
validated options and a data folder into a :class:`Series`: a regular, gap-free, NaN-free
multichannel series in original units. Splitting, scaling and windowing follow the standard
long-horizon protocol and live in :mod:`harness_tasks.forecasting.windows`. The registry :data:`DATASETS`
maps each dataset's name to a :class:`DatasetInfo`.

Datasets:
    ``vega-temps``: NOAA hourly temperatures (°F) of Seattle and San Francisco for 2010, bundled
        with the vega_datasets package (https://github.com/altair-viz/vega_datasets, files
        ``seattle-temps.csv`` and ``sf-temps.csv``); needs no files.
    ``ett``: Electricity Transformer Temperature, ETT-small (Zhou et al., 2021, "Informer: Beyond
        Efficient Transformer for Long Sequence Time-Series Forecasting", AAAI), the CSV files of
        https://github.com/zhouhaoyi/ETDataset (``ETT-small/``), CC BY-ND 4.0: read verbatim.
    ``csv``: any CSV file with a time column and numeric value columns.

Every CSV goes through the same checks (:func:`read_series_csv`): the file exists, is non-empty
UTF-8 text, has the time and value columns, every value is a number, every timestamp parses,
timestamps strictly increase on a regular step, and no cell is empty. Missing timestamps and empty
cells are an error unless ``interpolate`` is set; then they are filled by linear interpolation and
the fill is recorded in :attr:`Series.notes`. Every problem raises
:class:`~harness.errors.DataError` with a one-line message naming the file, the line and the fix.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.datafiles import DataPath, RelativePath, dataset_folder, decode_utf8, fetch, how_to_get, resolve_data_path
from harness.errors import DataError, hint_suffix
from harness.task import DatasetInfo

if TYPE_CHECKING:
    import pandas as pd

ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/"
"""Public folder holding the four ETT-small CSV files (the dataset's own GitHub repository)."""

ETT_NAMES = ("ETTh1", "ETTh2", "ETTm1", "ETTm2")
"""The ETT-small files: two transformers, each sampled hourly (``h``) and every 15 minutes (``m``)."""

ETT_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
"""ETT's value columns: high/middle/low useful and useless load, and oil temperature (the target)."""

ETT_HEADER = "date," + ",".join(ETT_COLUMNS)
"""The first line of every ETT file."""

ETT_CITATION = (
    "ETT-small (Zhou et al., Informer, AAAI 2021; github.com/zhouhaoyi/ETDataset), CC BY-ND 4.0"
)

VEGA_CITATION = (
    "NOAA hourly temperatures 2010 (public domain) via vega_datasets seattle-temps.csv and sf-temps.csv"
)


@dataclass(frozen=True)
class Series:
    """A regular multichannel time series in original units.

    Attributes:
        name: ``"vega-temps"``, the ETT file name (``"ETTh1"``) or a CSV file's stem.
        time: Timestamps, with the shape of (T,), ``datetime64[ns]``, strictly increasing by a
            regular step.
        values: Values, with the shape of (T, C), float64, no NaN.
        columns: The C channel names, in the order of ``values``' columns.
        freq: pandas offset alias of the step, e.g. ``"h"`` or ``"15min"``.
        citation: One-line citation and licence note shown in reports.
        notes: What loading changed, one sentence each (e.g. the timestamps it interpolated).
        segments: For a file holding several series (an id column): ``(id, start, end)`` of each, the rows
            ``[start, end)`` of ``time`` and ``values``, in the file's order; each is regular on its own, and
            ``time`` restarts at each. ``()`` for one series.
    """

    name: str
    time: np.ndarray
    values: np.ndarray
    columns: tuple[str, ...]
    freq: str
    citation: str = ""
    notes: tuple[str, ...] = ()
    segments: tuple[tuple[str, int, int], ...] = ()

    def __len__(self) -> int:
        return len(self.time)


# --------------------------------------------------------------------------------------------------
# vega-temps


class VegaTempsOptions(BaseModel):
    """Options of the embedded ``vega-temps`` dataset (it has none)."""

    model_config = ConfigDict(extra="forbid")


def load_vega_temps(options: VegaTempsOptions | None = None, data_dir: Path | None = None) -> Series:
    """Hourly 2010 temperatures (°F) of Seattle and San Francisco as a 2-channel series.

    Both vega_datasets files hold 8,759 hourly rows in local time: the hour that daylight saving
    skips in spring (2010-03-14 03:00) is absent, a 2-hour step. The two files are joined on time
    (their timestamps must be identical), the series is reindexed to every hour of the year and
    the missing hour is filled by linear interpolation between its neighbours, giving 8,760 rows.

    Args:
        options: Validated options (there are none).
        data_dir: Ignored (the data ships with vega_datasets).

    Returns:
        The series, columns ``("seattle", "san_francisco")``, freq ``"h"``; ``notes`` names the
        interpolated hour.

    Raises:
        DataError: vega_datasets is not installed, or its two files disagree on the timestamps.
    """
    import pandas as pd
    try:
        from vega_datasets import local_data
    except ImportError as e:
        raise DataError("dataset 'vega-temps' needs the vega_datasets package: pip install 'vega_datasets>=0.9'") from e
    sources = {"seattle": local_data.seattle_temps(), "san_francisco": local_data.sf_temps()}
    times = {name: pd.DatetimeIndex(frame["date"]).as_unit("ns") for name, frame in sources.items()}
    seattle, san_francisco = times["seattle"], times["san_francisco"]
    if not seattle.equals(san_francisco):
        differ = _first_difference(seattle, san_francisco)
        raise DataError(
            f"vega-temps: seattle-temps ({len(seattle)} rows) and sf-temps ({len(san_francisco)} rows) must have "
            f"identical timestamps but differ first at row {differ}; reinstall vega_datasets"
        )
    values = np.column_stack([frame["temp"].to_numpy(dtype=np.float64) for frame in sources.values()])
    where = "vega-temps (seattle-temps.csv, sf-temps.csv)"
    _check_increasing(seattle, where, line_offset=2)
    step = _regular_step(seattle, where, line_offset=2)
    time, values, added = _fill_gaps(seattle, values, step)
    values, _ = _fill_empty(values, added, list(sources), where, interpolate=False, line_offset=2)
    notes = ()
    if added.any():
        dst = " (the daylight-saving spring-forward hour, absent from both files)" if added.sum() == 1 else ""
        notes = (
            f"filled {_count(int(added.sum()), 'missing hour')} ({_list_times(time[added])}) by linear "
            f"interpolation in both columns{dst}",
        )
    return Series(
        name="vega-temps",
        time=time.to_numpy(),
        values=values,
        columns=tuple(sources),
        freq=_freq_alias(time, step),
        citation=VEGA_CITATION,
        notes=notes,
    )


def _first_difference(a: pd.DatetimeIndex, b: pd.DatetimeIndex) -> int:
    """Index of the first position where ``a`` and ``b`` differ (or the shorter length)."""
    n = min(len(a), len(b))
    unequal = np.flatnonzero(a[:n].to_numpy() != b[:n].to_numpy())
    return int(unequal[0]) if len(unequal) else n


# --------------------------------------------------------------------------------------------------
# ett


class EttOptions(BaseModel):
    """Options of the ``ett`` dataset (one ETT-small file): ``[dataset] name = "ett"`` with ``file = "ETTh2"``."""

    model_config = ConfigDict(extra="forbid")

    file: Literal["ETTh1", "ETTh2", "ETTm1", "ETTm2"] = Field(
        "ETTh1", description="which ETT-small file: ETTh1, ETTh2 (hourly), ETTm1, ETTm2 (15-minute, borders x4)")
    subdir: RelativePath = Field("ett", min_length=1, description="folder under the data directory")

    def borders(self, series: Series, lookback: int):
        """The standard ETT split (:func:`~harness_tasks.forecasting.windows.ett_borders`, x4 for the 15-minute files)."""
        from harness_tasks.forecasting.windows import ett_borders

        return ett_borders(self.file, lookback)


def load_ett(options: EttOptions, data_dir: Path | None) -> Series:
    """Read ``<data_dir>/<subdir>/<file>.csv``, verbatim, with every CSV check.

    The files have the header ``date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT``; ETTh1/ETTh2 hold 17,420
    hourly rows (2016-07-01 to 2018-06-26), ETTm1/ETTm2 69,680 rows every 15 minutes. The
    standard protocol uses only the first 14,400 (x4) rows; see
    :func:`harness_tasks.forecasting.windows.ett_borders`.

    Args:
        options: Validated options.
        data_dir: The data folder that contains ``<subdir>/``.

    Returns:
        The series, all seven columns, freq ``"h"`` (ETTh*) or ``"15min"`` (ETTm*).

    Raises:
        DataError: The folder or file is missing, or the file fails a CSV check, lacks an ETT
            column, or is not sampled at its name's frequency.
    """
    folder = dataset_folder(data_dir, options.subdir, "ett", ETT_URL)
    path = folder / f"{options.file}.csv"
    series = read_series_csv(
        path,
        time_column="date",
        columns=ETT_COLUMNS,
        name=options.file,
        citation=ETT_CITATION,
        missing_hint=how_to_get("ett", Path(data_dir), ETT_URL),
    )
    expected = "h" if options.file.startswith("ETTh") else "15min"
    if series.freq != expected:
        raise DataError(
            f"{path} has a step of '{series.freq}' but {options.file} must be sampled every '{expected}'; "
            "delete it and download it again"
        )
    return series


def download_ett(
    data_dir: Path,
    names: Sequence[str] = ETT_NAMES,
    base_url: str = ETT_URL,
    *,
    subdir: str = "ett",
) -> None:
    """Download ETT-small CSV files into ``<data_dir>/<subdir>/``.

    Files already present are kept. Each file is written to a temporary file in the same folder,
    checked to start with the ETT header, and then renamed, so an interrupted download leaves no
    half-written file.

    Args:
        data_dir: The data folder; ``<subdir>/`` is created inside it.
        names: Which files, a subset of ``ETTh1``, ``ETTh2``, ``ETTm1``, ``ETTm2``.
        base_url: Folder URL holding ``<name>.csv`` (``https://``, ``http://`` or ``file://``).
        subdir: Folder under ``data_dir`` (the ``subdir`` option of :class:`EttOptions`).

    Raises:
        DataError: A name is not an ETT file, or a file cannot be fetched or is not an ETT CSV.
    """
    for name in names:
        if name not in ETT_NAMES:
            raise DataError(f"unknown ETT file '{name}'{hint_suffix(name, ETT_NAMES)}; accepted: {', '.join(ETT_NAMES)}")
    folder = Path(data_dir) / subdir
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        destination = folder / f"{name}.csv"
        if not destination.exists():
            fetch(base_url.rstrip("/") + f"/{name}.csv", destination, _check_ett_header)


def _check_ett_header(path: Path, url: str) -> None:
    """Raise :class:`DataError` unless ``path`` (downloaded from ``url``) starts with the ETT header."""
    with open(path, "rb") as f:
        first = f.readline(len(ETT_HEADER) + 16).decode("utf-8", errors="replace").strip().removeprefix("\ufeff")
    if first != ETT_HEADER:
        raise DataError(f"{url} is not an ETT CSV: its first line is '{first[:60]}', expected '{ETT_HEADER}'")


# --------------------------------------------------------------------------------------------------
# csv


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
    _check_increasing(time, where, line_offset=first_line)
    freq = _calendar_freq(time)
    added = np.zeros(len(time), dtype=bool)
    if freq is None:
        step = _regular_step(time, where, line_offset=first_line)
        time_full, values_full, added = _fill_gaps(time, values, step)
        if added.any() and not interpolate:
            raise DataError(f"{path} {label}{_gap_summary(time, step)}; fix the file or set interpolate = true to fill them")
        if added.any():
            n = int(added.sum())
            filled = _list_times(time_full[added])
            notes.append(f"{label}filled {_count(n, 'missing timestamp')} ({filled}) by linear interpolation")
        time, values = time_full, values_full
        freq = _freq_alias(time, step)
    values, note = _fill_empty(values, added, columns, where, interpolate=interpolate, line_offset=first_line)
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
            f"number ({_count(len(rows), 'such cell')} in all); values must be numbers, empty cells are missing values"
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


def _check_increasing(time: pd.DatetimeIndex, where: str, line_offset: int) -> None:
    """Raise :class:`DataError` at the first timestamp that does not come after the previous one."""
    back = np.flatnonzero(np.diff(time.asi8) <= 0)
    if len(back):
        row = back[0] + 1
        what = "repeats" if time[row] == time[row - 1] else "comes before"
        raise DataError(
            f"{where} line {row + line_offset}: timestamp {time[row]} {what} the previous line's {time[row - 1]}; "
            "timestamps must strictly increase (sort the file and remove duplicates)"
        )


def _calendar_freq(time: pd.DatetimeIndex) -> str | None:
    """pandas's frequency alias of ``time`` when it is regular (``"h"``, ``"MS"``), else ``None``."""
    import pandas as pd
    if len(time) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pandas 3 announces an offset return type
        warnings.simplefilter("ignore", FutureWarning)
        freq = pd.infer_freq(time)
    return None if freq is None else getattr(freq, "freqstr", freq)


def _regular_step(time: pd.DatetimeIndex, where: str, line_offset: int) -> np.timedelta64:
    """The most frequent step (the smallest on a tie); a :class:`DataError` if a step is not a multiple of it."""
    diffs = np.diff(time.asi8)
    steps, counts = np.unique(diffs, return_counts=True)
    step = int(steps[np.argmax(counts)])
    irregular = np.flatnonzero(diffs % step != 0)
    if len(irregular):
        row = irregular[0] + 1
        raise DataError(
            f"{where} line {row + line_offset}: the step from {time[row - 1]} to {time[row]} "
            f"({_duration(int(diffs[row - 1]))}) is not a whole number of the regular step {_duration(step)} "
            "(the most frequent one); the series must be regular"
        )
    return np.timedelta64(step, "ns")


def _gap_summary(time: pd.DatetimeIndex, step: np.timedelta64) -> str:
    """``"misses 3 timestamps in 2 gaps of the regular 1h step (first: ...)"``."""
    import pandas as pd
    diffs = np.diff(time.asi8)
    gaps = np.flatnonzero(diffs > step.astype(np.int64))
    n_missing = int(sum(diffs[gaps] // step.astype(np.int64) - 1))
    row = gaps[0] + 1
    first_missing = diffs[gaps[0]] // step.astype(np.int64) - 1
    return (
        f"misses {_count(n_missing, 'timestamp')} in {_count(len(gaps), 'gap')} of the regular "
        f"{_duration(step)} step (first: {_count(int(first_missing), 'timestamp')} from "
        f"{time[row - 1] + pd.Timedelta(step)} between line {row + 1} ({time[row - 1]}) "
        f"and line {row + 2} ({time[row]}))"
    )


def _fill_gaps(
    time: pd.DatetimeIndex, values: np.ndarray, step: np.timedelta64
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Reindex ``values`` (T, C) to the full regular range of ``step``; the rows added are NaN.

    Returns:
        ``(time, values, added)``: the full range, the values with the shape of (T', C), and a
        boolean mask with the shape of (T',) marking the added rows.
    """
    import pandas as pd
    full = pd.date_range(time[0], time[-1], freq=pd.Timedelta(step), unit="ns")
    if len(full) == len(time):
        return time, values, np.zeros(len(time), dtype=bool)
    frame = pd.DataFrame(values, index=time).reindex(full)
    return full, frame.to_numpy(dtype=np.float64), ~full.isin(time)


def _fill_empty(
    values: np.ndarray,
    added: np.ndarray,
    columns: Sequence[str],
    where: str,
    *,
    interpolate: bool,
    line_offset: int,
) -> tuple[np.ndarray, str]:
    """Fill the NaN cells of ``values`` (T, C) by linear interpolation in time, column by column.

    The rows marked in ``added`` (missing timestamps) are always filled: the caller has decided.
    Any other NaN is an empty cell of the file: an error unless ``interpolate``.

    Returns:
        The filled values and a note on the empty cells filled (``""`` when there were none).
    """
    import pandas as pd
    nan = np.isnan(values)
    if not nan.any():
        return values, ""
    note = ""
    empty = nan & ~added[:, None]
    if empty.any():
        rows, cols = np.nonzero(empty)
        line = int(rows[0]) - int(added[: rows[0]].sum()) + line_offset  # rows added for gaps have no line
        first = f"line {line} column '{columns[cols[0]]}'"
        if not interpolate:
            raise DataError(
                f"{where} {first} is empty ({_count(len(rows), 'empty cell')} in all); fill it in the file "
                "or set interpolate = true to fill empty cells by linear interpolation"
            )
        note = f"filled {_count(len(rows), 'empty cell')} (first: {first}) by linear interpolation"
    lines = (line_offset, line_offset + int((~added).sum()) - 1)  # the first and last rows (never added)
    for end, line in zip((0, -1), lines):
        if nan[end].any():
            column = columns[int(np.flatnonzero(nan[end])[0])]
            raise DataError(
                f"{where} line {line} column '{column}' is empty on the {'first' if end == 0 else 'last'} data line, "
                "where linear interpolation cannot fill it (it needs values on both sides); "
                "fill it in the file or drop the line"
            )
    filled = pd.DataFrame(values).interpolate(method="linear", axis=0).to_numpy(dtype=np.float64)
    return filled, note


def _freq_alias(time: pd.DatetimeIndex, step: np.timedelta64) -> str:
    """pandas's alias for the regular ``time`` (``"h"``, ``"15min"``, ``"D"``), from the index if it can tell."""
    import pandas as pd
    return _calendar_freq(time) or pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr


def _duration(step: int | np.timedelta64) -> str:
    """A step as pandas writes it: ``"1h"``, ``"15min"``, ``"90min"``, ``"24h"``."""
    import pandas as pd
    alias = pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr
    return alias if alias[0].isdigit() else "1" + alias


def _list_times(times: Iterable[pd.Timestamp], limit: int = 5) -> str:
    """Up to ``limit`` timestamps, comma-separated, then how many more."""
    times = list(times)
    shown = ", ".join(str(t) for t in times[:limit])
    return shown + (f", and {len(times) - limit} more" if len(times) > limit else "")


def _count(n: int, noun: str) -> str:
    """``"1 gap"``, ``"3 gaps"``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------------------------------
# shared file handling


# --------------------------------------------------------------------------------------------------
# registry

DATASETS: dict[str, DatasetInfo] = {
    "vega-temps": DatasetInfo(
        name="vega-temps",
        summary="Hourly 2010 temperatures of Seattle and San Francisco, 8,760 x 2 (embedded via vega_datasets)",
        options=VegaTempsOptions,
        load=load_vega_temps,
        needs_data_dir=False,
    ),
    "ett": DatasetInfo(
        name="ett",
        summary="Electricity Transformer Temperature (ETTh1/h2 hourly, ETTm1/m2 15-min), 7 channels, target OT",
        options=EttOptions,
        load=load_ett,
        needs_data_dir=True,
        download=download_ett,
    ),
    "csv": DatasetInfo(
        name="csv",
        summary="Any CSV time series: a time column and numeric columns, checked for gaps and bad values",
        options=CsvOptions,
        load=load_csv,
        needs_data_dir=True,
    ),
}
"""Every forecasting dataset, by name."""
