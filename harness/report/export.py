"""Export a study's trials as a table (CSV or Parquet, with pandas), from the storage alone.

One row per trial: ``study``, ``number``, ``state``, ``value``, ``datetime_start``,
``datetime_complete``, then ``param:<name>`` for every parameter, ``attr:<name>`` for every user
attribute (series split over several attributes are joined back), and ``intermediate_values`` (the
objective reported per epoch). Lists and dicts (curves, configurations, test metrics) are JSON text,
so that CSV and Parquet hold the same thing and reading the file back gives the stored values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.errors import BadInputError
from harness.report.rdb import read_trials
from harness.storage import get_series

FORMATS = ("csv", "parquet")
_PART = re.compile(r"^(?P<key>.+)\.(?:parts|\d+)$")


def trials_table(study: Any):
    """The trials of an Optuna study as a pandas DataFrame (see the module docstring)."""
    import pandas as pd

    rows = []
    for t in read_trials(study):
        row: dict[str, Any] = {
            "study": study.study_name, "number": t.number, "state": t.state.name, "value": t.value,
            "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
            "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
        }
        for name in sorted(t.params):
            row[f"param:{name}"] = t.params[name]
        for name in sorted(_attr_names(t.user_attrs)):
            row[f"attr:{name}"] = _cell(get_series(t.user_attrs, name))
        row["intermediate_values"] = json.dumps({str(k): v for k, v in sorted(t.intermediate_values.items())})
        rows.append(row)
    frame = pd.DataFrame(rows)
    fixed = ["study", "number", "state", "value", "datetime_start", "datetime_complete"]
    rest = sorted(c for c in frame.columns if c not in fixed and c != "intermediate_values")
    return frame[[c for c in fixed if c in frame.columns] + rest + (["intermediate_values"] if rows else [])]


def _attr_names(attrs: dict[str, Any]) -> set[str]:
    names = set()
    for key in attrs:
        match = _PART.match(key)
        names.add(match.group("key") if match and f"{match.group('key')}.parts" in attrs else key)
    return names


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def export_study(study: Any, fmt: str, out: Path) -> Path:
    """Write the trials table of ``study`` to ``out`` as ``fmt`` (``csv`` or ``parquet``).

    Raises:
        BadInputError: unknown format, Parquet without pyarrow, or ``out`` cannot be written.
    """
    from harness.report import output_folder

    if fmt not in FORMATS:
        from harness.errors import unknown_name_message

        raise BadInputError(unknown_name_message("export format", fmt, FORMATS))
    frame = trials_table(study)
    output_folder(out)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "csv":
            frame.to_csv(tmp, index=False)
        else:
            try:
                frame.to_parquet(tmp, index=False)
            except ImportError as exc:
                raise BadInputError(f"parquet export needs pyarrow ({exc}); pip install pyarrow, or use --format csv") from None
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
