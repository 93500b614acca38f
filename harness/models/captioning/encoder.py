"""The image encoder: a small convolutional network trained from scratch that yields a grid of regions.

``blocks`` blocks of ``[conv3x3 -> BatchNorm -> ReLU] x 2 -> max-pool 2x2`` halve the image each time
and double the channels from ``width``; the final ``(h, w)`` grid of feature vectors are the regions the
decoder attends over ("annotation vectors", Xu et al. 2015). ImageNet-pretrained backbones, which give better
features on photographs, are in :mod:`harness.models.captioning.backbones`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn


@dataclass(frozen=True)
class EncoderConfig:
    """Input shape and size of the CNN encoder.

    Args:
        channels: Image channels (1 or 3).
        height, width_px: Image size in pixels.
        blocks: Convolution blocks, each halving the resolution.
        width: Channels of the first block (doubled by each further block).
    """

    channels: int
    height: int
    width_px: int
    blocks: int = 2
    width: int = 32

    def __post_init__(self) -> None:
        if self.height >> self.blocks < 1 or self.width_px >> self.blocks < 1:
            raise ValueError(f"{self.blocks} blocks halve a {self.height}x{self.width_px} image to nothing")

    @property
    def grid(self) -> tuple[int, int]:
        """Rows and columns of the region grid."""
        return self.height >> self.blocks, self.width_px >> self.blocks

    @property
    def features(self) -> int:
        """Feature size of a region."""
        return self.width * 2 ** (self.blocks - 1)

    def build(self) -> CNNEncoder:
        return CNNEncoder(self)


class CNNEncoder(nn.Module):
    """Convolutional encoder: ``(B, C, H, W)`` images -> ``(B, h * w, D)`` region features."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        layers, c_in = [], config.channels
        for i in range(config.blocks):
            c_out = config.width * 2**i
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in = c_out
        self.net = nn.Sequential(*layers)

    @property
    def grid(self) -> tuple[int, int]:
        return self.config.grid

    def forward(self, images: Tensor) -> Tensor:
        features = self.net(images)  # (B, D, h, w)
        return features.flatten(2).transpose(1, 2)  # (B, h * w, D)
