"""The forecasting baselines on the embedded vega-temps series and on ETTh1: hand-checkable forecasts, scored like a model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from harness_tasks.forecasting import baselines as fb
from harness_tasks.forecasting.task import quantize

from harness.baselines import baseline_names, run_baselines
from harness.spec import parse_spec
from harness.study import load_data

NAMES = ["last_value", "linear", "seasonal_naive", "window_mean"]
L, H = 48, 12


def vega(**dataset):
    spec = parse_spec({"study": {"name": "fb", "task": "forecasting"},
                       "dataset": {"name": "vega-temps", "features": "M", "lookback": L, "horizon": H, **dataset},
                       "budget": {"max_epochs": 1, "max_train_examples": 2000}})
    return load_data(spec, None)


def run(task, prepared):
    return {r.name: r for r in run_baselines(task, prepared, metric="mse", direction="minimize", seed=0)}


@pytest.fixture(scope="module")
def ran():
    task, prepared = vega(season=6)
    x, _ = prepared.data.windows(prepared.test)
    return task, prepared, x.numpy().astype(np.float64), run(task, prepared)


def test_every_baseline_runs_and_is_scored_like_a_model(ran):
    task, prepared, _, results = ran
    assert sorted(baseline_names("forecasting")) == [f"forecasting.{n}" for n in NAMES]
    assert sorted(results) == NAMES
    for r in results.values():
        assert r.error is None, r.error
        assert set(r.valid) == set(r.test) == {"mse", "mae", "mse_orig", "mae_orig", "loss"}
        assert r.outputs["forecast"].dtype == np.int32 and r.outputs["forecast"].shape == (len(prepared.test), H, 2)
        assert r.test == task.score(task.references(prepared, "test"), r.outputs)


def test_last_value_repeats_the_last_input_row(ran):
    _, _, x, results = ran
    forecast = results["last_value"].outputs["forecast"]
    assert np.array_equal(forecast, np.repeat(forecast[:, :1], H, axis=1))  # constant over the horizon
    assert np.array_equal(forecast[:, 0], quantize(x[:, -1])["forecast"])  # M: outputs are the inputs


def test_seasonal_naive_tiles_the_last_period(ran):
    _, _, x, results = ran
    assert results["seasonal_naive"].settings == {"period": 6, "period_from": "season option"}
    assert np.array_equal(results["seasonal_naive"].outputs["forecast"], quantize(np.tile(x[:, L - 6 :], (1, 2, 1)))["forecast"])


def test_seasonal_naive_period_from_the_frequency_or_not_applicable():
    task, prepared = vega()
    assert prepared.data.series.freq == "h"
    assert fb.SeasonalNaive().fit(task, prepared, metric="mse", direction="minimize", seed=0) == \
        {"period": 24, "period_from": "frequency h"}
    assert [fb.period_of(f) for f in ("h", "15min", "10min", "D", "MS", "ME", "H", "15T", "30min", "W-SUN")] == \
        [24, 96, 144, 7, 12, 12, 24, 96, None, None]
    weekly = dataclasses.replace(prepared, data=dataclasses.replace(
        prepared.data, series=dataclasses.replace(prepared.data.series, freq="W-SUN")))
    assert "no seasonal period known for frequency W-SUN" in fb.SeasonalNaive().skip_reason(weekly)
    long_task, long_season = vega(season=L + 1)
    result = run(long_task, long_season)["seasonal_naive"]
    assert result.error == f"not applicable: the period {L + 1} (season option) is longer than the look-back window L = {L}"
    assert result.valid == {} and result.outputs is None


def test_window_mean_is_the_lookback_mean(ran):
    _, _, x, results = ran
    expected = quantize(np.repeat(x.mean(axis=1, keepdims=True), H, axis=1))["forecast"]
    assert np.abs(results["window_mean"].outputs["forecast"].astype(np.int64) - expected).max() <= 1  # float32 sums


def test_linear_map_beats_the_window_mean_on_validation(ran):
    _, prepared, _, results = ran
    linear = results["linear"]
    assert linear.settings["alpha"] in fb.ALPHAS and linear.settings["chosen_by"] == "valid mse"
    assert linear.settings["windows"] == 2000 * 2  # (window, channel) rows of the budget's training windows
    assert linear.valid["mse"] == pytest.approx(linear.settings["valid_mse"], abs=1e-6)
    assert linear.valid["mse"] <= results["window_mean"].valid["mse"]
    assert linear.valid["mse"] <= results["last_value"].valid["mse"]


def test_linear_map_on_etth1_matches_the_published_linear_baselines(data_dir):
    spec = parse_spec({"study": {"name": "e", "task": "forecasting"},
                       "dataset": {"name": "ett", "features": "M", "lookback": 96, "horizon": 96}, "budget": {"max_epochs": 1}})
    task, prepared = load_data(spec, data_dir)
    baseline = fb.Linear()
    settings = baseline.fit(task, prepared, metric="mse", direction="minimize", seed=0)
    assert settings["alpha"] in fb.ALPHAS and settings["windows"] == 8449 * 7
    test = task.score(task.references(prepared, "test"), baseline.predict(task, prepared, "test"))
    assert 0.37 <= test["mse"] <= 0.39  # DLinear (Zeng et al. 2023) reports 0.386 for its decomposed linear map
