"""The translation task's built-in model families (:mod:`harness.family`): an RNN encoder-decoder with any attention
type, and a Transformer. Registered in ``pyproject.toml`` (entry-point group ``harness.models``)."""

from __future__ import annotations

from typing import Any, ClassVar

from harness_tasks.translation.tokenize import BOS_ID, EOS_ID, PAD_ID

from harness.errors import InvalidConfigError
from harness.family import Family
from harness.model_params import (
    ATTENTION_TYPE,
    CELL,
    EMBEDDING_SIZE,
    HEADS,
    INPUT_FEEDING,
    LAYERS,
    NORM,
    TRANSFORMER_LAYERS,
)
from harness.task import Group


def _check_heads(config: dict[str, Any]) -> None:
    """Heads must divide the hidden size wherever multi-head attention runs (the Transformer, an RNN's multihead)."""
    hidden, heads = config["hidden_size"], config.get("heads", 1)
    if hidden % heads and (config["model"] == "transformer" or config.get("attention") == "multihead"):
        raise InvalidConfigError(f"heads={heads} does not divide hidden_size={hidden}")


def _sizes(config: dict[str, Any], data: Any, layers: int) -> dict[str, Any]:
    """The constructor arguments both families share: vocabularies, sizes, special token ids."""
    hidden, heads = config["hidden_size"], config.get("heads", 1)
    return dict(src_vocab=data.src_tok.vocab_size, tgt_vocab=data.tgt_tok.vocab_size, hidden_size=hidden, layers=layers,
                dropout=config["dropout"], heads=heads, max_len=data.max_len, pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID)


class RNN(Family):
    """GRU/LSTM encoder-decoder, bidirectional encoder, input feeding, any attention type (Bahdanau 2015; Luong 2015).

    Sources: Bahdanau, Cho & Bengio 2015 (arXiv:1409.0473); Luong, Pham & Manning 2015 (arXiv:1508.04025).
    """

    task: ClassVar[str] = "translation"
    name: ClassVar[str] = "rnn"

    @classmethod
    def groups(cls) -> list[Group]:
        return [Group((ATTENTION_TYPE, CELL, INPUT_FEEDING, EMBEDDING_SIZE, LAYERS))]

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        _check_heads(config)

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        import functools

        from harness.attention import build_attention
        from harness.models.rnn_seq2seq import RNNConfig, RNNSeq2Seq

        cfg = RNNConfig(**_sizes(config, data, config["layers"]), embedding_size=config["embedding_size"],
                        cell=config["cell"], input_feeding=config["input_feeding"])
        return RNNSeq2Seq(cfg, functools.partial(build_attention, config["attention"]))


class Transformer(Family):
    """Transformer encoder-decoder, multi-head self- and cross-attention (Vaswani et al. 2017); pre-norm layers by
    default (Xiong et al. 2020), post-norm with ``norm = "post"``."""

    task: ClassVar[str] = "translation"
    name: ClassVar[str] = "transformer"

    @classmethod
    def groups(cls) -> list[Group]:
        return [Group((TRANSFORMER_LAYERS, HEADS, NORM))]

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        _check_heads(config)

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        import functools

        from harness.attention import build_attention
        from harness.models import Seq2SeqConfig
        from harness.models.transformer import TransformerSeq2Seq

        cfg = Seq2SeqConfig(**_sizes(config, data, config["transformer_layers"]), embedding_size=config["hidden_size"])
        norm = config.get("norm", NORM.default)  # configs stored before the option existed are pre-norm
        return TransformerSeq2Seq(cfg, functools.partial(build_attention, "multihead"), norm_first=norm == "pre")
