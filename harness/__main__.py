"""``python -m harness``: the same command line as the ``harness`` console script."""

from harness.cli import run

run()
