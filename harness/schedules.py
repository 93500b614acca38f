"""Learning-rate schedules as objects of the search space, built on ``torch.optim.lr_scheduler``.

Each :class:`Schedule` declares its own conditional parameters, whether it steps after every
optimizer step or after every epoch, and how to build the PyTorch scheduler for a trial's
:class:`Horizon`. :class:`ScheduleRunner` steps it at the right moments; the training loop records the
learning rate applied at every optimizer step, so the curve is stored with the trial and can be checked
against each schedule's closed form.

Units: ``warmup_fraction`` and ``pct_start`` are fractions of the trial's optimizer steps over the full
budget (``max_epochs``, so a pruned trial stops part-way along the same curve); ``step_size`` and
``t0_epochs`` count epochs; ``step_gamma``, ``exp_gamma`` are multiplicative factors per period;
``min_lr_ratio`` is a fraction of the base learning rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.errors import InvalidConfigError
from harness.params import Domain, Param
from harness.registry import SCHEDULES

if TYPE_CHECKING:
    from torch.optim import Optimizer

Interval = Literal["step", "epoch"]


@dataclass(frozen=True)
class Horizon:
    """The length of a trial's training.

    Args:
        steps_per_epoch: Optimizer steps per epoch (after gradient accumulation).
        epochs: Epochs of the full budget.
    """

    steps_per_epoch: int
    epochs: int

    @property
    def total_steps(self) -> int:
        """Optimizer steps over the full budget."""
        return self.steps_per_epoch * self.epochs


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: its parameters, its stepping interval and its builder.

    Args:
        name: Registry name.
        summary: One line, with the source.
        interval: ``"step"`` (after every optimizer step) or ``"epoch"`` (after every epoch).
        params: Its conditional parameters (searched only when this schedule is chosen).
        build: ``(optimizer, params, horizon) -> torch.optim.lr_scheduler.LRScheduler``.
        needs_metric: Whether each epoch step takes the validation loss (ReduceLROnPlateau).
    """

    name: str
    summary: str
    interval: Interval
    params: tuple[Param, ...]
    build: Callable[[Optimizer, dict[str, Any], Horizon], Any]
    needs_metric: bool = False


def warmup_steps(params: dict[str, Any], horizon: Horizon) -> int:
    """Warmup length in optimizer steps: ``warmup_steps`` if given, else ``warmup_fraction`` of all steps.

    Raises:
        InvalidConfigError: the warmup is not shorter than the whole training.
    """
    steps = params.get("warmup_steps")
    if steps is None:
        steps = max(1, round(params["warmup_fraction"] * horizon.total_steps))
    if steps >= horizon.total_steps:
        raise InvalidConfigError(
            f"warmup of {steps} steps is not shorter than the training ({horizon.total_steps} optimizer steps)"
        )
    return int(steps)


# -- parameters (shared names carry the same definition, as Optuna requires) ------------------------
MIN_LR_RATIO = Param("min_lr_ratio", "float", 0.0, Domain("float", 0.0, 0.1), bounds=(0.0, 1.0),
                     unit="fraction of lr", help="final or minimum learning rate as a fraction of lr")
WARMUP_FRACTION = Param("warmup_fraction", "float", 0.05, Domain("float", 0.01, 0.2), bounds=(0.0, 1.0),
                        exclusive_low=True, unit="fraction of optimizer steps", help="linear warmup length")
WARMUP_STEPS = Param("warmup_steps", "int", None, None, bounds=(1, None), unit="optimizer steps",
                     help="linear warmup length in steps (replaces warmup_fraction when given)")
STEP_SIZE = Param("step_size", "int", 1, Domain("int", 1, 4), bounds=(1, None), unit="epochs",
                  help="epochs between decays", high_from=lambda e: max(1, e // 2))
STEP_GAMMA = Param("step_gamma", "float", 0.5, Domain("float", 0.1, 0.9), bounds=(0.0, 1.0), exclusive_low=True,
                   help="decay factor every step_size epochs")
EXP_GAMMA = Param("exp_gamma", "float", 0.9, Domain("float", 0.5, 0.99), bounds=(0.0, 1.0), exclusive_low=True,
                  help="decay factor per epoch")
T0_EPOCHS = Param("t0_epochs", "int", 1, Domain("int", 1, 4), bounds=(1, None), unit="epochs",
                  help="length of the first cosine cycle", high_from=lambda e: max(1, e // 2))
T_MULT = Param("t_mult", "int", 1, Domain("int", 1, 2), bounds=(1, None), help="cycle length multiplier")
PCT_START = Param("pct_start", "float", 0.3, Domain("float", 0.1, 0.5), bounds=(0.0, 1.0), exclusive_low=True,
                  unit="fraction of optimizer steps", help="share of the cycle spent increasing the learning rate")
DIV_FACTOR = Param("div_factor", "float", 25.0, None, bounds=(1.0, None), help="initial lr = lr / div_factor")
FINAL_DIV_FACTOR = Param("final_div_factor", "float", 1e4, None, bounds=(1.0, None),
                         help="final lr = initial lr / final_div_factor")
PLATEAU_FACTOR = Param("plateau_factor", "float", 0.5, Domain("float", 0.1, 0.7), bounds=(0.0, 1.0),
                       exclusive_low=True, help="factor applied when the validation loss stops improving")
PLATEAU_PATIENCE = Param("plateau_patience", "int", 1, Domain("int", 0, 3), bounds=(0, None), unit="epochs",
                         help="epochs without improvement before reducing")


# -- closed forms used by LambdaLR ------------------------------------------------------------------
def warmup_cosine_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (0-based).

    1. Linear warmup: ``(step + 1) / warmup`` for ``step < warmup``.
    2. Cosine annealing from 1 to ``min_ratio`` over the remaining ``total - warmup`` steps.
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def inverse_sqrt_factor(step: int, warmup: int) -> float:
    """Noam schedule (Vaswani et al. 2017, eq. 3) normalised to peak at 1 after ``warmup`` steps.

    ``min((s + 1) / warmup, sqrt(warmup / (s + 1)))`` for 0-based step ``s``.
    """
    s = step + 1
    return min(s / warmup, math.sqrt(warmup / s))


# -- builders -------------------------------------------------------------------------------------
def _constant(opt, p, h):
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(opt, lambda step: 1.0)


def _step(opt, p, h):
    from torch.optim.lr_scheduler import StepLR

    return StepLR(opt, step_size=p["step_size"], gamma=p["step_gamma"])


def _exponential(opt, p, h):
    from torch.optim.lr_scheduler import ExponentialLR

    return ExponentialLR(opt, gamma=p["exp_gamma"])


def _linear_decay(opt, p, h):
    from torch.optim.lr_scheduler import LinearLR

    return LinearLR(opt, start_factor=1.0, end_factor=p["min_lr_ratio"], total_iters=h.total_steps)


def _base_lr(opt) -> float:
    return opt.param_groups[0]["lr"]


def _cosine(opt, p, h):
    from torch.optim.lr_scheduler import CosineAnnealingLR

    return CosineAnnealingLR(opt, T_max=h.total_steps, eta_min=p["min_lr_ratio"] * _base_lr(opt))


def _cosine_warm_restarts(opt, p, h):
    from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts

    return CosineAnnealingWarmRestarts(
        opt, T_0=p["t0_epochs"] * h.steps_per_epoch, T_mult=p["t_mult"], eta_min=p["min_lr_ratio"] * _base_lr(opt)
    )


def _warmup_cosine(opt, p, h):
    from torch.optim.lr_scheduler import LambdaLR

    w, total, ratio = warmup_steps(p, h), h.total_steps, p["min_lr_ratio"]
    return LambdaLR(opt, lambda step: warmup_cosine_factor(step, w, total, ratio))


def _inverse_sqrt(opt, p, h):
    from torch.optim.lr_scheduler import LambdaLR

    w = warmup_steps(p, h)
    return LambdaLR(opt, lambda step: inverse_sqrt_factor(step, w))


def _one_cycle(opt, p, h):
    from torch.optim.lr_scheduler import OneCycleLR

    return OneCycleLR(
        opt, max_lr=_base_lr(opt), total_steps=h.total_steps, pct_start=p["pct_start"],
        div_factor=p["div_factor"], final_div_factor=p["final_div_factor"], anneal_strategy="cos",
    )


def _plateau(opt, p, h):
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    return ReduceLROnPlateau(
        opt, mode="min", factor=p["plateau_factor"], patience=p["plateau_patience"],
        min_lr=p["min_lr_ratio"] * _base_lr(opt),
    )


SCHEDULE_LIST = [
    Schedule("constant", "constant learning rate", "step", (), _constant),
    Schedule("step", "StepLR: multiply by step_gamma every step_size epochs", "epoch", (STEP_SIZE, STEP_GAMMA), _step),
    Schedule("exponential", "ExponentialLR: multiply by exp_gamma every epoch", "epoch", (EXP_GAMMA,), _exponential),
    Schedule("linear_decay", "LinearLR: linear decay to min_lr_ratio * lr over training", "step",
             (MIN_LR_RATIO,), _linear_decay),
    Schedule("cosine", "CosineAnnealingLR over training (Loshchilov & Hutter 2017)", "step",
             (MIN_LR_RATIO,), _cosine),
    Schedule("cosine_warm_restarts", "CosineAnnealingWarmRestarts, SGDR (Loshchilov & Hutter 2017)", "step",
             (T0_EPOCHS, T_MULT, MIN_LR_RATIO), _cosine_warm_restarts),
    Schedule("warmup_cosine", "linear warmup then cosine annealing (Goyal et al. 2017; Loshchilov & Hutter 2017)",
             "step", (WARMUP_FRACTION, WARMUP_STEPS, MIN_LR_RATIO), _warmup_cosine),
    Schedule("inverse_sqrt", "Noam: linear warmup then 1/sqrt(step) decay (Vaswani et al. 2017)", "step",
             (WARMUP_FRACTION, WARMUP_STEPS), _inverse_sqrt),
    Schedule("one_cycle", "OneCycleLR, 1cycle policy with cosine annealing (Smith & Topin 2019)", "step",
             (PCT_START, DIV_FACTOR, FINAL_DIV_FACTOR), _one_cycle),
    Schedule("plateau", "ReduceLROnPlateau on the validation loss", "epoch",
             (PLATEAU_FACTOR, PLATEAU_PATIENCE, MIN_LR_RATIO), _plateau, needs_metric=True),
]
for _schedule in SCHEDULE_LIST:
    SCHEDULES.register(_schedule.name, _schedule, summary=_schedule.summary)


def all_schedule_params() -> list[Param]:
    """Every schedule parameter once, in declaration order."""
    seen: dict[str, Param] = {}
    for schedule in SCHEDULE_LIST:
        for param in schedule.params:
            seen.setdefault(param.name, param)
    return list(seen.values())


class ScheduleRunner:
    """Steps a schedule at the right moments and reports the learning rate in force.

    Args:
        schedule: The :class:`Schedule`.
        optimizer: The optimizer whose learning rate it drives.
        params: The trial's schedule parameters.
        horizon: The trial's :class:`Horizon`.

    Raises:
        ValueError: the parameters do not fit the horizon (for example warmup longer than training).
    """

    def __init__(self, schedule: Schedule, optimizer: Optimizer, params: dict[str, Any], horizon: Horizon):
        self.schedule = schedule
        self.optimizer = optimizer
        self.scheduler = schedule.build(optimizer, params, horizon)

    @property
    def lr(self) -> float:
        """The learning rate the next optimizer step will use."""
        return float(self.optimizer.param_groups[0]["lr"])

    def after_optimizer_step(self) -> None:
        """Call after every ``optimizer.step()``."""
        if self.schedule.interval == "step":
            self.scheduler.step()

    def after_epoch(self, valid_loss: float | None = None) -> None:
        """Call after every epoch, with the epoch's validation loss."""
        if self.schedule.interval == "epoch":
            if self.schedule.needs_metric:
                self.scheduler.step(valid_loss)
            else:
                self.scheduler.step()


def lr_trace(
    name: str, params: dict[str, Any], lr: float, horizon: Horizon, valid_losses: list[float] | None = None
) -> list[float]:
    """The learning rate applied at each optimizer step over ``horizon``, with a throwaway optimizer.

    Drives the schedule exactly as the training loop does (same :class:`ScheduleRunner`); used by tests
    and by the documentation. ``valid_losses`` feeds ReduceLROnPlateau, one value per epoch.
    """
    import torch

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    runner = ScheduleRunner(SCHEDULES.get(name), optimizer, params, horizon)
    trace = []
    for epoch in range(horizon.epochs):
        for _ in range(horizon.steps_per_epoch):
            trace.append(runner.lr)
            optimizer.step()
            runner.after_optimizer_step()
        runner.after_epoch(valid_losses[epoch] if valid_losses else None)
    return trace
