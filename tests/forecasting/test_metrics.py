"""The forecasting metrics from stored outputs: quantised forecasts against targets rebuilt from the series rows."""

from __future__ import annotations

import numpy as np
import pytest
from harness_tasks.forecasting.task import QUANTUM, ForecastingTask, dequantize, quantize, target_windows


def references(rows: np.ndarray, offsets, horizon: int, mean, scale):
    return {"targets": rows.astype(np.float32), "offsets": np.asarray(offsets), "horizon": horizon, "columns": ["a", "b"],
            "mean": list(mean), "scale": list(scale)}


def test_windows_rebuilt_from_rows_and_metrics_by_hand():
    rows = np.arange(12, dtype=np.float64).reshape(6, 2)  # 6 target rows, 2 channels
    refs = references(rows, [0, 1, 3], horizon=3, mean=[10.0, 20.0], scale=[2.0, 4.0])
    true = target_windows(refs)
    assert true.shape == (3, 3, 2) and np.array_equal(true[2], rows[3:6])
    forecast = true + 0.5  # every value off by 0.5 standard deviations
    metrics = ForecastingTask.score(refs, quantize(forecast))
    assert metrics["mse"] == pytest.approx(0.25) and metrics["mae"] == pytest.approx(0.5) and metrics["loss"] == metrics["mse"]
    # original units: channel a off by 0.5 * 2 = 1, channel b by 0.5 * 4 = 2
    assert metrics["mae_orig"] == pytest.approx(1.5) and metrics["mse_orig"] == pytest.approx((1 + 4) / 2)


def test_quantisation_is_what_is_scored_and_moves_mse_by_less_than_half_a_quantum():
    rng = np.random.default_rng(0)
    forecast = rng.normal(size=(50, 4, 2))
    stored = quantize(forecast)
    assert stored["forecast"].dtype == np.int32 and stored["quantum"] == QUANTUM
    assert np.abs(dequantize(stored) - forecast).max() <= QUANTUM / 2 + 1e-15
    with pytest.raises(ValueError, match="same shape"):
        ForecastingTask.score(references(np.zeros((6, 2)), [0, 1], 3, [0, 0], [1, 1]), quantize(np.zeros((3, 3, 2))))
