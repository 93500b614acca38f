"""Attention variants, one module each, one signature for all (see :mod:`harness.attention._base`).

Build one by name with :func:`build_attention`; the names live in :data:`harness.registry.ATTENTION`.
"""

from __future__ import annotations

from harness.attention._base import CAUSAL, Attention, AttentionConfig, Causal, Memory, expand_mask, masked_softmax
from harness.registry import ATTENTION


def build_attention(name: str, config: AttentionConfig) -> Attention:
    """Build the attention variant registered under ``name``.

    Raises:
        UnknownNameError: ``name`` is not a registered attention type.
        ValueError: the variant cannot take ``config`` (for example dot attention with unequal sizes).
    """
    return ATTENTION.get(name)(config)


__all__ = ["CAUSAL", "Attention", "AttentionConfig", "Causal", "Memory", "build_attention", "expand_mask", "masked_softmax"]
