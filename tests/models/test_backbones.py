"""Pretrained image encoders: torchvision-compatible ResNets, EfficientNet-Lite0 with the ImageNet weights its package
ships, the region grid, freezing, and the weights file checks."""

from __future__ import annotations

import pytest
import torch

from harness.errors import BadInputError
from harness.models.captioning.backbones import BACKBONES, FeatureCache, PretrainedEncoderConfig, ResNet


@pytest.mark.parametrize("name,parameters", [("resnet18", 11_689_512), ("resnet34", 21_797_672), ("resnet50", 25_557_032)])
def test_resnets_have_torchvision_s_parameters_and_names(name, parameters):
    """The parameter counts torchvision documents for its ImageNet ResNets, and its state-dict names, so its files load."""
    net = BACKBONES[name].build()
    assert isinstance(net, ResNet) and sum(p.numel() for p in net.parameters()) == parameters
    keys = set(net.state_dict())
    assert {"conv1.weight", "bn1.running_var", "layer2.0.downsample.0.weight", "layer4.1.bn2.num_batches_tracked",
            "fc.weight", "fc.bias"} <= keys
    assert ("layer1.0.downsample.0.weight" in keys) == (name == "resnet50")  # 64 -> 256 channels in a bottleneck
    assert ("layer1.0.conv3.weight" in keys) == (name == "resnet50")


def _images(pixels, mean=(0.45, 0.44, 0.40), std=(0.27, 0.26, 0.28)):
    """``(B, 3, H, W)`` uint8 -> normalised with a dataset's statistics, as the captioning task hands them over."""
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    return (pixels.float() / 255 - m) / s


@pytest.mark.parametrize("name", ["resnet18", "efficientnet_lite0"])
@pytest.mark.parametrize("size,stride", [(128, 32), (128, 16), (100, 16), (96, 8)])
def test_region_grid_matches_the_features(tmp_path, name, size, stride):
    cfg = PretrainedEncoderConfig(name, 3, size, size + 32, stride=stride, weights="none")
    encoder = cfg.build().eval()
    with torch.no_grad():
        regions = encoder(torch.zeros(2, 3, size, size + 32))
    h, w = encoder.grid
    assert regions.shape == (2, h * w, cfg.features)
    assert abs(h - size / stride) < 1 and abs(w - (size + 32) / stride) < 1


def test_a_weights_file_loads_and_a_frozen_encoder_stays_frozen(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "r18.pth"
    torch.save(BACKBONES["resnet18"].build().state_dict(), path)
    frozen = PretrainedEncoderConfig("resnet18", 1, 64, 64, stride=16, weights=str(path), data_mean=(0.5,),
                                     data_std=(0.25,)).build()
    torch.testing.assert_close(frozen.net.state_dict(), torch.load(path, weights_only=True))
    frozen.train()
    assert not frozen.net.training and not any(p.requires_grad for p in frozen.net.parameters())
    out = frozen(torch.randn(2, 1, 64, 64, requires_grad=True))  # one channel, repeated
    assert out.shape == (2, 16, 256) and not out.requires_grad
    tuned = PretrainedEncoderConfig("resnet18", 3, 64, 64, stride=16, weights=str(path), freeze=False).build().train()
    tuned(torch.randn(2, 3, 64, 64)).sum().backward()
    assert tuned.net.training and tuned.net.layer3[0].conv1.weight.grad is not None


def test_bad_weights_files_are_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="no file"):
        PretrainedEncoderConfig("resnet18", 3, 64, 64, weights=str(tmp_path / "missing.pth")).build()
    (tmp_path / "junk.pth").write_bytes(b"not a state dict")
    with pytest.raises(BadInputError, match="cannot read"):
        PretrainedEncoderConfig("resnet18", 3, 64, 64, weights=str(tmp_path / "junk.pth")).build()
    torch.save(BACKBONES["resnet18"].build().state_dict(), tmp_path / "r18.pth")
    with pytest.raises(BadInputError, match="does not fit encoder 'resnet34'"):
        PretrainedEncoderConfig("resnet34", 3, 64, 64, weights=str(tmp_path / "r18.pth")).build()
    with pytest.raises(BadInputError, match="encoder_stride must be one of 8, 16, 32, got 4"):
        PretrainedEncoderConfig("resnet18", 3, 64, 64, stride=4)


def test_efficientnet_lite0_ships_imagenet_weights_that_recognise_photographs():
    """The shipped file is ImageNet-trained, and the encoder's re-normalisation (dataset statistics -> the Lite models'
    (x - 127) / 128) is the one it was trained with: a daisy is a daisy, a palace's roofs a palace or a castle."""
    from sklearn.datasets import load_sample_image

    torch.set_num_threads(1)
    encoder = PretrainedEncoderConfig("efficientnet_lite0", 3, 224, 224, data_mean=(0.45, 0.44, 0.40),
                                      data_std=(0.27, 0.26, 0.28)).build().eval()
    photos = []
    for name in ("flower.jpg", "china.jpg"):
        pixels = torch.from_numpy(load_sample_image(name).copy()).permute(2, 0, 1)[None].float()
        photos.append(torch.nn.functional.interpolate(pixels, size=(224, 224), mode="bilinear", antialias=True).round())
    x = _images(torch.cat(photos))
    with torch.no_grad():
        classes = encoder.net(x * encoder.scale + encoder.shift).topk(5).indices.tolist()
    assert classes[0][0] == 985  # ImageNet class 985: daisy
    assert {698, 483} & set(classes[1])  # palace, castle


def test_a_frozen_encoder_computes_each_image_s_regions_once(tmp_path, monkeypatch):
    """The same regions as without the cache, each distinct image computed once (twice in one batch included), a
    changed (augmented) image computed anew, and the memory budget respected."""
    import harness.models.captioning.backbones as backbones

    torch.manual_seed(0)
    torch.save(BACKBONES["resnet18"].build().state_dict(), tmp_path / "r18.pth")
    cache = FeatureCache()
    monkeypatch.setattr(backbones, "FEATURES", cache)
    encoder = PretrainedEncoderConfig("resnet18", 3, 32, 32, stride=16, weights=str(tmp_path / "r18.pth")).build().train()
    images = torch.randn(4, 3, 32, 32)
    batch = images[[0, 1, 2, 0]]
    first = encoder(batch)
    torch.testing.assert_close(first, encoder._regions(batch), rtol=1e-5, atol=1e-5)
    assert (cache.misses, cache.hits) == (4, 0) and len(cache._store) == 3
    again = encoder(images)
    torch.testing.assert_close(again[:3], first[:3])
    assert (cache.misses, cache.hits) == (5, 3)
    encoder(images + 0.01)  # shifted pixels: new images
    assert cache.misses == 9
    cache.max_bytes = first[0].numel() * 4 * 2
    encoder(images)
    assert len(cache._store) == 2 and cache.bytes <= cache.max_bytes


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", [torch.float32, torch.bfloat16])
def test_a_frozen_encoder_runs_on_cuda_without_the_cache(monkeypatch, precision):
    """On a GPU the backbone runs on every batch (the cache is for the CPU), under autocast too."""
    import harness.models.captioning.backbones as backbones

    cache = FeatureCache()
    monkeypatch.setattr(backbones, "FEATURES", cache)
    device = torch.device("cuda")
    encoder = PretrainedEncoderConfig("efficientnet_lite0", 3, 128, 128, stride=16).build().to(device).train()
    images = torch.randn(4, 3, 128, 128, device=device)
    with torch.autocast("cuda", dtype=precision, enabled=precision != torch.float32):
        regions = encoder(images)
    assert regions.device.type == "cuda" and regions.shape == (4, 64, 112) and torch.isfinite(regions.float()).all()
    assert cache.misses == cache.hits == 0
