"""``harness benchmark --workers N``: arms run concurrently as jobs of the launcher (local processes here), with the
same results as one process, every seeded re-run once, and a report that depends only on the storage's contents (not
on the order in which the concurrent arms wrote their re-runs)."""

from __future__ import annotations

import optuna

from harness.storage import study_system_attrs
from tests.conftest import harness_cli, harness_clis
from tests.test_benchmark import ARMS, SPEC


def _runs(url: str) -> dict[tuple[str, str, int], tuple[float, dict]]:
    parent = optuna.load_study(study_name="bench", storage=url)
    keys = [(t.user_attrs["problem"], t.user_attrs["arm_slug"], t.user_attrs["seed_index"])
            for t in parent.trials if t.state.name == "COMPLETE"]
    assert len(keys) == len(set(keys))  # each seed of each arm once
    return {(t.user_attrs["problem"], t.user_attrs["arm_slug"], t.user_attrs["seed_index"]): (t.value, t.user_attrs["test"])
            for t in parent.trials if t.state.name == "COMPLETE"}


def _copy_with_parent_trials_reversed(src: str, dst: str) -> None:
    """``dst``: every study of ``src``, the parent's trials added in the reverse order."""
    for summary in optuna.get_all_study_summaries(src):
        if summary.study_name != "bench":
            optuna.copy_study(from_study_name=summary.study_name, from_storage=src, to_storage=dst)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    parent = optuna.load_study(study_name="bench", storage=src)
    copy = optuna.create_study(study_name="bench", storage=dst, direction=parent.direction)
    storage = copy._storage
    for key, value in parent.user_attrs.items():
        storage.set_study_user_attr(copy._study_id, key, value)
    for key, value in study_system_attrs(parent).items():
        storage.set_study_system_attr(copy._study_id, key, value)
    copy.add_trials(list(reversed(parent.trials)))


def test_arms_run_in_parallel_like_in_one_process_and_the_report_ignores_the_order(tmp_path):
    (tmp_path / "bench.toml").write_text(SPEC)
    parallel, sequential = f"sqlite:///{tmp_path / 'p.db'}", f"sqlite:///{tmp_path / 's.db'}"
    par, seq = harness_clis(("benchmark", "bench.toml", "--storage", parallel, "--problem", "numbers-small", "--workers", "2"),
                            ("benchmark", "bench.toml", "--storage", sequential, "--problem", "numbers-small", "--quiet"),
                            cwd=tmp_path, timeout=600)
    assert par.returncode == 0 and seq.returncode == 0, par.stderr + seq.stderr
    assert "4 arm(s) to run, 2 at a time (local, 1 torch thread(s) each)" in par.stdout
    runs = _runs(parallel)
    assert set(runs) == {("numbers-small", arm, k) for arm in ARMS for k in range(3)}
    assert runs == _runs(sequential)  # one torch thread each: the same inner searches, re-runs and test metrics

    _copy_with_parent_trials_reversed(parallel, f"sqlite:///{tmp_path / 'r.db'}")
    a, b = harness_clis(("report", "bench", "--storage", parallel, "--out", str(tmp_path / "a" / "bench.md")),
                        ("report", "bench", "--storage", f"sqlite:///{tmp_path / 'r.db'}", "--out",
                         str(tmp_path / "b" / "bench.md")), cwd=tmp_path)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    copied = (tmp_path / "b" / "bench.md").read_text()
    assert "r.db" in copied  # the only difference: the storage named in the reproducibility commands
    assert (tmp_path / "a" / "bench.md").read_text() == copied.replace("r.db", "p.db")
    pngs = sorted((tmp_path / "a" / "bench").glob("*.png"))
    assert pngs and all(p.read_bytes() == (tmp_path / "b" / "bench" / p.name).read_bytes() for p in pngs)

    again = harness_cli("benchmark", "bench.toml", "--storage", parallel, "--problem", "numbers-small", "--workers", "2",
                        cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "arm(s) to run" not in again.stdout and "12 seeded re-runs (0 this run" in again.stdout  # nothing left
