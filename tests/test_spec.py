"""Study specs: the committed specs validate; every kind of bad spec gives one line naming the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.spec import build_space, load_spec, parse_spec

REPO = Path(__file__).resolve().parents[1]
BASE = {"study": {"name": "s", "task": "translation"}, "dataset": {"name": "numbers-en-de"}}


def spec_with(**tables):
    data = {k: dict(v) for k, v in BASE.items()}
    for table, values in tables.items():
        if isinstance(values, dict) and table in data:
            data[table].update(values)
        else:
            data[table] = values
    return data


@pytest.mark.parametrize("path", sorted((REPO / "studies").glob("*.toml")), ids=lambda p: p.name)
def test_committed_specs_validate(path):
    spec = load_spec(path)
    assert spec.name == path.stem
    assert spec.metric in spec.task_class().metrics


def test_defaults_and_derived_direction():
    spec = parse_spec(spec_with())
    assert spec.metric == "bleu" and spec.direction == "maximize"
    assert spec.study.n_trials == 20 and spec.budget.max_epochs == 10
    assert parse_spec(spec_with(study={"metric": "ppl"})).direction == "minimize"


def test_identity_ignores_run_control_only():
    a = parse_spec(spec_with(study={"n_trials": 5, "timeout": 60}, budget={"threads": 1}))
    b = parse_spec(spec_with(study={"n_trials": 50}, budget={"threads": 2}))
    assert a.identity() == b.identity()
    c = parse_spec(spec_with(search={"lr": 1e-3}))
    assert c.identity() != a.identity()


BAD = [
    (spec_with(study={"task": "translaton"}), "unknown task 'translaton' (did you mean 'translation'?)"),
    (spec_with(dataset={"name": "multi31k"}), "unknown dataset of task translation 'multi31k' (did you mean 'multi30k'?)"),
    (spec_with(dataset={"vocab": 10}), "unknown key 'vocab' in [dataset] for numbers-en-de (did you mean 'vocab_size'?)"),
    (spec_with(dataset={"train_size": -5}), "[dataset] train_size: Input should be greater than or equal to 1, got -5"),
    (spec_with(budget={"max_epoch": 3}), "unknown key 'max_epoch' in [budget] (did you mean 'max_epochs'?)"),
    (spec_with(budget={"max_epochs": 0}), "[budget] max_epochs: Input should be greater than or equal to 1, got 0"),
    (spec_with(budget={"max_epochs": "ten"}), "[budget] max_epochs: Input should be a valid integer"),
    (spec_with(study={"n_trials": -1}), "[study] n_trials: Input should be greater than or equal to 1, got -1"),
    (spec_with(study={"timeout": 0}), "[study] timeout: Input should be greater than 0, got 0"),
    (spec_with(study={"name": "../etc"}), "[study] name: not a safe file name"),
    (spec_with(study={"metric": "blue"}), "unknown metric of task translation 'blue' (did you mean 'bleu'?)"),
    (spec_with(study={"direction": "minimize"}), "direction 'minimize' contradicts metric 'bleu', which is to maximize"),
    (spec_with(search={"attention": ["dot", "adittive"]}), "unknown attention 'adittive' (did you mean 'additive'?)"),
    (spec_with(search={"schedule": "cosin"}), "unknown schedule 'cosin' (did you mean 'cosine'?)"),
    (spec_with(search={"optimizer": "sgd"}), "unknown optimizer 'sgd'; accepted: adam, adamw"),
    (spec_with(search={"learning_rate": 0.1}), "unknown parameter 'learning_rate'"),
    (spec_with(search={"lr": 0}), "lr must be > 0, got 0"),
    (spec_with(search={"lr": {"low": -1e-3, "high": 1e-2}}), "lr must be > 0, got -0.001"),
    (spec_with(search={"lr": {"low": 1e-2, "high": 1e-3}}), "lr range needs low <= high, got low=0.01, high=0.001"),
    (spec_with(search={"lr": {"low": 1e-4, "hi": 1e-2}}), "unknown range key 'hi' (did you mean 'high'?)"),
    (spec_with(search={"attention": []}), "attention has an empty list of choices"),
    (spec_with(search={"hidden_size": 12.5}), "hidden_size must be an integer, got 12.5"),
    (spec_with(search={"dropout": 1.5}), "dropout must be <= 0.9, got 1.5"),
    (spec_with(search={"input_feeding": "yes"}), "input_feeding must be true or false, got 'yes'"),
    (spec_with(search={"warmup_steps": 10, "warmup_fraction": 0.1}), "give warmup_steps or warmup_fraction, not both"),
    (spec_with(sampler={"name": "tpee"}), "unknown sampler 'tpee' (did you mean 'tpe'?)"),
    (spec_with(sampler={"name": "tpe", "n_startup": 3}),
     "unknown key 'n_startup' in [sampler] for tpe (did you mean 'n_startup_trials'?)"),
    (spec_with(pruner={"name": "hyperbnd"}), "unknown pruner 'hyperbnd' (did you mean 'hyperband'?)"),
    (spec_with(pruner={"name": "median", "warmup": 2}), "unknown key 'warmup' in [pruner] for median"),
    (spec_with(sampler={"name": "grid"}, search={"lr": {"low": 1e-4, "high": 1e-3}}), "grid sampler needs a list of values"),
    (spec_with(enqueue=[{"attention": "dott"}]), "[[enqueue]] #1: unknown attention 'dott' (did you mean 'dot'?)"),
    (spec_with(enqueue=[{"lrate": 0.1}]), "[[enqueue]] #1: unknown parameter 'lrate'"),
    ({"study": {"name": "s", "task": "translation"}}, "[dataset]: missing required key"),
    ({**spec_with(), "extra": {}}, "unknown key 'extra' in [spec]"),
]


@pytest.mark.parametrize("data,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_specs_name_the_bad_value(data, message):
    with pytest.raises(SpecError) as info:
        parse_spec(data, source="x.toml")
    text = str(info.value)
    assert message in text
    assert text.startswith("x.toml: ")
    assert "\n" not in text


def test_malformed_toml_reports_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[study]\nname = "x"\ntask = translation\n')
    with pytest.raises(SpecError, match=r"bad.toml: invalid TOML: .*\(at line 3, column 8\)"):
        load_spec(path)


def test_missing_and_undecodable_spec_files(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "none.toml")
    (tmp_path / "latin1.toml").write_bytes('[study]\nname = "Zürich"\n'.encode("latin-1"))
    with pytest.raises(SpecError, match=r"not UTF-8 text \(byte 17\)"):
        load_spec(tmp_path / "latin1.toml")


def test_overrides_fix_restrict_or_range():
    space = build_space(parse_spec(spec_with(search={
        "hidden_size": 64, "attention": ["dot", "general"], "lr": {"low": 1e-4, "high": 1e-3, "log": True},
    })))
    rows = {r["name"]: r for r in space.describe()}
    assert rows["hidden_size"]["value"] == 64 and rows["hidden_size"]["searched"] == ""
    assert rows["attention"]["searched"] == "{dot, general}"
    assert rows["lr"]["searched"] == "[0.0001, 0.001] log"
    assert rows["warmup_fraction"]["when"] == "schedule = warmup_cosine or schedule = inverse_sqrt"
    assert rows["heads"]["when"] == "model = transformer or attention = multihead"
    assert rows["layers"]["when"] == "model = rnn" and rows["transformer_layers"]["value"] == 3
    # epoch-based ranges follow the budget
    assert rows["step_size"]["searched"] == "[1, 5]"


def test_enqueued_values_must_lie_in_the_searched_domain():
    with pytest.raises(SpecError, match=r"\[\[enqueue\]\] #1: attention = 'additive' is outside the searched domain \{dot\}"):
        parse_spec(spec_with(search={"attention": ["dot"]}, enqueue=[{"attention": "additive"}]), source="x.toml")
    with pytest.raises(SpecError, match=r"lr = 0.5 is outside the searched domain \[0.0001, 0.01\] log"):
        parse_spec(spec_with(enqueue=[{"lr": 0.5}]), source="x.toml")


DATASET = {"name": "numbers-en-de"}


@pytest.mark.parametrize("threads,n_trials,expected", [(2, 6, 2), (1, 6, 1), (4, 3, 3), (2, 1, 1), (None, 8, None)])
def test_a_run_on_the_cpu_defaults_to_one_worker_per_thread(threads, n_trials, expected):
    """[budget] threads is the run's total: without --workers each thread is a worker process of its own."""
    from harness.spec import available_cores, default_workers, resolve_threads

    budget = {"max_epochs": 1, **({"threads": threads} if threads else {})}
    spec = parse_spec({"study": {"name": "w", "task": "translation", "n_trials": n_trials}, "dataset": DATASET,
                       "budget": budget}, source="t")
    workers = default_workers(spec)
    assert workers == (expected if expected is not None else min(available_cores(), n_trials))
    assert resolve_threads(spec, workers) == max(1, (threads or available_cores()) // workers)


def test_dry_run_shows_the_default_workers():
    from harness import api

    spec = {"study": {"name": "w", "task": "translation", "n_trials": 6}, "dataset": DATASET,
            "budget": {"max_epochs": 1, "threads": 2}}
    plan = api.plan(spec)
    assert plan["launcher"]["workers"] == 2 and plan["threads"] == 1
    assert api.plan(spec, workers=1)["threads"] == 2
