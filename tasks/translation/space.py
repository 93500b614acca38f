"""The translation task's own parameters: model family, attention type and sizes."""

from __future__ import annotations

from typing import Any

from harness.family import family_groups
from harness.model_params import DROPOUT, HEADS, HIDDEN_SIZE
from harness.task import Group

#: The built-in families (:mod:`harness_tasks.translation.families`), in search order.
FAMILIES = ("rnn", "transformer")


def groups(task: Any) -> list[Group]:
    """Model family first; each family's own parameters (the RNN's attention and cell, the Transformer's layers and
    heads) while it is chosen; the shared sizes; heads where multi-head attention runs."""
    return [
        *family_groups(task, "rnn", "model family: RNN encoder-decoder with attention, Transformer, or a plugin's"),
        Group((HIDDEN_SIZE, DROPOUT)),
        Group((HEADS,), lambda c: c.get("attention") == "multihead", "attention = multihead"),
    ]
