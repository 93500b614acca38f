"""Optuna samplers and pruners by short name.

Each is a :class:`Strategy`: the Optuna class (imported lazily), a summary, and defaults derived from
the budget. The options of a spec's ``[sampler]`` or ``[pruner]`` table go to the class's constructor
and are checked against its signature. Pruners count resources in epochs: every trial reports its
objective once per epoch, so Hyperband's ``max_resource`` defaults to the budget's ``max_epochs``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.registry import PRUNERS, SAMPLERS


@dataclass(frozen=True)
class Strategy:
    """An Optuna sampler or pruner class under a short name.

    Args:
        optuna_class: Lazy path, ``"optuna.samplers:TPESampler"``.
        summary: One line for ``harness list``.
        defaults: Constructor defaults from the budget's ``max_epochs``; the spec's options override them.
        reserved: Constructor arguments the harness sets itself (not accepted from the spec).
    """

    optuna_class: str
    summary: str
    defaults: Callable[[int], dict[str, Any]] = field(default=lambda max_epochs: {})
    reserved: tuple[str, ...] = ()

    def load(self) -> type:
        module, _, name = self.optuna_class.partition(":")
        return getattr(importlib.import_module(module), name)

    def option_names(self) -> list[str]:
        """Constructor arguments a spec may set."""
        return [p for p in inspect.signature(self.load()).parameters if p not in self.reserved]

    def build(self, max_epochs: int, **options: Any) -> Any:
        """Instantiate with the budget's defaults overridden by ``options``."""
        return self.load()(**{**self.defaults(max_epochs), **options})


_SAMPLERS = {
    "tpe": Strategy("optuna.samplers:TPESampler", "Tree-structured Parzen Estimator (Bergstra et al. 2011), Optuna's default"),
    "random": Strategy("optuna.samplers:RandomSampler", "independent random sampling"),
    "grid": Strategy("optuna.samplers:GridSampler", "every combination of the values the spec lists"),
    "qmc": Strategy("optuna.samplers:QMCSampler", "quasi-Monte Carlo (scrambled Sobol) sampling"),
    "cmaes": Strategy("optuna.samplers:CmaEsSampler", "CMA-ES (Hansen 2016) for numeric parameters, random for categorical ones"),
    "gp": Strategy("optuna.samplers:GPSampler", "Gaussian-process Bayesian optimisation"),
}
_PRUNERS = {
    "none": Strategy("optuna.pruners:NopPruner", "never prune"),
    "median": Strategy("optuna.pruners:MedianPruner", "prune below the median of earlier trials at the same epoch"),
    "successive-halving": Strategy("optuna.pruners:SuccessiveHalvingPruner",
                                   "asynchronous successive halving (Li et al. 2020), resource = epochs",
                                   defaults=lambda max_epochs: {"min_resource": 1}),
    "hyperband": Strategy("optuna.pruners:HyperbandPruner", "Hyperband (Li et al. 2018), resource = epochs up to max_epochs",
                          defaults=lambda max_epochs: {"min_resource": 1, "max_resource": max_epochs}),
}
for _name, _strategy in _SAMPLERS.items():
    SAMPLERS.register(_name, replace(_strategy, reserved=("seed", "search_space")), summary=_strategy.summary)
for _name, _strategy in _PRUNERS.items():
    PRUNERS.register(_name, _strategy, summary=_strategy.summary)


def build_sampler(name: str, seed: int | None, options: dict[str, Any], grid: dict[str, list] | None = None) -> Any:
    """The sampler ``name`` with ``seed`` and the spec's options (``grid``: the grid sampler's search space)."""
    extra = {"search_space": grid or {}} if name == "grid" else {}
    return SAMPLERS.get(name).build(0, seed=seed, **extra, **options)


def build_pruner(name: str, max_epochs: int, options: dict[str, Any]) -> Any:
    """The pruner ``name`` with the spec's options; resources are epochs up to ``max_epochs``."""
    return PRUNERS.get(name).build(max_epochs, **options)
