"""The markdown report of a study, with PNG plots, built from the storage alone.

    from harness.report import write_report
    write_report("quickstart")          # -> reports/quickstart.md and reports/quickstart/*.png

Reads the study's user attributes and trials (:mod:`harness.report.load`), computes the tables
(:mod:`harness.report.tables`), draws the figures (:mod:`harness.report.plots`) and assembles the text
(:mod:`harness.report.markdown`). Never imports PyTorch, a task, or the training code; the same storage
gives byte-identical files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.report.load import StudyData, load_study_data


def write_report(study_name: str, *, storage: str | None = None, out: Path | None = None) -> Path:
    """Write the markdown report of ``study_name`` and its PNG plots.

    Reads only the storage. Writes ``out`` (default ``reports/<study>.md`` relative to the working
    directory) and the PNGs into the folder ``<study>/`` beside it (created if needed), each file
    atomically (a temporary file, then :func:`os.replace`); a plot that has nothing to draw this time has
    its old PNG removed. The PNGs are written before the markdown, so the markdown never links a missing file.

    Args:
        study_name: Name of the study.
        storage: SQLAlchemy URL; default ``$HARNESS_STORAGE`` or ``sqlite:///harness.db``.
        out: Markdown file to write.

    Returns:
        The markdown file written.

    Raises:
        StorageError: no storage, or no such study (the message lists the studies there).
        BadInputError: ``out`` cannot be written (:func:`output_folder`).
    """
    from harness.report.load import find_study
    from harness.report.markdown import build_markdown
    from harness.report.plots import (
        attention_plot,
        caption_plot,
        curves_plot,
        forecast_plot,
        history_plot,
        importance_plot,
        lr_plot,
    )
    from harness.report.tables import param_importances

    out = Path(out) if out is not None else Path("reports") / f"{study_name}.md"
    study = find_study(study_name, storage)
    output_folder(out)  # before the plots are drawn
    if study.user_attrs.get("benchmark"):
        from harness.report.benchmark import write_benchmark_report

        return write_benchmark_report(study_name, study, storage, out)
    data = load_study_data(study_name, storage)
    folder = out.parent / study_name
    importances = param_importances(data)
    pngs = {
        "history": history_plot(data),
        "lr": lr_plot(data),
        "curves": curves_plot(data),
        "importances": importance_plot(importances),
    }
    attention_note = None
    example = data.attrs.get("attention_example")
    pngs["attention"], attention_note = attention_plot(example) if example else (None, None)
    forecast = data.attrs.get("forecast_example")
    pngs["forecast"] = forecast_plot(forecast) if forecast else None
    captions = data.attrs.get("caption_example") or {}
    for k in range(int(captions.get("samples", 0))):
        sample = data.attrs.get(f"caption_sample_{k}")
        pngs[f"caption_{k}"] = caption_plot(sample, tuple(captions.get("grid", (1, 1)))) if sample else None

    output_folder(out)
    images = write_pngs(folder, pngs)  # figure key = file name (history.png, caption_0.png, ...)
    text = build_markdown(data, images=images, importances=importances, attention_note=attention_note)
    atomic_write(out, text.encode("utf-8"))
    return out


def write_pngs(folder: Path, pngs: dict[str, bytes | None]) -> dict[str, str]:
    """Write each ``<name>.png`` into ``folder`` (created when needed) atomically; remove the old file of a figure
    with nothing to draw (``None``). Returns the written figures' paths relative to ``folder``'s parent
    (``<folder name>/<name>.png``, URL-quoted), by name."""
    images: dict[str, str] = {}
    for name, png in pngs.items():
        target = folder / f"{name}.png"
        if png is None:
            if target.is_file():
                target.unlink()
            continue
        folder.mkdir(exist_ok=True)
        atomic_write(target, png)
        images[name] = f"{_url(folder.name)}/{name}.png"
    return images


def output_folder(out: Path, option: str = "--out") -> None:
    """Create the folder ``out`` goes in (with its parents) and check that it can be written there.

    Raises:
        BadInputError: ``out`` is a directory, or its folder cannot be created or written (names ``option``).
    """
    from harness.errors import BadInputError

    if out.is_dir():
        raise BadInputError(f"{option} '{out}' is a directory; give a file path, e.g. {out / 'report.md'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot write {option} '{out}': cannot create '{out.parent}' ({exc.strerror})") from None
    try:  # a real file: permissions alone do not tell (a read-only mount, /proc, a full quota)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as exc:
        raise BadInputError(f"cannot write {option} '{out}': '{out.parent}' takes no files ({exc.strerror})") from None


def atomic_write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder and :func:`os.replace`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _url(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


__all__ = ["write_report", "load_study_data", "StudyData", "atomic_write"]
