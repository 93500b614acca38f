"""All terminal output goes through one rich console, so tests can capture it and ``--quiet`` silences it."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

#: Normal output (tables, progress, results).
console = Console(highlight=False, soft_wrap=True)
#: Errors and warnings; never silenced.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) normal output. Errors still reach stderr."""
    console.quiet = quiet


def set_json(on: bool) -> None:
    """``--json``: normal output moves to stderr, so stdout carries only the JSON document (:func:`print_json`)."""
    console.file = sys.stderr if on else None  # None: whatever sys.stdout is when printing


def print_json(data) -> None:
    """Write ``data`` as one indented JSON document to stdout (values JSON cannot hold become strings)."""
    import json

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """Print a one-line error message to stderr, prefixed ``error:``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, emoji=False)


def warn(message: str) -> None:
    """Print a one-line warning to stderr."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", markup=True, emoji=False)


def is_interactive() -> bool:
    """Whether stdout is a terminal (live progress bars) or a pipe/file (plain lines)."""
    return sys.stdout.isatty()
