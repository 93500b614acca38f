"""Where a trial trains and in which precision: the device, automatic mixed precision, batches moved to it.

``[budget] device`` is ``"auto"`` (CUDA when available, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
``"mps"``; ``[budget] precision`` is ``"fp32"``, ``"bf16"``, ``"fp16"`` or ``"auto"`` (bf16 on a CUDA device that
supports it, fp16 on an older one, fp32 elsewhere). Mixed precision is PyTorch's automatic mixed precision
(Micikevicius et al., "Mixed Precision Training", ICLR 2018): the forward pass and the loss run under
:func:`torch.autocast`, weights and optimizer state stay fp32, and fp16 alone scales the loss with
:class:`torch.amp.GradScaler` (bf16 has fp32's exponent range and needs no scaling). On CUDA, fp32 matrix
products may use TF32 tensor cores (``torch.backends.cuda.matmul.allow_tf32``).

Which precisions a device can do (anything else is a :class:`DeviceError` before the storage is touched):

=======  ================================================
device   precisions
=======  ================================================
cpu      fp32, bf16 (CPU autocast)
cuda     fp32, fp16, bf16 where ``torch.cuda.is_bf16_supported()``
mps      fp32, fp16
=======  ================================================

The name checks (:func:`check_device_name`, :data:`PRECISIONS`) are torch-free, so specs validate without
importing PyTorch; everything else imports it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import BadInputError, hint_suffix

if TYPE_CHECKING:
    import torch

#: Accepted ``[budget] device`` forms (``cuda:N`` with a GPU index N).
DEVICE_FORMS = ("auto", "cpu", "cuda", "cuda:N", "mps")
#: Accepted ``[budget] precision`` values.
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")
_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}


class DeviceError(BadInputError):
    """A device that is not there, or a precision the device cannot do (exit code 2)."""


def check_device_name(value: str) -> str:
    """``value`` if it is one of :data:`DEVICE_FORMS` (torch-free; availability is checked by :func:`resolve_device`).

    Raises:
        ValueError: any other string: the accepted forms and a "did you mean" (the spec's message adds the value).
    """
    if not isinstance(value, str) or not _DEVICE_RE.match(value):
        raise ValueError(f"accepted: {', '.join(DEVICE_FORMS)}{hint_suffix(value, ('auto', 'cpu', 'cuda', 'mps'))}")
    return value


def resolve_device(name: str) -> torch.device:
    """The :class:`torch.device` for a ``[budget] device`` value.

    ``auto`` is ``cuda`` (the first visible GPU) when CUDA is available, else ``cpu``; MPS is never chosen
    automatically (its kernels still miss operations these models use on some PyTorch versions).

    Raises:
        DeviceError: CUDA or MPS asked for but not available, or a GPU index past the visible GPUs.
    """
    import torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{name}' asked for, but this PyTorch ({torch.__version__}) sees no CUDA GPU; "
                              "use device = \"cpu\" or \"auto\", or install a CUDA build of PyTorch")
        index = int(name.split(":", 1)[1]) if ":" in name else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(f"device '{name}' asked for, but {count} CUDA GPU(s) are visible (cuda:0 to cuda:{count - 1}; "
                              "CUDA_VISIBLE_DEVICES renumbers them from 0)")
        return torch.device("cuda", index)
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError("device 'mps' asked for, but the Apple MPS backend is not available here; use \"cpu\"")
        return torch.device("mps")
    return torch.device("cpu")


def resolve_precision(precision: str, device: torch.device) -> str:
    """The concrete precision (``fp32``, ``bf16`` or ``fp16``) for ``precision`` on ``device``.

    Raises:
        DeviceError: a precision the device cannot do (see the module's table), or an unknown name.
    """
    import torch

    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision '{precision}'{hint_suffix(precision, PRECISIONS)}; accepted: "
                          + ", ".join(PRECISIONS))
    kind = device.type
    cuda_bf16 = kind == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "auto":
        return ("bf16" if cuda_bf16 else "fp16") if kind == "cuda" else "fp32"
    can = {"cpu": ("fp32", "bf16"), "mps": ("fp32", "fp16"),
           "cuda": ("fp32", "fp16", "bf16") if cuda_bf16 else ("fp32", "fp16")}.get(kind, ("fp32",))
    if precision not in can:
        why = {("cpu", "fp16"): "fp16 autocast with loss scaling is for GPUs; on the CPU use bf16 or fp32",
               ("cuda", "bf16"): "this GPU has no bf16 support; use fp16 or fp32",
               ("mps", "bf16"): "the MPS backend's autocast does fp16; use fp16 or fp32"}.get((kind, precision), "")
        raise DeviceError(f"precision '{precision}' is not available on device '{device}'"
                          + (f": {why}" if why else f"; available: {', '.join(can)}"))
    return precision


@dataclass(frozen=True)
class Placement:
    """Where and how a model trains: the device, the concrete precision, and whether it is compiled.

    Build it with :func:`placement`; the default is the CPU in fp32, the harness's behaviour before devices.

    Attributes:
        device: The :class:`torch.device` models and batches move to (``None`` means the CPU).
        precision: ``fp32``, ``bf16`` or ``fp16`` (never ``auto``).
        compile: Train through :func:`torch.compile` (evaluation and decoding use the plain module).
        data_workers: DataLoader worker processes that build training batches (0: in the training process).
    """

    device: Any = None
    precision: str = "fp32"
    compile: bool = False
    data_workers: int = 0

    @property
    def torch_device(self) -> torch.device:
        import torch

        return self.device if self.device is not None else torch.device("cpu")

    def autocast(self) -> contextlib.AbstractContextManager:
        """:func:`torch.autocast` in the precision on the device; a no-op context in fp32."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(self.torch_device.type, dtype=getattr(torch, _DTYPES[self.precision]))

    def grad_scaler(self):
        """A :class:`torch.amp.GradScaler`, enabled for fp16 only (a pass-through otherwise)."""
        import torch

        return torch.amp.GradScaler(self.torch_device.type, enabled=self.precision == "fp16")

    def describe(self) -> dict[str, Any]:
        """JSON-able record of the placement: device, its name, precision, TF32, compile."""
        import torch

        device = self.torch_device
        record: dict[str, Any] = {"device": str(device), "precision": self.precision, "compile": self.compile,
                                  "data_workers": self.data_workers}
        import os

        if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
            record["visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]  # a worker's own GPU (--devices)
        if device.type == "cuda":
            index = device.index if device.index is not None else torch.cuda.current_device()
            record.update(device_name=torch.cuda.get_device_name(index), device_index=index,
                          tf32_matmul=bool(torch.backends.cuda.matmul.allow_tf32))
        return record


def placement(device: str = "cpu", precision: str = "fp32", compile: bool = False, data_workers: int = 0) -> Placement:
    """Resolve ``[budget] device``, ``precision`` and ``compile`` into a :class:`Placement`; on CUDA, allow TF32
    matrix products and cuDNN convolutions (fp32 storage, 10-bit mantissa products).

    Raises:
        DeviceError: see :func:`resolve_device` and :func:`resolve_precision`.
    """
    import torch

    dev = resolve_device(device)
    concrete = resolve_precision(precision, dev)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return Placement(dev, concrete, compile, data_workers)


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor in it (nested tuples, lists, dicts) moved to ``device``; other values as they are.

    Copies are ``non_blocking`` on CUDA, so batches from pinned memory overlap with compute.
    """
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=device.type == "cuda")
    if isinstance(batch, tuple):
        return type(batch)(*(to_device(b, device) for b in batch)) if hasattr(batch, "_fields") else \
            tuple(to_device(b, device) for b in batch)
    if isinstance(batch, list):
        return [to_device(b, device) for b in batch]
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (the CPU for a model with neither)."""
    import torch

    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[torch.device]:
    """Evaluation mode without gradients for the block, the previous mode restored after; yields the model's device."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model_device(model)
    finally:
        model.train(was_training)


def gpu_environment() -> dict[str, Any]:
    """JSON-able facts about the GPUs this process sees: count, names, CUDA and cuDNN versions (empty without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return {"gpu_count": 0}
    return {"gpu_count": torch.cuda.device_count(),
            "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}


__all__ = ["DEVICE_FORMS", "PRECISIONS", "DeviceError", "Placement", "check_device_name", "evaluating",
           "gpu_environment", "model_device", "placement", "resolve_device", "resolve_precision", "to_device"]
