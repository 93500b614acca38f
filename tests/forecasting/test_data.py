"""Tests of harness_tasks.forecasting.data on the real ETT files (see ../shared/data/README.md), the
temperatures bundled with vega_datasets, and small CSV files written for each bad case."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from harness_tasks.forecasting.data import (
    ETT_COLUMNS,
    CsvOptions,
    EttOptions,
    Series,
    VegaTempsOptions,
    download_ett,
    load_csv,
    load_ett,
    load_vega_temps,
    read_series_csv,
)
from pydantic import ValidationError

from harness.errors import BadInputError, DataError
from harness.task import registered_datasets

DATASETS = registered_datasets("forecasting")  # the task's datasets, as pyproject.toml registers them

ETT_ROWS = 17_420
HEADER = "date,a,b\n"


def _ett_frame(data_dir: Path, name: str = "ETTh1") -> pd.DataFrame:
    return pd.read_csv(data_dir / "ett" / f"{name}.csv")


def _write(folder: Path, text: str | bytes, name: str = "series.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _hours(*rows: str) -> str:
    """A CSV with columns date,a,b from ``"HH,a,b"`` rows on 2020-01-01."""
    return HEADER + "".join(f"2020-01-01 {row.split(',', 1)[0]}:00,{row.split(',', 1)[1]}\n" for row in rows)


def _error(path: Path, **options) -> str:
    with pytest.raises(DataError) as info:
        load_csv(CsvOptions(path=path.name, **options), path.parent)
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------------------------------
# registry


def test_registry_lists_the_three_datasets_with_their_options_and_downloads():
    assert sorted(DATASETS) == ["csv", "ett", "vega-temps"]
    assert DATASETS["vega-temps"].needs_data_dir is False and DATASETS["vega-temps"].download is None
    assert DATASETS["ett"].needs_data_dir and DATASETS["ett"].download is download_ett
    assert DATASETS["csv"].needs_data_dir and DATASETS["csv"].download is None
    for name, info in DATASETS.items():
        assert info.name == name
        assert info.summary and "\n" not in info.summary
        with pytest.raises(ValidationError, match="no_such_option"):
            info.options(no_such_option=1)


def test_options_defaults_and_constraints():
    assert EttOptions().model_dump() == {"file": "ETTh1", "subdir": "ett"}
    with pytest.raises(ValidationError, match="ETTh1"):
        EttOptions(file="ETTh3")
    options = CsvOptions(path="x.csv")
    assert (options.time_column, options.columns, options.interpolate) == ("date", None, False)
    with pytest.raises(ValidationError, match="'a' more than once"):
        CsvOptions(path="x.csv", columns=["a", "b", "a"])
    with pytest.raises(ValidationError):
        CsvOptions(path="x.csv", columns=[])
    with pytest.raises(ValidationError):
        CsvOptions()  # path is required


# ------------------------------------------------------------------------------------------------
# vega-temps


def test_vega_temps_joins_both_cities_and_interpolates_the_spring_forward_hour():
    series = DATASETS["vega-temps"].load(VegaTempsOptions(), None)
    assert isinstance(series, Series)
    assert series.name == "vega-temps"
    assert series.values.shape == (8760, 2) and series.values.dtype == np.float64
    assert series.columns == ("seattle", "san_francisco")
    assert series.freq == "h"
    assert series.time.dtype == np.dtype("datetime64[ns]")
    assert not np.isnan(series.values).any()
    steps = np.diff(series.time)
    assert (steps == np.timedelta64(1, "h")).all()
    assert series.time[0] == np.datetime64("2010-01-01T00:00") and series.time[-1] == np.datetime64("2010-12-31T23:00")
    assert "NOAA" in series.citation

    # The sources jump from 02:00 to 04:00 on 2010-03-14: 03:00 is the one hour filled.
    assert len(series.notes) == 1 and "1 missing hour (2010-03-14 03:00:00)" in series.notes[0]
    row = int(np.flatnonzero(series.time == np.datetime64("2010-03-14T03:00"))[0])
    before, filled, after = series.values[row - 1], series.values[row], series.values[row + 1]
    np.testing.assert_allclose(before, [43.0, 50.8])  # 02:00 in seattle-temps.csv / sf-temps.csv
    np.testing.assert_allclose(after, [42.2, 49.9])  # 04:00
    np.testing.assert_allclose(filled, (before + after) / 2)
    assert ((np.minimum(before, after) <= filled) & (filled <= np.maximum(before, after))).all()


def test_vega_temps_keeps_every_source_value():
    from vega_datasets import local_data

    series = load_vega_temps()
    seattle, san_francisco = local_data.seattle_temps(), local_data.sf_temps()
    keep = series.time != np.datetime64("2010-03-14T03:00")
    np.testing.assert_array_equal(series.time[keep], seattle["date"].to_numpy().astype("datetime64[ns]"))
    np.testing.assert_array_equal(series.values[keep, 0], seattle["temp"].to_numpy())
    np.testing.assert_array_equal(series.values[keep, 1], san_francisco["temp"].to_numpy())


def test_vega_temps_requires_identical_timestamps_in_both_files(monkeypatch):
    from vega_datasets import local_data

    shifted = local_data.sf_temps()
    shifted.loc[100, "date"] += pd.Timedelta(minutes=30)
    monkeypatch.setattr(local_data, "sf_temps", lambda: shifted)
    with pytest.raises(DataError, match=r"must have identical timestamps but differ first at row 100; reinstall"):
        load_vega_temps()


# ------------------------------------------------------------------------------------------------
# ett


@pytest.mark.parametrize("name", ["ETTh1", "ETTh2"])
def test_ett_loads_the_file_verbatim(data_dir, name):
    series = DATASETS["ett"].load(EttOptions(file=name), data_dir)
    frame = _ett_frame(data_dir, name)
    assert series.name == name
    assert series.values.shape == (ETT_ROWS, 7)
    assert series.columns == ETT_COLUMNS == tuple(frame.columns[1:])
    assert series.freq == "h" and series.notes == ()
    assert "Informer" in series.citation and "CC BY-ND 4.0" in series.citation
    np.testing.assert_array_equal(series.values, frame[list(ETT_COLUMNS)].to_numpy())
    np.testing.assert_array_equal(series.time, pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[ns]"))
    assert str(series.time[0])[:19] == "2016-07-01T00:00:00" and str(series.time[-1])[:19] == "2018-06-26T19:00:00"


def test_ett_15_minute_file_has_15min_freq(data_dir, tmp_path):
    frame = _ett_frame(data_dir).iloc[:2000].copy()
    frame["date"] = pd.date_range("2016-07-01", periods=len(frame), freq="15min").strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "ett").mkdir()
    frame.to_csv(tmp_path / "ett" / "ETTm1.csv", index=False)
    series = load_ett(EttOptions(file="ETTm1"), tmp_path)
    assert series.freq == "15min" and series.values.shape == (2000, 7)


def test_ett_file_at_the_wrong_frequency_is_rejected(data_dir, tmp_path):
    (tmp_path / "ett").mkdir()
    shutil.copy(data_dir / "ett" / "ETTh1.csv", tmp_path / "ett" / "ETTm2.csv")
    with pytest.raises(DataError, match=r"ETTm2.csv has a step of 'h' but ETTm2 must be sampled every '15min'"):
        load_ett(EttOptions(file="ETTm2"), tmp_path)


def test_ett_missing_folder_file_or_column(data_dir, tmp_path):
    with pytest.raises(DataError, match="reads files: pass --data-dir"):
        load_ett(EttOptions(), None)
    with pytest.raises(DataError, match=r"data directory .*nowhere does not exist; run `harness download ett"):
        load_ett(EttOptions(), tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"no ett folder at .*ett; run `harness download ett --data-dir"):
        load_ett(EttOptions(), tmp_path)
    with pytest.raises(DataError, match=r"missing file .*ETTm1.csv; run `harness download ett"):
        load_ett(EttOptions(file="ETTm1"), data_dir)  # the shared copy has only ETTh1 and ETTh2
    (tmp_path / "ett").mkdir()
    _ett_frame(data_dir).drop(columns="OT").to_csv(tmp_path / "ett" / "ETTh1.csv", index=False)
    with pytest.raises(DataError, match=r"ETTh1.csv has no column 'OT'; its columns are: date, HUFL"):
        load_ett(EttOptions(), tmp_path)


def test_download_ett_from_a_file_url(data_dir, tmp_path):
    base_url = (data_dir / "ett").as_uri() + "/"
    download_ett(tmp_path, names=("ETTh1",), base_url=base_url)
    downloaded = tmp_path / "ett" / "ETTh1.csv"
    assert downloaded.read_bytes() == (data_dir / "ett" / "ETTh1.csv").read_bytes()
    assert [p.name for p in (tmp_path / "ett").iterdir()] == ["ETTh1.csv"]  # no temporary file left
    loaded, original = load_ett(EttOptions(), tmp_path), load_ett(EttOptions(), data_dir)
    np.testing.assert_array_equal(loaded.values, original.values)
    np.testing.assert_array_equal(loaded.time, original.time)

    # A present file is kept: nothing is fetched, not even from a URL that fails.
    download_ett(tmp_path, names=("ETTh1",), base_url=(tmp_path / "nowhere").as_uri())
    assert downloaded.read_bytes() == (data_dir / "ett" / "ETTh1.csv").read_bytes()


def test_download_ett_errors_leave_no_file(tmp_path):
    with pytest.raises(DataError, match=r"could not download file://.*ETTh2.csv to .*ETTh2.csv"):
        download_ett(tmp_path, names=("ETTh2",), base_url=(tmp_path / "nowhere").as_uri())
    source = tmp_path / "source"
    source.mkdir()
    (source / "ETTh2.csv").write_text("<html>404 Not Found</html>\n")
    with pytest.raises(DataError, match=r"ETTh2.csv is not an ETT CSV: its first line is '<html>404"):
        download_ett(tmp_path / "data", names=("ETTh2",), base_url=source.as_uri())
    assert list((tmp_path / "data" / "ett").iterdir()) == []
    with pytest.raises(DataError, match=r"unknown ETT file 'ETTh3' \(did you mean 'ETTh2' or 'ETTh1'"):
        download_ett(tmp_path, names=("ETTh3",))


# ------------------------------------------------------------------------------------------------
# csv: good files


def test_csv_reads_a_copy_of_etth1_relative_to_the_data_dir(data_dir, tmp_path):
    shutil.copy(data_dir / "ett" / "ETTh1.csv", tmp_path / "power.csv")
    series = DATASETS["csv"].load(CsvOptions(path="power.csv", columns=["OT", "HUFL"]), tmp_path)
    frame = _ett_frame(data_dir)
    assert series.name == "power" and series.columns == ("OT", "HUFL") and series.freq == "h"
    np.testing.assert_array_equal(series.values, frame[["OT", "HUFL"]].to_numpy())
    every = load_csv(CsvOptions(path="power.csv"), tmp_path)
    assert every.columns == ETT_COLUMNS
    for escaping in ("../power.csv", "a/../../power.csv"):
        with pytest.raises(ValueError, match="a relative path must stay inside the data directory"):
            CsvOptions(path=escaping)
    absolute = load_csv(CsvOptions(path=str(tmp_path / "power.csv"), columns=["OT"]), data_dir)  # elsewhere, absolute
    np.testing.assert_array_equal(absolute.values[:, 0], frame["OT"].to_numpy())


def test_csv_small_file_other_time_column_and_daily_freq(tmp_path):
    path = _write(tmp_path, "day,x,y\n2024-01-01,1,10\n2024-01-02,2.5,-1e3\n2024-01-03,3,0\n", "daily.csv")
    series = load_csv(CsvOptions(path=path.name, time_column="day"), path.parent)
    assert series.columns == ("x", "y") and series.freq == "D" and series.notes == ()
    np.testing.assert_array_equal(series.values, [[1, 10], [2.5, -1000], [3, 0]])
    assert series.time.dtype == np.dtype("datetime64[ns]")


def test_csv_accepts_bom_crlf_trailing_blank_lines_and_month_starts(tmp_path):
    text = "\ufeffdate,v\r\n2024-01-01,1\r\n2024-02-01,2\r\n2024-03-01,3\r\n\r\n"
    series = read_series_csv(_write(tmp_path, text))
    assert series.freq == "MS" and series.values[:, 0].tolist() == [1, 2, 3]


def test_csv_converts_time_zone_offsets_to_utc(tmp_path):
    path = _write(tmp_path, "date,v\n2024-01-01T00:00+01:00,1\n2024-01-01T01:00+01:00,2\n2024-01-01T02:00+01:00,3\n")
    series = read_series_csv(path)
    assert str(series.time[0])[:16] == "2023-12-31T23:00"
    assert series.notes == ("converted the timestamps' time-zone offsets to UTC",)


# ------------------------------------------------------------------------------------------------
# csv: file problems


def test_csv_missing_empty_not_utf8_header_only_and_one_row(tmp_path):
    assert re.search(r"missing file .*absent.csv; check the path", _error(tmp_path / "absent.csv"))
    assert "is empty; expected a header line" in _error(_write(tmp_path, "  \n\n"))
    message = _error(_write(tmp_path, HEADER.encode() + b"2020-01-01 00:00,1,caf\xe9\n"))
    assert "is not UTF-8 text: byte 0xe9" in message and "(line 2)" in message
    assert "has a header line but no data rows" in _error(_write(tmp_path, HEADER))
    assert "has only one data row" in _error(_write(tmp_path, _hours("00,1,2")))


def test_csv_malformed_lines(tmp_path):
    message = _error(_write(tmp_path, _hours("00,1,2", "01,1,2,3", "02,1,2")))
    assert "is not a readable CSV file" in message and "Expected 3 fields in line 3, saw 4" in message
    blank_line = HEADER + "2020-01-01 00:00,1,2\n\n2020-01-01 01:00,1,2\n"
    assert "line 3 is blank; remove blank lines" in _error(_write(tmp_path, blank_line))
    message = _error(_write(tmp_path, "date,a,a\n2020-01-01,1,2\n2020-01-02,1,2\n"))
    assert "line 1 names column(s) 'a' more than once" in message


# ------------------------------------------------------------------------------------------------
# csv: columns


def test_csv_missing_time_column_suggests_and_lists(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,1,2"))
    message = _error(path, time_column="Date")
    assert message == f"{path} has no time column 'Date' (did you mean 'date'?); its columns are: date, a, b"


def test_csv_missing_value_column_suggests_and_lists(tmp_path):
    path = _write(tmp_path, "date,load,temp\n2020-01-01,1,2\n2020-01-02,1,2\n")
    message = _error(path, columns=["temp", "loads"])
    assert message == f"{path} has no column 'loads' (did you mean 'load'?); its columns are: date, load, temp"
    assert "is the time column and cannot also be a value column" in _error(path, columns=["date"])
    assert "has only the time column 'date'" in _error(_write(tmp_path, "date\n2020-01-01\n2020-01-02\n"))


def test_csv_non_numeric_value_names_column_line_and_value(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,1,2", "02,1,n/a!", "03,x,4", "04,1,oops"))
    message = _error(path)
    assert message.startswith(f"{path} line 4 column 'b': 'n/a!' is not a finite number (3 such cells in all)")
    assert "line 5 column 'a': 'x'" in _error(path, columns=["a"])
    assert "'inf' is not a finite number" in _error(_write(tmp_path, _hours("00,1,2", "01,inf,2")))


# ------------------------------------------------------------------------------------------------
# csv: timestamps


def test_csv_unparseable_and_empty_timestamps(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,1,2") + "2020-13-01 02:00,1,2\nyesterday,1,2\n")
    message = _error(path)
    assert message.startswith(f"{path} line 4 column 'date': cannot parse '2020-13-01 02:00' as a timestamp")
    assert "(first line: '2020-01-01 00:00')" in message
    path = _write(tmp_path, _hours("00,1,2") + ",1,2\n")
    assert "line 3: the time column 'date' is empty" in _error(path)


def test_csv_duplicate_and_decreasing_timestamps_name_the_first_offending_line(tmp_path):
    message = _error(_write(tmp_path, _hours("00,1,2", "01,1,2", "01,3,4", "02,1,2")))
    assert "line 4: timestamp 2020-01-01 01:00:00 repeats the previous line's 2020-01-01 01:00:00" in message
    assert "sort the file and remove duplicates" in message
    message = _error(_write(tmp_path, _hours("00,1,2", "02,1,2", "01,3,4")))
    assert "line 4: timestamp 2020-01-01 01:00:00 comes before the previous line's 2020-01-01 02:00:00" in message
    # Duplicates are an error even with interpolate (there is nothing to fill).
    assert "repeats" in _error(_write(tmp_path, _hours("00,1,2", "00,1,2", "01,1,2")), interpolate=True)


def test_csv_irregular_step_is_an_error(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,1,2", "02,1,2") + "2020-01-01 03:30,1,2\n")
    message = _error(path, interpolate=True)
    assert "line 5: the step from 2020-01-01 02:00:00 to 2020-01-01 03:30:00 (90min)" in message
    assert "is not a whole number of the regular step 1h" in message


def test_csv_gaps_are_reported_without_interpolate(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,1,2", "04,4,8", "05,1,2", "07,3,0"))
    message = _error(path)
    assert message.startswith(f"{path} misses 3 timestamps in 2 gaps of the regular 1h step")
    assert "(first: 2 timestamps from 2020-01-01 02:00:00 between line 3 (2020-01-01 01:00:00) and line 4" in message
    assert message.endswith("set interpolate = true to fill them")


def test_csv_gaps_are_filled_linearly_with_interpolate(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,1,2", "04,4,8", "05,1,2", "07,3,0"))
    series = load_csv(CsvOptions(path=path.name, interpolate=True), path.parent)
    assert series.freq == "h" and len(series) == 8
    np.testing.assert_allclose(series.values[:, 0], [1, 1, 2, 3, 4, 1, 2, 3])
    np.testing.assert_allclose(series.values[:, 1], [2, 2, 4, 6, 8, 2, 1, 0])
    assert series.notes == (
        "filled 3 missing timestamps (2020-01-01 02:00:00, 2020-01-01 03:00:00, 2020-01-01 06:00:00) "
        "by linear interpolation",
    )


# ------------------------------------------------------------------------------------------------
# csv: empty cells


def test_csv_empty_cells_are_an_error_without_interpolate(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,,2", "02,NaN,8", "03,4,"))
    message = _error(path)
    assert message.startswith(f"{path} line 3 column 'a' is empty (3 empty cells in all)")
    assert "set interpolate = true" in message
    # A short row is an empty cell too.
    short_row = HEADER + "2020-01-01,1,2\n2020-01-02,1\n2020-01-03,1,2\n"
    assert "line 3 column 'b' is empty" in _error(_write(tmp_path, short_row))


def test_csv_empty_cells_are_filled_linearly_with_interpolate(tmp_path):
    path = _write(tmp_path, _hours("00,1,2", "01,,2", "02,NaN,", "03,4,8", "05,6,10"))
    series = read_series_csv(path, interpolate=True)
    np.testing.assert_allclose(series.values, [[1, 2], [2, 2], [3, 5], [4, 8], [5, 9], [6, 10]])
    assert series.notes == (
        "filled 1 missing timestamp (2020-01-01 04:00:00) by linear interpolation",
        "filled 3 empty cells (first: line 3 column 'a') by linear interpolation",
    )


def test_csv_empty_cell_on_the_first_or_last_line_cannot_be_interpolated(tmp_path):
    message = _error(_write(tmp_path, _hours("00,,2", "01,1,2", "02,1,2")), interpolate=True)
    assert "line 2 column 'a' is empty on the first data line" in message
    message = _error(_write(tmp_path, _hours("00,1,2", "01,1,2", "03,1,")), interpolate=True)
    assert "line 4 column 'b' is empty on the last data line" in message


def test_every_csv_error_is_a_bad_input_error():
    assert issubclass(DataError, BadInputError)


def test_a_spec_chooses_the_ett_file_and_15_minute_files_get_the_borders_x4(data_dir, tmp_path):
    """``[dataset] name = "ett"`` with ``file``: ETTh2 (shared copy) with its published table, and an ETTm1 built from the
    hourly file (each hour's row repeated for its four quarter-hours) split at 34,560 / 46,080 / 57,600 rows."""
    from harness.spec import parse_spec
    from harness.study import load_data

    def spec(file):
        return parse_spec({"study": {"name": "e", "task": "forecasting"},
                           "dataset": {"name": "ett", "file": file, "lookback": 96, "horizon": 96}})

    task, data = load_data(spec("ETTh2"), data_dir)
    facts = task.describe(data)
    assert facts["series"] == "ETTh2" and facts["frequency"] == "h"
    assert [r["mse"] for r in facts["published"]["rows"] if r["model"].startswith("iTransformer")] == [0.297]
    assert facts["published"]["setting"].startswith("ETTh2, M, look-back 96, horizon 96")

    hourly = _ett_frame(data_dir)
    quarter = hourly.loc[hourly.index.repeat(4)].reset_index(drop=True)
    quarter["date"] = pd.date_range("2016-07-01", periods=len(quarter), freq="15min").strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "ett").mkdir()
    quarter.to_csv(tmp_path / "ett" / "ETTm1.csv", index=False)
    task, data = load_data(spec("ETTm1"), tmp_path)
    facts = task.describe(data)
    assert facts["series"] == "ETTm1" and facts["frequency"] == "15min" and "published" not in facts
    starts = {split: data.data.starts(split) for split in ("train", "valid", "test")}
    # a window starting at s covers rows [s, s + L + H): every split ends at its border x4
    assert starts["train"][0] == 0 and starts["train"][-1] + 96 + 96 == 8640 * 4
    assert starts["valid"][0] == 8640 * 4 - 96 and starts["valid"][-1] + 192 == 11520 * 4
    assert starts["test"][0] == 11520 * 4 - 96 and starts["test"][-1] + 192 == 14400 * 4


def test_a_csv_series_splits_by_fractions_or_by_dates(data_dir, tmp_path):
    """The csv dataset's split: fractions of the rows (default 70/10/20), or the dates where validation and test start,
    each split's windows starting L rows before its first target."""
    from harness.errors import DataError as HarnessDataError
    from harness.spec import parse_spec
    from harness.study import load_data

    shutil.copy(data_dir / "ett" / "ETTh2.csv", tmp_path / "power.csv")
    time = pd.to_datetime(_ett_frame(data_dir, "ETTh2")["date"])

    def starts(**options):
        spec = parse_spec({"study": {"name": "c", "task": "forecasting"},
                           "dataset": {"name": "csv", "path": "power.csv", "lookback": 24, "horizon": 24, **options}})
        _, data = load_data(spec, tmp_path)
        return {split: data.data.starts(split) for split in ("train", "valid", "test")}

    n = len(time)
    default = starts()
    assert default["valid"][0] == int(n * 0.7) - 24 and default["test"][0] == n - int(n * 0.2) - 24
    by_fraction = starts(train_fraction=0.5, test_fraction=0.25)
    assert by_fraction["valid"][0] == int(n * 0.5) - 24 and by_fraction["test"][-1] + 48 == n
    import datetime as dt

    by_date = starts(valid_start=dt.date(2017, 7, 1), test_start="2018-01-01")  # a TOML date or ISO text
    valid_row = int((time < "2017-07-01").sum())
    test_row = int((time < "2018-01-01").sum())
    assert by_date["train"][-1] + 48 == valid_row and by_date["valid"][0] == valid_row - 24
    assert by_date["test"][0] == test_row - 24 and str(time[test_row])[:10] == "2018-01-01"
    copied = parse_spec({"study": {"name": "c", "task": "forecasting"},
                         "dataset": {"name": "csv", "path": "ETTh2.csv", "lookback": 96, "horizon": 96}})
    shutil.copy(tmp_path / "power.csv", tmp_path / "ETTh2.csv")
    task, data = load_data(copied, tmp_path)
    assert "published" not in task.describe(data)  # ETTh2's numbers belong to its standard split, not 70/10/20
    with pytest.raises(HarnessDataError, match="test_start 2017-01-01 must come after valid_start 2017-07-01"):
        starts(valid_start="2017-07-01", test_start="2017-01-01")
    with pytest.raises(HarnessDataError, match="must leave rows for every split of a series from 2016-07-01"):
        starts(valid_start="2015-01-01", test_start="2017-01-01")


@pytest.mark.parametrize("options, fragment", [
    ({"valid_start": "2017-07-01"}, "give both valid_start and test_start"),
    ({"train_fraction": 0.8, "test_fraction": 0.2}, "leaves no validation rows"),
])
def test_csv_split_options_are_checked(options, fragment):
    with pytest.raises(ValidationError, match=fragment):
        CsvOptions(path="x.csv", **options)
