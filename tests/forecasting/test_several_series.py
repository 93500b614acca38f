"""Several series in one CSV file (long format, an id column): each series read, checked and split in its own time,
one scaler over every series' training rows, no window crossing from one series into the next, and a study on it.
The data: the real hourly 2010 temperatures of Seattle and San Francisco that vega_datasets ships, one below the
other."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from harness_tasks.forecasting.data import CsvOptions, load_csv
from harness_tasks.forecasting.windows import prepare

from harness.errors import DataError
from tests.conftest import harness_cli


def _long_csv(folder, name="cities.csv"):
    """``city,date,temp``: Seattle's 8,759 rows, then San Francisco's (each missing the hour daylight saving skips)."""
    from vega_datasets import local_data

    parts = [frame.assign(city=city)[["city", "date", "temp"]]
             for city, frame in (("seattle", local_data.seattle_temps()), ("san_francisco", local_data.sf_temps()))]
    path = folder / name
    pd.concat(parts).to_csv(path, index=False)
    return path


def test_each_series_is_read_and_split_on_its_own(tmp_path):
    path = _long_csv(tmp_path)
    options = CsvOptions(path=path.name, id_column="city", interpolate=True, valid_start="2010-09-01",
                         test_start="2010-11-01")
    series = load_csv(options, tmp_path)
    assert series.columns == ("temp",) and series.freq == "h"
    assert series.segments == (("seattle", 0, 8760), ("san_francisco", 8760, 17520))  # each with its filled hour
    assert sum("series 'seattle': filled 1 missing timestamp" in n for n in series.notes) == 1
    data = prepare(series, features="S", target="temp", lookback=48, horizon=24, borders=options.borders(series, 48))
    seattle, francisco = data.parts
    assert francisco.train[0] == 8760 and francisco.valid[0] == 8760 + seattle.valid[0]  # same dates, own rows
    for split in ("train", "valid", "test"):
        starts = data.starts(split)
        inside = [(p[split][0] <= s and s + 72 <= p[split][1]) for s in starts for p in [seattle if s < 8760 else francisco]]
        assert all(inside) and len(starts) == sum(p[split][1] - p[split][0] - 71 for p in data.parts)
    train_rows = np.concatenate([series.values[slice(*p.train), 0] for p in data.parts])
    assert data.scaler.mean_[0] == pytest.approx(train_rows.mean())
    x, _ = data.windows(data.starts("train")[-1:])  # San Francisco's last training window: its own rows only
    np.testing.assert_allclose(data.inverse(x[0, :, :1].numpy()).ravel(),
                               series.values[francisco.train[1] - 72 : francisco.train[1] - 24, 0], rtol=1e-5)


def test_bad_several_series_files_are_one_line_errors(tmp_path):
    rows = "city,date,temp\na,2024-01-01 00:00,1\na,2024-01-01 01:00,2\nb,2024-01-01 00:00,3\na,2024-01-01 02:00,4\n"
    (tmp_path / "apart.csv").write_text(rows)
    with pytest.raises(DataError, match=r"line 5: the rows of series 'a' resume after line 3; keep each series' rows together"):
        load_csv(CsvOptions(path="apart.csv", id_column="city"), tmp_path)
    (tmp_path / "freq.csv").write_text("city,date,temp\na,2024-01-01 00:00,1\na,2024-01-01 01:00,2\n"
                                       "b,2024-01-01,3\nb,2024-01-02,4\n")
    with pytest.raises(DataError, match="the series step at different frequencies \\('a' h, 'b' 24h\\)"):
        load_csv(CsvOptions(path="freq.csv", id_column="city"), tmp_path)
    (tmp_path / "back.csv").write_text("city,date,temp\na,2024-01-01 00:00,1\na,2024-01-01 01:00,2\n"
                                       "b,2024-01-01 05:00,3\nb,2024-01-01 04:00,4\n")
    with pytest.raises(DataError, match="line 5: timestamp 2024-01-01 04:00:00 comes before"):
        load_csv(CsvOptions(path="back.csv", id_column="city"), tmp_path)
    with pytest.raises(DataError, match="no id column 'cty' \\(did you mean 'city'\\?\\)"):
        load_csv(CsvOptions(path="back.csv", id_column="cty"), tmp_path)


def test_a_study_runs_on_several_series(tmp_path):
    _long_csv(tmp_path)
    (tmp_path / "s.toml").write_text("""\
[study]
name = "cities"
task = "forecasting"
n_trials = 1

[dataset]
name = "csv"
path = "cities.csv"
id_column = "city"
interpolate = true
features = "S"
target = "temp"
lookback = 48
horizon = 24

[budget]
max_epochs = 1
threads = 1

[search]
model = "dlinear"
schedule = "constant"
""")
    url = f"sqlite:///{tmp_path / 's.db'}"
    proc = harness_cli("run-study", "s.toml", "--storage", url, "--data-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="cities", storage=url)
    facts = study.user_attrs["data"]
    assert facts["series_ids"] == ["seattle", "san_francisco"] and set(facts["borders"]) == {"seattle", "san_francisco"}
    assert facts["train_windows"] == sum(b["train"][1] - b["train"][0] - 71 for b in facts["borders"].values())
    assert study.user_attrs["test_result"]["metrics"]["mse"] > 0
