"""Image captioners: a CNN encoder yields a grid of region features; a decoder attends over the regions.

- :class:`~harness.models.captioning.lstm.ShowAttendTell`: LSTM decoder with soft attention (Xu et al. 2015),
  any attention type of the registry, the gating scalar and doubly stochastic attention.
- :class:`~harness.models.captioning.transformer.TransformerCaptioner`: Transformer decoder over the regions.
- :func:`~harness.models.captioning.beam.beam_search`: beam search for both (beam size 1 is greedy).
"""

from harness.models.captioning._base import Captioner, CaptionerConfig, DecodeState
from harness.models.captioning.beam import beam_search

__all__ = ["Captioner", "CaptionerConfig", "DecodeState", "beam_search"]
