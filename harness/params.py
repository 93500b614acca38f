"""Searchable parameters: what each is, its default domain, and how a spec may override it.

A :class:`Param` is data: a name, a kind (``float``, ``int``, ``categorical``, or ``text``: any string, such as a
file path, searched only over the values a spec lists), the domain searched by
default, the value used when it is not searched, bounds that no override may leave, and its unit. A
study spec overrides a parameter in one of three ways (see :func:`parse_override`):

- a scalar fixes it (``hidden_size = 256``);
- a list restricts it to those choices (``attention = ["dot", "additive"]``);
- a table gives a range (``lr = { low = 1e-4, high = 3e-3, log = true }``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.errors import SpecError, unknown_name_message

Kind = Literal["float", "int", "categorical", "text"]


@dataclass(frozen=True)
class Domain:
    """What Optuna samples from: ``choices`` for a categorical, else ``[low, high]`` (``log``, ``step``)."""

    kind: Kind
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def fixed(self) -> bool:
        """Whether the domain holds a single value."""
        return (self.choices is not None and len(self.choices) == 1) or (
            self.choices is None and self.low == self.high
        )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the domain."""
        if self.choices is not None:
            return value in self.choices
        return self.low <= value <= self.high

    def describe(self) -> str:
        if self.choices is not None:
            return "{" + ", ".join(map(str, self.choices)) + "}"
        text = f"[{self.low:g}, {self.high:g}]"
        return text + (" log" if self.log else "") + (f" step {self.step:g}" if self.step else "")


@dataclass(frozen=True)
class Param:
    """A searchable parameter.

    Args:
        name: Unique, flat name as it appears in trials (``lr``, ``warmup_fraction``...).
        kind: ``float``, ``int``, ``categorical`` or ``text`` (any string; searched as a categorical over listed values).
        default: Value used when the parameter is active but not searched.
        domain: Domain searched by default, or ``None`` when the parameter is fixed at ``default``
            unless a spec asks to search it. ``high`` may depend on the budget through ``high_from``.
        bounds: ``(low, high)`` that every value must respect; ``None`` ends are open.
        exclusive_low: Whether the lower bound itself is excluded (``lr > 0``).
        unit: Unit of the value ("steps", "epochs", "fraction of the trial's optimizer steps"...).
        help: One line for listings and errors.
        high_from: Optional function of the budget's ``max_epochs`` that gives the default ``high``.
        choices: Every accepted value of a categorical parameter (the default domain may search fewer).
    """

    name: str
    kind: Kind
    default: Any
    domain: Domain | None = None
    bounds: tuple[float | None, float | None] = (None, None)
    exclusive_low: bool = False
    unit: str = ""
    help: str = ""
    high_from: Callable[[int], float] | None = field(default=None, compare=False)
    choices: tuple[Any, ...] | None = None

    def default_domain(self, max_epochs: int) -> Domain | None:
        """The domain searched when a spec says nothing, resolved for the budget."""
        if self.domain is None or self.high_from is None:
            return self.domain
        high = max(self.domain.low or 0, self.high_from(max_epochs))
        return Domain(self.domain.kind, self.domain.low, high, self.domain.log, self.domain.step)

    def check_value(self, value: Any, where: str) -> Any:
        """Validate one value of this parameter and return it converted; raise :class:`SpecError`."""
        if self.kind == "text":
            if not isinstance(value, str) or not value:
                raise SpecError(f"{where}: {self.name} must be a non-empty string, got {value!r}")
            return value
        if self.kind != "categorical":
            return self._check_number(value, where, int_only=self.kind == "int")
        allowed = self.choices or (self.domain.choices if self.domain is not None else None) or (self.default,)
        if isinstance(allowed[0], bool):
            if not isinstance(value, bool):
                raise SpecError(f"{where}: {self.name} must be true or false, got {value!r}")
            return value
        if value not in allowed:
            names = [str(c) for c in allowed]
            raise SpecError(f"{where}: {unknown_name_message(self.name, value, names)}")
        return value

    def _check_number(self, value: Any, where: str, int_only: bool) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            want = "an integer" if int_only else "a number"
            raise SpecError(f"{where}: {self.name} must be {want}, got {value!r}")
        if int_only and not float(value).is_integer():
            raise SpecError(f"{where}: {self.name} must be an integer, got {value!r}")
        if not math.isfinite(value):
            raise SpecError(f"{where}: {self.name} must be finite, got {value!r}")
        low, high = self.bounds
        unit = f" {self.unit}" if self.unit else ""
        if low is not None and (value < low or (self.exclusive_low and value == low)):
            op = ">" if self.exclusive_low else ">="
            raise SpecError(f"{where}: {self.name} must be {op} {low:g}{unit}, got {value!r}")
        if high is not None and value > high:
            raise SpecError(f"{where}: {self.name} must be <= {high:g}{unit}, got {value!r}")
        return int(value) if int_only else float(value)


RANGE_KEYS = ("low", "high", "log", "step")


def parse_override(param: Param, raw: Any, where: str) -> Domain:
    """Turn a spec's value for ``param`` into the :class:`Domain` to search.

    Args:
        param: The parameter overridden.
        raw: A scalar (fix), a list (choices) or a table with ``low``, ``high`` and optional ``log``/``step``.
        where: Location for messages, e.g. ``"studies/x.toml: [search]"``.

    Raises:
        SpecError: wrong type, unknown range key, empty list, value out of bounds, ``low > high``.
    """
    if isinstance(raw, dict):
        if param.kind in ("categorical", "text"):
            raise SpecError(f"{where}: {param.name} is {param.kind}; give a value or a list of values, not a range")
        unknown = [k for k in raw if k not in RANGE_KEYS]
        if unknown:
            raise SpecError(f"{where}: {param.name}: {unknown_name_message('range key', unknown[0], RANGE_KEYS)}")
        if "low" not in raw or "high" not in raw:
            raise SpecError(f"{where}: {param.name} range needs both low and high, got {raw!r}")
        low = param.check_value(raw["low"], where)
        high = param.check_value(raw["high"], where)
        if low > high:
            raise SpecError(f"{where}: {param.name} range needs low <= high, got low={low!r}, high={high!r}")
        log = raw.get("log", False)
        if not isinstance(log, bool):
            raise SpecError(f"{where}: {param.name}.log must be true or false, got {log!r}")
        if log and low <= 0:
            raise SpecError(f"{where}: {param.name} log range needs low > 0, got low={low!r}")
        step = raw.get("step")
        if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
            raise SpecError(f"{where}: {param.name}.step must be a positive number, got {step!r}")
        if step is not None and log:
            raise SpecError(f"{where}: {param.name} cannot have both log and step")
        return Domain(param.kind, low, high, log, step)
    if isinstance(raw, list):
        if not raw:
            raise SpecError(f"{where}: {param.name} has an empty list of choices")
        values = [param.check_value(v, where) for v in raw]
        if len(set(map(repr, values))) != len(values):
            raise SpecError(f"{where}: {param.name} lists a choice twice: {raw!r}")
        return Domain("categorical", choices=tuple(values))
    return Domain("categorical", choices=(param.check_value(raw, where),))


def find_param(params: Sequence[Param], name: str) -> Param | None:
    """The parameter called ``name`` in ``params``, or ``None``."""
    return next((p for p in params if p.name == name), None)
