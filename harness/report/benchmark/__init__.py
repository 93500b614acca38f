"""The report of a benchmark (``harness benchmark``), from the storage alone.

Split like the study report: :mod:`~harness.report.benchmark.load` reads the parent study (one trial per
seeded re-run) and the inner studies it names, :mod:`~harness.report.benchmark.tables` computes the tables
and statistics (best arm chosen on validation, paired comparisons on test, baselines, failures),
:mod:`~harness.report.benchmark.plots` draws the figures, :mod:`~harness.report.benchmark.markdown`
assembles the text. Deterministic: the same storage gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.report.benchmark.load import BenchmarkData, SeedRun, load_benchmark


def write_benchmark_report(name: str, study: Any, storage: str | None, out: Path) -> Path:
    """Write ``out`` and its PNGs (folder ``<name>/`` beside it) for the benchmark ``name``; returns ``out``."""
    from harness.report import atomic_write, output_folder, write_pngs
    from harness.report.benchmark import plots as P
    from harness.report.benchmark import tables as T
    from harness.report.benchmark.markdown import document
    from harness.report.stats import cd_diagram_png

    data = load_benchmark(name, storage, study)
    folder = out.parent / name
    output_folder(out)
    pngs: dict[str, bytes | None] = {}
    for problem in data.problems:
        slug = problem.replace("/", "_")
        pngs[f"{slug}-seeds"] = P.seeds_plot(data, problem)
        pngs[f"{slug}-best-so-far"] = P.best_so_far_plot(data, problem)
        pngs[f"{slug}-lr"] = P.lr_sensitivity_plot(data, problem)
    if T.rank_table(data) is not None:
        pngs["profile"] = P.profile_plot(data)
        friedman = T.friedman(data)
        pngs["cd"] = cd_diagram_png(friedman) if friedman is not None and friedman.significant else None
    images = write_pngs(folder, pngs)
    atomic_write(out, document(data, images).encode("utf-8"))
    return out


__all__ = ["write_benchmark_report", "load_benchmark", "BenchmarkData", "SeedRun"]
