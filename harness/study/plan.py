"""The spec resolved once for a run: the :class:`Plan` every step of a study (and of a benchmark problem) carries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.device import Placement
    from harness.space import SearchSpace
    from harness.spec import StudySpec
    from harness.task import Budget, Task


@dataclass(frozen=True)
class Plan:
    """Everything a run derives from its spec, resolved once: the task and its prepared data, the search space,
    the budget, where the models train, the torch threads of this process, and where checkpoints and kept models go.

    Build it with :meth:`resolve`; the runner, the objective and the test evaluation read from it instead of
    rebuilding the search space or the placement from the spec.

    Attributes:
        spec: The validated spec.
        task: The task instance.
        data: The task's prepared data (:meth:`harness.task.Task.prepare`).
        space: The search space (:func:`harness.spec.build_space`).
        budget: Epochs and example caps (:meth:`harness.spec.StudySpec.to_budget`).
        placement: Device, precision and compilation (:meth:`harness.spec.StudySpec.to_placement`).
        threads: Torch threads of this process.
        checkpoints: Folder of the per-epoch checkpoints (:mod:`harness.resume`); ``None``: no checkpoints.
        store: Optuna artifact store the tested models are kept in (:mod:`harness.artifacts`); ``None``: not kept.
        trial_weights: Each model family's best complete trial keeps its best-epoch weights in :attr:`checkpoints`,
            and the test evaluation loads them instead of retraining (:mod:`harness.study.weights`); on for
            ``harness run-study``, off for a benchmark's inner searches (they are not tested).
    """

    spec: StudySpec
    task: Task
    data: Any
    space: SearchSpace
    budget: Budget
    placement: Placement
    threads: int
    checkpoints: Path | None = None
    store: Any = None
    trial_weights: bool = False

    @classmethod
    def resolve(cls, spec: StudySpec, task: Task, data: Any, threads: int, *, checkpoints: Path | None = None,
                store: Any = None, trial_weights: bool = False) -> Plan:
        """Resolve ``spec`` for a run on ``data``.

        Raises:
            SpecError: the ``[search]`` table does not fit the task.
            DeviceError: the device is not available, or cannot do the precision.
        """
        from harness.spec import build_space

        return cls(spec, task, data, build_space(spec), spec.to_budget(), spec.to_placement(), threads, checkpoints, store,
                   trial_weights)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def metric(self) -> str:
        return self.spec.metric

    @property
    def direction(self) -> str:
        return self.spec.direction

    def checkpoint(self, label: str) -> Path | None:
        """The checkpoint file ``<study>.<label>.pt`` in :attr:`checkpoints`, or ``None`` without a folder."""
        return self.checkpoints / f"{self.spec.name}.{label}.pt" if self.checkpoints is not None else None
