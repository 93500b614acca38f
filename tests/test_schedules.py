"""Every schedule: the learning rate applied at chosen optimizer steps equals its closed form."""

from __future__ import annotations

import math

import pytest

from harness.errors import InvalidConfigError
from harness.registry import SCHEDULES
from harness.schedules import Horizon, lr_trace

LR = 0.01
H = Horizon(steps_per_epoch=10, epochs=4)  # 40 optimizer steps; step s is in epoch s // 10
T = H.total_steps


def cosine(s: int, T: int, lo: float) -> float:
    return lo + (LR - lo) * (1 + math.cos(math.pi * s / T)) / 2


CASES = {
    "constant": ({}, lambda s: LR),
    "step": ({"step_size": 2, "step_gamma": 0.5}, lambda s: LR * 0.5 ** ((s // 10) // 2)),
    "exponential": ({"exp_gamma": 0.8}, lambda s: LR * 0.8 ** (s // 10)),
    "linear_decay": ({"min_lr_ratio": 0.1}, lambda s: LR * (1 + (0.1 - 1) * s / T)),
    "cosine": ({"min_lr_ratio": 0.05}, lambda s: cosine(s, T, 0.05 * LR)),
    "cosine_warm_restarts": (
        {"t0_epochs": 1, "t_mult": 2, "min_lr_ratio": 0.0},
        # cycles of 10, then 20 steps: restart at steps 10 and 30
        lambda s: cosine(s, 10, 0) if s < 10 else cosine(s - 10, 20, 0) if s < 30 else cosine(s - 30, 40, 0),
    ),
    "warmup_cosine": (
        {"warmup_fraction": 0.25, "min_lr_ratio": 0.0},  # 10 warmup steps
        lambda s: LR * (s + 1) / 10 if s < 10 else LR * (1 + math.cos(math.pi * (s - 10) / 30)) / 2,
    ),
    "inverse_sqrt": ({"warmup_steps": 8}, lambda s: LR * min((s + 1) / 8, math.sqrt(8 / (s + 1)))),
    "one_cycle": (
        {"pct_start": 0.25, "div_factor": 25.0, "final_div_factor": 1e4},
        # rises from LR/25 to LR over steps 0..9 (end = pct_start*T - 1), then falls to LR/25/1e4 at step 39
        lambda s: (LR / 25 + (LR - LR / 25) * (1 - math.cos(math.pi * s / 9)) / 2) if s <= 9
        else (LR / 25 / 1e4 + (LR - LR / 25 / 1e4) * (1 + math.cos(math.pi * (s - 9) / 30)) / 2),
    ),
}


def test_every_registered_schedule_is_tested():
    assert set(SCHEDULES.registered_in_code()) == set(CASES) | {"plateau"}  # plugins installed or not


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("step", [0, 1, 5, 9, 10, 11, 19, 20, 29, 30, 35, 39])
def test_lr_matches_closed_form(name, step):
    params, closed_form = CASES[name]
    trace = lr_trace(name, params, LR, H)
    assert len(trace) == T
    assert trace[step] == pytest.approx(closed_form(step), rel=1e-6, abs=1e-12)


def test_plateau_halves_after_patience_epochs_without_improvement():
    params = {"plateau_factor": 0.5, "plateau_patience": 1, "min_lr_ratio": 0.3}
    # epoch losses: improves, worse, worse (patience 1 exceeded -> x0.5), worse, worse (-> x0.5, floored at 0.3 LR)
    trace = lr_trace("plateau", params, LR, Horizon(2, 6), valid_losses=[1.0, 1.1, 1.2, 1.3, 1.4, 1.5])
    per_epoch = trace[::2]
    assert per_epoch == pytest.approx([LR, LR, LR, LR * 0.5, LR * 0.5, LR * 0.3])


@pytest.mark.parametrize("name", ["step", "exponential", "plateau"])
def test_epoch_schedules_hold_the_lr_within_an_epoch(name):
    params = {"step": {"step_size": 1, "step_gamma": 0.5}, "exponential": {"exp_gamma": 0.5},
              "plateau": {"plateau_factor": 0.5, "plateau_patience": 0, "min_lr_ratio": 0.0}}[name]
    trace = lr_trace(name, params, LR, H, valid_losses=[4, 5, 6, 7])
    for epoch in range(H.epochs):
        assert len(set(trace[epoch * 10 : (epoch + 1) * 10])) == 1
    assert trace[-1] < trace[0]


def test_warmup_longer_than_training_is_rejected_with_both_numbers():
    with pytest.raises(InvalidConfigError, match="warmup of 40 steps is not shorter than the training \\(40"):
        lr_trace("warmup_cosine", {"warmup_steps": 40, "min_lr_ratio": 0.0}, LR, H)


def test_schedule_parameters_are_declared_with_units():
    for name in SCHEDULES.names():
        schedule = SCHEDULES.get(name)
        assert schedule.interval in ("step", "epoch")
        for param in schedule.params:
            assert param.help, f"{name}.{param.name} lacks a description"
