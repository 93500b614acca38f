"""Extension points used by a real plugin distribution (module, ``METADATA`` and ``entry_points.txt`` on the path, as
pip installs one): a plugin adds a dataset to a built-in task and a study runs on it."""

from __future__ import annotations

import optuna
import pytest

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
    from harness_tasks.translation.data import Corpus, Example

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


ATTENTION_PLUGIN = """
\"\"\"An attention plugin whose module imports PyTorch.\"\"\"
import torch

from harness.attention import Attention


class Mean(Attention):
    \"\"\"Mean attention: equal weights over every key (a plugin of the tests).\"\"\"

    def forward(self, query, key, value, mask=None, need_weights=True):
        weights = torch.full((query.size(0), query.size(1), key.size(1)), 1.0 / key.size(1), device=query.device)
        return weights @ value, weights


class Undocumented(Attention):
    def forward(self, query, key, value, mask=None, need_weights=True):
        raise NotImplementedError
"""


def test_listing_plugins_reads_their_summaries_without_importing_them(tmp_path):
    """``harness list`` takes a plugin's summary from its source (its own docstring, else its module's), imports
    neither the plugin nor PyTorch for it, and reports a broken plugin instead of failing."""
    import subprocess
    import sys

    from tests.conftest import harness_env

    env = install_plugin(tmp_path / "site", "harness_mean_attention", ATTENTION_PLUGIN, {"harness.attention": {
        "mean": "harness_mean_attention:Mean", "undocumented": "harness_mean_attention:Undocumented",
        "broken": "harness_no_such_module:Thing"}})
    code = ("import sys; from harness.cli import main; code = main(['list', 'attention']); "
            "print('torch imported:', 'torch' in sys.modules, 'plugin imported:', 'harness_mean_attention' in sys.modules); "
            "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=harness_env({**env, "COLUMNS": "250"}),
                          capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert "Mean attention: equal weights over every key" in lines["mean"]
    assert "An attention plugin whose module imports PyTorch." in lines["undocumented"]  # the module's, not the base's
    assert "(broken plugin: ImportError" in lines["broken"]
    assert "torch imported: False plugin imported: False" in proc.stdout


COMPONENTS_PLUGIN = '''
"""Components of a plugin: a schedule, a sampler, a pruner and a translation baseline."""
from typing import Any, ClassVar

from harness.baselines import Baseline
from harness.schedules import Schedule
from harness.strategies import Strategy


def _halving(optimizer, params, horizon):
    import torch

    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)


HALVING = Schedule("halving", "halve the learning rate every epoch (a plugin of the tests)", "epoch", (), _halving)
PLAIN_RANDOM = Strategy("optuna.samplers:RandomSampler", "random sampling, from a plugin", reserved=("seed", "search_space"))
PERCENTILE = Strategy("optuna.pruners:PercentilePruner", "percentile pruner, from a plugin",
                      defaults=lambda max_epochs: {"percentile": 25.0})


class FirstTarget(Baseline):
    """The first training target for every source (a plugin of the tests)."""

    task: ClassVar[str] = "translation"
    name: ClassVar[str] = "first_target"
    summary: ClassVar[str] = "the first training target, for every source"

    def fit(self, task, data, *, metric, direction, seed) -> dict[str, Any]:
        self.sentence = data.train_targets[0]
        return {"sentence": self.sentence}

    def predict(self, task, data, split):
        part = data.valid if split == "valid" else data.test
        return {"hypotheses": [self.sentence] * len(part.examples)}
'''

COMPONENTS_SPEC = """\
[study]
name = "plugin-components"
task = "translation"
metric = "chrf"
n_trials = 3
seed = 0

[dataset]
name = "numbers-en-de"
train_size = 200
valid_size = 30
test_size = 30
max_number = 999
vocab_size = 64

[budget]
max_epochs = 2
threads = 1

[sampler]
name = "plain-random"

[pruner]
name = "percentile"

[search]
model = "rnn"
attention = "dot"
schedule = "halving"
lr = { low = 1e-3, high = 1e-2, log = true }
hidden_size = 16
embedding_size = 8
"""


def test_plugin_schedule_sampler_pruner_and_baseline_run_in_a_study(tmp_path):
    env = install_plugin(tmp_path / "site", "harness_components", COMPONENTS_PLUGIN, {
        "harness.schedules": {"halving": "harness_components:HALVING"},
        "harness.samplers": {"plain-random": "harness_components:PLAIN_RANDOM"},
        "harness.pruners": {"percentile": "harness_components:PERCENTILE"},
        "harness.baselines": {"translation.first_target": "harness_components:FirstTarget"}})
    spec = tmp_path / "c.toml"
    spec.write_text(COMPONENTS_SPEC)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    run = harness_cli("run-study", str(spec), "--storage", url, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    study = optuna.load_study(study_name="plugin-components", storage=url)
    assert study.user_attrs["sampler"]["name"] == "plain-random" and study.user_attrs["pruner"]["name"] == "percentile"
    assert {t.user_attrs["config"]["schedule"] for t in study.trials} == {"halving"}
    from harness.storage import get_series

    lr = get_series(study.trials[0].user_attrs, "lr_per_step")
    assert lr[-1] == pytest.approx(lr[0] / 2)  # halved once, after the first of the two epochs
    rows = {row["name"]: row for row in study.user_attrs["baselines"]["rows"]}
    assert rows["first_target"]["error"] is None and "chrf" in rows["first_target"]["test"]


FAMILY_PLUGIN = '''
"""A forecasting model family of a plugin."""
from typing import ClassVar

from harness.family import Family
from harness.params import Domain, Param
from harness.task import Group

DEPTH = Param("mlp_depth", "int", 1, Domain("int", 1, 2), bounds=(1, 4), help="hidden layers of the window MLP")


class WindowMLP(Family):
    """An MLP over the flattened look-back window (a plugin of the tests)."""

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "window_mlp"

    @classmethod
    def groups(cls):
        return [Group((DEPTH,))]

    @classmethod
    def build(cls, config, data):
        import torch
        from harness_tasks.forecasting.families import shape

        s = shape(data)
        layers, width = [torch.nn.Flatten()], s["lookback"] * s["n_inputs"]
        for _ in range(config["mlp_depth"]):
            layers += [torch.nn.Linear(width, config["hidden_size"]), torch.nn.ReLU()]
            width = config["hidden_size"]
        layers += [torch.nn.Linear(width, s["horizon"] * s["n_outputs"]),
                   torch.nn.Unflatten(1, (s["horizon"], s["n_outputs"]))]
        return torch.nn.Sequential(*layers)


class WrongTask(WindowMLP):
    """Registered under translation but serving forecasting: left out with a warning."""
'''

FAMILY_SPEC = """\
[study]
name = "plugin-family"
task = "forecasting"
n_trials = 2
seed = 0

[dataset]
name = "vega-temps"
lookback = 24
horizon = 8

[budget]
max_epochs = 1
threads = 1

[sampler]
name = "random"

[search]
model = "window_mlp"
schedule = "constant"
hidden_size = 16
"""


def test_a_plugin_model_family_is_built_and_searched_with_its_own_parameters(tmp_path):
    """A family from a plugin joins its task's ``model`` choices and brings its search group; one registered under the
    wrong task, or broken, is reported and left out, and the built-in families keep working."""
    env = install_plugin(tmp_path / "site", "harness_window_mlp", FAMILY_PLUGIN, {"harness.models": {
        "forecasting.window_mlp": "harness_window_mlp:WindowMLP", "translation.window_mlp": "harness_window_mlp:WrongTask",
        "forecasting.broken": "harness_no_such_module:Thing"}})
    listed = harness_cli("list", "models", cwd=tmp_path, env={**env, "COLUMNS": "250"})
    assert "An MLP over the flattened look-back window" in listed.stdout, listed.stdout + listed.stderr
    spec = tmp_path / "f.toml"
    spec.write_text(FAMILY_SPEC)
    url = f"sqlite:///{tmp_path / 'f.db'}"
    run = harness_cli("run-study", str(spec), "--storage", url, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert "model family plugin 'forecasting.broken' is left out" in run.stderr
    study = optuna.load_study(study_name="plugin-family", storage=url)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert {t.user_attrs["config"]["model"] for t in study.trials} == {"window_mlp"}
    assert {t.params["mlp_depth"] for t in study.trials} <= {1, 2}
    assert study.user_attrs["test_result"]["metrics"]["mse"] > 0  # the best trial was retrained and tested

    wrong = spec.read_text().replace('task = "forecasting"', 'task = "translation"').replace(
        '[dataset]\nname = "vega-temps"\nlookback = 24\nhorizon = 8', '[dataset]\nname = "numbers-en-de"')
    spec.write_text(wrong.replace('hidden_size = 16', 'hidden_size = 16\nembedding_size = 8'))
    refused = harness_cli("run-study", str(spec), "--storage", f"sqlite:///{tmp_path / 'g.db'}", cwd=tmp_path, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "model family plugin 'translation.window_mlp' is left out" in refused.stderr
    assert "'window_mlp'" in refused.stderr.splitlines()[-1] and "rnn, transformer" in refused.stderr.splitlines()[-1]
