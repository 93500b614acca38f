"""Neural machine translation: numbers-en-de (embedded), Multi30k and Tatoeba, RNN and Transformer models.

Registered through the ``harness.tasks`` entry point as ``translation``.
"""

from harness_tasks.translation.task import TranslationTask

__all__ = ["TranslationTask"]
