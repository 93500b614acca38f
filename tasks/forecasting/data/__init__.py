"""Time series for forecasting: embedded Seattle/San Francisco temperatures, ETT, and any CSV file.

Every dataset has a pydantic options model (unknown keys are rejected) and a loader that turns validated options
and a data folder into a :class:`Series`: a regular, gap-free, NaN-free multichannel series in original units.
Splitting, scaling and windowing follow the standard long-horizon protocol and live in
:mod:`harness_tasks.forecasting.windows`. Each dataset's module ends with its :class:`~harness.task.DatasetInfo`
(``ETT``), registered as ``forecasting.<name>`` in the ``harness.datasets`` entry points of pyproject.toml, the
same way a plugin registers a dataset; the task's :meth:`datasets` reads them from there.

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

from harness_tasks.forecasting.data.csv import CSV, CsvOptions, load_csv, read_series_csv
from harness_tasks.forecasting.data.ett import (
    ETT,
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
from harness_tasks.forecasting.data.vega import VEGA_CITATION, VEGA_TEMPS, VegaTempsOptions, load_vega_temps

__all__ = [
    "CSV",
    "ETT",
    "ETT_CITATION",
    "ETT_COLUMNS",
    "ETT_HEADER",
    "ETT_NAMES",
    "ETT_URL",
    "VEGA_CITATION",
    "VEGA_TEMPS",
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
