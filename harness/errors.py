"""The harness's exception hierarchy.

Every error a user can cause derives from :class:`BadInputError`; the command line prints its message
on one line and exits with code 2 (:data:`EXIT_BAD_INPUT`). Anything else is a bug or an environment
failure and exits with code 1 (:data:`EXIT_FAILURE`).

Messages state the rule and the value that broke it, and, for unknown names, the close matches
("did you mean ...?") and the accepted values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class HarnessError(Exception):
    """Base class of every error raised on purpose by the harness."""


class BadInputError(HarnessError):
    """The user gave something the harness cannot accept (exit code 2)."""


class SpecError(BadInputError):
    """A study spec is malformed, has unknown keys, wrong types or out-of-range values."""


class UnknownNameError(BadInputError, KeyError):
    """A name is not registered (task, dataset, attention type, schedule, sampler, pruner, ...)."""

    def __init__(self, kind: str, name: object, accepted: Iterable[str]):
        self.kind = kind
        self.name = name
        self.accepted = sorted(accepted)
        super().__init__(unknown_name_message(kind, name, self.accepted))

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class DataError(BadInputError):
    """A dataset is missing, empty, unreadable or malformed."""


class StorageError(BadInputError):
    """A storage URL is malformed, unreachable, read-only, or holds no such study."""


class InvalidConfigError(BadInputError, ValueError):
    """A trial's configuration cannot be trained (for example a warmup longer than the training)."""


class SpecMismatchError(BadInputError):
    """A study is resumed with a spec that differs from the one it was created with."""


class DiskFullError(HarnessError):
    """A write failed for want of space (the storage's disk, the artifact folder): the run stops, the running trial is
    failed as interrupted (so it resumes from its last checkpoint), and the same command resumes once there is room."""


#: How full disks show in the errors of the OS, SQLite and PyTorch's checkpoint writer.
_DISK_FULL = ("no space left on device", "database or disk is full", "disk quota exceeded", "file write failed")


def disk_full(exc: BaseException | None) -> str | None:
    """The first line of the error in ``exc``'s chain that says a disk is full (``ENOSPC``, ``EDQUOT``, SQLite's
    ``database or disk is full``, PyTorch's ``file write failed``), else ``None``."""
    import errno

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"{exc.strerror}: '{exc.filename}'" if exc.filename else text
        if any(phrase in str(exc).lower() for phrase in _DISK_FULL):
            return text
        exc = exc.__cause__ or exc.__context__
    return None


def did_you_mean(name: object, accepted: Iterable[str]) -> str:
    """Return ``"did you mean 'x'?"`` for the closest accepted names, or ``""`` when none is close.

    Names equal up to case come first (``ot`` -> ``OT``); otherwise the closest by
    :func:`difflib.get_close_matches`, compared without case.
    """
    accepted = [str(a) for a in accepted]
    text = str(name)
    matches = [a for a in accepted if a.lower() == text.lower()]
    if not matches:
        lowered = {a.lower(): a for a in accepted}
        matches = [lowered[m] for m in difflib.get_close_matches(text.lower(), list(lowered), n=3, cutoff=0.6)]
    if not matches:
        return ""
    return "did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"


def hint_suffix(name: object, accepted: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` or ``""``, to append to a message."""
    hint = did_you_mean(name, accepted)
    return f" ({hint})" if hint else ""


def unknown_name_message(kind: str, name: object, accepted: Iterable[str], where: str = "") -> str:
    """The one-line message for an unknown name: the name, close matches, and every accepted name.

    ``unknown key 'max_epoch' in [budget] (did you mean 'max_epochs'?); accepted: ...``
    """
    accepted = sorted(accepted)
    hint = did_you_mean(name, accepted)
    listing = ", ".join(accepted) if accepted else "(none registered)"
    place = f" {where}" if where else ""
    return f"unknown {kind} '{name}'{place}" + (f" ({hint})" if hint else "") + f"; accepted: {listing}"
