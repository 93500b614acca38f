"""A resumed study searches the space it was created with, whatever plugins were installed since.

The plugin is a real distribution (its module, ``METADATA`` and ``entry_points.txt`` in a ``.dist-info`` folder, what
pip writes) on the subprocess's ``PYTHONPATH``, registering an attention type through the ``harness.attention`` entry
point group; without the frozen space its new choice changes the default ``attention`` categorical and Optuna refuses
every new trial of the study.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna

from tests.conftest import harness_cli, install_plugin

SPEC = """\
[study]
name = "frozen"
task = "translation"
metric = "chrf"
n_trials = {n_trials}
seed = 0

[dataset]
name = "numbers-en-de"
train_size = 200
valid_size = 30
test_size = 30
max_number = 999
vocab_size = 64

[budget]
max_epochs = 1
threads = 1

[sampler]
name = "random"
seed = 0

[search]
model = "rnn"
schedule = "constant"
hidden_size = 16
embedding_size = 8
layers = 1
"""

PLUGIN = '''
"""A plugin attention type: uniform weights over the unmasked keys."""
import torch
from harness.attention import Attention, expand_mask


class Uniform(Attention):
    """Uniform attention over the real keys (a plugin of the tests)."""

    def forward(self, query, key, value, mask=None, need_weights=True):
        scores = torch.zeros(query.size(0), query.size(1), key.size(1), device=query.device)
        mask = expand_mask(mask, query, key)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return weights @ value, weights
'''


def install_uniform(site: Path) -> dict[str, str]:
    return install_plugin(site, "harness_uniform_attention", PLUGIN,
                          {"harness.attention": {"uniform": "harness_uniform_attention:Uniform"}})


def attention_choices(db: Path) -> set[tuple[str, ...]]:
    study = optuna.load_study(study_name="frozen", storage=f"sqlite:///{db}")
    return {tuple(t.distributions["attention"].choices) for t in study.trials if "attention" in t.distributions}


def test_resume_after_a_plugin_keeps_the_stored_space(tmp_path):
    spec = tmp_path / "frozen.toml"
    spec.write_text(SPEC.format(n_trials=1))
    db = tmp_path / "s.db"
    first = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{db}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    built_in = attention_choices(db)
    assert len(built_in) == 1 and "uniform" not in next(iter(built_in))

    env = install_uniform(tmp_path / "site")
    listed = harness_cli("list", "attention", cwd=tmp_path, env=env)
    assert "uniform" in listed.stdout, listed.stdout + listed.stderr  # the plugin is installed and seen
    spec.write_text(SPEC.format(n_trials=2))  # run control: resumes the same study
    resumed = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{db}", cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming with the search space stored when the study was created" in resumed.stdout
    assert "attention:" in resumed.stdout and "uniform" in resumed.stdout
    study = optuna.load_study(study_name="frozen", storage=f"sqlite:///{db}")
    assert sum(t.state.name == "COMPLETE" for t in study.trials) == 2
    assert attention_choices(db) == built_in  # every trial sampled from the choices stored at creation


def test_a_study_stored_before_frozen_domains_takes_them_from_its_trials(tmp_path):
    """A study without ``search_domains`` (stored by an older version) resumes with its trials' distributions."""
    spec = tmp_path / "frozen.toml"
    spec.write_text(SPEC.format(n_trials=1))
    db = tmp_path / "s.db"
    assert harness_cli("run-study", str(spec), "--storage", f"sqlite:///{db}", cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM study_user_attributes WHERE key = 'search_domains'")
    built_in = attention_choices(db)
    env = install_uniform(tmp_path / "site")
    spec.write_text(SPEC.format(n_trials=2))
    resumed = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{db}", cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert attention_choices(db) == built_in
