"""Model families: what a task builds and searches under its ``model`` parameter.

A family is a :class:`Family` subclass that names the task it serves, declares its own search group (parameters
searched only while ``model = <name>``) and builds the module for a trial's configuration. Families register in
:data:`harness.registry.MODELS` under ``<task>.<name>`` through the ``harness.models`` entry-point group: the
built-in ones from this project's ``pyproject.toml``, a plugin's from its own, in exactly the same way. A task
searches its built-in families (:attr:`harness.task.Task.model_families`, in that order) and then every installed
plugin family of that task (sorted by name); :func:`family_groups` builds its part of the search space and
:func:`build` builds a configuration, so no task branches on family names.

Adding a family to a task keeps the draws of its built-in families: a plugin's groups come after them and are
inactive unless ``model`` is the plugin's, and a study stores the ``model`` choices it was created with
(:mod:`harness.space`), so installing a plugin changes neither a resumed study nor a built-in configuration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from harness.errors import BadInputError, UnknownNameError
from harness.params import Domain, Param
from harness.task import Group

if TYPE_CHECKING:
    from torch import nn


class Family(ABC):
    """A model family of one task.

    Class attributes:
        task: Name of the task it serves (``translation``, ``forecasting``, ``captioning`` or a plugin task).
        name: The value of the task's ``model`` parameter that selects it; its registry key is ``<task>.<name>``.

    The module :meth:`build` returns must have the interface the task's loss, prediction and evaluation call,
    the same as the task's built-in families: for translation ``model(src (B, S), src_lens (B,), tgt_in (B, T))``
    returns logits ``(B, T, V)`` and ``model.greedy(src, src_lens, max_len)`` returns ``(tokens (B, T'), weights)``;
    for forecasting ``model(x (B, L, C_in))`` returns ``(B, H, C_out)`` on the standardised scale (an optional
    ``model.attention(x)`` giving weights ``(1, queries, L)`` adds an attention example to reports); for captioning see
    :class:`harness.models.captioning.Captioner`. The class docstring's first line is the summary ``harness list
    models`` shows (read from the source, without importing the plugin).
    """

    task: ClassVar[str]
    name: ClassVar[str]

    @classmethod
    def groups(cls) -> list[Group]:
        """The family's own parameters, searched only while ``model = <name>``, as groups in suggestion order.

        A group's own ``when`` must hold as well (heads only with multi-head self-attention); its ``condition``, if
        given, replaces ``model = <name>`` in listings. Parameters the task shares between its families (hidden size,
        dropout) are the task's, not the family's. Default: none.
        """
        return []

    @classmethod
    def check(cls, config: dict[str, Any], data: Any) -> None:
        """Refuse a configuration the family cannot build, without building anything: cheap, so that a study checks
        configurations drawn from its search space before it starts (:func:`harness.study.inputs.preflight`), and
        :func:`build` checks every trial's before :meth:`build` runs. Default: every configuration is fine.

        Raises:
            InvalidConfigError: the configuration cannot be built (heads not dividing the hidden size); a trial is
                then pruned with this reason, and a search space that allows no other is refused before the study.
        """
        return None

    @classmethod
    @abstractmethod
    def build(cls, config: dict[str, Any], data: Any) -> nn.Module:
        """The module for a trial's whole configuration, on the CPU, from the data ``Task.prepare`` returned (the
        configuration has passed :meth:`check`).

        Raises:
            InvalidConfigError: the configuration cannot be built after all; the trial is then pruned with this
                reason.
        """


def family_names(task: Any) -> tuple[str, ...]:
    """The families ``task`` searches: its built-in ones in their order, then the installed plugin families of the task
    (entries ``<task>.<name>`` of ``harness.models``) sorted by name. A plugin entry that cannot be loaded or is
    not a :class:`Family` of this task is reported on stderr and left out."""
    from harness.registry import MODELS

    built_in = tuple(task.model_families)
    plugins = sorted(key.split(".", 1)[1] for key in MODELS.names(f"{task.name}.*"))
    return built_in + tuple(name for name in plugins if name not in built_in and _loads(task.name, name))


def get(task_name: str, name: str) -> type[Family]:
    """The family ``name`` of the task ``task_name``.

    Raises:
        BadInputError: the task has no family of that name (with "did you mean" and the accepted names), or its
            entry is not a :class:`Family` of that task.
    """
    from harness.registry import MODELS

    try:
        family = MODELS.get(f"{task_name}.{name}")
    except UnknownNameError:
        names = [key.split(".", 1)[1] for key in MODELS.names(f"{task_name}.*")]
        raise UnknownNameError(f"model family of task '{task_name}'", name, names) from None
    if not (isinstance(family, type) and issubclass(family, Family)) or family.task != task_name or family.name != name:
        raise BadInputError(f"model family '{task_name}.{name}' must be a harness.family.Family subclass with "
                            f"task = '{task_name}' and name = '{name}', got {family!r}")
    return family


def check(task_name: str, config: dict[str, Any], data: Any) -> None:
    """Check ``config`` with its family (:meth:`Family.check`; raises ``InvalidConfigError``)."""
    get(task_name, config["model"]).check(config, data)


def build(task_name: str, config: dict[str, Any], data: Any) -> nn.Module:
    """Build ``config["model"]``'s module with its family: :meth:`Family.check`, then :meth:`Family.build`."""
    family = get(task_name, config["model"])
    family.check(config, data)
    return family.build(config, data)


def family_groups(task: Any, default: str, help: str) -> list[Group]:
    """The task's part of the search space that chooses and shapes the model: first the ``model`` parameter, a
    categorical over :func:`family_names` (searched over all of them unless the spec says otherwise, ``[search] model
    = "rnn"``; ``default`` and ``help`` describe it), then every family's own groups (:meth:`Family.groups`) in that
    order, each active only while ``model`` names its family."""
    names = family_names(task)
    model = Param("model", "categorical", default, Domain("categorical", choices=names), choices=names, help=help)
    out = [Group((model,))]
    for name in names:
        selected = _selects(name)
        for group in get(task.name, name).groups():
            when = selected if group.when is None else _both(selected, group.when)
            out.append(replace(group, when=when, condition=group.condition or f"model = {name}"))
    return out


def _selects(name: str):
    return lambda config: config.get("model") == name


def _both(first, second):
    return lambda config: first(config) and second(config)


_reported: set[str] = set()


def _loads(task_name: str, name: str) -> bool:
    from harness.console import warn

    try:
        get(task_name, name)
    except Exception as exc:  # noqa: BLE001 - one broken plugin is reported (once), not fatal
        if f"{task_name}.{name}" not in _reported:
            _reported.add(f"{task_name}.{name}")
            warn(f"model family plugin '{task_name}.{name}' is left out: {type(exc).__name__}: {exc}")
        return False
    return True
