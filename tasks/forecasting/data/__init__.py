"""Time series for forecasting: embedded Seattle/San Francisco temperatures, ETT, and any CSV file.

Every dataset has a pydantic options model (unknown keys are rejected) and a loader that turns
validated options and a data folder into a :class:`Series`: a regular, gap-free, NaN-free
multichannel series in original units. Splitting, scaling and windowing follow the standard
long-horizon protocol and live in :mod:`harness_tasks.forecasting.windows`. The registry :data:`DATASETS`
maps each dataset's name to a :class:`DatasetInfo`.

Datasets, one module each:
    ``vega-temps`` (:mod:`.vega`): NOAA hourly temperatures (°F) of Seattle and San Francisco for 2010, bundled
        with the vega_datasets package (https://github.com/altair-viz/vega_datasets, files
        ``seattle-temps.csv`` and ``sf-temps.csv``); needs no files.
    ``ett`` (:mod:`.ett`): Electricity Transformer Temperature, ETT-small (Zhou et al., 2021, "Informer: Beyond
        Efficient Transformer for Long Sequence Time-Series Forecasting", AAAI), the CSV files of
        https://github.com/zhouhaoyi/ETDataset (``ETT-small/``), CC BY-ND 4.0: read verbatim.
    ``csv`` (:mod:`.csv`): any CSV file with a time column and numeric value columns.

:mod:`.series` holds :class:`Series` and the checks and fills shared by the loaders (regular step, gaps, empty cells).

Every CSV goes through the same checks (:func:`read_series_csv`): the file exists, is non-empty
UTF-8 text, has the time and value columns, every value is a number, every timestamp parses,
timestamps strictly increase on a regular step, and no cell is empty. Missing timestamps and empty
cells are an error unless ``interpolate`` is set; then they are filled by linear interpolation and
the fill is recorded in :attr:`Series.notes`. Every problem raises
:class:`~harness.errors.DataError` with a one-line message naming the file, the line and the fix.
"""

from __future__ import annotations

from harness_tasks.forecasting.data.csv import CsvOptions, load_csv, read_series_csv
from harness_tasks.forecasting.data.ett import (
    ETT_CITATION,
    ETT_COLUMNS,
    ETT_HEADER,
    ETT_NAMES,
    ETT_URL,
    EttOptions,
    download_ett,
    load_ett,
)
from harness_tasks.forecasting.data.series import Series
from harness_tasks.forecasting.data.vega import VEGA_CITATION, VegaTempsOptions, load_vega_temps

from harness.task import DatasetInfo

__all__ = [
    "DATASETS",
    "ETT_CITATION",
    "ETT_COLUMNS",
    "ETT_HEADER",
    "ETT_NAMES",
    "ETT_URL",
    "VEGA_CITATION",
    "CsvOptions",
    "EttOptions",
    "Series",
    "VegaTempsOptions",
    "download_ett",
    "load_csv",
    "load_ett",
    "load_vega_temps",
    "read_series_csv",
]

DATASETS: dict[str, DatasetInfo] = {
    "vega-temps": DatasetInfo(
        name="vega-temps",
        summary="Hourly 2010 temperatures of Seattle and San Francisco, 8,760 x 2 (embedded via vega_datasets)",
        options=VegaTempsOptions,
        load=load_vega_temps,
        needs_data_dir=False,
    ),
    "ett": DatasetInfo(
        name="ett",
        summary="Electricity Transformer Temperature (ETTh1/h2 hourly, ETTm1/m2 15-min), 7 channels, target OT",
        options=EttOptions,
        load=load_ett,
        needs_data_dir=True,
        download=download_ett,
    ),
    "csv": DatasetInfo(
        name="csv",
        summary="Any CSV time series: a time column and numeric columns, checked for gaps and bad values",
        options=CsvOptions,
        load=load_csv,
        needs_data_dir=True,
    ),
}
"""Every forecasting dataset, by name."""
