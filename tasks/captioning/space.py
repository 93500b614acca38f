"""The captioning task's own parameters: decoder family, attention type, gate, doubly stochastic weight, sizes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.family import family_groups
from harness.model_params import DROPOUT, HIDDEN_SIZE, TRANSFORMER_LAYERS
from harness.params import Domain, Param
from harness.task import Group

#: The built-in families (:mod:`harness_tasks.captioning.families`), in search order.
FAMILIES = ("show_attend_tell", "caption_transformer")
ENCODERS = ("cnn", "resnet18", "resnet34", "resnet50", "efficientnet_lite0")
GATE = Param("gate", "categorical", True, Domain("categorical", choices=(True, False)), choices=(True, False),
             help="gating scalar beta on the attention context (Xu et al. 2015, 4.2.1)")
ALPHA_C = Param("alpha_c", "float", 1.0, Domain("float", 0.0, 1.0), bounds=(0.0, 100.0),
                help="weight of the doubly stochastic attention penalty (Xu et al. 2015, eq. 14)")
ENCODER = Param("encoder", "categorical", "cnn", None, choices=ENCODERS,
                help="image encoder: a CNN trained from scratch, or an ImageNet-pretrained ResNet-18/34/50 (He et al. 2016) "
                     "or EfficientNet-Lite0 (Tan & Le 2019)")
ENCODER_WEIGHTS = Param("encoder_weights", "text", "default", None,
                        help="pretrained weights: a state-dict file (absolute, or relative to the working directory), "
                             "'default' (ResNets: the torch hub cache; EfficientNet-Lite0: the file its package ships) "
                             "or 'none' (random initial weights)")
FREEZE_ENCODER = Param("freeze_encoder", "categorical", True, None, choices=(True, False),
                       help="keep the pretrained encoder's weights and batch-norm statistics (false: fine-tune it)")
ENCODER_STRIDE = Param("encoder_stride", "categorical", 32, None, choices=(8, 16, 32), unit="pixels per region",
                       help="output stride of the pretrained encoder's region grid (32: its last stage)")
ENCODER_WIDTH = Param("encoder_width", "int", 32, None, bounds=(4, 512), help="channels of the CNN's first block")
ENCODER_BLOCKS = Param("encoder_blocks", "int", None, None, bounds=(1, 8),
                       help="CNN blocks, each halving the image (default: the fewest leaving at most 64 regions)")
BEAM_SIZE = Param("beam_size", "int", 1, None, bounds=(1, 20), help="beam size of caption decoding (1 = greedy)")

CAPTION_HIDDEN = replace(HIDDEN_SIZE, default=256)
CAPTION_TRANSFORMER_LAYERS = replace(TRANSFORMER_LAYERS, default=2)


def groups(task: Any) -> list[Group]:
    """Decoder family first, each family's own parameters while it is chosen (the LSTM's attention, gate and penalty;
    the Transformer's layers and heads), then the encoder and sizes they share."""
    return [
        *family_groups(task, "show_attend_tell",
                       "decoder family: LSTM with soft attention (Xu et al. 2015), Transformer decoder, or a plugin's"),
        Group((ENCODER,)),
        Group((ENCODER_WIDTH, ENCODER_BLOCKS), lambda c: c.get("encoder") == "cnn", "encoder = cnn"),
        Group((ENCODER_WEIGHTS, FREEZE_ENCODER, ENCODER_STRIDE), lambda c: c.get("encoder") != "cnn", "encoder != cnn"),
        Group((CAPTION_HIDDEN, DROPOUT, BEAM_SIZE)),
    ]
