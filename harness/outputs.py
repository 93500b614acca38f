"""Stored outputs: what a test evaluation predicted, and what it was scored against.

Every test evaluation (the best configuration of a study, the best of each model family, every trivial
baseline, every seeded re-run of a benchmark) keeps its predictions (hypotheses, captions, forecasts) in
the storage, and the study keeps the references of the split once, in the same order. ``harness
rescore`` recomputes each stored metric from the two with the task's scoring function, so every number a
report prints can be re-derived from the database alone.

An output is JSON-able data (dicts, lists, strings, numbers) in which numpy arrays may appear. It is
packed into text by :func:`pack`: arrays become ``{"__ndarray__": dtype, "shape": [...], "data": ...}``
with their raw bytes LZMA-compressed (integer arrays of two or more dimensions are first differenced
along axis 1, which shrinks forecasts, smooth along the horizon, by about half), then the whole JSON text
is LZMA-compressed and base64-encoded. :func:`unpack` inverts it exactly (lossless).

The packed text is split over attributes of at most :data:`harness.storage.CHUNK_CHARS` characters
(see :func:`harness.storage.put_output`), stored as Optuna *system* attributes under ``outputs:<key>``, so
the dashboard's user-attribute views and the report's bulk reads stay small.
"""

from __future__ import annotations

import base64
import json
import lzma
from typing import Any

import numpy as np

#: Prefix of every stored-output attribute.
PREFIX = "outputs:"
_ARRAY = "__ndarray__"


def pack(obj: Any) -> str:
    """JSON-able data with numpy arrays -> compact ASCII text (see the module docstring).

    Raises:
        TypeError: ``obj`` holds something neither JSON-able nor a numpy array.
    """
    text = json.dumps(_encode(obj), separators=(",", ":"), allow_nan=False)
    return base64.b64encode(lzma.compress(text.encode("utf-8"), preset=6)).decode("ascii")


def unpack(text: str) -> Any:
    """The data :func:`pack` was given (numpy arrays restored with their dtype and shape).

    Raises:
        ValueError: ``text`` is not packed output (bad base64, LZMA or JSON).
    """
    try:
        raw = lzma.decompress(base64.b64decode(text.encode("ascii"), validate=True))
        return _decode(json.loads(raw.decode("utf-8")))
    except (lzma.LZMAError, ValueError, UnicodeError) as exc:
        raise ValueError(f"not a packed output ({type(exc).__name__}: {exc})") from None


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj)
        delta = array.ndim >= 2 and np.issubdtype(array.dtype, np.integer) and array.shape[1] > 0
        body = np.diff(array, axis=1, prepend=np.zeros_like(array[:, :1])) if delta else array
        return {_ARRAY: array.dtype.str, "shape": list(array.shape), "delta_axis": 1 if delta else None,
                "data": base64.b64encode(lzma.compress(body.tobytes(), preset=6)).decode("ascii")}
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot store an output of type {type(obj).__name__}; expected JSON-able data or numpy arrays")


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if _ARRAY in obj:
            body = np.frombuffer(lzma.decompress(base64.b64decode(obj["data"])), dtype=np.dtype(obj[_ARRAY]))
            array = body.reshape(obj["shape"])
            return np.cumsum(array, axis=1, dtype=array.dtype) if obj.get("delta_axis") == 1 else array.copy()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj
