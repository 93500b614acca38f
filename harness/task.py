"""What a task plugin provides. A task knows its data, its model families and its metrics; it knows
nothing of Optuna beyond the configuration a trial hands it.

A task registers itself through the ``harness.tasks`` entry-point group (see ``pyproject.toml``), so the
engine never imports a task by name. Task modules should import PyTorch lazily, inside methods, so that
listing tasks and validating specs stays fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel

from harness.errors import BadInputError
from harness.params import Param

if TYPE_CHECKING:
    from torch import Tensor, nn

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class Group:
    """Parameters that are searched together, only while ``when`` holds for the values chosen so far.

    Args:
        params: The parameters, suggested in this order.
        when: Predicate on the configuration chosen so far; ``None`` means always.
        condition: The same condition in words, for listings ("model = rnn").
    """

    params: tuple[Param, ...]
    when: Callable[[dict[str, Any]], bool] | None = None
    condition: str = ""


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset a task can load.

    Args:
        name: Registry name (``multi30k``).
        summary: One line for ``harness list``.
        options: Pydantic model of the ``[dataset]`` options (unknown keys are an error).
        load: ``(options, data_dir) -> data``; ``data_dir`` is ``None`` for embedded datasets.
        needs_data_dir: Whether files must be found under a data directory.
        download: ``(data_dir) -> None``, fetches the raw files, for users with a network.
    """

    name: str
    summary: str
    options: type[BaseModel]
    load: Callable[[BaseModel, Path | None], Any]
    needs_data_dir: bool
    download: Callable[[Path], None] | None = None
    dataset_options: type[BaseModel] | None = None  # the dataset's own options when ``options`` is merged

    def with_options(self, extra: type[BaseModel]) -> DatasetInfo:
        """The same dataset whose ``[dataset]`` table also accepts the fields of ``extra`` (a task's own
        preprocessing or protocol options); :meth:`own_options` recovers the dataset's part."""
        from pydantic import ConfigDict

        merged = type(f"{self.options.__name__}With{extra.__name__}", (self.options, extra),
                      {"model_config": ConfigDict(extra="forbid", frozen=True)})
        return DatasetInfo(self.name, self.summary, merged, self.load, self.needs_data_dir, self.download,
                           self.dataset_options or self.options)

    def own_options(self, options: BaseModel) -> BaseModel:
        """The dataset's own options out of a merged options object (see :meth:`with_options`)."""
        own = self.dataset_options or self.options
        return own.model_validate({k: getattr(options, k) for k in own.model_fields})


def registered_datasets(task: str) -> dict[str, DatasetInfo]:
    """The datasets registered for ``task``: entries ``<task>.<dataset>`` of the ``harness.datasets`` entry-point
    group, each a :class:`DatasetInfo` (its ``name`` must be ``<dataset>``). The built-in tasks register theirs there
    (pyproject.toml), as a plugin package does.

    An entry that cannot be imported, is not a :class:`DatasetInfo` or is named differently from its entry is
    reported on stderr and left out (a spec naming it then gets "unknown dataset").
    """
    from harness.console import warn
    from harness.registry import DATASETS

    out = {}
    for key in DATASETS.names(f"{task}.*"):
        name = key.split(".", 1)[1]
        try:
            info = DATASETS.get(key)
        except Exception as exc:  # noqa: BLE001 - one broken plugin is reported, not fatal
            warn(f"dataset plugin '{key}' cannot be loaded and is left out: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(info, DatasetInfo) or info.name != name:
            warn(f"dataset plugin '{key}' is left out: it must be a harness.task.DatasetInfo named '{name}', got {info!r}")
            continue
        out[name] = info
    return out


@dataclass(frozen=True)
class TrainData:
    """What a task hands the engine for training (see :meth:`Task.train_data` and :mod:`harness.data`).

    Args:
        dataset: A map-style dataset (``__len__``, ``__getitem__``; ``__getitems__`` to fetch a whole batch at once).
        batch_sampler: Yields each batch's list of dataset indices, in an order drawn from the trial's generator at
            the start of every epoch; ``len()`` is the number of batches per epoch.
        collate_fn: A batch's items (what the dataset returned) to the batch the task's ``loss`` takes, as CPU
            tensors (the fit loop moves them to the device).
    """

    dataset: Any
    batch_sampler: Any
    collate_fn: Callable[[Any], Any]


@dataclass
class Budget:
    """The fidelity a trial trains at.

    Args:
        max_epochs: Epochs of the full budget (the pruners' resource).
        max_train_examples: Training examples used (a fixed, seeded subset), ``None`` for all.
        max_valid_examples: Validation examples evaluated each epoch (a fixed subset), ``None`` for all.
    """

    max_epochs: int
    max_train_examples: int | None = None
    max_valid_examples: int | None = None


class Task(ABC):
    """Base class of task plugins.

    Class attributes:
        name: Registry name.
        summary: One line for ``harness list``.
        metrics: Each reported metric and its direction; every name can be a study's objective.
        default_metric: The objective when a spec names none.
        model_families: The task's built-in model families (:mod:`harness.family`), in search order; installed
            plugin families of the task are searched after them.
        shared_dataset_options: Options every dataset of the task accepts in ``[dataset]`` besides its own (the
            task's preprocessing or protocol), merged into each dataset's options model; ``None``: none.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    metrics: ClassVar[dict[str, Direction]]
    default_metric: ClassVar[str]
    model_families: ClassVar[tuple[str, ...]]
    shared_dataset_options: ClassVar[type[BaseModel] | None] = None

    @classmethod
    def datasets(cls) -> dict[str, DatasetInfo]:
        """The datasets this task can load, by name. Default: those registered for it (:func:`registered_datasets`),
        each accepting :attr:`shared_dataset_options` too; a task that defines datasets in code overrides this."""
        extra = cls.shared_dataset_options
        return {n: i.with_options(extra) if extra else i for n, i in registered_datasets(cls.name).items()}

    @classmethod
    def built_in_datasets(cls) -> dict[str, DatasetInfo]:
        """The datasets the task defines in code rather than as ``harness.datasets`` entries; ``harness list`` shows
        them beside the registered ones, whose summaries it reads from their source. Default: none for a task that
        keeps the registry-backed :meth:`datasets`, else everything its own :meth:`datasets` returns."""
        return {} if getattr(cls.datasets, "__func__", None) is Task.datasets.__func__ else cls.datasets()

    @classmethod
    @abstractmethod
    def space(cls) -> list[Group]:
        """The task's own parameters (model family, attention type, sizes), as conditional groups."""

    @classmethod
    def check_search(cls, space: Any, where: str) -> None:
        """Refuse, before anything runs, a search space the task cannot honour (raise ``SpecError``).

        The default accepts every space.
        """
        return None

    @abstractmethod
    def prepare(self, dataset: str, options: BaseModel, data_dir: Path | None, budget: Budget, seed: int) -> Any:
        """Load and preprocess the data once per process (tokenisers, vocabularies, subsets).

        Raises:
            DataError: files are missing, empty, unreadable or malformed.
        """

    @abstractmethod
    def train_size(self, data: Any) -> int:
        """Training items per epoch (pairs, windows, captions), for checks of fixed step counts."""

    @abstractmethod
    def describe(self, data: Any) -> dict[str, Any]:
        """JSON-able facts about the prepared data for the study's metadata (split sizes, vocabularies)."""

    @abstractmethod
    def build_model(self, config: dict[str, Any], data: Any) -> nn.Module:
        """Build the model for a trial's configuration (``config["model"]`` names the family)."""

    def check_config(self, config: dict[str, Any], data: Any) -> None:
        """Refuse a configuration the task cannot build, without building it (the study's preflight draws some from
        the search space). Default: the family of ``config["model"]`` checks it (:meth:`harness.family.Family.check`);
        a task without a ``model`` parameter accepts every configuration.

        Raises:
            InvalidConfigError: the configuration cannot be built.
        """
        if "model" in config:
            from harness import family

            family.check(self.name, config, data)

    @abstractmethod
    def train_data(self, data: Any, batch_size: int, generator: Any) -> TrainData:
        """One epoch of training data for ``torch.utils.data`` (:mod:`harness.data` builds the loader): the dataset,
        a batch sampler that draws the order of every epoch from ``generator`` (the trial's seeded CPU
        ``torch.Generator``), and the collate function that makes a batch of CPU tensors."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, int]:
        """Mean training loss of a batch and the number of items (tokens, windows) it averages over."""

    # -- evaluation: outputs, then scores ---------------------------------------------------------
    #: Metrics that need the model itself (teacher-forced loss), not only its outputs; every other metric
    #: in :attr:`metrics` comes from :meth:`score` and can be recomputed from stored outputs.
    model_metrics: ClassVar[tuple[str, ...]] = ("loss",)

    @abstractmethod
    def predict(self, model: nn.Module, data: Any, split: Literal["valid", "test"]) -> Any:
        """The model's outputs on every example of a split, in the order of :meth:`references`.

        JSON-able data in which numpy arrays may appear (hypotheses, captions, forecasts); it is what a
        test evaluation stores (:mod:`harness.outputs`) and what :meth:`score` reads.
        """

    @abstractmethod
    def references(self, data: Any, split: Literal["valid", "test"]) -> Any:
        """What the outputs of a split are scored against (references, targets), with everything
        :meth:`score` needs besides the outputs (tokenizer names, scales); the same kind of data as
        :meth:`predict` returns. Stored once per study beside the test outputs."""

    @classmethod
    @abstractmethod
    def score(cls, references: Any, outputs: Any) -> dict[str, float]:
        """Every metric of :attr:`metrics` except :attr:`model_metrics`, from outputs and references alone.

        A pure function of stored data (no model, no prepared data), so ``harness rescore`` recomputes
        stored metrics from the database with it.

        Raises:
            ValueError: outputs and references do not match (different number of examples).
        """

    @classmethod
    def score_one(cls, references: Any, outputs: Any, metric: str) -> float:
        """``score(references, outputs)[metric]``; a task whose metrics are costly overrides it to compute just that one
        (a baseline choosing among hundreds of candidate outputs scores each by one metric)."""
        return cls.score(references, outputs)[metric]

    @classmethod
    def example_statistics(cls, references: Any, outputs: Any, metric: str) -> Any:
        """Per-example sufficient statistics of ``metric``: a ``(n_examples, k)`` NumPy array whose column sums give the
        corpus score through :meth:`score_statistics` (n-gram matches and lengths for BLEU and chrF, as
        ``sacrebleu.significance`` resamples them). A paired bootstrap over test examples (:mod:`harness.bootstrap`)
        resamples its rows. ``None`` (the default): the task's metric does not decompose so."""
        return None

    @classmethod
    def score_statistics(cls, references: Any, totals: Any, metric: str) -> float:
        """``metric`` from the column sums ``(k,)`` of :meth:`example_statistics` (``references`` for its settings,
        such as a tokenizer); only where :meth:`example_statistics` is not ``None``.

        Raises:
            NotImplementedError: the task's metrics do not decompose (the default).
        """
        raise NotImplementedError(f"task '{cls.name}' has no per-example statistics")

    @abstractmethod
    def model_scores(self, model: nn.Module, data: Any, split: Literal["valid", "test"]) -> dict[str, float]:
        """The metrics of :attr:`model_metrics` (in evaluation mode, without gradients)."""

    def evaluate(self, model: nn.Module, data: Any, split: Literal["valid", "test"]) -> dict[str, float]:
        """Every metric in :attr:`metrics` on a split: :meth:`score` of :meth:`predict`, and :meth:`model_scores`.

        Includes ``loss`` (the training loss on the split): ReduceLROnPlateau steps on it.
        """
        return self.evaluate_outputs(model, data, split)[0]

    def evaluate_outputs(self, model: nn.Module, data: Any, split: Literal["valid", "test"]) -> tuple[dict[str, float], Any]:
        """``(metrics, outputs)``: :meth:`evaluate` and the outputs its scores come from."""
        outputs = self.predict(model, data, split)
        return {**self.score(self.references(data, split), outputs), **self.model_scores(model, data, split)}, outputs

    # -- the kept model: predicting on new inputs -------------------------------------------------
    #: What ``harness predict --input`` reads for this task, in words (for help and errors).
    input_kind: ClassVar[str] = "new inputs"

    @classmethod
    def keeps_models(cls) -> bool:
        """Whether the task can predict with a kept model (it overrides :meth:`inference_state`); the harness keeps
        tested models only for such tasks."""
        return cls.inference_state is not Task.inference_state

    def inference_state(self, data: Any) -> dict[str, Any]:
        """What predicting on new inputs needs besides the weights (tokenizers, vocabularies, scalers, shapes).

        Stored in the kept model's checkpoint, so it may hold only what ``torch.load(..., weights_only=True)``
        reads back: tensors, numbers, strings, bytes, ``None``, and lists, tuples and dicts of them.

        Raises:
            BadInputError: the task cannot keep models (the default).
        """
        raise BadInputError(f"task '{self.name}' does not support predicting with a kept model")

    def from_inference_state(self, state: dict[str, Any]) -> Any:
        """Prepared data for :meth:`build_model` and :meth:`predict_inputs` from :meth:`inference_state` alone (no
        dataset files)."""
        raise BadInputError(f"task '{self.name}' does not support predicting with a kept model")

    def restored_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The configuration :meth:`build_model` gets when a kept model is restored: the kept state dict then replaces
        every weight, so a task whose models load pretrained weights while they are built says here not to (the
        files may not be on the machine that predicts). Default: ``config`` unchanged."""
        return config

    def predict_inputs(self, model: nn.Module, data: Any, path: Path) -> str:
        """The model's outputs for the inputs in ``path`` (:attr:`input_kind`), as the text of an output file.

        Runs on the model's device, in evaluation mode, without gradients.

        Raises:
            DataError: the file is missing, empty or malformed.
        """
        raise BadInputError(f"task '{self.name}' does not support predicting with a kept model")

    def examples(self, model: nn.Module, data: Any) -> dict[str, dict[str, Any]]:
        """JSON-able examples of the best model for the report, each stored as a study attribute.

        Keys the report draws: ``attention_example`` (``source_tokens``, ``target_tokens``, ``weights``
        as a ``len(target_tokens) x len(source_tokens)`` list of rows, ``description``, and optionally
        ``source``, ``hypothesis``, ``reference``) and ``forecast_example`` (see the forecasting task).
        """
        return {}

