"""Trivial forecasting baselines: naive forecasts of the look-back window and a closed-form linear map.

Every baseline forecasts the output channels of every window of a split on the standardised scale and returns
``quantize(forecast)`` (``{"forecast": int32 (N, H, C_out), "quantum"}``), what :meth:`ForecastingTask.predict`
returns, so :meth:`ForecastingTask.score` scores it like a model (MSE and MAE on the standardised scale and in
original units). Look-back windows come from ``prepared.data.windows(starts)``, read as numpy arrays.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from harness_tasks.forecasting.task import quantize

from harness.baselines import Baseline

#: The seasonal period of the usual sampling frequencies (daily cycle below a day, weekly for days, yearly
#: for months), keyed by (pandas offset name, multiple).
PERIODS = {("h", 1): 24, ("min", 15): 96, ("min", 10): 144, ("D", 1): 7, ("MS", 1): 12, ("ME", 1): 12, ("M", 1): 12}
LEGACY = {"H": "h", "T": "min", "M": "ME"}
#: Ridge strengths tried by ``linear``, in this order (ties go to the earlier).
ALPHAS = (0.0, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4)
BATCH = 2048


def _starts(prepared: Any, split: str) -> np.ndarray:
    return prepared.valid if split == "valid" else prepared.test


def _output_index(prepared: Any) -> list[int]:
    d = prepared.data
    return [d.input_columns.index(c) for c in d.output_columns]


def lookback_outputs(prepared: Any, starts: np.ndarray) -> np.ndarray:
    """The look-back windows of the output channels at ``starts``: float64 with the shape of (N, L, C_out)."""
    index = _output_index(prepared)
    parts = [prepared.data.windows(starts[i : i + BATCH])[0].numpy()[:, :, index] for i in range(0, len(starts), BATCH)]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros((0, prepared.data.lookback, len(index)))


def period_of(freq: str) -> int | None:
    """The seasonal period (time steps) of a pandas frequency alias: ``h`` 24, ``15min`` 96, ``10min`` 144,
    ``D`` 7, monthly 12; ``None`` for any other."""
    import re

    import pandas as pd

    match = re.fullmatch(r"(\d*)([A-Za-z]+)", freq.strip())
    if match and match.group(2) in LEGACY:  # aliases older pandas wrote ("H", "15T", "M")
        freq = match.group(1) + LEGACY[match.group(2)]
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    return PERIODS.get((LEGACY.get(offset.rule_code, offset.rule_code), int(offset.n)))


class LastValue(Baseline):
    """The last look-back value of each output channel, repeated over the horizon (the naive / random-walk forecast).

    Nothing is fitted. Forecasts on the standardised scale, quantised like a model's.
    """

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "last_value"
    summary: ClassVar[str] = "the last look-back value of each channel, repeated over the horizon"

    def fit(self, task, prepared, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        return {"lookback": prepared.data.lookback}

    def predict(self, task, prepared, split: Literal["valid", "test"]) -> dict[str, Any]:
        x = lookback_outputs(prepared, _starts(prepared, split))
        return quantize(np.repeat(x[:, -1:, :], prepared.data.horizon, axis=1))


class SeasonalNaive(Baseline):
    """The last seasonal period of the look-back window, repeated over the horizon.

    Forecast step ``h`` (0-based) is ``x[L - period + (h mod period)]`` of the output channel (Hyndman &
    Athanasopoulos, *Forecasting: Principles and Practice*, "seasonal naive"). The period, in time steps, is the
    ``[dataset]`` option ``season``, else the series frequency's: hourly 24, 15-minute 96, 10-minute 144, daily
    7, monthly 12. Not applicable when the frequency is another or the period exceeds the look-back ``L``.
    Forecasts on the standardised scale, quantised like a model's.
    """

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "seasonal_naive"
    summary: ClassVar[str] = "the last seasonal period of the look-back window, repeated over the horizon"

    @staticmethod
    def _period(prepared: Any) -> tuple[int | None, str]:
        season = getattr(prepared, "season", None)
        if season is not None:
            return int(season), "season option"
        freq = prepared.data.series.freq
        return period_of(freq), f"frequency {freq}"

    def skip_reason(self, prepared: Any) -> str | None:
        period, source = self._period(prepared)
        if period is None:
            return (f"no seasonal period known for {source} (hourly, 15-minute, 10-minute, daily, monthly); "
                    "set the [dataset] option season")
        if period > prepared.data.lookback:
            return f"the period {period} ({source}) is longer than the look-back window L = {prepared.data.lookback}"
        return None

    def fit(self, task, prepared, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        self.period, source = self._period(prepared)
        return {"period": self.period, "period_from": source}

    def predict(self, task, prepared, split: Literal["valid", "test"]) -> dict[str, Any]:
        x = lookback_outputs(prepared, _starts(prepared, split))
        L, H = prepared.data.lookback, prepared.data.horizon
        return quantize(x[:, L - self.period + np.arange(H) % self.period, :])


class WindowMean(Baseline):
    """The mean of the look-back window of each output channel, flat over the horizon.

    Nothing is fitted. Forecasts on the standardised scale, quantised like a model's.
    """

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "window_mean"
    summary: ClassVar[str] = "the look-back mean of each channel, flat over the horizon"

    def fit(self, task, prepared, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        return {"lookback": prepared.data.lookback}

    def predict(self, task, prepared, split: Literal["valid", "test"]) -> dict[str, Any]:
        x = lookback_outputs(prepared, _starts(prepared, split))
        return quantize(np.repeat(x.mean(axis=1, keepdims=True), prepared.data.horizon, axis=1))


class Linear(Baseline):
    """A ridge regression from the look-back window to the horizon, one map shared by every channel.

    Channel-independent like DLinear's linear map with ``individual = False`` (Zeng et al., AAAI 2023), without
    its trend/remainder decomposition: each (training window, output channel) is a row, its ``L`` standardised
    look-back values the inputs and its ``H`` horizon values the targets, with an unpenalised intercept. Fitted in
    closed form by ``numpy.linalg.solve`` on the normal equations ``(X'X + alpha I) W = X'Y``: the Gram matrix
    is accumulated once over batches of windows and every ridge strength of the grid 0, 0.1, 1, 10, 100, 1e3,
    1e4 is a small ``(L+1) x (L+1)`` solve, where ``sklearn.linear_model.Ridge`` would refit on all the rows for
    each. ``alpha`` (penalty on the summed squared error, as in scikit-learn) is chosen by the validation
    ``metric`` through :meth:`ForecastingTask.score`; ties go to the weaker penalty. Fitted on the training
    windows the models train on (the budget's subset). Forecasts on the standardised scale, quantised.
    """

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "linear"
    summary: ClassVar[str] = "ridge regression look-back -> horizon shared across channels, alpha chosen on validation"

    def fit(self, task, prepared, *, metric: str, direction: str, seed: int) -> dict[str, Any]:
        d, index = prepared.data, _output_index(prepared)
        L = d.lookback
        gram, cross, rows = np.zeros((L + 1, L + 1)), np.zeros((L + 1, d.horizon)), 0
        for i in range(0, len(prepared.train), BATCH):
            x, y = d.windows(prepared.train[i : i + BATCH])
            X = x.numpy()[:, :, index].transpose(0, 2, 1).reshape(-1, L).astype(np.float64)  # (B * C_out, L)
            Y = y.numpy().transpose(0, 2, 1).reshape(-1, d.horizon).astype(np.float64)  # (B * C_out, H)
            X = np.hstack([X, np.ones((len(X), 1))])
            gram += X.T @ X
            cross += X.T @ Y
            rows += len(X)
        if rows == 0:
            raise ValueError("no training windows")
        if metric in task.model_metrics or metric not in task.metrics:
            metric, direction = "mse", "minimize"
        sign = 1.0 if direction == "maximize" else -1.0
        refs = task.references(prepared, "valid")
        x_valid = lookback_outputs(prepared, prepared.valid)
        penalty = np.eye(L + 1)
        penalty[L, L] = 0.0  # the intercept is not penalised
        best = None
        for alpha in ALPHAS:
            try:
                weights = np.linalg.solve(gram + alpha * penalty, cross)
            except np.linalg.LinAlgError:
                weights = np.linalg.lstsq(gram + alpha * penalty, cross, rcond=None)[0]
            value = task.score(refs, quantize(self._forecast(x_valid, weights)))[metric]
            if best is None or sign * value > sign * best[1]:
                best = (alpha, value, weights)
        self.alpha, value, self.weights = best
        return {"alpha": float(self.alpha), "windows": rows, "chosen_by": f"valid {metric}",
                f"valid_{metric}": round(float(value), 6), "grid": list(ALPHAS)}

    @staticmethod
    def _forecast(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(N, L, C) look-backs -> (N, H, C) forecasts with the (L + 1, H) weights (intercept last)."""
        return np.einsum("nlc,lh->nhc", x, weights[:-1]) + weights[-1][None, :, None]

    def predict(self, task, prepared, split: Literal["valid", "test"]) -> dict[str, Any]:
        return quantize(self._forecast(lookback_outputs(prepared, _starts(prepared, split)), self.weights))
