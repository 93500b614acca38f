"""The scripts in benchmarks/ start: each parses ``--help`` (imports included) in a real subprocess.

Benchmarks never run inside the suite (their numbers come from ``make bench`` on an idle machine); this only
catches a script broken by a change elsewhere. ``make bench`` runs every script listed here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_every_script_is_in_make_bench():
    makefile = (BENCHMARKS.parent / "Makefile").read_text()
    assert SCRIPTS, "no benchmark scripts found"
    assert [s for s in SCRIPTS if f"benchmarks/{s}" not in makefile] == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_starts(script):
    results = BENCHMARKS / "RESULTS.md"
    before = results.read_text() if results.exists() else None
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout and "--quick" in proc.stdout
    assert (results.read_text() if results.exists() else None) == before  # --help measures and records nothing


def test_search_efficiency_specs_are_valid():
    """Every strategy's study spec parses (study names must be safe file names: no '+')."""
    import argparse

    sys.path.insert(0, str(BENCHMARKS))
    try:
        import search_efficiency
    finally:
        sys.path.remove(str(BENCHMARKS))
    args = argparse.Namespace(trials=3, epochs=2, train_examples=100, valid_examples=50, threads=1)
    pairs = [(problem, strategy) for problem in search_efficiency.PROBLEMS for strategy in search_efficiency.STRATEGIES]
    specs = [search_efficiency.make_spec(problem, strategy, 0, args) for problem, strategy in pairs]
    assert len({spec.name for spec in specs}) == len(pairs)
    assert all(spec.study.n_trials == 3 and spec.budget.max_epochs == 2 for spec in specs)
