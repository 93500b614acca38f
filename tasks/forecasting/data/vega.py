"""The embedded ``vega-temps`` dataset: NOAA hourly temperatures (°F) of Seattle and San Francisco for 2010, bundled
with the vega_datasets package (https://github.com/altair-viz/vega_datasets, files ``seattle-temps.csv`` and
``sf-temps.csv``); needs no files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from harness_tasks.forecasting.data.series import (
    Series,
    check_increasing,
    count,
    fill_empty,
    fill_gaps,
    freq_alias,
    list_times,
    regular_step,
)
from pydantic import BaseModel, ConfigDict

from harness.errors import DataError
from harness.task import DatasetInfo

if TYPE_CHECKING:
    import pandas as pd

VEGA_CITATION = (
    "NOAA hourly temperatures 2010 (public domain) via vega_datasets seattle-temps.csv and sf-temps.csv"
)


class VegaTempsOptions(BaseModel):
    """Options of the embedded ``vega-temps`` dataset (it has none)."""

    model_config = ConfigDict(extra="forbid")


def load_vega_temps(options: VegaTempsOptions | None = None, data_dir: Path | None = None) -> Series:
    """Hourly 2010 temperatures (°F) of Seattle and San Francisco as a 2-channel series.

    Both vega_datasets files hold 8,759 hourly rows in local time: the hour that daylight saving
    skips in spring (2010-03-14 03:00) is absent, a 2-hour step. The two files are joined on time
    (their timestamps must be identical), the series is reindexed to every hour of the year and
    the missing hour is filled by linear interpolation between its neighbours, giving 8,760 rows.

    Args:
        options: Validated options (there are none).
        data_dir: Ignored (the data ships with vega_datasets).

    Returns:
        The series, columns ``("seattle", "san_francisco")``, freq ``"h"``; ``notes`` names the
        interpolated hour.

    Raises:
        DataError: vega_datasets is not installed, or its two files disagree on the timestamps.
    """
    import pandas as pd
    try:
        from vega_datasets import local_data
    except ImportError as e:
        raise DataError("dataset 'vega-temps' needs the vega_datasets package: pip install 'vega_datasets>=0.9'") from e
    sources = {"seattle": local_data.seattle_temps(), "san_francisco": local_data.sf_temps()}
    times = {name: pd.DatetimeIndex(frame["date"]).as_unit("ns") for name, frame in sources.items()}
    seattle, san_francisco = times["seattle"], times["san_francisco"]
    if not seattle.equals(san_francisco):
        differ = _first_difference(seattle, san_francisco)
        raise DataError(
            f"vega-temps: seattle-temps ({len(seattle)} rows) and sf-temps ({len(san_francisco)} rows) must have "
            f"identical timestamps but differ first at row {differ}; reinstall vega_datasets"
        )
    values = np.column_stack([frame["temp"].to_numpy(dtype=np.float64) for frame in sources.values()])
    where = "vega-temps (seattle-temps.csv, sf-temps.csv)"
    check_increasing(seattle, where, line_offset=2)
    step = regular_step(seattle, where, line_offset=2)
    time, values, added = fill_gaps(seattle, values, step)
    values, _ = fill_empty(values, added, list(sources), where, interpolate=False, line_offset=2)
    notes = ()
    if added.any():
        dst = " (the daylight-saving spring-forward hour, absent from both files)" if added.sum() == 1 else ""
        notes = (
            f"filled {count(int(added.sum()), 'missing hour')} ({list_times(time[added])}) by linear "
            f"interpolation in both columns{dst}",
        )
    return Series(
        name="vega-temps",
        time=time.to_numpy(),
        values=values,
        columns=tuple(sources),
        freq=freq_alias(time, step),
        citation=VEGA_CITATION,
        notes=notes,
    )


def _first_difference(a: pd.DatetimeIndex, b: pd.DatetimeIndex) -> int:
    """Index of the first position where ``a`` and ``b`` differ (or the shorter length)."""
    n = min(len(a), len(b))
    unequal = np.flatnonzero(a[:n].to_numpy() != b[:n].to_numpy())
    return int(unequal[0]) if len(unequal) else n


VEGA_TEMPS = DatasetInfo(
    name="vega-temps",
    summary="Hourly 2010 temperatures of Seattle and San Francisco, 8,760 x 2 (embedded via vega_datasets)",
    options=VegaTempsOptions,
    load=load_vega_temps,
    needs_data_dir=False,
)
"""The ``vega-temps`` dataset, registered as ``forecasting.vega-temps`` in the ``harness.datasets`` entry points."""
