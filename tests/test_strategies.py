"""The sampler and pruner defaults: multivariate grouped TPE, budget-derived halving rungs, frozen per study."""

from __future__ import annotations

import math

import optuna
import pytest
import tomllib

from harness.spec import build_space, parse_spec
from harness.strategies import build_pruner, build_sampler, halving_rungs, stored_defaults
from harness.study.opening import build_sampler_and_pruner
from tests.conftest import write_tiny_spec


@pytest.mark.parametrize("max_epochs,first_rung", [(1, 1), (2, 1), (9, 1), (17, 1), (18, 2), (27, 3), (60, 6)])
def test_halving_starts_at_a_ninth_of_the_budget_with_at_most_three_brackets(max_epochs, first_rung):
    rungs = halving_rungs(max_epochs)
    assert rungs == {"min_resource": first_rung, "reduction_factor": 3}
    pruner = build_pruner("hyperband", max_epochs, {})
    assert (pruner._min_resource, pruner._max_resource, pruner._reduction_factor) == (first_rung, max_epochs, 3)
    # Optuna's bracket count (HyperbandPruner._try_initialization): floor(log_eta(max / min)) + 1
    assert math.floor(math.log(max_epochs / first_rung, 3) + 1e-9) + 1 <= 3


def test_tpe_is_multivariate_and_grouped_unless_the_spec_says_otherwise():
    sampler = build_sampler("tpe", 0, {})
    assert (sampler._multivariate, sampler._group) == (True, True)
    plain = build_sampler("tpe", 0, {"multivariate": False, "group": False})
    assert (plain._multivariate, plain._group) == (False, False)


def test_a_study_keeps_the_defaults_it_was_created_with(tmp_path):
    from harness.study import run_study

    spec_path = write_tiny_spec(tmp_path, "frozen", n_trials=1)
    text = spec_path.read_text().replace('name = "random"\nseed = 0', 'name = "tpe"\nseed = 0\n\n[pruner]\nname = "hyperband"')
    spec_path.write_text(text)
    spec = parse_spec(tomllib.loads(text), source=str(spec_path))
    url = f"sqlite:///{tmp_path / 'f.db'}"
    run_study(spec, storage=url, quiet=True, evaluate_test=False)
    attrs = optuna.load_study(study_name="frozen", storage=url).user_attrs
    assert attrs["sampler"]["defaults"] == {"multivariate": True, "group": True}
    assert attrs["pruner"]["defaults"] == {"min_resource": 1, "reduction_factor": 3, "max_resource": 2}

    space = build_space(spec)
    sampler, pruner = build_sampler_and_pruner(spec, space, 1, stored=attrs)
    assert (sampler._multivariate, sampler._group, pruner._min_resource) == (True, True, 1)
    # created under other defaults: resumed with those, not today's
    older = {**attrs, "sampler": {**attrs["sampler"], "defaults": {"multivariate": False}},
             "pruner": {**attrs["pruner"], "defaults": {"min_resource": 2, "max_resource": 2}}}
    sampler, pruner = build_sampler_and_pruner(spec, space, 1, stored=older)
    assert (sampler._multivariate, sampler._group, pruner._min_resource, pruner._reduction_factor) == (False, False, 2, 3)
    # stored before studies recorded their defaults: Optuna's own TPE defaults (not grouped; multivariate is Optuna's
    # choice, None = by the number of objectives), Hyperband from 1 epoch (the harness's defaults then)
    legacy = {key: {k: v for k, v in value.items() if k != "defaults"} if key in ("sampler", "pruner") else value
              for key, value in attrs.items()}
    sampler, pruner = build_sampler_and_pruner(spec, space, 1, stored=legacy)
    assert sampler._multivariate in (None, False) and (sampler._group, pruner._min_resource) == (False, 1)
    assert stored_defaults(None, "sampler", "random", 2) == {}
