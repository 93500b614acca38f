"""Image captioning: composed handwritten digits (embedded), Flickr8k, COCO; Show, Attend and Tell and a
Transformer decoder.

Registered through the ``harness.tasks`` entry point as ``captioning``.
"""

from harness_tasks.captioning.task import CaptioningTask

__all__ = ["CaptioningTask"]
