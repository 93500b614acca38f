"""The standard long-horizon forecasting protocol: splits, scaling, sliding windows and metrics.

This reproduces the data pipeline shared by Informer (Zhou et al., AAAI 2021,
github.com/zhouhaoyi/Informer2020), Autoformer (Wu et al., NeurIPS 2021), PatchTST (Nie et al.,
ICLR 2023), DLinear (Zeng et al., AAAI 2023) and the Time-Series-Library
(github.com/thuml/Time-Series-Library, ``data_provider/data_loader.py``: ``Dataset_ETT_hour``,
``Dataset_ETT_minute``, ``Dataset_Custom``), so that results compare with their published tables:

1. Fixed borders: ETT uses 12/4/4 months of 30 days (:func:`ett_borders`); any other series
   70/10/20 % of its rows (:func:`ratio_borders`). The validation and test ranges start ``L`` rows
   early, so their first window's look-back context is the end of the previous split.
2. A ``StandardScaler`` fit on the training rows only, applied to the whole series.
3. Every window whose target lies inside a split, with stride 1; none dropped (some versions of the
   reference code build the test loader with ``drop_last=True`` and so skip the last partial batch).
4. MSE and MAE on the standardised scale, averaged over windows x horizon x channels.

Features (TSLib's ``--features``): ``M`` all channels in and out; ``S`` the target in and out;
``MS`` all channels in, the target out. As in ``Dataset_Custom``, the target is the last input
channel for ``M`` and ``MS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from harness_tasks.forecasting.data import ETT_NAMES, Series

from harness.errors import DataError, UnknownNameError, hint_suffix

if TYPE_CHECKING:
    import torch
    from sklearn.preprocessing import StandardScaler

Features = Literal["M", "S", "MS"]
"""``M``: all channels in and out; ``S``: the target in and out; ``MS``: all in, the target out."""

Split = Literal["train", "valid", "test"]

FEATURES = ("M", "S", "MS")
SPLITS = ("train", "valid", "test")

ETT_HOURLY_BORDERS = (8640, 11520, 14400)
"""Ends of ETT's train/valid/test rows at one row an hour: 12, 16 and 20 months of 30 days."""


@dataclass(frozen=True)
class Borders:
    """Row ranges ``[start, end)`` of the three splits.

    The validation and test ranges include the ``L`` rows of look-back context before their first
    target row, so they overlap the previous split by ``L`` rows (as in the reference code).
    """

    train: tuple[int, int]
    valid: tuple[int, int]
    test: tuple[int, int]

    def __getitem__(self, split: Split) -> tuple[int, int]:
        if split not in SPLITS:
            raise UnknownNameError("split", split, SPLITS)
        return getattr(self, split)


def ett_borders(name: str, lookback: int) -> Borders:
    """The ETT borders (``Dataset_ETT_hour`` / ``Dataset_ETT_minute``).

    Hourly files: train ``[0, 8640)``, valid ``[8640 - L, 11520)``, test ``[11520 - L, 14400)``;
    15-minute files (``ETTm*``): every border times 4. Rows after 14,400 (x4) are unused.

    Args:
        name: ``ETTh1``, ``ETTh2``, ``ETTm1`` or ``ETTm2``.
        lookback: Look-back length ``L`` in rows.

    Raises:
        UnknownNameError: ``name`` is not an ETT file.
        DataError: ``lookback`` is not positive or exceeds the training rows.
    """
    if name not in ETT_NAMES:
        raise UnknownNameError("ETT file", name, ETT_NAMES)
    _check_positive("lookback", lookback)
    per_hour = 4 if name.startswith("ETTm") else 1
    train_end, valid_end, test_end = (border * per_hour for border in ETT_HOURLY_BORDERS)
    _check_context(lookback, train_end, f"{name}'s training split")
    return Borders(train=(0, train_end), valid=(train_end - lookback, valid_end), test=(valid_end - lookback, test_end))


def date_borders(time: np.ndarray, lookback: int, valid_start: str, test_start: str) -> Borders:
    """Borders at timestamps: training rows are those before ``valid_start``, validation targets start at the first
    row at or after ``valid_start``, test targets at the first row at or after ``test_start`` (each split with the
    ``L`` rows of look-back context before its first target, as in :func:`ratio_borders`).

    Args:
        time: The series' timestamps (T,), ``datetime64``, increasing.
        lookback: Look-back length ``L`` in rows.
        valid_start, test_start: ISO timestamps (``"2018-01-01"`` or ``"2018-01-01 12:00"``).

    Raises:
        DataError: a date that cannot be read, ``test_start`` not after ``valid_start``, a split without rows, or
            ``lookback`` exceeding the training rows.
    """
    try:
        valid_at, test_at = np.datetime64(valid_start, "ns"), np.datetime64(test_start, "ns")
    except ValueError as exc:
        raise DataError(f"valid_start / test_start must be ISO dates such as 2018-01-01, got {valid_start!r}, "
                        f"{test_start!r} ({exc})") from None
    if test_at <= valid_at:
        raise DataError(f"test_start {test_start} must come after valid_start {valid_start}")
    n = len(time)
    valid_row, test_row = (int(np.searchsorted(time.astype("datetime64[ns]"), at, side="left")) for at in (valid_at, test_at))
    if valid_row == 0 or test_row >= n or test_row == valid_row:
        first, last = str(time[0])[:19], str(time[-1])[:19]
        raise DataError(f"valid_start {valid_start} and test_start {test_start} must leave rows for every split of a "
                        f"series from {first} to {last}")
    _check_positive("lookback", lookback)
    _check_context(lookback, valid_row, f"the training split before {valid_start}")
    return Borders(train=(0, valid_row), valid=(valid_row - lookback, test_row), test=(test_row - lookback, n))


def ratio_borders(n_rows: int, lookback: int, train: float = 0.7, test: float = 0.2) -> Borders:
    """Borders by fractions of the rows (``Dataset_Custom``); validation gets what is left.

    ``num_train = int(n * train)``, ``num_test = int(n * test)``, ``num_valid = n - num_train -
    num_test``; train ``[0, num_train)``, valid ``[num_train - L, num_train + num_valid)``, test
    ``[n - num_test - L, n)``.

    Args:
        n_rows: Rows of the series ``n``.
        lookback: Look-back length ``L`` in rows.
        train: Fraction of rows for training.
        test: Fraction of rows for testing.

    Raises:
        DataError: A fraction is outside (0, 1), they leave no validation rows, ``lookback`` is not
            positive, or it exceeds the training rows.
    """
    if not (0 < train < 1 and 0 < test < 1 and train + test < 1):
        raise DataError(
            "split fractions must satisfy 0 < train, 0 < test and train + test < 1, "
            f"but got (train={train}, test={test})"
        )
    _check_positive("lookback", lookback)
    num_train, num_test = int(n_rows * train), int(n_rows * test)
    num_valid = n_rows - num_train - num_test
    _check_context(lookback, num_train, f"the training split of {n_rows} rows")
    return Borders(
        train=(0, num_train),
        valid=(num_train - lookback, num_train + num_valid),
        test=(n_rows - num_test - lookback, n_rows),
    )


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise DataError(f"{name} must be a positive whole number of rows, but got {value!r}")


def _check_context(lookback: int, train_rows: int, what: str) -> None:
    if lookback > train_rows:
        raise DataError(
            f"lookback {lookback} exceeds the {train_rows} rows of {what}; the validation windows take their "
            f"look-back from it (use lookback <= {train_rows})"
        )


class Channels:
    """Channel counts of anything with ``input_columns`` and ``output_columns`` (a prepared series, or a kept
    model's window shape)."""

    input_columns: tuple[str, ...]
    output_columns: tuple[str, ...]

    @property
    def n_inputs(self) -> int:
        """Input channels ``C_in``."""
        return len(self.input_columns)

    @property
    def n_outputs(self) -> int:
        """Output channels ``C_out``."""
        return len(self.output_columns)


@dataclass
class ForecastData(Channels):
    """A series prepared for one forecasting setting: standardised, split, windowed on demand.

    Attributes:
        series: The series in original units.
        features: ``M``, ``S`` or ``MS``.
        target: The target column (the output of ``S`` and ``MS``).
        lookback: Look-back length ``L`` (input rows per window).
        horizon: Forecast horizon ``H`` (target rows per window).
        borders: The splits' row ranges (of the first series when there are several).
        input_columns: The model's input channels (``M``/``MS``: every column, the target last;
            ``S``: the target).
        output_columns: The channels forecast (``M``: the input columns; ``S``/``MS``: the target).
        scaled: The input columns standardised with ``scaler``, with the shape of (T, C_in), float32.
        scaler: ``StandardScaler`` fit on the training rows of the input columns only (of every series).
        parts: The borders of each series of a file holding several (``Series.segments``), in rows of the
            concatenated arrays; ``()`` for one series. No window crosses from one series into the next.
    """

    series: Series
    features: Features
    target: str
    lookback: int
    horizon: int
    borders: Borders
    input_columns: tuple[str, ...]
    output_columns: tuple[str, ...]
    scaled: np.ndarray
    scaler: StandardScaler
    parts: tuple[Borders, ...] = ()


    @property
    def _output_index(self) -> np.ndarray:
        """Positions of the output columns among the input columns."""
        return np.array([self.input_columns.index(c) for c in self.output_columns])

    def starts(self, split: Split) -> np.ndarray:
        """Start rows of every window of a split, in order, with stride 1.

        A window starting at ``s`` reads input rows ``[s, s + L)`` and predicts rows
        ``[s + L, s + L + H)``; the split ``[start, end)`` holds ``end - start - L - H + 1`` of them
        (ETTh1, L = H = 96: 8,449 / 2,785 / 2,785).

        With several series, the windows of each series' split, series after series.

        Returns:
            Start rows, int64, with the shape of (N,).
        """
        out = []
        for borders in self.parts or (self.borders,):
            start, end = borders[split]
            count = end - start - self.lookback - self.horizon + 1
            out.append(np.arange(start, start + max(count, 0), dtype=np.int64))
        return np.concatenate(out)

    def windows(self, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Input and target windows at ``starts``, on the standardised scale.

        Args:
            starts: Start rows, with the shape of (B,), from :meth:`starts`.

        Returns:
            ``(x, y)``: x with the shape of (B, L, C_in) and y with the shape of (B, H, C_out),
            float32 CPU tensors.

        Raises:
            IndexError: A start leaves no room for ``L + H`` rows in the series.
        """
        import torch

        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        last = len(self.scaled) - self.lookback - self.horizon
        if len(starts) and (starts.min() < 0 or starts.max() > last):
            raise IndexError(f"window starts must lie in [0, {last}] for L={self.lookback}, H={self.horizon}, "
                             f"but got [{starts.min()}, {starts.max()}]")
        offsets = np.arange(self.lookback + self.horizon)
        rows = self.scaled[starts[:, None] + offsets]  # (B, L + H, C_in)
        x = rows[:, : self.lookback]  # (B, L, C_in)
        y = rows[:, self.lookback :][:, :, self._output_index]  # (B, H, C_out)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))

    def inverse(self, y: np.ndarray | torch.Tensor) -> np.ndarray:
        """Standardised output values back to original units.

        Args:
            y: Values of the output columns, with the shape of (..., C_out).

        Returns:
            float64 array of the same shape: ``y * scale + mean`` of the output columns.
        """
        if not isinstance(y, np.ndarray):
            y = y.detach().cpu().numpy()
        if y.shape[-1] != self.n_outputs:
            raise ValueError(f"inverse expects (..., {self.n_outputs}) output channels, but got shape {y.shape}")
        index = self._output_index
        return y.astype(np.float64) * self.scaler.scale_[index] + self.scaler.mean_[index]


def prepare(
    series: Series,
    *,
    features: Features,
    target: str,
    lookback: int,
    horizon: int,
    borders: Borders | Sequence[Borders] | None = None,
) -> ForecastData:
    """Split, standardise and describe ``series`` for one setting.

    Args:
        series: The series.
        features: ``M``, ``S`` or ``MS``.
        target: The target column.
        lookback: Look-back length ``L`` in rows.
        horizon: Forecast horizon ``H`` in rows.
        borders: The splits; ``None``: :func:`ratio_borders` (70/10/20). For ETT pass
            :func:`ett_borders`. A series holding several (``series.segments``) takes one per series, in rows
            of the whole array.

    Returns:
        The prepared data.

    Raises:
        UnknownNameError: ``features`` is not ``M``, ``S`` or ``MS``.
        DataError: ``target`` is not a column, ``lookback`` or ``horizon`` is not positive, the
            borders fall outside the series, or a split has fewer than ``L + H`` rows.
    """
    from sklearn.preprocessing import StandardScaler

    if features not in FEATURES:
        raise UnknownNameError("features setting", features, FEATURES)
    if target not in series.columns:
        raise DataError(
            f"target '{target}' is not a column of {series.name}{hint_suffix(target, series.columns)}; "
            f"its columns are: {', '.join(series.columns)}"
        )
    _check_positive("lookback", lookback)
    _check_positive("horizon", horizon)
    n_rows = len(series.time)
    if borders is None:
        borders = ratio_borders(n_rows, lookback)
    parts = (borders,) if isinstance(borders, Borders) else tuple(borders)
    if len(parts) != max(1, len(series.segments)):
        raise ValueError(f"{len(parts)} borders for {max(1, len(series.segments))} series")
    for part in parts:
        _check_borders(series, part, lookback, horizon)

    if features == "S":
        input_columns: tuple[str, ...] = (target,)
    else:
        input_columns = tuple(c for c in series.columns if c != target) + (target,)
    output_columns = input_columns if features == "M" else (target,)

    values = series.values[:, [series.columns.index(c) for c in input_columns]]  # (T, C_in)
    scaler = StandardScaler().fit(np.concatenate([values[slice(*part.train)] for part in parts]))
    scaled = scaler.transform(values).astype(np.float32)  # (T, C_in)
    return ForecastData(
        series=series,
        features=features,
        target=target,
        lookback=lookback,
        horizon=horizon,
        borders=parts[0],
        input_columns=input_columns,
        output_columns=output_columns,
        scaled=scaled,
        scaler=scaler,
        parts=parts if len(parts) > 1 else (),
    )


def _check_borders(series: Series, borders: Borders, lookback: int, horizon: int) -> None:
    """Raise :class:`DataError` when a split falls outside the series or is shorter than ``L + H``."""
    n_rows = len(series.time)
    for split in SPLITS:
        start, end = borders[split]
        if not 0 <= start < end <= n_rows:
            raise DataError(
                f"the {split} split [{start}, {end}) does not fit {series.name}'s {n_rows} rows; "
                f"borders must satisfy 0 <= start < end <= {n_rows}"
            )
        if end - start < lookback + horizon:
            raise DataError(
                f"{series.name} is too short: the {split} split [{start}, {end}) has {end - start} rows but "
                f"lookback {lookback} + horizon {horizon} needs {lookback + horizon} for one window; "
                "shorten the lookback or horizon or use a longer series"
            )


# --------------------------------------------------------------------------------------------------
# metrics


def mse(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean squared error over every element (windows x horizon x channels), as in TSLib ``utils/metrics.py``."""
    pred, true = _same_shape(pred, true)
    return float(np.mean((pred - true) ** 2))


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute error over every element (windows x horizon x channels), as in TSLib ``utils/metrics.py``."""
    pred, true = _same_shape(pred, true)
    return float(np.mean(np.abs(pred - true)))


def _same_shape(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"pred and true must have the same shape, but got {pred.shape} and {true.shape}")
    if pred.size == 0:
        raise ValueError("pred and true are empty; a metric needs at least one element")
    return pred, true
