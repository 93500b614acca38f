"""harness: a hyperparameter-search benchmarking harness for attention models and learning-rate schedules.

Run studies with :func:`harness.api.run_study` (or ``harness run-study``) and write reports with
:func:`harness.api.report` (``harness report``); :func:`objective` gives the harness's Optuna objective for a spec,
for users who run ``study.optimize`` themselves. Importing this package is cheap; PyTorch is imported only when a
study runs.

Importing it before PyTorch also sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a policy (an empty value opts
out): OpenMP's idle threads otherwise spin, and beside another busy process a 2-thread training step slows down
(benchmarks/shared_machine.py, 2 cores: 74-114 ms per step against 62-69 ms with the passive policy; alone the
passive policy costs about 2x on small steps, 72-102 ms against 33-38 ms). The policy is read once, when PyTorch
loads its OpenMP runtime, so it cannot be set later.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

#: Whether this import set ``OMP_WAIT_POLICY`` (recorded with every study's environment).
SET_OMP_WAIT_POLICY = "OMP_WAIT_POLICY" not in _os.environ and "torch" not in _sys.modules
if SET_OMP_WAIT_POLICY:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def objective(spec, **kwargs):
    """The harness's Optuna objective for ``spec`` (a path, a dict or a StudySpec); see :func:`harness.api.objective`."""
    from harness.api import objective as _objective

    return _objective(spec, **kwargs)
