"""Searchable parameters of the model families, shared by the tasks that build them.

A task picks the ones its families use and adjusts defaults with :func:`dataclasses.replace` (the
translation RNN feeds its attentional state back by default, the forecasting RNN does not). Shared names
carry the same choices everywhere, as Optuna requires of a categorical parameter.
"""

from __future__ import annotations

from harness.params import Domain, Param
from harness.registry import ATTENTION

ATTENTION_TYPES = tuple(ATTENTION.names())

ATTENTION_TYPE = Param("attention", "categorical", "additive", Domain("categorical", choices=ATTENTION_TYPES),
                       choices=ATTENTION_TYPES, help="attention type of the RNN decoder")
CELL = Param("cell", "categorical", "gru", None, choices=("gru", "lstm"), help="RNN cell")
INPUT_FEEDING = Param("input_feeding", "categorical", True, None, choices=(True, False),
                      help="feed the previous attentional state to the decoder (Luong et al. 2015)")
EMBEDDING_SIZE = Param("embedding_size", "int", 128, None, bounds=(1, 4096), help="token embedding size (RNN)")
HIDDEN_SIZE = Param("hidden_size", "int", 256, None, bounds=(1, 8192), help="RNN hidden size or Transformer d_model")
LAYERS = Param("layers", "int", 1, None, bounds=(1, 24), help="RNN encoder layers (and as many decoder layers)")
TRANSFORMER_LAYERS = Param("transformer_layers", "int", 3, None, bounds=(1, 24),
                           help="Transformer encoder layers (and as many decoder layers)")
NORM = Param("norm", "categorical", "pre", None, choices=("pre", "post"),
             help="Transformer layer norm: pre (before each sub-layer; Xiong et al. 2020) or post (after each residual; "
                  "Vaswani et al. 2017)")
DROPOUT = Param("dropout", "float", 0.1, None, bounds=(0.0, 0.9), help="dropout probability")
HEADS = Param("heads", "int", 4, None, bounds=(1, 64), help="attention heads (multihead, Transformer)")
