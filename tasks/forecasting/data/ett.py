"""The ``ett`` dataset: Electricity Transformer Temperature, ETT-small (Zhou et al., 2021, "Informer: Beyond Efficient
Transformer for Long Sequence Time-Series Forecasting", AAAI), the CSV files of https://github.com/zhouhaoyi/ETDataset
(``ETT-small/``), CC BY-ND 4.0: read verbatim with every check of :func:`~harness_tasks.forecasting.data.csv.read_series_csv`;
:func:`download_ett` fetches them and checks each file's header.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from harness_tasks.forecasting.data.csv import read_series_csv
from harness_tasks.forecasting.data.series import Series
from pydantic import BaseModel, ConfigDict, Field

from harness.datafiles import RelativePath, dataset_folder, fetch, how_to_get
from harness.errors import DataError, hint_suffix
from harness.task import DatasetInfo

ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/"
"""Public folder holding the four ETT-small CSV files (the dataset's own GitHub repository)."""

ETT_NAMES = ("ETTh1", "ETTh2", "ETTm1", "ETTm2")
"""The ETT-small files: two transformers, each sampled hourly (``h``) and every 15 minutes (``m``)."""

ETT_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
"""ETT's value columns: high/middle/low useful and useless load, and oil temperature (the target)."""

ETT_HEADER = "date," + ",".join(ETT_COLUMNS)
"""The first line of every ETT file."""

ETT_CITATION = (
    "ETT-small (Zhou et al., Informer, AAAI 2021; github.com/zhouhaoyi/ETDataset), CC BY-ND 4.0"
)


class EttOptions(BaseModel):
    """Options of the ``ett`` dataset (one ETT-small file): ``[dataset] name = "ett"`` with ``file = "ETTh2"``."""

    model_config = ConfigDict(extra="forbid")

    file: Literal["ETTh1", "ETTh2", "ETTm1", "ETTm2"] = Field(
        "ETTh1", description="which ETT-small file: ETTh1, ETTh2 (hourly), ETTm1, ETTm2 (15-minute, borders x4)")
    subdir: RelativePath = Field("ett", min_length=1, description="folder under the data directory")

    def borders(self, series: Series, lookback: int):
        """The standard ETT split (:func:`~harness_tasks.forecasting.windows.ett_borders`, x4 for the 15-minute files)."""
        from harness_tasks.forecasting.windows import ett_borders

        return ett_borders(self.file, lookback)


def load_ett(options: EttOptions, data_dir: Path | None) -> Series:
    """Read ``<data_dir>/<subdir>/<file>.csv``, verbatim, with every CSV check.

    The files have the header ``date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT``; ETTh1/ETTh2 hold 17,420
    hourly rows (2016-07-01 to 2018-06-26), ETTm1/ETTm2 69,680 rows every 15 minutes. The
    standard protocol uses only the first 14,400 (x4) rows; see
    :func:`harness_tasks.forecasting.windows.ett_borders`.

    Args:
        options: Validated options.
        data_dir: The data folder that contains ``<subdir>/``.

    Returns:
        The series, all seven columns, freq ``"h"`` (ETTh*) or ``"15min"`` (ETTm*).

    Raises:
        DataError: The folder or file is missing, or the file fails a CSV check, lacks an ETT
            column, or is not sampled at its name's frequency.
    """
    folder = dataset_folder(data_dir, options.subdir, "ett", ETT_URL)
    path = folder / f"{options.file}.csv"
    series = read_series_csv(
        path,
        time_column="date",
        columns=ETT_COLUMNS,
        name=options.file,
        citation=ETT_CITATION,
        missing_hint=how_to_get("ett", Path(data_dir), ETT_URL),
    )
    expected = "h" if options.file.startswith("ETTh") else "15min"
    if series.freq != expected:
        raise DataError(
            f"{path} has a step of '{series.freq}' but {options.file} must be sampled every '{expected}'; "
            "delete it and download it again"
        )
    return series


def download_ett(
    data_dir: Path,
    names: Sequence[str] = ETT_NAMES,
    base_url: str = ETT_URL,
    *,
    subdir: str = "ett",
) -> None:
    """Download ETT-small CSV files into ``<data_dir>/<subdir>/``.

    Files already present are kept. Each file is written to a temporary file in the same folder,
    checked to start with the ETT header, and then renamed, so an interrupted download leaves no
    half-written file.

    Args:
        data_dir: The data folder; ``<subdir>/`` is created inside it.
        names: Which files, a subset of ``ETTh1``, ``ETTh2``, ``ETTm1``, ``ETTm2``.
        base_url: Folder URL holding ``<name>.csv`` (``https://``, ``http://`` or ``file://``).
        subdir: Folder under ``data_dir`` (the ``subdir`` option of :class:`EttOptions`).

    Raises:
        DataError: A name is not an ETT file, or a file cannot be fetched or is not an ETT CSV.
    """
    for name in names:
        if name not in ETT_NAMES:
            raise DataError(f"unknown ETT file '{name}'{hint_suffix(name, ETT_NAMES)}; accepted: {', '.join(ETT_NAMES)}")
    folder = Path(data_dir) / subdir
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        destination = folder / f"{name}.csv"
        if not destination.exists():
            fetch(base_url.rstrip("/") + f"/{name}.csv", destination, _check_ett_header)


def _check_ett_header(path: Path, url: str) -> None:
    """Raise :class:`DataError` unless ``path`` (downloaded from ``url``) starts with the ETT header."""
    with open(path, "rb") as f:
        first = f.readline(len(ETT_HEADER) + 16).decode("utf-8", errors="replace").strip().removeprefix("\ufeff")
    if first != ETT_HEADER:
        raise DataError(f"{url} is not an ETT CSV: its first line is '{first[:60]}', expected '{ETT_HEADER}'")


ETT = DatasetInfo(
    name="ett",
    summary="Electricity Transformer Temperature (ETTh1/h2 hourly, ETTm1/m2 15-min), 7 channels, target OT",
    options=EttOptions,
    load=load_ett,
    needs_data_dir=True,
    download=download_ett,
)
"""The ``ett`` dataset, registered as ``forecasting.ett`` in the ``harness.datasets`` entry points."""
