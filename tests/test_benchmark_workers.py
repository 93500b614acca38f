"""``harness benchmark --workers N``: each arm's inner search, then each of its seeded re-runs, run concurrently as
jobs of the launcher (local processes here), with the same results as one process, every seeded re-run once, the
validation-best seed's model kept, and a report that depends only on the storage's contents (not on the order in which
the concurrent jobs wrote their re-runs)."""

from __future__ import annotations

import optuna
import pytest

from harness.storage import study_system_attrs
from tests.conftest import harness_cli, harness_clis
from tests.test_benchmark import ARMS, SPEC

# Each test runs whole benchmarks in subprocesses that may take up to 600 s: the suite's 300 s per test would end one
# on a busy machine (seen: three benchmark processes beside two training jobs on 2 cores) before its own time limit.
pytestmark = pytest.mark.timeout(900)


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


def _kept_and_best(url: str) -> tuple[dict[str, float], dict[str, float]]:
    """Per ``<problem>.<arm>``: the validation value of the kept model, and the best validation value of its re-runs."""
    from harness.artifacts import kept_models

    parent = optuna.load_study(study_name="bench", storage=url)
    best: dict[str, float] = {}
    for t in parent.trials:
        if t.state.name == "COMPLETE":
            key = f"{t.user_attrs['problem']}.{t.user_attrs['arm_slug']}"
            best[key] = max(best.get(key, t.value), t.value)
    return {key: record["value"] for key, record in kept_models(parent).items()}, best


def test_the_seeded_re_runs_of_one_arm_run_side_by_side(tmp_path):
    """One arm, two seeds, two workers: after the inner search both re-runs run at the same time (their stored
    intervals overlap), each once, each on the GPU of its worker slot (``--devices 3,5``: no GPU here, so only its
    ``CUDA_VISIBLE_DEVICES`` tells, and auto trains on the CPU), and the arm keeps the model of its validation-best
    seed."""
    spec = (SPEC.replace('attention = ["dot", "additive"]', 'attention = ["additive"]')
            .replace('schedule = ["constant", "cosine"]', 'schedule = "cosine"')
            .replace('factors = ["attention", "schedule"]', 'factors = ["attention"]')
            .replace("inner_trials = 2", "inner_trials = 1").replace("seeds = 3", "seeds = 2")
            .replace("train_size = 160", "train_size = 600").replace("max_epochs = 2", "max_epochs = 3"))
    (tmp_path / "one.toml").write_text(spec)
    url = f"sqlite:///{tmp_path / 'one.db'}"
    proc = harness_cli("benchmark", "one.toml", "--storage", url, "--problem", "numbers-en-de", "--workers", "2",
                       "--devices", "3,5", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "1 arm(s) to run: their inner searches, then 2 seeded re-run(s), each a job, 2 at a time" in proc.stdout
    parent = optuna.load_study(study_name="bench", storage=url)
    runs = [t for t in parent.trials if t.state.name == "COMPLETE"]
    assert sorted(t.user_attrs["seed_index"] for t in runs) == [0, 1]
    spans = [(t.datetime_complete.timestamp() - t.user_attrs["seconds"], t.datetime_complete.timestamp()) for t in runs]
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans  # both ran at once
    assert sorted(t.user_attrs["device"]["visible_devices"] for t in runs) == ["3", "5"]  # one slot's GPU each
    kept, best = _kept_and_best(url)
    assert kept == best == {"numbers-en-de.additive": max(t.value for t in runs)}


def test_arms_run_in_parallel_like_in_one_process_and_the_report_ignores_the_order(tmp_path):
    (tmp_path / "bench.toml").write_text(SPEC)
    parallel, sequential = f"sqlite:///{tmp_path / 'p.db'}", f"sqlite:///{tmp_path / 's.db'}"
    par, seq = harness_clis(("benchmark", "bench.toml", "--storage", parallel, "--problem", "numbers-small", "--workers", "2"),
                            ("benchmark", "bench.toml", "--storage", sequential, "--problem", "numbers-small", "--quiet"),
                            cwd=tmp_path, timeout=600)
    assert par.returncode == 0 and seq.returncode == 0, par.stderr + seq.stderr
    assert ("4 arm(s) to run: their inner searches, then 12 seeded re-run(s), each a job, 2 at a time (local, 1 torch "
            "thread(s) each)") in par.stdout
    runs = _runs(parallel)
    assert set(runs) == {("numbers-small", arm, k) for arm in ARMS for k in range(3)}
    assert runs == _runs(sequential)  # one torch thread each: the same inner searches, re-runs and test metrics
    kept, best = _kept_and_best(parallel)
    assert kept == best  # each arm kept its validation-best seed, whichever re-run finished first

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
