"""The fit loop shared by every task: optimizer, schedule, accumulation, clipping, epochs, pruning, curves.

A trial trains for up to ``budget.max_epochs`` epochs. After each epoch it evaluates the validation
split, reports the objective to Optuna (``trial.report``) and asks the pruner whether to stop. The
trial's value is the objective at its best epoch (the checkpoint a practitioner would keep). A
non-finite training loss ends the trial as pruned, with the reason stored. Learning curves, the
learning rate applied at every optimizer step, epoch wall times (seconds) and the parameter count are
stored on the trial as user attributes, so reports need nothing but the storage.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from harness.registry import SCHEDULES
from harness.schedules import Horizon, ScheduleRunner
from harness.task import Budget, Task

if TYPE_CHECKING:
    import optuna


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite."""


@dataclass
class FitResult:
    """What a finished (or stopped) training run produced.

    Attributes:
        value: Objective at the best epoch (``nan`` if no epoch finished).
        best_epoch: 1-based epoch of ``value``.
        history: Per-epoch metrics: ``train_loss``, every task metric, ``lr`` at epoch end, ``seconds``.
        lr_per_step: Learning rate applied at each optimizer step.
        param_count: Trainable parameters.
        best_state: Model weights at the best epoch (CPU tensors).
        stopped: ``None``, ``"pruned"`` or ``"non-finite loss"``.
        reason: Human-readable reason for stopping early.
    """

    value: float = math.nan
    best_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    lr_per_step: list[float] = field(default_factory=list)
    param_count: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    stopped: str | None = None
    reason: str = ""


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; return a generator for data order."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def build_optimizer(model: torch.nn.Module, config: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015) with L2 weight decay, or AdamW (Loshchilov & Hutter 2019) with decoupled decay."""
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[config["optimizer"]]
    return cls(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])


def steps_per_epoch(n_batches: int, accum: int) -> int:
    """Optimizer steps in an epoch of ``n_batches`` micro-batches; a last partial group still steps."""
    return math.ceil(n_batches / accum)


def fit(
    task: Task,
    data: Any,
    config: dict[str, Any],
    budget: Budget,
    *,
    metric: str,
    direction: str,
    seed: int,
    trial: optuna.Trial | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    keep_best_state: bool = False,
) -> FitResult:
    """Train ``task``'s model for ``config`` and evaluate it after every epoch.

    Args:
        task: The task (data, model, loss, metrics).
        data: What ``task.prepare`` returned.
        config: The trial's whole configuration (model, schedule and training parameters).
        budget: Epochs (the pruners' resource) and data fidelity.
        metric: Objective metric, one of ``task.metrics``.
        direction: ``"maximize"`` or ``"minimize"``.
        seed: Seeds weights, dropout and data order.
        trial: If given, each epoch is reported and may be pruned (``optuna.TrialPruned`` is raised
            after the result so far is stored on the trial).
        on_epoch: Called with ``(epoch, metrics)`` after each epoch (progress display).
        keep_best_state: Keep a copy of the weights at the best epoch.

    Returns:
        :class:`FitResult`.

    Raises:
        optuna.TrialPruned: the pruner stopped the trial, or the loss became non-finite.
        ValueError: the configuration does not fit the data (e.g. warmup longer than training).
    """
    generator = seed_everything(seed)
    model = task.build_model(config, data)
    optimizer = build_optimizer(model, config)
    batches = list(task.train_batches(data, config["batch_size"], generator))  # epoch 1; fixes the horizon
    horizon = Horizon(steps_per_epoch(len(batches), config["grad_accum_steps"]), budget.max_epochs)
    schedule = SCHEDULES.get(config["schedule"])
    runner = ScheduleRunner(schedule, optimizer, config, horizon)
    result = FitResult(param_count=sum(p.numel() for p in model.parameters() if p.requires_grad))
    better = (lambda a, b: a > b) if direction == "maximize" else (lambda a, b: a < b)
    try:
        for epoch in range(1, budget.max_epochs + 1):
            start = time.perf_counter()
            if epoch > 1:
                batches = list(task.train_batches(data, config["batch_size"], generator))
            train_loss = _train_epoch(task, model, batches, optimizer, runner, config, result.lr_per_step)
            metrics = task.evaluate(model, data, "valid")
            runner.after_epoch(metrics["loss"])
            row = {"epoch": epoch, "train_loss": train_loss, **metrics, "seconds": time.perf_counter() - start}
            result.history.append(row)
            value = metrics[metric]
            if math.isfinite(value) and (result.best_epoch == 0 or better(value, result.value)):
                result.value, result.best_epoch = value, epoch
                if keep_best_state:
                    result.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if on_epoch is not None:
                on_epoch(epoch, row)
            if trial is not None:
                trial.report(value, epoch)
                if trial.should_prune():
                    result.stopped, result.reason = "pruned", f"pruned by the pruner after epoch {epoch}"
                    break
    except NonFiniteLoss as exc:
        result.stopped, result.reason = "non-finite loss", str(exc)
    return result


def _train_epoch(task, model, batches, optimizer, runner, config, lr_log) -> float:
    model.train()
    accum, clip = config["grad_accum_steps"], config["grad_clip"]
    total, count, pending = 0.0, 0, 0
    optimizer.zero_grad(set_to_none=True)
    for i, batch in enumerate(batches):
        loss, n = task.loss(model, batch)
        if not torch.isfinite(loss):
            raise NonFiniteLoss(f"non-finite training loss ({loss.item()}) at optimizer step {len(lr_log) + 1}")
        (loss / accum).backward()
        total += loss.item() * n
        count += n
        pending += 1
        if pending == accum or i == len(batches) - 1:
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            lr_log.append(runner.lr)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            runner.after_optimizer_step()
            pending = 0
    return total / max(1, count)
