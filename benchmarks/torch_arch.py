"""The float models of torch_models.py: a torchvision classification architecture with random weights,
its BatchNorm statistics taken from smooth random images, exported to a static-shape ONNX graph.

* **Weights:** torchvision's own random initialisation after ``torch.manual_seed(seed)``; no
  pretrained weights are downloaded (``weights=None``).
* **BatchNorm:** at initialisation every BatchNorm is the identity (mean 0, variance 1), and
  through a deep random network the activations then shrink or grow layer after layer (in
  MobileNetV3-small an activation scale of 1e-7, in EfficientNet-B0 a sigmoid input scale of
  1e-9: no int8 model represents that). So the running statistics are first measured on
  ``bn_images`` smooth random images (one forward pass with only the BatchNorm layers in train
  mode, cumulative average), as a trained network's are: each BatchNorm then normalizes its
  channels, and the activations keep sane ranges.
* **Inputs:** smooth random images (``smooth_images``): noise with a 1/f amplitude spectrum like
  natural images', correlated across the colour channels, each channel normalized to mean 0 and
  standard deviation 1 like an ImageNet-normalized photo. White noise would drive the first
  layers far from what a real image does.
* **Export:** ``torch.onnx.export(..., dynamo=False)``, the TorchScript exporter that
  ``picoq.converter.from_torch`` also uses, at opset 17 with static shapes (batch 1). torch 2.13
  defaults to ``dynamo=True``, which needs the onnxscript package and goes through torch.export.
"""

from __future__ import annotations

import io
import sys
import warnings
from typing import Any

import numpy as np

OPSET = 17


def import_torchvision() -> Any:
    """torchvision, also when its compiled ops cannot load.

    The torchvision 0.28.0 wheel on PyPI is built against torch's CUDA build: beside the CPU torch
    its ``_C`` extension (detection ops such as nms) does not load, and ``import torchvision``
    then fails on the fake-tensor registration of ``torchvision::nms`` and ``::qnms``. The
    classification models need none of those ops, so the two schemas are declared (without a
    kernel) and the import is retried."""
    try:
        import torchvision
    except RuntimeError as e:
        if "torchvision::" not in str(e):
            raise
        import torch

        for mod in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[mod]  # the half-imported package
        lib = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_torchvision.schemas = lib  # type: ignore[attr-defined]  # the definitions live as long as lib
        import torchvision
    return torchvision


def classification_models() -> list[str]:
    """The names torchvision.models.get_model accepts for image classification."""
    tv = import_torchvision()
    return sorted(tv.models.list_models(module=tv.models))


def smooth_images(rng: np.random.Generator, n: int, shape: tuple[int, int, int]) -> np.ndarray:
    """`n` random images (n, C, H, W), float32: 1/f amplitude spectrum, half of each channel shared
    with the others, each channel of each image at mean 0 and standard deviation 1."""
    c, h, w = shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fy**2 + fx**2)
    f[0, 0] = 1.0 / max(h, w)  # the mean: removed by the normalization anyway

    def spectrum(channels: int) -> np.ndarray:
        size = (n, channels, h, w // 2 + 1)
        return (rng.normal(size=size) + 1j * rng.normal(size=size)) / f

    img = np.fft.irfft2(0.5 * spectrum(c) + spectrum(1), s=(h, w))
    img -= img.mean(axis=(2, 3), keepdims=True)
    img /= img.std(axis=(2, 3), keepdims=True)
    return img.astype(np.float32)


def build(name: str, seed: int, bn_images: np.ndarray) -> Any:
    """torchvision's `name`, random weights (seed), BatchNorm statistics measured on `bn_images`
    (none: torchvision's initial ones, mean 0 and variance 1, as a new user's model has them);
    eval mode."""
    import torch

    tv = import_torchvision()
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. googlenet's notice that its default init will change
        model = tv.models.get_model(name, weights=None).eval()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if len(bn_images) == 0:
        return model
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: the one pass sets the statistics exactly
        bn.train()  # only the BatchNorms: dropout and stochastic depth stay in eval mode
    if bns:
        with torch.no_grad():
            model(torch.from_numpy(bn_images))
    return model.eval()


def export_onnx(model: Any, shape: tuple[int, ...]) -> bytes:
    """The ONNX bytes of `model` at the static input `shape`; input "input", output "output"."""
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model,
            (torch.zeros(shape),),
            buf,
            input_names=["input"],
            output_names=["output"],
            opset_version=OPSET,
            dynamo=False,
        )
    return buf.getvalue()
