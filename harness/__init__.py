"""harness: a hyperparameter-search benchmarking harness for attention models and learning-rate schedules.

Run studies with :func:`harness.api.run_study` (or ``harness run-study``) and write reports with
:func:`harness.api.report` (``harness report``). Importing this package is cheap; PyTorch is imported
only when a study runs.

Importing it before PyTorch also sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a policy: OpenMP's
default lets idle threads spin, and on a machine where another process keeps a core busy a 2-thread training
step then runs 3-4x slower (measured: 14.5 ms alone, 52 ms beside a busy process, 16.4 ms with the passive
policy). The policy is read once, when PyTorch loads its OpenMP runtime, so it cannot be set later.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

#: Whether this import set ``OMP_WAIT_POLICY`` (recorded with every study's environment).
SET_OMP_WAIT_POLICY = "OMP_WAIT_POLICY" not in _os.environ and "torch" not in _sys.modules
if SET_OMP_WAIT_POLICY:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
