"""The forecasting task: look-back windows of a multivariate series, forecast over a horizon, MSE and MAE.

Metrics on a split (every window of it, none dropped): ``mse`` and ``mae`` on the standardised scale
(the convention of the ETT literature), ``mse_orig`` and ``mae_orig`` in the series' original units,
and ``loss`` (= ``mse``, the training loss). The objective defaults to validation ``mse``.

Forecasts are kept as whole multiples of :data:`QUANTUM` standard deviations (int32), which is what a test
evaluation stores and what every metric is computed from, so ``harness rescore`` reproduces the metrics
exactly. The rounding moves a metric by at most ``QUANTUM / 2`` per value (MSE on ETTh1 by about 2e-7).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from harness_tasks.forecasting import space
from harness_tasks.forecasting.data import ETT_NAMES
from harness_tasks.forecasting.published import published
from harness_tasks.forecasting.windows import ForecastData, ett_borders, mae, mse, prepare
from pydantic import BaseModel, ConfigDict, Field

from harness.task import Budget, Group, Task, TrainData

#: Resolution of stored forecasts, in standard deviations of the standardised scale.
QUANTUM = 1e-3


class Protocol(BaseModel):
    """Options every forecasting dataset accepts in ``[dataset]``, besides its own.

    Args:
        features: ``M`` (all channels in and out), ``S`` (the target only), ``MS`` (all in, target out).
        target: Target column for ``S``/``MS`` (default: the last column, ``OT`` for ETT).
        lookback: Look-back window ``L`` in time steps.
        horizon: Forecast horizon ``H`` in time steps.
        season: Period in time steps of the ``seasonal_naive`` baseline; default: from the series frequency
            (hourly 24, 15-minute 96, 10-minute 144, daily 7, monthly 12).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    features: Literal["M", "S", "MS"] = "M"
    target: str | None = None
    lookback: int = Field(96, ge=1, le=10_000)
    horizon: int = Field(96, ge=1, le=10_000)
    season: int | None = Field(None, ge=1)


@dataclass
class Prepared:
    """The windows of a study, prepared once per process, and the window subsets of the budget."""

    data: ForecastData  # or, for a model restored from its checkpoint, a WindowShape (harness_tasks.forecasting.predict)
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    season: int | None = None  # the ``season`` option, for the seasonal-naive baseline


class ForecastingTask(Task):
    """Multivariate time-series forecasting (ETT protocol) with attention forecasters and DLinear."""

    name: ClassVar[str] = "forecasting"
    summary: ClassVar[str] = "time-series forecasting: vega-temps (embedded), ETT, any CSV; MSE and MAE"
    metrics: ClassVar[dict[str, str]] = {"mse": "minimize", "mae": "minimize", "mse_orig": "minimize",
                                         "mae_orig": "minimize", "loss": "minimize"}
    default_metric: ClassVar[str] = "mse"
    model_metrics: ClassVar[tuple[str, ...]] = ()
    model_families: ClassVar[tuple[str, ...]] = space.FAMILIES
    shared_dataset_options: ClassVar[type[BaseModel]] = Protocol

    @classmethod
    def space(cls) -> list[Group]:
        return space.groups(cls)

    def prepare(self, dataset: str, options: BaseModel, data_dir: Path | None, budget: Budget, seed: int) -> Prepared:
        info = self.datasets()[dataset]
        own = info.own_options(options)
        series = info.load(own, data_dir)
        target = options.target or series.columns[-1]
        # a dataset's options may say how it splits (ETT's standard borders, a CSV's dates); else 70/10/20 in time
        borders = own.borders(series, options.lookback) if hasattr(own, "borders") else None
        data = prepare(series, features=options.features, target=target, lookback=options.lookback,
                       horizon=options.horizon, borders=borders)
        rng = np.random.default_rng(seed)
        train, valid = data.starts("train"), data.starts("valid")
        if budget.max_train_examples is not None and budget.max_train_examples < len(train):
            train = np.sort(rng.choice(train, budget.max_train_examples, replace=False))
        if budget.max_valid_examples is not None and budget.max_valid_examples < len(valid):
            valid = np.sort(rng.choice(valid, budget.max_valid_examples, replace=False))
        return Prepared(data, train, valid, data.starts("test"), options.season)

    def train_size(self, prepared: Prepared) -> int:
        return len(prepared.train)

    def describe(self, prepared: Prepared) -> dict[str, Any]:
        d = prepared.data
        s = d.series
        out = {
            "series": s.name, "rows": int(len(s.values)), "frequency": s.freq, "columns": list(s.columns),
            "start": str(s.time[0])[:19], "end": str(s.time[-1])[:19],
            "features": d.features, "target": d.target, "lookback": d.lookback, "horizon": d.horizon,
            "input_columns": list(d.input_columns), "output_columns": list(d.output_columns),
            "borders": {"train": list(d.borders.train), "valid": list(d.borders.valid), "test": list(d.borders.test)},
            "train_windows": int(len(prepared.train)), "valid_windows": int(len(prepared.valid)),
            "test_windows": int(len(prepared.test)),
            "scaler_mean": [round(float(v), 6) for v in d.scaler.mean_],
            "scaler_scale": [round(float(v), 6) for v in d.scaler.scale_],
            "citation": s.citation, "notes": list(s.notes),
        }
        if s.segments:  # several series in one file: each one's rows and split
            out["series_ids"] = [name for name, _, _ in s.segments]
            out["borders"] = {name: {"train": list(p.train), "valid": list(p.valid), "test": list(p.test)}
                              for (name, _, _), p in zip(s.segments, d.parts)}
        standard = s.name in ETT_NAMES and d.borders == ett_borders(s.name, d.lookback)  # not a CSV copy split otherwise
        reference = published(s.name, d.features, d.lookback, d.horizon) if standard else None
        if reference is not None:
            out["published"] = reference
        return out

    # -- the kept model ---------------------------------------------------------------------------
    input_kind: ClassVar[str] = "a CSV file with the input columns; its last look-back rows are the window"

    def inference_state(self, prepared: Prepared) -> dict[str, Any]:
        """Input and output columns, look-back and horizon, and the training scaler of the input columns."""
        from harness_tasks.forecasting.predict import WindowShape

        d = prepared.data
        return WindowShape(tuple(d.input_columns), tuple(d.output_columns), d.lookback, d.horizon,
                           tuple(float(v) for v in d.scaler.mean_), tuple(float(v) for v in d.scaler.scale_)).state()

    def from_inference_state(self, state: dict[str, Any]) -> Prepared:
        from harness_tasks.forecasting.predict import WindowShape

        none = np.zeros(0, dtype=np.int64)
        return Prepared(WindowShape.from_state(state), none, none, none)

    def predict_inputs(self, model, prepared: Prepared, path: Path) -> str:
        """The forecast of the window in a CSV file (:mod:`harness_tasks.forecasting.predict`), as CSV text."""
        from harness_tasks.forecasting.predict import forecast_csv

        return forecast_csv(model, prepared.data, path)

    def build_model(self, config: dict[str, Any], prepared: Prepared):
        """``config["model"]``'s family builds it (:mod:`harness.family`; built-ins in :mod:`.families`)."""
        from harness import family

        return family.build(self.name, config, prepared)

    def train_data(self, prepared: Prepared, batch_size: int, generator: Any) -> TrainData:
        """The training windows, fetched a batch at a time (``ForecastData.windows``: one vectorised gather), in a
        fresh random order every epoch."""
        from harness.data import Batched, ShuffledBatches, as_is

        windows = functools.partial(_windows_at, prepared)
        return TrainData(Batched(len(prepared.train), windows), ShuffledBatches(len(prepared.train), batch_size, generator),
                         as_is)

    def loss(self, model, batch):
        import torch.nn.functional as F

        x, y = batch
        return F.mse_loss(model(x), y), y.numel()

    def predict_windows(self, model, prepared: Prepared, starts: np.ndarray,
                        batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts and targets ``(N, H, C_out)`` on the standardised scale for the windows at ``starts``."""
        from harness.device import evaluating

        preds, trues = [], []
        with evaluating(model) as device:
            for i in range(0, len(starts), batch_size):
                x, y = prepared.data.windows(starts[i : i + batch_size])  # CPU tensors
                preds.append(model(x.to(device)).float().cpu().numpy())
                trues.append(y.numpy())
        return np.concatenate(preds), np.concatenate(trues)

    def predict(self, model, prepared: Prepared, split: Literal["valid", "test"]) -> dict[str, Any]:
        """``{"forecast", "quantum"}``: the forecasts of every window of the split on the standardised scale, as
        int32 multiples of ``quantum`` with the shape of (N, H, C_out)."""
        pred, _ = self.predict_windows(model, prepared, prepared.valid if split == "valid" else prepared.test)
        return quantize(pred)

    def references(self, prepared: Prepared, split: Literal["valid", "test"]) -> dict[str, Any]:
        """The targets of every window of the split, compactly: the standardised rows the windows forecast
        (``targets``, (rows, C_out) float32), each window's first target row in it (``offsets``), the
        horizon, and the scaler's ``mean``/``scale`` of the output columns (for the original-unit metrics)."""
        d = prepared.data
        starts = prepared.valid if split == "valid" else prepared.test
        first = int(starts.min()) + d.lookback
        last = int(starts.max()) + d.lookback + d.horizon
        index = [d.input_columns.index(c) for c in d.output_columns]
        return {"targets": np.ascontiguousarray(d.scaled[first:last][:, index]), "offsets": (starts + d.lookback - first),
                "horizon": d.horizon, "columns": list(d.output_columns),
                "mean": [float(v) for v in d.scaler.mean_[index]], "scale": [float(v) for v in d.scaler.scale_[index]]}

    @classmethod
    def score(cls, references: dict[str, Any], outputs: dict[str, Any]) -> dict[str, float]:
        """MSE and MAE over every window, horizon step and channel (TSLib ``utils/metrics.py``), standardised
        and in original units; ``loss`` = ``mse``.

        Raises:
            ValueError: the forecasts do not have one (H, C_out) block per window.
        """
        pred = dequantize(outputs)
        true = target_windows(references)
        scale, mean = np.asarray(references["scale"]), np.asarray(references["mean"])
        value = mse(pred, true)
        return {"mse": value, "mae": mae(pred, true), "mse_orig": mse(pred * scale + mean, true * scale + mean),
                "mae_orig": mae(pred * scale + mean, true * scale + mean), "loss": value}

    def model_scores(self, model, prepared: Prepared, split: Literal["valid", "test"]) -> dict[str, float]:
        """None: every forecasting metric comes from the forecasts (the loss is the MSE)."""
        return {}

    def examples(self, model, prepared: Prepared) -> dict[str, dict[str, Any]]:
        """Forecast against actual for three test windows (the target channel, original units), and the
        attention weights over the look-back window for the middle one."""
        from harness.device import evaluating

        d = prepared.data
        picks = [prepared.test[int(q * (len(prepared.test) - 1))] for q in (0.1, 0.5, 0.9)]
        pred, true = self.predict_windows(model, prepared, np.array(picks))
        channel = d.output_columns.index(d.target) if d.target in d.output_columns else 0
        x, _ = d.windows(np.array(picks))
        history = d.inverse(x[..., [d.input_columns.index(c) for c in d.output_columns]].numpy())  # (3, L, C_out)
        windows = []
        for k, start in enumerate(picks):
            windows.append({
                "start": str(d.series.time[start + d.lookback])[:19],
                "history": [round(float(v), 4) for v in history[k, :, channel]],
                "actual": [round(float(v), 4) for v in d.inverse(true)[k, :, channel]],
                "forecast": [round(float(v), 4) for v in d.inverse(pred)[k, :, channel]],
            })
        out = {"forecast_example": {
            "channel": d.output_columns[channel], "lookback": d.lookback, "horizon": d.horizon,
            "description": f"{d.output_columns[channel]} in original units for three test windows of the tested best model",
            "windows": windows,
        }}
        if not callable(getattr(model, "attention", None)):  # a plugin family without attention weights to show
            return out
        with evaluating(model) as device:
            weights = model.attention(x[1:2].to(device))
        if weights is not None:
            w = weights[0].float().cpu().numpy()
            out["attention_example"] = {
                "description": f"attention over the look-back window for the test window starting {windows[1]['start']}",
                "source_tokens": model.key_labels(), "target_tokens": model.query_labels()[: w.shape[0]],
                "x_label": "look-back positions (keys)", "y_label": "queries",
                "weights": [[round(float(v), 4) for v in row] for row in w],
            }
        return out


def _windows_at(prepared: Prepared, positions: list[int]):
    """``(x, y)`` of the training windows at these positions of ``prepared.train``."""
    return prepared.data.windows(prepared.train[np.asarray(positions, dtype=np.int64)])


def quantize(forecast: np.ndarray, quantum: float = QUANTUM) -> dict[str, Any]:
    """``{"forecast": int32 multiples of quantum, "quantum": quantum}`` for forecasts on the standardised scale."""
    return {"forecast": np.rint(np.asarray(forecast, dtype=np.float64) / quantum).astype(np.int32), "quantum": quantum}


def dequantize(outputs: dict[str, Any]) -> np.ndarray:
    """float64 forecasts with the shape of (N, H, C_out) from :func:`quantize`'s output."""
    return np.asarray(outputs["forecast"], dtype=np.float64) * float(outputs["quantum"])


def target_windows(references: dict[str, Any]) -> np.ndarray:
    """The target of every window, with the shape of (N, H, C_out), float64, from :meth:`ForecastingTask.references`."""
    targets = np.asarray(references["targets"], dtype=np.float64)
    offsets = np.asarray(references["offsets"], dtype=np.int64)
    H = int(references["horizon"])
    return targets[offsets[:, None] + np.arange(H)]
