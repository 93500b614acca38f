"""The training data pipeline: a task's dataset, batch sampler and collate function in a ``torch.utils.data.DataLoader``.

A task describes one epoch of training data with :class:`~harness.task.TrainData` (:meth:`Task.train_data`); the
engine builds the loader (:func:`train_loader`): batches are made as they are consumed (an epoch is never held in
memory), in the order the task's batch sampler draws from the trial's seeded data-order generator, with
``pin_memory`` on CUDA and ``num_workers`` loader processes (``[budget] data_workers``; 0 builds batches in the
training process). The number of batches per epoch, and so the schedules' horizon, is ``len(batch_sampler)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from harness.task import Task


class ShuffledBatches:
    """Batch sampler: ``range(n)`` shuffled once per epoch with ``generator`` (``torch.randperm``) and cut into
    consecutive batches of ``batch_size`` index positions (the last one may be shorter).

    Args:
        n: Items per epoch.
        batch_size: Items per batch.
        generator: The trial's data-order ``torch.Generator`` (CPU); every epoch draws one permutation from it.
    """

    def __init__(self, n: int, batch_size: int, generator: torch.Generator):
        self.n, self.batch_size, self.generator = n, batch_size, generator

    def __iter__(self) -> Iterator[list[int]]:
        import torch

        order = torch.randperm(self.n, generator=self.generator, device="cpu").tolist()
        for start in range(0, self.n, self.batch_size):
            yield order[start : start + self.batch_size]

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)


class Batched:
    """A map-style dataset whose items are fetched a whole batch at a time: ``__getitems__(indices)`` returns
    ``fetch(indices)`` (the DataLoader then calls the collate function on it); ``__getitem__`` fetches one item."""

    def __init__(self, n: int, fetch):
        self.n, self.fetch = n, fetch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Any:
        return self.fetch([index])

    def __getitems__(self, indices: list[int]) -> Any:
        return self.fetch(indices)


def as_is(batch: Any) -> Any:
    """Collate function of a :class:`Batched` dataset whose fetch already returns the batch."""
    return batch


def train_loader(task: Task, data: Any, batch_size: int, generator: torch.Generator, *, num_workers: int = 0,
                 pin_memory: bool = False) -> torch.utils.data.DataLoader:
    """The DataLoader of one trial's training data (iterate it once per epoch; ``len()`` is batches per epoch).

    Args:
        task, data: The task and its prepared data (:meth:`~harness.task.Task.train_data`).
        batch_size: Items per batch.
        generator: The trial's data-order generator, seeded with the trial's seed.
        num_workers: Loader processes (0: batches are built in this process, in order).
        pin_memory: Page-locked batches, for asynchronous copies to a CUDA device.
    """
    import torch
    from torch.utils.data import DataLoader

    parts = task.train_data(data, batch_size, generator)
    # Loader processes take their seeds from a generator of their own: drawn from the data-order generator they would
    # change the order, drawn from the global one they would change dropout.
    seeds = torch.Generator(device="cpu").manual_seed(generator.initial_seed() + 1)
    return DataLoader(parts.dataset, batch_sampler=parts.batch_sampler, collate_fn=parts.collate_fn,
                      num_workers=num_workers, pin_memory=pin_memory, generator=seeds)
