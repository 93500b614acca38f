"""Trial checkpoints: a trial killed part-way resumes from its last finished epoch instead of epoch 1.

After every epoch that does not end the trial, :func:`harness.training.fit` saves everything the next epoch depends
on: the model, optimizer, schedule and gradient-scaler states, the data-order generator, the global random states
(PyTorch, NumPy, Python), the per-epoch history, the learning rate of every step and the best epoch so far. A trial
that resumes from such a file trains the remaining epochs exactly as the uninterrupted trial would have (the suite
checks it on CPU). The file is written atomically (a temporary file renamed over the old one) and deleted when the
trial ends.

Files live in ``<artifact folder>/checkpoints/<study>.trial-<n>.pt``, ``n`` being the number of the trial that first
ran the configuration: Optuna's ``RetryHeartbeatStaleTrialCallback`` re-queues a trial whose process died (no heartbeat) with
the same parameters, and the retry finds the checkpoint of the trial it retries (and trains with that trial's seed).
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Checkpoint layout version.
FORMAT = 1


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """The data-order generator's and the global random states (PyTorch CPU, NumPy, Python)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"generator": generator.get_state(), "torch": torch.get_rng_state(),
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached": float(cached)},
            "python": random.getstate()}


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` captured."""
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def serialized(obj: Any) -> bytes:
    """``obj`` as :func:`torch.save` writes it, in memory. Writing these bytes with plain file I/O makes a full disk an
    ``OSError`` naming the file (``ENOSPC``), where ``torch.save`` to a file reports only an internal position
    mismatch."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (:func:`serialized` into a temporary file, then rename); a failed write
    leaves neither the temporary file nor a broken ``path``.

    Raises:
        OSError: the folder cannot be created or written (``ENOSPC`` when the disk is full).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = serialized({"format": FORMAT, **state})
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc  # a failed write names no file by itself
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(path: Path) -> dict[str, Any] | None:
    """The state saved at ``path``, or ``None`` when there is none (or it is of another format)."""
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state if state.get("format") == FORMAT else None


def remove(path: Path | None) -> None:
    """Delete a trial's checkpoint (nothing if there is none)."""
    if path is not None:
        path.unlink(missing_ok=True)
