"""Registries: names to entries, loaded lazily.

Each family (tasks, attention types, schedules, model families, baselines, samplers, pruners) has one
:class:`Registry`. An entry is either an object or a lazy ``"package.module:attribute"`` string that is
imported on first use, so ``harness list`` and ``harness --help`` never import PyTorch. Plugins add
entries through the entry-point group named by the registry (for tasks: ``harness.tasks``), so the
engine never imports a task by name.

Unknown names raise :class:`~harness.errors.UnknownNameError` listing close matches ("did you mean")
and every accepted name.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from harness.errors import UnknownNameError

T = TypeVar("T")


@dataclass
class Entry:
    """One registered name: its target (object or lazy ``"module:attr"`` path) and a one-line summary."""

    name: str
    target: Any
    summary: str = ""
    entry_point: bool = False  # added from an installed distribution's entry point (a plugin, or a task's own)

    def load(self) -> Any:
        if isinstance(self.target, str):
            module_name, _, attr = self.target.partition(":")
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            self.target = obj
        return self.target


class Registry(Generic[T]):
    """A named collection of entries of one kind.

    Args:
        kind: What the entries are, for messages ("attention type", "schedule", ...).
        group: Optional entry-point group from which installed plugins add entries.
        modules: Modules that register the built-in entries when imported; imported on first lookup.
    """

    def __init__(self, kind: str, group: str | None = None, modules: tuple[str, ...] = ()):
        self.kind = kind
        self.group = group
        self.modules = modules
        self._entries: dict[str, Entry] = {}
        self._plugins_loaded = False

    def register(self, name: str, target: Any = None, *, summary: str = "") -> Any:
        """Register ``target`` under ``name``; without ``target``, return a decorator.

        ``target`` may be a lazy ``"module:attr"`` string.

        Raises:
            ValueError: ``name`` is already registered.
        """

        def add(obj: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            doc = summary or _first_line(getattr(obj, "__doc__", None) if not isinstance(obj, str) else None)
            self._entries[name] = Entry(name, obj, doc)
            return obj

        if target is None:
            return add
        add(target)
        return target

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for module in self.modules:
            importlib.import_module(module)
        for ep in entry_points(group=self.group) if self.group else ():
            if ep.name not in self._entries:
                self._entries[ep.name] = Entry(ep.name, ep.value, entry_point=True)

    def get(self, name: str) -> T:
        """Return the entry registered under ``name``, importing it if needed.

        Raises:
            UnknownNameError: ``name`` is not registered (the message lists close matches).
        """
        self._load_plugins()
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownNameError(self.kind, name, self._entries)
        return entry.load()

    def check(self, name: str) -> str:
        """Return ``name`` if registered, without importing it; raise :class:`UnknownNameError` otherwise."""
        self._load_plugins()
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, self._entries)
        return name

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching the shell-style ``pattern``, in registration order."""
        self._load_plugins()
        return [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]

    def summary(self, name: str) -> str:
        """The one-line summary of an entry: ``summary=``, else the first docstring line of its target. A lazy target
        (every plugin) is not imported for it: the docstring is read from the module's source (the class's or
        function's own, else the module's), so listing plugins imports neither them nor PyTorch. A plugin whose
        source cannot be found or read is summarised as broken instead of failing the listing."""
        self.check(name)
        entry = self._entries[name]
        if not entry.summary:
            if isinstance(entry.target, str):
                entry.summary = _source_summary(entry.target)
            else:
                entry.summary = _first_line(entry.target.__doc__ if isinstance(entry.target, type | Callable) else None)
        return entry.summary

    def registered_in_code(self) -> list[str]:
        """The names registered by the modules of :attr:`modules` (the harness's catalogue), not by entry points."""
        return [n for n in self.names() if not self._entries[n].entry_point]

    def loaded(self, name: str) -> bool:
        """Whether ``name``'s target is imported already (built-ins registered as objects); a plugin's lazy entry is
        not until something uses it."""
        self.check(name)
        return not isinstance(self._entries[name].target, str)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


def _source_summary(target: str) -> str:
    """The first docstring line of ``"module:attribute"`` read from the module's source with :mod:`ast`, without
    running the module: the attribute's own docstring (a class or function), else the module's; ``""`` when neither
    has one; ``"(broken plugin: ...)"`` when the module cannot be found or parsed."""
    import ast
    import importlib.util

    module_name, _, attr = target.partition(":")
    try:
        spec = importlib.util.find_spec(module_name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            raise ImportError(f"no Python source for module '{module_name}'")
        with open(spec.origin, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=spec.origin)
    except Exception as exc:  # noqa: BLE001 - find_spec imports a dotted module's parent package, which may fail
        return f"(broken plugin: {type(exc).__name__}: {exc})"
    name = attr.split(".")[0]
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            doc = ast.get_docstring(node)
            if doc:
                return _first_line(doc)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            said = _constructor_summary(node.value)
            if said:
                return said
    return _first_line(ast.get_docstring(tree))


def _constructor_summary(value) -> str:
    """The summary given to a module-level instance's constructor, read from the source: its ``summary=`` keyword,
    else its second positional argument (``Schedule("halving", "halve the rate every epoch", ...)``,
    ``DatasetInfo(name, summary, ...)``), when that is a string literal."""
    import ast

    if not isinstance(value, ast.Call):
        return ""
    given = [k.value for k in value.keywords if k.arg == "summary"] or value.args[1:2]
    if given and isinstance(given[0], ast.Constant) and isinstance(given[0].value, str):
        return _first_line(given[0].value)
    return ""


Factory = Callable[..., Any]

#: Task plugins (``tasks/``), added by the ``harness.tasks`` entry-point group.
TASKS: Registry[Any] = Registry("task", group="harness.tasks")
#: Attention modules with the signature ``(query, key, value, mask) -> (context, weights)``.
ATTENTION: Registry[Any] = Registry("attention type", group="harness.attention", modules=("harness.catalogue",))
#: Learning-rate schedules built on ``torch.optim.lr_scheduler``.
SCHEDULES: Registry[Any] = Registry("schedule", group="harness.schedules", modules=("harness.schedules",))
#: Model families of each task (:class:`harness.family.Family`: an RNN encoder-decoder, a Transformer, ...), named
#: ``<task>.<family>``; tasks add theirs through the ``harness.models`` entry-point group, as plugins do.
MODELS: Registry[Any] = Registry("model family", group="harness.models")
#: Trivial predictors of each task (:class:`harness.baselines.Baseline`), named ``<task>.<baseline>``; tasks
#: add theirs through the ``harness.baselines`` entry-point group.
BASELINES: Registry[Any] = Registry("baseline", group="harness.baselines")
#: Datasets of each task (:class:`harness.task.DatasetInfo` objects), named ``<task>.<dataset>``
#: (``translation.multi30k``, a plugin's ``translation.my-corpus``); tasks add theirs through the ``harness.datasets``
#: entry-point group, as plugins do; see :func:`harness.task.registered_datasets`.
DATASETS: Registry[Any] = Registry("dataset", group="harness.datasets")
#: Experiment trackers (:class:`harness.trackers.Tracker` subclasses) for ``[run] trackers``.
TRACKERS: Registry[Any] = Registry("tracker", group="harness.trackers", modules=("harness.catalogue",))
#: Where a study's worker processes run (:class:`harness.launchers.Launcher` subclasses) for ``[launcher] name``.
LAUNCHERS: Registry[Any] = Registry("launcher", group="harness.launchers", modules=("harness.catalogue",))
#: Optuna samplers by short name.
SAMPLERS: Registry[Factory] = Registry("sampler", group="harness.samplers", modules=("harness.strategies",))
#: Optuna pruners by short name.
PRUNERS: Registry[Factory] = Registry("pruner", group="harness.pruners", modules=("harness.strategies",))
