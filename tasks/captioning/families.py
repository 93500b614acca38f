"""The captioning task's built-in model families (:mod:`harness.family`): the Show, Attend and Tell LSTM decoder with
any attention type, and a Transformer decoder, both over the regions of the image encoder. Registered in
``pyproject.toml`` (entry-point group ``harness.models``)."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from harness_tasks.captioning.space import ALPHA_C, CAPTION_TRANSFORMER_LAYERS, GATE
from harness_tasks.captioning.vocab import BOS_ID, EOS_ID, PAD_ID

from harness.errors import InvalidConfigError
from harness.family import Family
from harness.model_params import ATTENTION_TYPE, EMBEDDING_SIZE, HEADS
from harness.task import Group


def check(config: dict[str, Any], data: Any, *, multihead: bool) -> None:
    """What both decoders need of a configuration: heads dividing the hidden size where multi-head attention runs, an
    image encoder that leaves a region of the image (:func:`encoder_config`; nothing is built).

    Raises:
        InvalidConfigError: either does not hold.
        BadInputError: an unknown pretrained encoder or stride.
    """
    heads = config.get("heads", 1)
    if multihead and config["hidden_size"] % heads:
        raise InvalidConfigError(f"heads={heads} does not divide hidden_size={config['hidden_size']}")
    encoder_config(config, data)


def common(config: dict[str, Any], data: Any) -> dict[str, Any]:
    """What both decoders take: vocabulary, the image encoder (:func:`encoder_config`), sizes, beam size and special
    token ids.

    Raises:
        InvalidConfigError: the encoder leaves no region of the image.
        BadInputError: a pretrained encoder's weights or package are missing.
    """
    heads = config.get("heads", 1)
    return dict(vocab=len(data.vocab), encoder=encoder_config(config, data), hidden_size=config["hidden_size"],
                heads=heads, dropout=config["dropout"], max_len=data.max_len, beam_size=config["beam_size"],
                pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID)


def encoder_config(config: dict[str, Any], data: Any):
    """The image encoder of ``config["encoder"]``: the CNN trained from scratch (``encoder_width``,
    ``encoder_blocks``) or a pretrained backbone (``encoder_weights``, ``freeze_encoder``, ``encoder_stride``;
    :mod:`harness.models.captioning.backbones`), for the data's image size and normalisation."""
    from harness.models.captioning.backbones import PretrainedEncoderConfig
    from harness.models.captioning.encoder import EncoderConfig

    C, H, W = data.train.images.shape[1:]
    try:
        if config["encoder"] == "cnn":
            return EncoderConfig(C, H, W, blocks=config.get("encoder_blocks") or auto_blocks(H, W),
                                 width=config["encoder_width"])
        return PretrainedEncoderConfig(config["encoder"], C, H, W, stride=config["encoder_stride"],
                                       weights=config["encoder_weights"], freeze=config["freeze_encoder"],
                                       data_mean=tuple(float(v) for v in data.mean),
                                       data_std=tuple(float(v) for v in data.std))
    except ValueError as exc:
        raise InvalidConfigError(str(exc)) from None


def auto_blocks(height: int, width: int) -> int:
    """The fewest halving blocks (at least one) that leave at most 64 regions (8 x 8 for a square image)."""
    blocks = 1
    while (height >> blocks) * (width >> blocks) > 64 and min(height >> blocks, width >> blocks) > 1:
        blocks += 1
    return blocks


class ShowAttendTell(Family):
    """LSTM captioner with soft attention over CNN regions, gating scalar, doubly stochastic attention (Xu et al. 2015)."""

    task: ClassVar[str] = "captioning"
    name: ClassVar[str] = "show_attend_tell"

    @classmethod
    def groups(cls) -> list[Group]:
        return [Group((ATTENTION_TYPE, GATE, ALPHA_C, EMBEDDING_SIZE)),
                Group((HEADS,), lambda c: c.get("attention") == "multihead", "attention = multihead")]

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        check(config, data, multihead=config["attention"] == "multihead")

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        from harness.attention import build_attention
        from harness.models.captioning.lstm import ShowAttendTell, ShowAttendTellConfig

        cfg = ShowAttendTellConfig(**common(config, data),
                                   embedding_size=config["embedding_size"], gate=config["gate"], alpha_c=config["alpha_c"])
        return ShowAttendTell(cfg, functools.partial(build_attention, config["attention"]))


class CaptionTransformer(Family):
    """Transformer decoder over CNN region features (Vaswani et al. 2017)."""

    task: ClassVar[str] = "captioning"
    name: ClassVar[str] = "caption_transformer"

    @classmethod
    def groups(cls) -> list[Group]:
        return [Group((CAPTION_TRANSFORMER_LAYERS, HEADS))]

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        check(config, data, multihead=True)

    @classmethod
    def build(cls, config: dict[str, Any], data: Any):
        from harness.attention import build_attention
        from harness.models.captioning import CaptionerConfig
        from harness.models.captioning.transformer import TransformerCaptioner

        cfg = CaptionerConfig(**common(config, data), layers=config["transformer_layers"])
        return TransformerCaptioner(cfg, functools.partial(build_attention, "multihead"))
