"""Forecasting with a kept model: the shapes and scaler it needs, and a CSV window in, a CSV forecast out.

The input CSV holds at least the model's input columns (by name; other columns are ignored) and at least
``lookback`` rows; the last ``lookback`` rows are the look-back window, in original units. The output CSV has
one row per horizon step (``step`` = 1..H) and one column per output channel, in original units: the
forecast standardised with the training scaler, then mapped back (``y * scale + mean``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from harness_tasks.forecasting.windows import Channels

from harness.errors import DataError


@dataclass(frozen=True)
class WindowShape(Channels):
    """What a forecaster needs to be rebuilt and run: columns, look-back and horizon (time steps), and the
    training scaler of the input columns (``mean``, ``scale``, with the shape of (C_in,))."""

    input_columns: tuple[str, ...]
    output_columns: tuple[str, ...]
    lookback: int
    horizon: int
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def state(self) -> dict[str, Any]:
        return {"input_columns": list(self.input_columns), "output_columns": list(self.output_columns),
                "lookback": self.lookback, "horizon": self.horizon, "mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> WindowShape:
        return cls(tuple(state["input_columns"]), tuple(state["output_columns"]), int(state["lookback"]),
                   int(state["horizon"]), tuple(float(v) for v in state["mean"]), tuple(float(v) for v in state["scale"]))


def read_window(path: Path, shape: WindowShape) -> np.ndarray:
    """The last ``lookback`` rows of the input columns of a CSV file, standardised: float32 (1, L, C_in).

    Raises:
        DataError: the file is missing or not CSV, lacks an input column (with a "did you mean"), has fewer
            than ``lookback`` rows, or holds a value that is not a finite number.
    """
    import pandas as pd

    from harness.errors import hint_suffix

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"input file '{path}' does not exist") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"input file '{path}' is not a CSV file: {str(exc).splitlines()[0]}") from None
    for column in shape.input_columns:
        if column not in frame.columns:
            raise DataError(f"input file '{path}' has no column '{column}'{hint_suffix(column, frame.columns)}; the model "
                            f"reads {', '.join(shape.input_columns)}")
    if len(frame) < shape.lookback:
        raise DataError(f"input file '{path}' has {len(frame)} rows; the model needs a look-back window of "
                        f"{shape.lookback}")
    values = frame[list(shape.input_columns)].tail(shape.lookback).apply(pd.to_numeric, errors="coerce").to_numpy()
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, col = bad[0]
        raise DataError(f"input file '{path}': column '{shape.input_columns[col]}' has a value that is not a number in "
                        f"row {len(frame) - shape.lookback + row + 2} (counting the header as row 1)")
    scaled = (values - np.asarray(shape.mean)) / np.asarray(shape.scale)
    return scaled.astype(np.float32)[None]


def forecast_csv(model: Any, shape: WindowShape, path: Path) -> str:
    """The forecast of the window in ``path`` as CSV text: ``step`` and the output columns, original units."""
    import torch

    from harness.device import evaluating

    x = torch.from_numpy(read_window(path, shape))  # (1, L, C_in), CPU
    with evaluating(model) as device:
        y = model(x.to(device)).float().cpu().numpy()[0]  # (H, C_out), standardised
    index = [shape.input_columns.index(c) for c in shape.output_columns]
    original = y.astype(np.float64) * np.asarray(shape.scale)[index] + np.asarray(shape.mean)[index]
    lines = ["step," + ",".join(shape.output_columns)]
    lines += [f"{h + 1}," + ",".join(f"{v:.6g}" for v in row) for h, row in enumerate(original)]
    return "\n".join(lines) + "\n"
