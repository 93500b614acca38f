"""The translation task's own parameters: model family, attention type and sizes."""

from __future__ import annotations

from harness.model_params import (
    ATTENTION_TYPE,
    CELL,
    DROPOUT,
    EMBEDDING_SIZE,
    HEADS,
    HIDDEN_SIZE,
    INPUT_FEEDING,
    LAYERS,
    TRANSFORMER_LAYERS,
)
from harness.params import Domain, Param
from harness.task import Group

FAMILIES = ("rnn", "transformer")

MODEL = Param("model", "categorical", "rnn", Domain("categorical", choices=FAMILIES), choices=FAMILIES,
              help="model family: RNN encoder-decoder with attention, or Transformer")


def groups() -> list[Group]:
    """Model family first; the RNN's attention and cell only for the RNN; heads where multi-head attention runs."""
    return [
        Group((MODEL,)),
        Group((ATTENTION_TYPE, CELL, INPUT_FEEDING, EMBEDDING_SIZE, LAYERS), lambda c: c.get("model") == "rnn",
              "model = rnn"),
        Group((TRANSFORMER_LAYERS, HEADS), lambda c: c.get("model") == "transformer", "model = transformer"),
        Group((HIDDEN_SIZE, DROPOUT)),
        Group((HEADS,), lambda c: c.get("attention") == "multihead", "attention = multihead"),
    ]
