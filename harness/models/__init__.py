"""Model families; each receives an attention factory, never an attention name."""

from harness.models._base import AttentionFactory, Seq2Seq, Seq2SeqConfig

__all__ = ["AttentionFactory", "Seq2Seq", "Seq2SeqConfig"]
