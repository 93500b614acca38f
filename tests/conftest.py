"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

#: With HARNESS_TEST_PLUGIN=1 the whole suite runs with this plugin installed (an attention type, a schedule and a
#: forecasting model family, all searched by default), in the test process and in every harness subprocess: the
#: built-in behaviour the tests check must not depend on which plugins a user has installed.
SUITE_PLUGIN = '''
"""Components installed for the whole suite by HARNESS_TEST_PLUGIN=1."""
from typing import ClassVar

from harness.attention import Attention, expand_mask, masked_softmax
from harness.family import Family
from harness.schedules import Schedule


class Uniform(Attention):
    """Uniform attention: equal weights over every unmasked key (a plugin of the suite)."""

    def forward(self, query, key, value, mask=None, need_weights=True):
        import torch

        scores = torch.zeros(query.size(0), query.size(1), key.size(1), device=query.device, dtype=query.dtype)
        weights = masked_softmax(scores, expand_mask(mask, query, key))
        return weights @ value, weights


def _halving(optimizer, params, horizon):
    import torch

    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)


HALVING = Schedule("suite_halving", "halve the learning rate every epoch (a plugin of the suite)", "epoch", (), _halving)


class Persistence(Family):
    """Repeats the last observed value, plus a learned offset per output channel (a plugin of the suite)."""

    task: ClassVar[str] = "forecasting"
    name: ClassVar[str] = "suite_persistence"

    @classmethod
    def build(cls, config, data):
        import torch
        from harness_tasks.forecasting.families import shape

        s = shape(data)

        class Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.offset = torch.nn.Parameter(torch.zeros(s["n_outputs"]))

            def forward(self, x):
                last = x[:, -1:, list(s["output_index"])]
                return last.expand(-1, s["horizon"], -1) + self.offset

        return Model()
'''


def _suite_plugin_site() -> Path | None:
    """Install :data:`SUITE_PLUGIN` once per session when HARNESS_TEST_PLUGIN=1; the folder it lies in."""
    if os.environ.get("HARNESS_TEST_PLUGIN") != "1":
        return None
    import sys
    import tempfile

    site = Path(tempfile.mkdtemp(prefix="harness-suite-plugin-"))
    install_plugin(site, "harness_suite_plugin", SUITE_PLUGIN, {
        "harness.attention": {"suite_uniform": "harness_suite_plugin:Uniform"},
        "harness.schedules": {"suite_halving": "harness_suite_plugin:HALVING"},
        "harness.models": {"forecasting.suite_persistence": "harness_suite_plugin:Persistence"}})
    sys.path.append(str(site))
    return site


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets: $HARNESS_DATA_DIR, else ../shared/data beside the repository root.

    See ``../shared/data/README.md`` for what the folder holds (verbatim copies of Multi30k,
    Tatoeba, ETT and Flickr8k files). Tests that need it are skipped when it is missing.
    """
    configured = os.environ.get("HARNESS_DATA_DIR")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"real data not found at {path}; set HARNESS_DATA_DIR")
    return path


TINY_SPEC = """\
[study]
name = "{name}"
task = "translation"
metric = "chrf"
n_trials = {n_trials}
seed = 0

[dataset]
name = "numbers-en-de"
train_size = 300
valid_size = 40
test_size = 40
max_number = 999
vocab_size = 64

[budget]
max_epochs = 2
threads = 1

[sampler]
name = "random"
seed = 0

[search]
model = ["rnn", "transformer"]
attention = ["dot", "additive"]
schedule = ["constant", "warmup_cosine"]
hidden_size = 32
embedding_size = 16
layers = 1
transformer_layers = 1
heads = 2
"""


def write_tiny_spec(folder: Path, name: str = "tiny", n_trials: int = 3) -> Path:
    """A spec that trains real models on a few hundred real examples in seconds."""
    path = folder / f"{name}.toml"
    path.write_text(TINY_SPEC.format(name=name, n_trials=n_trials))
    return path


def commit_to_git(folder: Path, message: str, *paths: str) -> str:
    """Commit ``paths`` (relative to ``folder``) to ``folder``'s git repository, created on first use, with a fixed
    test identity; returns the new commit's hash, which :func:`harness.environment.git_commit` records for runs started
    there (the files it does not track, such as the database, leave it clean)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=harness tests", "-c", "user.email=tests@harness.invalid", *args],
                              cwd=folder, capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    if not (folder / ".git").exists():
        git("init", "--quiet")
    git("add", "--", *paths)
    git("commit", "--quiet", "-m", message)
    return git("rev-parse", "HEAD")


def harness_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``python -m harness`` subprocess: this checkout importable, no ``HARNESS_STORAGE``
    from the caller's shell, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if k != "HARNESS_STORAGE"}
    full_env.update({"PYTHONPATH": str(REPO_ROOT), **(env or {})})
    if SUITE_PLUGIN_SITE:  # installed beside a test's own plugin too
        full_env["PYTHONPATH"] += os.pathsep + str(SUITE_PLUGIN_SITE)
    return full_env


def harness_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    """Run ``python -m harness ARGS`` in a real subprocess; return the CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=harness_env(env), capture_output=True,
                          text=True, timeout=timeout)


def harness_clis(*commands: tuple[str, ...], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    """Run several ``python -m harness ARGS`` subprocesses at once (independent commands: their start-up, mostly
    imports, overlaps); return their CompletedProcesses in order."""
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=cwd, env=harness_env(env),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in commands]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> dict:
    """A finished tiny study in a real SQLite file, run once per session through the real CLI."""
    folder = tmp_path_factory.mktemp("tiny_study")
    spec = write_tiny_spec(folder, n_trials=3)
    url = f"sqlite:///{folder / 'harness.db'}"
    proc = harness_cli("run-study", str(spec), "--storage", url, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return {"folder": folder, "spec": spec, "storage": url, "db": folder / "harness.db", "stdout": proc.stdout}


class ValidOnlyRegression:
    """Evaluation of the small regression tasks of the tests: ``data["valid"] = (X, y)`` scored by MSE (a mixin
    for :class:`harness.task.Task` subclasses; every split is the validation split)."""

    model_metrics = ()

    def predict(self, model, data, split):
        import torch

        with torch.no_grad():
            return {"y": model(data["valid"][0]).squeeze(-1).numpy()}

    def references(self, data, split):
        return {"y": data["valid"][1].numpy()}

    @classmethod
    def score(cls, references, outputs):
        mse = float(((outputs["y"] - references["y"]) ** 2).mean())
        return {"mse": mse, "loss": mse}

    def model_scores(self, model, data, split):
        return {}


def install_plugin(site: Path, module: str, source: str, entry_points: dict[str, dict[str, str]]) -> dict[str, str]:
    """Install a plugin distribution into the folder ``site`` the way pip lays one out: the module ``module.py``
    holding ``source``, and ``<module>-0.1.dist-info/`` with ``METADATA`` and ``entry_points.txt`` (group -> name ->
    ``module:attribute``), which :mod:`importlib.metadata` finds on the path. Returns the environment of a
    ``python -m harness`` subprocess that has this checkout and the plugin on its path (for :func:`harness_cli`)."""
    import textwrap

    info = site / f"{module}-0.1.dist-info"
    info.mkdir(parents=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in names.items()) + "\n"
        for group, names in entry_points.items()))
    return {"PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{site}"}


SUITE_PLUGIN_SITE = _suite_plugin_site()
