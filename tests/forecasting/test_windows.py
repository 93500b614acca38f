"""Tests of harness_tasks.forecasting.windows: the Informer/TSLib protocol on the real ETTh1 file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from harness_tasks.forecasting.data import ETT_COLUMNS, EttOptions, Series, load_ett, load_vega_temps
from harness_tasks.forecasting.windows import Borders, ett_borders, mae, mse, prepare, ratio_borders

from harness.errors import DataError, UnknownNameError

HORIZONS = (96, 192, 336, 720)


@pytest.fixture(scope="module")
def etth1(data_dir) -> Series:
    return load_ett(EttOptions(file="ETTh1"), data_dir)


@pytest.fixture(scope="module")
def etth1_csv(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "ett" / "ETTh1.csv")


def _prepare_ett(series: Series, lookback: int = 96, horizon: int = 96, features: str = "M"):
    return prepare(series, features=features, target="OT", lookback=lookback, horizon=horizon,
                   borders=ett_borders(series.name, lookback))


# ------------------------------------------------------------------------------------------------
# borders


def test_ett_hourly_borders_for_lookback_96_and_336():
    assert ett_borders("ETTh1", 96) == Borders(train=(0, 8640), valid=(8544, 11520), test=(11424, 14400))
    assert ett_borders("ETTh2", 336) == Borders(train=(0, 8640), valid=(8304, 11520), test=(11184, 14400))


def test_ett_15_minute_borders_are_four_times_the_hourly_ones():
    assert ett_borders("ETTm1", 96) == Borders(train=(0, 34560), valid=(34464, 46080), test=(45984, 57600))
    assert ett_borders("ETTm2", 336) == Borders(train=(0, 34560), valid=(34224, 46080), test=(45744, 57600))


def test_ett_borders_reject_bad_names_and_lookbacks():
    with pytest.raises(UnknownNameError, match=r"unknown ETT file 'ETTh3' \(did you mean"):
        ett_borders("ETTh3", 96)
    with pytest.raises(DataError, match="lookback must be a positive whole number of rows, but got 0"):
        ett_borders("ETTh1", 0)
    with pytest.raises(DataError, match=r"lookback 8641 exceeds the 8640 rows of ETTh1's training split"):
        ett_borders("ETTh1", 8641)


def test_ratio_borders_follow_dataset_custom():
    # n = 1000: num_train 700, num_test 200, num_valid 100.
    assert ratio_borders(1000, 96) == Borders(train=(0, 700), valid=(604, 800), test=(704, 1000))
    # int() truncates: 17,420 rows give 12,194 / 1,742 / 3,484.
    assert ratio_borders(17_420, 96) == Borders(train=(0, 12194), valid=(12098, 13936), test=(13840, 17420))
    assert ratio_borders(1000, 10, train=0.6, test=0.3) == Borders(train=(0, 600), valid=(590, 700), test=(690, 1000))
    with pytest.raises(DataError, match=r"train \+ test < 1, but got \(train=0.8, test=0.2\)"):
        ratio_borders(1000, 96, train=0.8, test=0.2)
    with pytest.raises(DataError, match="lookback 800 exceeds the 700 rows of the training split of 1000 rows"):
        ratio_borders(1000, 800)


def test_borders_index_by_split_name():
    borders = ett_borders("ETTh1", 96)
    assert borders["valid"] == (8544, 11520)
    with pytest.raises(UnknownNameError, match="unknown split 'validation'"):
        borders["validation"]


# ------------------------------------------------------------------------------------------------
# windows on ETTh1


@pytest.mark.parametrize("lookback", [96, 336])
@pytest.mark.parametrize("horizon", HORIZONS)
def test_window_counts_follow_the_formula(etth1, lookback, horizon):
    data = _prepare_ett(etth1, lookback, horizon)
    for split in ("train", "valid", "test"):
        start, end = data.borders[split]
        starts = data.starts(split)
        assert len(starts) == end - start - lookback - horizon + 1
        np.testing.assert_array_equal(starts, np.arange(start, start + len(starts)))
        assert starts[-1] + lookback + horizon == end  # the last window's target ends on the border


def test_etth1_window_counts_match_the_published_protocol(etth1):
    counts = {h: len(_prepare_ett(etth1, 96, h).starts("test")) for h in HORIZONS}
    assert counts == {96: 2785, 192: 2689, 336: 2545, 720: 2161}
    data = _prepare_ett(etth1, 96, 96)
    assert (len(data.starts("train")), len(data.starts("valid")), len(data.starts("test"))) == (8449, 2785, 2785)


def test_scaler_is_fit_on_the_training_rows_only(etth1, etth1_csv):
    data = _prepare_ett(etth1)
    train = etth1_csv[list(ETT_COLUMNS)].to_numpy()[:8640]
    np.testing.assert_allclose(data.scaler.mean_, train.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(data.scaler.scale_, train.std(axis=0, ddof=0), rtol=1e-12)
    ot = ETT_COLUMNS.index("OT")
    assert data.scaler.mean_[ot] == pytest.approx(17.12826, abs=1e-5)
    assert data.scaler.scale_[ot] == pytest.approx(9.17649, abs=1e-5)
    # No leakage: the statistics of the whole file differ.
    full = etth1_csv[list(ETT_COLUMNS)].to_numpy()
    assert not np.allclose(data.scaler.mean_, full.mean(axis=0))
    assert not np.allclose(data.scaler.scale_, full.std(axis=0))
    # Training rows are standardised to mean 0, std 1; the whole series is scaled with them.
    assert data.scaled.dtype == np.float32 and data.scaled.shape == (17_420, 7)
    np.testing.assert_allclose(data.scaled[:8640].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.scaled[:8640].std(axis=0), 1, atol=1e-5)


def test_windows_are_slices_of_the_scaled_array(etth1):
    data = _prepare_ett(etth1, 96, 192)
    starts = data.starts("test")[[0, 7, -1]]
    x, y = data.windows(starts)
    assert x.dtype == torch.float32 and y.dtype == torch.float32
    assert tuple(x.shape) == (3, 96, 7) and tuple(y.shape) == (3, 192, 7)
    for i, s in enumerate(starts):
        np.testing.assert_array_equal(x[i].numpy(), data.scaled[s : s + 96])
        np.testing.assert_array_equal(y[i].numpy(), data.scaled[s + 96 : s + 96 + 192])
    assert starts[-1] + 96 + 192 == 14400  # the last test target row is row 14,399


def test_windows_of_a_whole_split_at_once(etth1):
    data = _prepare_ett(etth1)
    x, y = data.windows(data.starts("train"))
    assert tuple(x.shape) == (8449, 96, 7) and tuple(y.shape) == (8449, 96, 7)
    # Consecutive windows overlap by all but one row.
    torch.testing.assert_close(x[1:, :-1], x[:-1, 1:])
    x_empty, y_empty = data.windows(np.array([], dtype=np.int64))
    assert tuple(x_empty.shape) == (0, 96, 7) and tuple(y_empty.shape) == (0, 96, 7)
    with pytest.raises(IndexError, match=r"window starts must lie in \[0, 17228\]"):
        data.windows(np.array([17_229]))


def test_inverse_round_trips_to_the_csv_values(etth1, etth1_csv):
    data = _prepare_ett(etth1)
    starts = data.starts("test")[:5]
    _, y = data.windows(starts)
    restored = data.inverse(y)
    assert restored.dtype == np.float64 and restored.shape == (5, 96, 7)
    csv = etth1_csv[list(ETT_COLUMNS)].to_numpy()
    for i, s in enumerate(starts):
        np.testing.assert_allclose(restored[i], csv[s + 96 : s + 192], atol=1e-4)
    np.testing.assert_allclose(data.inverse(y.numpy()), restored)
    with pytest.raises(ValueError, match=r"\(\.\.\., 7\) output channels"):
        data.inverse(np.zeros((2, 3)))


# ------------------------------------------------------------------------------------------------
# feature settings


def test_features_m_s_ms_choose_input_and_output_columns(etth1, etth1_csv):
    m, s, ms = (_prepare_ett(etth1, features=f) for f in ("M", "S", "MS"))
    assert (m.input_columns, m.output_columns) == (ETT_COLUMNS, ETT_COLUMNS)
    assert (s.input_columns, s.output_columns) == (("OT",), ("OT",))
    assert (ms.input_columns, ms.output_columns) == (ETT_COLUMNS, ("OT",))
    assert [(d.n_inputs, d.n_outputs) for d in (m, s, ms)] == [(7, 7), (1, 1), (7, 1)]
    assert s.scaler.n_features_in_ == 1 and ms.scaler.n_features_in_ == 7

    starts = m.starts("valid")[:4]
    shapes = {f: tuple(t.shape for t in d.windows(starts)) for f, d in (("M", m), ("S", s), ("MS", ms))}
    assert shapes == {"M": ((4, 96, 7), (4, 96, 7)), "S": ((4, 96, 1), (4, 96, 1)), "MS": ((4, 96, 7), (4, 96, 1))}
    # MS's target comes from the all-column scaler: the same values as M's OT channel (and S's).
    _, y_m = m.windows(starts)
    _, y_ms = ms.windows(starts)
    _, y_s = s.windows(starts)
    torch.testing.assert_close(y_ms[..., 0], y_m[..., -1])
    torch.testing.assert_close(y_s, y_ms)
    ot = etth1_csv["OT"].to_numpy()
    np.testing.assert_allclose(ms.inverse(y_ms)[0, :, 0], ot[starts[0] + 96 : starts[0] + 192], atol=1e-4)


def test_target_is_moved_last_as_in_dataset_custom(etth1):
    data = prepare(etth1, features="MS", target="HUFL", lookback=24, horizon=24, borders=ett_borders("ETTh1", 24))
    assert data.input_columns == ("HULL", "MUFL", "MULL", "LUFL", "LULL", "OT", "HUFL")
    assert data.output_columns == ("HUFL",)
    _, y = data.windows(data.starts("test")[:1])
    np.testing.assert_allclose(data.inverse(y)[0, :, 0], etth1.values[11520 : 11520 + 24, 0], atol=1e-4)


def test_prepare_defaults_to_ratio_borders_on_vega_temps():
    series = load_vega_temps()
    data = prepare(series, features="S", target="seattle", lookback=168, horizon=24)
    assert data.borders == ratio_borders(8760, 168)
    assert len(data.starts("test")) == 1752 - 24 + 1
    assert data.output_columns == ("seattle",)


# ------------------------------------------------------------------------------------------------
# prepare errors


def test_prepare_rejects_bad_settings(etth1):
    message = r"^target 'ot' is not a column of ETTh1 \(did you mean 'OT'\?\); its columns are: HUFL, HULL"
    with pytest.raises(DataError, match=message):
        prepare(etth1, features="S", target="ot", lookback=96, horizon=96)
    with pytest.raises(DataError, match="horizon must be a positive whole number of rows, but got -1"):
        prepare(etth1, features="M", target="OT", lookback=96, horizon=-1)
    with pytest.raises(DataError, match="lookback must be a positive whole number of rows, but got 0"):
        prepare(etth1, features="M", target="OT", lookback=0, horizon=96)
    with pytest.raises(UnknownNameError, match=r"unknown features setting 'SM'.*accepted: M, MS, S"):
        prepare(etth1, features="SM", target="OT", lookback=96, horizon=96)


def test_prepare_names_the_split_that_is_too_short(etth1):
    message = (
        r"ETTh1 is too short: the valid split \[8640, 11520\) has 2880 rows but lookback 96 \+ horizon 2800 "
        r"needs 2896 for one window"
    )
    borders = Borders(train=(0, 8640), valid=(8640, 11520), test=(11520, 14400))
    with pytest.raises(DataError, match=message):
        prepare(etth1, features="M", target="OT", lookback=96, horizon=2800, borders=borders)
    # ETT's validation and test splits both hold 2,880 + L rows; the first one named is the validation split.
    message = r"the valid split \[8544, 11520\) has 2976 rows but lookback 96 \+ horizon 2881"
    with pytest.raises(DataError, match=message):
        prepare(etth1, features="M", target="OT", lookback=96, horizon=2881, borders=ett_borders("ETTh1", 96))
    borders = Borders(train=(0, 8640), valid=(8544, 11520), test=(11424, 12000))
    with pytest.raises(DataError, match=r"the test split \[11424, 12000\) has 576 rows but lookback 96 \+ horizon 720"):
        prepare(etth1, features="M", target="OT", lookback=96, horizon=720, borders=borders)
    short = Series("tiny", etth1.time[:100], etth1.values[:100], etth1.columns, "h")
    with pytest.raises(DataError, match=r"tiny is too short: the train split \[0, 70\) has 70 rows but .* needs 72"):
        prepare(short, features="M", target="OT", lookback=48, horizon=24)
    with pytest.raises(DataError, match=r"the train split \[0, 8640\) does not fit tiny's 100 rows; .* end <= 100"):
        prepare(short, features="M", target="OT", lookback=96, horizon=24, borders=ett_borders("ETTh1", 96))


# ------------------------------------------------------------------------------------------------
# metrics


def test_mse_and_mae_by_hand():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    true = np.array([[0.0, 2.0], [5.0, 1.0]])
    # Errors 1, 0, -2, 3: squared 1, 0, 4, 9 -> 14 / 4; absolute 1, 0, 2, 3 -> 6 / 4.
    assert mse(pred, true) == 3.5
    assert mae(pred, true) == 1.5


def test_metrics_average_over_windows_horizon_and_channels():
    # Two windows, horizon 3, one channel: every error 2 in the first window, 0 in the second.
    pred = np.zeros((2, 3, 1))
    true = np.concatenate([np.full((1, 3, 1), 2.0), np.zeros((1, 3, 1))])
    assert mse(pred, true) == 2.0  # (4 * 3 + 0 * 3) / 6
    assert mae(pred, true) == 1.0  # (2 * 3 + 0 * 3) / 6
    assert isinstance(mse(pred, true), float)
    assert mse(torch.zeros(2, 2), torch.ones(2, 2)) == 1.0
    with pytest.raises(ValueError, match=r"same shape, but got \(2, 3, 1\) and \(2, 3\)"):
        mse(pred, true[..., 0])
