"""Beam search over a captioner's :meth:`~harness.models.captioning.Captioner.step` (greedy at beam size 1).

Keeps the ``beam_size`` most probable partial captions per image; a finished caption (EOS) keeps its
score and extends only with padding. The result is the finished caption with the highest log-probability
divided by ``length ** length_penalty`` (0: raw log-probability; 1: per-word average). With one beam
this is exactly greedy decoding.
"""

from __future__ import annotations

import torch
from torch import Tensor

from harness.models.captioning._base import Captioner


@torch.no_grad()
def beam_search(
    model: Captioner, images: Tensor, beam_size: int = 1, max_len: int = 30, length_penalty: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Decode captions for ``images (B, C, H, W)``.

    Returns:
        ``(tokens (B, T), weights (B, T, R))``: the best caption of each image (EOS included, then PAD)
        and the attention over regions behind each of its words.

    Raises:
        ValueError: ``beam_size < 1``.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    cfg = model.config
    regions = model.encode(images)  # (B, R, D)
    B, R, k = regions.size(0), regions.size(1), beam_size
    rows = torch.arange(B, device=images.device).repeat_interleave(k)  # (B * k,) image of each beam
    state = model.start(regions).select(rows)
    tokens = torch.full((B * k,), cfg.bos_id, dtype=torch.long, device=images.device)
    scores = torch.zeros(B, k, device=images.device)
    scores[:, 1:] = float("-inf")  # all beams start identical: keep one
    history = torch.zeros(B * k, 0, dtype=torch.long, device=images.device)
    attention = torch.zeros(B * k, 0, R, device=images.device)
    done = torch.zeros(B * k, dtype=torch.bool, device=images.device)
    for _ in range(max_len):
        log_probs, state, weights = model.step(tokens, state)  # (B * k, V), (B * k, R)
        V = log_probs.size(-1)
        # finished beams: only PAD may follow, at no cost
        log_probs = torch.where(done.unsqueeze(1), torch.full_like(log_probs, float("-inf")), log_probs)
        log_probs[done, cfg.pad_id] = 0.0
        total = (scores.view(-1, 1) + log_probs).view(B, k * V)  # (B, k * V)
        best, index = total.topk(k, dim=1)  # (B, k)
        origin = (index // V) + torch.arange(B, device=images.device).unsqueeze(1) * k  # (B, k) rows of origin
        origin, word = origin.view(-1), (index % V).view(-1)
        state = state.select(origin)
        history = torch.cat([history[origin], word.unsqueeze(1)], dim=1)
        attention = torch.cat([attention[origin], weights[origin].unsqueeze(1)], dim=1)
        done = done[origin] | (word == cfg.eos_id)
        scores, tokens = best, word
        if done.all():
            break
    lengths = ((history != cfg.pad_id) & (history != cfg.bos_id)).sum(dim=1).clamp(min=1).view(B, k).float()
    normalised = scores / lengths**length_penalty if length_penalty else scores
    pick = normalised.argmax(dim=1) + torch.arange(B, device=images.device) * k  # (B,)
    return history[pick], attention[pick]
