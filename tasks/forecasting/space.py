"""The forecasting task's own parameters: model family, attention type, patching and sizes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.family import family_groups
from harness.model_params import DROPOUT, HIDDEN_SIZE, INPUT_FEEDING, TRANSFORMER_LAYERS
from harness.params import Domain, Param
from harness.task import Group

#: The built-in families (:mod:`harness_tasks.forecasting.families`), in search order.
FAMILIES = ("rnn_forecaster", "transformer_forecaster", "attention_pooling", "dlinear")
SELF_ATTENTION_TYPES = ("scaled_dot", "multihead")

SELF_ATTENTION = Param("self_attention", "categorical", "multihead", Domain("categorical", choices=SELF_ATTENTION_TYPES),
                       choices=SELF_ATTENTION_TYPES, help="self-attention of the Transformer forecaster")
PATCH_LEN = Param("patch_len", "categorical", 16, Domain("categorical", choices=(1, 8, 16)), choices=(1, 4, 8, 12, 16, 24, 32),
                  unit="time steps", help="PatchTST patch length, stride patch_len // 2; 1 = one token per time step")
REVIN = Param("revin", "categorical", True, None, choices=(True, False),
              help="reversible instance normalisation of each window (Kim et al. 2022)")
KERNEL = Param("kernel", "int", 25, None, bounds=(3, 1001), unit="time steps", help="DLinear moving-average length (odd)")

FORECAST_HIDDEN = replace(HIDDEN_SIZE, default=64)
FORECAST_INPUT_FEEDING = replace(INPUT_FEEDING, default=False)
FORECAST_TRANSFORMER_LAYERS = replace(TRANSFORMER_LAYERS, default=2)


def groups(task: Any) -> list[Group]:
    """Model family first, then each family's own parameters while it is chosen, then the sizes every family but
    DLinear shares."""
    return [
        *family_groups(task, "dlinear", "forecaster family"),
        Group((FORECAST_HIDDEN, DROPOUT, REVIN), lambda c: c.get("model") != "dlinear", "model != dlinear"),
    ]
