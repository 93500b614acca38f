"""`harness rescore`: every stored test metric recomputed from the stored outputs of a real study."""

from __future__ import annotations

import optuna
import pytest

from harness.storage import get_output, study_system_attrs
from tests.conftest import harness_cli, write_tiny_spec


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rescore")
    spec = write_tiny_spec(folder, "resc", n_trials=4)
    spec.write_text(spec.read_text().replace("seed = 0\n\n[dataset]", 'seed = 0\ntest = "best-per-family"\n\n[dataset]', 1))
    url = f"sqlite:///{folder / 'r.db'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, "--quiet", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return {"folder": folder, "url": url}


def test_every_test_evaluation_stores_its_outputs_and_the_references(study):
    s = optuna.load_study(study_name="resc", storage=study["url"])
    system = study_system_attrs(s)
    refs = get_output(system, "references.test")
    assert len(refs["references"]) == len(refs["sources"]) == 40  # the tiny spec's test_size
    result = s.user_attrs["test_result"]
    assert len(get_output(system, result["outputs"])["hypotheses"]) == 40
    families = s.user_attrs["family_results"]
    assert set(families) == {t.user_attrs["config"]["model"] for t in s.trials if t.state.name == "COMPLETE"}
    baselines = s.user_attrs["baselines"]
    assert baselines["chosen_on"] == "validation" and baselines["strongest"] is not None
    for row in baselines["rows"]:
        assert row["error"] is None and len(get_output(system, row["outputs"])["hypotheses"]) == 40


def test_rescore_matches_every_stored_metric(study):
    proc = harness_cli("rescore", "resc", "--storage", study["url"], cwd=study["folder"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All " in proc.stdout and "stored test metrics match" in proc.stdout
    assert "baseline copy_source" in proc.stdout and "best trial: trial" in proc.stdout


def test_a_tampered_metric_is_reported_and_exits_1(study, tmp_path):
    import shutil

    db = tmp_path / "tampered.db"
    shutil.copy(study["folder"] / "r.db", db)
    url = f"sqlite:///{db}"
    s = optuna.load_study(study_name="resc", storage=url)
    result = dict(s.user_attrs["test_result"])
    result["metrics"] = {**result["metrics"], "chrf": result["metrics"]["chrf"] + 1.0}
    s.set_user_attr("test_result", result)
    proc = harness_cli("rescore", "resc", "--storage", url, cwd=tmp_path)
    assert proc.returncode == 1
    assert "stored test metrics differ from their recomputed values" in proc.stderr
    assert "NO" in proc.stdout


def test_a_study_without_outputs_is_bad_input(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="bare", storage=url).set_user_attr("task", "translation")
    proc = harness_cli("rescore", "bare", "--storage", url, cwd=tmp_path)
    assert proc.returncode == 2 and "has no stored test outputs to rescore" in proc.stderr
    assert "Traceback" not in proc.stderr
