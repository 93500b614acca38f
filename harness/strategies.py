"""Optuna samplers and pruners by short name.

Each is a :class:`Strategy`: the Optuna class (imported lazily), a summary, and defaults derived from
the budget. The options of a spec's ``[sampler]`` or ``[pruner]`` table go to the class's constructor
and are checked against its signature. Pruners count resources in epochs: every trial reports its
objective once per epoch, so Hyperband's ``max_resource`` defaults to the budget's ``max_epochs``.
"""

from __future__ import annotations

import importlib
import inspect
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.registry import PRUNERS, SAMPLERS

#: The comparisons an option's limit may use.
_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Strategy:
    """An Optuna sampler or pruner class under a short name.

    Args:
        optuna_class: Lazy path, ``"optuna.samplers:TPESampler"``.
        summary: One line for ``harness list``.
        defaults: Constructor defaults from the budget's ``max_epochs``; the spec's options override them.
        reserved: Constructor arguments the harness sets itself (not accepted from the spec).
        limits: Numeric options the class accepts but would fail on later (or silently misuse): option ->
            ``(comparison, bound)``, e.g. ``{"n_startup_trials": (">=", 0)}``; a bound given as an option name
            compares with that option's value (defaults included). Checked by :meth:`check` before a study exists.
    """

    optuna_class: str
    summary: str
    defaults: Callable[[int], dict[str, Any]] = field(default=lambda max_epochs: {})
    reserved: tuple[str, ...] = ()
    limits: dict[str, tuple[str, float | str]] = field(default_factory=dict)

    def load(self) -> type:
        module, _, name = self.optuna_class.partition(":")
        return getattr(importlib.import_module(module), name)

    def option_names(self) -> list[str]:
        """Constructor arguments a spec may set."""
        return [p for p in inspect.signature(self.load()).parameters if p not in self.reserved]

    def check(self, max_epochs: int, options: dict[str, Any], **reserved: Any) -> str | None:
        """What is wrong with ``options`` (the spec's, over the budget's defaults), in words, or ``None``: the first
        option outside its :attr:`limits`, else what the class itself refuses when it is built with them (and the
        ``reserved`` arguments the harness would pass, such as a seed).

        Only numbers are compared with the limits: other values (``"auto"``, a wrong type) are left to the class.
        """
        merged = {**self.defaults(max_epochs), **options}
        for key, (op, bound) in self.limits.items():
            value = merged.get(key)
            limit = merged.get(bound) if isinstance(bound, str) else bound
            if not _number(value) or not _number(limit) or _COMPARE[op](value, limit):
                continue
            given = "" if key in options else " (its default, from [budget] max_epochs)"
            against = f"{bound} = {limit}" if isinstance(bound, str) else f"{limit}"
            return f"{key} must be {op} {against}, got {value}{given}"
        try:
            self.build(max_epochs, **reserved, **options)
        except (TypeError, ValueError) as exc:
            return f"Optuna refuses the options: {exc}"
        return None

    def build(self, max_epochs: int, **options: Any) -> Any:
        """Instantiate with the budget's defaults overridden by ``options``."""
        return self.load()(**{**self.defaults(max_epochs), **options})


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Limits Optuna's constructors do not check (they accept the value, then fail every trial or sample nonsense).
_STARTUP = {"n_startup_trials": (">=", 0)}
_HALVING = {"min_resource": (">=", 1), "reduction_factor": (">=", 2), "bootstrap_count": (">=", 0)}

_SAMPLERS = {
    "tpe": Strategy("optuna.samplers:TPESampler", "Tree-structured Parzen Estimator (Bergstra et al. 2011), Optuna's default",
                    limits={**_STARTUP, "n_ei_candidates": (">=", 1), "prior_weight": (">", 0)}),
    "random": Strategy("optuna.samplers:RandomSampler", "independent random sampling"),
    "grid": Strategy("optuna.samplers:GridSampler", "every combination of the values the spec lists"),
    "qmc": Strategy("optuna.samplers:QMCSampler", "quasi-Monte Carlo (scrambled Sobol) sampling"),
    "cmaes": Strategy("optuna.samplers:CmaEsSampler", "CMA-ES (Hansen 2016) for numeric parameters, random for categorical ones",
                      limits={**_STARTUP, "sigma0": (">", 0), "popsize": (">=", 2), "n_restarts": (">=", 0),
                              "inc_popsize": (">=", 1)}),
    "gp": Strategy("optuna.samplers:GPSampler", "Gaussian-process Bayesian optimisation", limits=dict(_STARTUP)),
}
_PRUNERS = {
    "none": Strategy("optuna.pruners:NopPruner", "never prune"),
    "median": Strategy("optuna.pruners:MedianPruner", "prune below the median of earlier trials at the same epoch"),
    "successive-halving": Strategy("optuna.pruners:SuccessiveHalvingPruner",
                                   "asynchronous successive halving (Li et al. 2020), resource = epochs",
                                   defaults=lambda max_epochs: {"min_resource": 1}, limits=_HALVING),
    "hyperband": Strategy("optuna.pruners:HyperbandPruner", "Hyperband (Li et al. 2018), resource = epochs up to max_epochs",
                          defaults=lambda max_epochs: {"min_resource": 1, "max_resource": max_epochs},
                          limits={**_HALVING, "max_resource": (">=", "min_resource")}),
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
