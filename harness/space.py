"""The define-by-run search space: groups of parameters, each active under a condition.

The space is assembled from the task's groups, the schedule groups (one per schedule, active when
that schedule is chosen) and the training group, then overridden by the spec's ``[search]`` table.
:meth:`SearchSpace.suggest` walks the groups in order, so a parameter is suggested only when its
condition holds (``attention`` only for the RNN family, ``warmup_fraction`` only for warmup schedules).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from harness.errors import SpecError, unknown_name_message
from harness.params import Domain, Param, parse_override
from harness.registry import SCHEDULES
from harness.task import Group

if TYPE_CHECKING:
    import optuna

SCHEDULE_NAMES = tuple(SCHEDULES.names())
SCHEDULE = Param("schedule", "categorical", "constant", Domain("categorical", choices=SCHEDULE_NAMES),
                 choices=SCHEDULE_NAMES, help="learning-rate schedule")
LR = Param("lr", "float", 1e-3, Domain("float", 1e-4, 1e-2, log=True), bounds=(0.0, 10.0), exclusive_low=True,
           help="base (peak) learning rate")
OPTIMIZER = Param("optimizer", "categorical", "adam", None, choices=("adam", "adamw"),
                  help="adam (Kingma & Ba 2015) or adamw (Loshchilov & Hutter 2019)")
WEIGHT_DECAY = Param("weight_decay", "float", 0.0, None, bounds=(0.0, 1.0), help="L2 (adam) or decoupled (adamw) weight decay")
BATCH_SIZE = Param("batch_size", "int", 64, None, bounds=(1, None), unit="examples", help="examples per micro-batch")
GRAD_CLIP = Param("grad_clip", "float", 1.0, None, bounds=(0.0, None), help="max gradient norm, 0 = no clipping")
GRAD_ACCUM = Param("grad_accum_steps", "int", 1, None, bounds=(1, None), unit="micro-batches",
                   help="micro-batches per optimizer step")

TRAINING_GROUP = Group((LR, OPTIMIZER, WEIGHT_DECAY, BATCH_SIZE, GRAD_CLIP, GRAD_ACCUM))


def schedule_groups() -> list[Group]:
    """The schedule choice, then each schedule's parameters under ``schedule = <name>``."""
    groups = [Group((SCHEDULE,))]
    for name in SCHEDULES.names():
        schedule = SCHEDULES.get(name)
        if schedule.params:
            groups.append(Group(schedule.params, lambda c, n=name: c.get("schedule") == n, f"schedule = {name}"))
    return groups


class SearchSpace:
    """Groups of parameters and the spec's overrides.

    Args:
        groups: Task groups, then schedule and training groups, in suggestion order.
        overrides: The spec's ``[search]`` table (raw TOML values).
        max_epochs: The budget's epochs (some default ranges depend on it).
        where: Location for error messages.
        search_defaults: Search the parameters the spec does not name over their default domains. The
            grid sampler turns this off: it runs every combination of what the spec lists, and every
            other parameter keeps its default value.
        frozen: Domains stored with a study (:meth:`frozen_domains`, or read from its trials): they replace the
            default domains, so a resumed study searches what it searched when it was created, whatever plugins
            have been installed since (a new attention type would otherwise change a categorical's choices, which
            Optuna refuses). The spec's own ``[search]`` values still come first; the identity check keeps those
            unchanged.
        frozen_complete: ``frozen`` holds every parameter that had a domain at creation: a parameter missing from
            it keeps its default value (it came with a newer plugin or version).

    Raises:
        SpecError: an unknown parameter (with "did you mean"), or a bad override.
    """

    def __init__(self, groups: list[Group], overrides: dict[str, Any], max_epochs: int, where: str = "[search]",
                 search_defaults: bool = True, frozen: dict[str, Domain] | None = None, frozen_complete: bool = False):
        self.groups = groups
        self.search_defaults = search_defaults
        self.frozen = dict(frozen or {})
        self.frozen_complete = frozen_complete
        self.max_epochs = max_epochs
        self.where = where
        self.params: dict[str, Param] = {}
        for group in groups:
            for param in group.params:
                self.params.setdefault(param.name, param)
        self.overrides: dict[str, Domain] = {}
        for name, raw in overrides.items():
            param = self.params.get(name)
            if param is None:
                raise SpecError(f"{where}: {unknown_name_message('parameter', name, self.params)}")
            self.overrides[name] = parse_override(param, raw, where)
        if "warmup_steps" in self.overrides and "warmup_fraction" in self.overrides:
            raise SpecError(f"{where}: give warmup_steps or warmup_fraction, not both")

    def domain(self, param: Param) -> Domain | None:
        """The domain searched for ``param`` (the spec's, else the default), or ``None`` if fixed at default."""
        if param.name in self.overrides:
            return self.overrides[param.name]
        if param.name in self.frozen:
            return self.frozen[param.name]
        if self.frozen_complete:
            return None
        if not self.search_defaults or (param.name == "warmup_fraction" and "warmup_steps" in self.overrides):
            return None
        return param.default_domain(self.max_epochs)

    def active(self, config: dict[str, Any]) -> Iterable[Param]:
        """Parameters active for the values chosen so far, in order (each once)."""
        seen = set()
        for group in self.groups:
            if group.when is not None and not group.when(config):
                continue
            for param in group.params:
                if param.name not in seen:
                    seen.add(param.name)
                    yield param

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Suggest every active parameter through ``trial``; return the whole configuration.

        Parameters that are neither searched by default nor named in the spec take their default value, and those
        the spec fixes to one value take it; neither appears in ``trial.params`` (the configuration holds them all),
        so optuna-dashboard shows only what was searched. Optuna never asks a sampler for a single-valued
        distribution, so leaving them out changes no sampled value.
        """
        config: dict[str, Any] = {}
        for group in self.groups:
            if group.when is not None and not group.when(config):
                continue
            for param in group.params:
                if param.name in config:
                    continue
                domain = self.domain(param)
                if domain is None:
                    if param.default is not None:
                        config[param.name] = param.default
                    continue
                if domain.fixed:  # one value (the spec fixed it): in the configuration, not a trial parameter
                    config[param.name] = domain.choices[0] if domain.choices is not None else domain.low
                    continue
                config[param.name] = _suggest(trial, param.name, domain)
        return config

    def searches_anything(self) -> bool:
        """Whether some active parameter has more than one value (walking the groups with the fixed values)."""
        config: dict[str, Any] = {}
        for group in self.groups:
            if group.when is not None and not group.when(config):
                continue
            for param in group.params:
                domain = self.domain(param)
                if domain is None:
                    config[param.name] = param.default
                elif domain.fixed:
                    config[param.name] = domain.choices[0] if domain.choices is not None else domain.low
                else:
                    return True
        return False

    def grid(self) -> dict[str, list[Any]]:
        """The grid for Optuna's GridSampler: every searched parameter must be a list or a fixed value.

        Raises:
            SpecError: a searched parameter has a range.
        """
        grid = {}
        for name, param in self.params.items():
            domain = self.domain(param)
            if domain is None:
                continue
            if domain.choices is None:
                raise SpecError(f"{self.where} {name}: the grid sampler needs a list of values or a fixed value, "
                                f"got the range {domain.describe()}")
            grid[name] = list(domain.choices)
        return grid

    def frozen_domains(self) -> dict[str, dict[str, Any]]:
        """Every parameter's domain (``None``-domain parameters left out: they keep their default), as JSON-able
        dicts for the study's ``search_domains`` attribute; :func:`domain_from_json` reads them back."""
        return {name: domain_to_json(domain) for name, param in self.params.items()
                if (domain := self.domain(param)) is not None}

    def differences(self, other: SearchSpace) -> list[str]:
        """``name: this {..}, other {..}`` for every parameter whose domain differs between two spaces."""
        out = []
        for name, param in self.params.items():
            mine = self.domain(param)
            theirs = other.domain(other.params[name]) if name in other.params else None
            if mine != theirs:
                out.append(f"{name}: {mine.describe() if mine else 'default'} / {theirs.describe() if theirs else 'default'}")
        return out

    def describe(self) -> list[dict[str, Any]]:
        """One row per parameter: name, searched domain or fixed default, condition, unit."""
        conditions: dict[str, list[str]] = {}
        for group in self.groups:
            for param in group.params:
                conditions.setdefault(param.name, []).append(group.condition or "always")
        rows = []
        for name, param in self.params.items():
            domain = self.domain(param)
            rows.append({
                "name": name,
                "searched": domain.describe() if domain is not None and not domain.fixed else "",
                "value": _fixed_value(domain, param),
                "when": " or ".join(dict.fromkeys(conditions[name])),
                "unit": param.unit,
            })
        return rows


def domain_to_json(domain: Domain) -> dict[str, Any]:
    """A :class:`~harness.params.Domain` as a JSON-able dict."""
    return {"kind": domain.kind, "low": domain.low, "high": domain.high, "log": domain.log, "step": domain.step,
            "choices": list(domain.choices) if domain.choices is not None else None}


def domain_from_json(data: dict[str, Any]) -> Domain:
    """The :class:`~harness.params.Domain` that :func:`domain_to_json` wrote."""
    choices = data.get("choices")
    return Domain(data["kind"], data.get("low"), data.get("high"), bool(data.get("log")), data.get("step"),
                  tuple(choices) if choices is not None else None)


def domain_from_distribution(distribution: Any) -> Domain:
    """The :class:`~harness.params.Domain` of an Optuna distribution stored with a trial."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return Domain("categorical", choices=tuple(distribution.choices))
    kind = "int" if isinstance(distribution, IntDistribution) else "float"
    step = distribution.step if kind == "float" or distribution.step != 1 else None
    return Domain(kind, distribution.low, distribution.high, distribution.log, step)


def _fixed_value(domain: Domain | None, param: Param) -> Any:
    if domain is None:
        return param.default
    if domain.fixed:
        return domain.choices[0] if domain.choices is not None else domain.low
    return None


def _suggest(trial: optuna.Trial, name: str, domain: Domain) -> Any:
    if domain.choices is not None:
        return trial.suggest_categorical(name, list(domain.choices))
    if domain.kind == "int":
        step = int(domain.step or 1)
        return trial.suggest_int(name, int(domain.low), int(domain.high), step=step, log=domain.log)
    return trial.suggest_float(name, domain.low, domain.high, step=domain.step, log=domain.log)
