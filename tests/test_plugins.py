"""Extension points used by a real plugin distribution (module, ``METADATA`` and ``entry_points.txt`` on the path, as
pip installs one): a plugin adds a dataset to a built-in task and a study runs on it."""

from __future__ import annotations

import optuna

from tests.conftest import harness_cli, install_plugin

DATASET_PLUGIN = '''
"""A translation dataset of a plugin: digit sequences to English digit words."""
import random

from pydantic import BaseModel, ConfigDict, Field

from harness.task import DatasetInfo

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(300, ge=10, description="training pairs")


def load(options, data_dir):
    from tasks.translation.data import Corpus, Example

    rng = random.Random(0)

    def pair():
        digits = [rng.randrange(10) for _ in range(rng.randint(1, 5))]
        return " ".join(map(str, digits)), " ".join(WORDS[d] for d in digits)

    train = [pair() for _ in range(options.size)]
    valid = [Example(s, (t,)) for s, t in (pair() for _ in range(30))]
    test = [Example(s, (t,)) for s, t in (pair() for _ in range(30))]
    return Corpus("digit-words", "xx", "en", train, valid, test, citation="digit words, a plugin's own corpus")


DIGIT_WORDS = DatasetInfo("digit-words", "digit sequences to English words (a plugin of the tests)", Options, load,
                          needs_data_dir=False)
'''

SPEC = """\
[study]
name = "plugin-data"
task = "translation"
metric = "chrf"
n_trials = 1

[dataset]
name = "digit-words"
size = 200
vocab_size = 40

[budget]
max_epochs = 1
threads = 1

[search]
model = "rnn"
attention = "dot"
schedule = "constant"
hidden_size = 16
embedding_size = 8
"""


def test_a_plugin_dataset_is_listed_and_a_study_runs_on_it(tmp_path):
    env = install_plugin(tmp_path / "site", "harness_digit_words", DATASET_PLUGIN,
                         {"harness.datasets": {"translation.digit-words": "harness_digit_words:DIGIT_WORDS"}})
    listed = harness_cli("list", "datasets", cwd=tmp_path, env=env)
    assert "translation/digit-words" in listed.stdout, listed.stdout + listed.stderr
    spec = tmp_path / "p.toml"
    spec.write_text(SPEC)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    run = harness_cli("run-study", str(spec), "--storage", url, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    study = optuna.load_study(study_name="plugin-data", storage=url)
    assert study.user_attrs["data"]["citation"] == "digit words, a plugin's own corpus"
    assert study.trials[0].state.name == "COMPLETE"
    without = harness_cli(  # the same spec without the plugin installed: bad input, one line
"run-study", str(spec), "--storage", f"sqlite:///{tmp_path / 'q.db'}", cwd=tmp_path)
    assert without.returncode == 2 and "unknown dataset of task translation 'digit-words'" in without.stderr
