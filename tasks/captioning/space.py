"""The captioning task's own parameters: decoder family, attention type, gate, doubly stochastic weight, sizes."""

from __future__ import annotations

from dataclasses import replace

from harness.model_params import ATTENTION_TYPE, DROPOUT, EMBEDDING_SIZE, HEADS, HIDDEN_SIZE, TRANSFORMER_LAYERS
from harness.params import Domain, Param
from harness.task import Group

FAMILIES = ("show_attend_tell", "caption_transformer")
ENCODERS = ("cnn", "resnet18")

MODEL = Param("model", "categorical", "show_attend_tell", Domain("categorical", choices=FAMILIES), choices=FAMILIES,
              help="decoder family: LSTM with soft attention (Xu et al. 2015) or Transformer decoder")
GATE = Param("gate", "categorical", True, Domain("categorical", choices=(True, False)), choices=(True, False),
             help="gating scalar beta on the attention context (Xu et al. 2015, 4.2.1)")
ALPHA_C = Param("alpha_c", "float", 1.0, Domain("float", 0.0, 1.0), bounds=(0.0, 100.0),
                help="weight of the doubly stochastic attention penalty (Xu et al. 2015, eq. 14)")
ENCODER = Param("encoder", "categorical", "cnn", None, choices=ENCODERS,
                help="image encoder: a CNN trained from scratch, or an ImageNet-pretrained torchvision ResNet-18")
ENCODER_WIDTH = Param("encoder_width", "int", 32, None, bounds=(4, 512), help="channels of the CNN's first block")
ENCODER_BLOCKS = Param("encoder_blocks", "int", None, None, bounds=(1, 8),
                       help="CNN blocks, each halving the image (default: the fewest leaving at most 64 regions)")
BEAM_SIZE = Param("beam_size", "int", 1, None, bounds=(1, 20), help="beam size of caption decoding (1 = greedy)")

CAPTION_HIDDEN = replace(HIDDEN_SIZE, default=256)
CAPTION_TRANSFORMER_LAYERS = replace(TRANSFORMER_LAYERS, default=2)


def groups() -> list[Group]:
    """Decoder family first; the LSTM's attention, gate and penalty only for it; heads where multi-head runs."""
    return [
        Group((MODEL,)),
        Group((ATTENTION_TYPE, GATE, ALPHA_C, EMBEDDING_SIZE), lambda c: c.get("model") == "show_attend_tell",
              "model = show_attend_tell"),
        Group((CAPTION_TRANSFORMER_LAYERS, HEADS), lambda c: c.get("model") == "caption_transformer",
              "model = caption_transformer"),
        Group((HEADS,), lambda c: c.get("attention") == "multihead", "attention = multihead"),
        Group((ENCODER, ENCODER_WIDTH, ENCODER_BLOCKS, CAPTION_HIDDEN, DROPOUT, BEAM_SIZE)),
    ]
