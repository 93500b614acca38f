"""The :class:`Series` every forecasting loader returns, and the checks and fills that more than one loader uses.

The helpers work on a ``pandas.DatetimeIndex`` and a (T, C) float64 array: they check that timestamps strictly
increase on a regular step, reindex a series over its gaps, fill missing timestamps and empty cells by linear
interpolation, and name the step as a pandas offset alias. Each problem raises :class:`~harness.errors.DataError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import DataError

if TYPE_CHECKING:
    import pandas as pd


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


def check_increasing(time: pd.DatetimeIndex, where: str, line_offset: int) -> None:
    """Raise :class:`DataError` at the first timestamp that does not come after the previous one."""
    back = np.flatnonzero(np.diff(time.asi8) <= 0)
    if len(back):
        row = back[0] + 1
        what = "repeats" if time[row] == time[row - 1] else "comes before"
        raise DataError(
            f"{where} line {row + line_offset}: timestamp {time[row]} {what} the previous line's {time[row - 1]}; "
            "timestamps must strictly increase (sort the file and remove duplicates)"
        )


def calendar_freq(time: pd.DatetimeIndex) -> str | None:
    """pandas's frequency alias of ``time`` when it is regular (``"h"``, ``"MS"``), else ``None``."""
    import pandas as pd
    if len(time) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pandas 3 announces an offset return type
        warnings.simplefilter("ignore", FutureWarning)
        freq = pd.infer_freq(time)
    return None if freq is None else getattr(freq, "freqstr", freq)


def regular_step(time: pd.DatetimeIndex, where: str, line_offset: int) -> np.timedelta64:
    """The most frequent step (the smallest on a tie); a :class:`DataError` if a step is not a multiple of it."""
    diffs = np.diff(time.asi8)
    steps, counts = np.unique(diffs, return_counts=True)
    step = int(steps[np.argmax(counts)])
    irregular = np.flatnonzero(diffs % step != 0)
    if len(irregular):
        row = irregular[0] + 1
        raise DataError(
            f"{where} line {row + line_offset}: the step from {time[row - 1]} to {time[row]} "
            f"({duration(int(diffs[row - 1]))}) is not a whole number of the regular step {duration(step)} "
            "(the most frequent one); the series must be regular"
        )
    return np.timedelta64(step, "ns")


def fill_gaps(
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


def fill_empty(
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
                f"{where} {first} is empty ({count(len(rows), 'empty cell')} in all); fill it in the file "
                "or set interpolate = true to fill empty cells by linear interpolation"
            )
        note = f"filled {count(len(rows), 'empty cell')} (first: {first}) by linear interpolation"
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


def freq_alias(time: pd.DatetimeIndex, step: np.timedelta64) -> str:
    """pandas's alias for the regular ``time`` (``"h"``, ``"15min"``, ``"D"``), from the index if it can tell."""
    import pandas as pd
    return calendar_freq(time) or pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr


def duration(step: int | np.timedelta64) -> str:
    """A step as pandas writes it: ``"1h"``, ``"15min"``, ``"90min"``, ``"24h"``."""
    import pandas as pd
    alias = pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr
    return alias if alias[0].isdigit() else "1" + alias


def list_times(times: Iterable[pd.Timestamp], limit: int = 5) -> str:
    """Up to ``limit`` timestamps, comma-separated, then how many more."""
    times = list(times)
    shown = ", ".join(str(t) for t in times[:limit])
    return shown + (f", and {len(times) - limit} more" if len(times) > limit else "")


def count(n: int, noun: str) -> str:
    """``"1 gap"``, ``"3 gaps"``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
