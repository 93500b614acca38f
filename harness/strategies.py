"""Optuna samplers and pruners by short name.

Each is a :class:`Strategy`: the Optuna class (imported lazily), a summary, and defaults derived from
the budget. The options of a spec's ``[sampler]`` or ``[pruner]`` table go to the class's constructor
and are checked against its signature. Pruners count resources in epochs: every trial reports its
objective once per epoch, so Hyperband's ``max_resource`` defaults to the budget's ``max_epochs``.

The defaults suit the harness's conditional spaces (a model's parameters exist only when it is chosen, a
schedule's only with that schedule) and parallel workers; ``benchmarks/search_efficiency.py`` measures them:

- TPE is multivariate (Falkner et al. 2018) and groups the parameters that appear together
  (``multivariate = true, group = true``): it models e.g. ``lr`` jointly with the model and schedule it was tried
  with, each group of parameters that occur together on its own, instead of dropping the parameters that do not
  occur in every trial to independent sampling (Optuna >= 5 is multivariate for one objective by default but does
  not group; the harness says both for every Optuna version); several workers add the constant liar
  (:func:`harness.study.opening.build_sampler_and_pruner`).
- Hyperband and successive halving use reduction factor 3 and ``min_resource = max(1, max_epochs // 9)`` epochs,
  so a budget has at most 3 rungs (Hyperband: at most 3 brackets, each of which TPE models on its own trials).

A study stores the defaults it was created with (``study.user_attrs["sampler"]["defaults"]``) and a resumed run
uses those, so a change of defaults never changes a study half-way (:data:`LEGACY_DEFAULTS` for studies stored
before defaults were recorded).
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

    def build(self, max_epochs: int, *, defaults: dict[str, Any] | None = None, **options: Any) -> Any:
        """Instantiate with the budget's defaults (or ``defaults``, those a stored study was created with) overridden
        by ``options``. Optuna's warnings that an option is experimental are silenced."""
        import warnings

        from optuna.exceptions import ExperimentalWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return self.load()(**{**(self.defaults(max_epochs) if defaults is None else defaults), **options})


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Limits Optuna's constructors do not check (they accept the value, then fail every trial or sample nonsense).
_STARTUP = {"n_startup_trials": (">=", 0)}
_HALVING = {"min_resource": (">=", 1), "reduction_factor": (">=", 2), "bootstrap_count": (">=", 0)}

def halving_rungs(max_epochs: int) -> dict[str, Any]:
    """Successive halving's defaults for a budget of ``max_epochs``: reduction factor 3, and the first rung at
    ``max(1, max_epochs // 9)`` epochs, so there are at most 3 rungs below ``max_epochs`` (Li et al. 2018 use
    reduction factor 3; fewer, larger rungs keep enough trials per Hyperband bracket for TPE to model)."""
    return {"min_resource": max(1, max_epochs // 9), "reduction_factor": 3}


_SAMPLERS = {
    "tpe": Strategy("optuna.samplers:TPESampler", "Tree-structured Parzen Estimator (Bergstra et al. 2011), multivariate "
                    "and grouped for conditional spaces (Falkner et al. 2018)",
                    defaults=lambda max_epochs: {"multivariate": True, "group": True},
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
                                   defaults=halving_rungs, limits=_HALVING),
    "hyperband": Strategy("optuna.pruners:HyperbandPruner", "Hyperband (Li et al. 2018), resource = epochs up to max_epochs",
                          defaults=lambda max_epochs: {**halving_rungs(max_epochs), "max_resource": max_epochs},
                          limits={**_HALVING, "max_resource": (">=", "min_resource")}),
}
for _name, _strategy in _SAMPLERS.items():
    SAMPLERS.register(_name, replace(_strategy, reserved=("seed", "search_space")), summary=_strategy.summary)
for _name, _strategy in _PRUNERS.items():
    PRUNERS.register(_name, _strategy, summary=_strategy.summary)


#: The defaults studies stored before they recorded their own were created with: (table, name) -> max_epochs -> options.
LEGACY_DEFAULTS: dict[tuple[str, str], Callable[[int], dict[str, Any]]] = {
    ("pruner", "successive-halving"): lambda max_epochs: {"min_resource": 1},
    ("pruner", "hyperband"): lambda max_epochs: {"min_resource": 1, "max_resource": max_epochs},
}


def strategy_defaults(table: str, name: str, max_epochs: int) -> dict[str, Any]:
    """The defaults the sampler (``table = "sampler"``) or pruner ``name`` gets for ``max_epochs``, as a study stores them."""
    return dict((SAMPLERS if table == "sampler" else PRUNERS).get(name).defaults(max_epochs))


def stored_defaults(stored: dict[str, Any] | None, table: str, name: str, max_epochs: int) -> dict[str, Any]:
    """The defaults a stored study's sampler or pruner was created with: those it recorded (``stored``, its
    ``user_attrs[table]``), else, for a study from before they were recorded, :data:`LEGACY_DEFAULTS` (none for the
    others)."""
    if stored and "defaults" in stored:
        return dict(stored["defaults"])
    legacy = LEGACY_DEFAULTS.get((table, name))
    return legacy(max_epochs) if legacy else {}


def build_sampler(name: str, seed: int | None, options: dict[str, Any], grid: dict[str, list] | None = None,
                  defaults: dict[str, Any] | None = None) -> Any:
    """The sampler ``name`` with ``seed`` and the spec's options (``grid``: the grid sampler's search space) over its
    defaults (``defaults``: a stored study's, else the current ones)."""
    extra = {"search_space": grid or {}} if name == "grid" else {}
    return SAMPLERS.get(name).build(0, defaults=defaults, seed=seed, **extra, **options)


def build_pruner(name: str, max_epochs: int, options: dict[str, Any], defaults: dict[str, Any] | None = None) -> Any:
    """The pruner ``name`` with the spec's options over its defaults (``defaults``: a stored study's, else those for
    ``max_epochs``); resources are epochs up to ``max_epochs``."""
    return PRUNERS.get(name).build(max_epochs, defaults=defaults, **options)
