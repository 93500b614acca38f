"""harness: a hyperparameter-search benchmarking harness for attention models and learning-rate schedules.

Run studies with :func:`harness.api.run_study` (or ``harness run-study``) and write reports with
:func:`harness.api.report` (``harness report``). Importing this package is cheap; PyTorch is imported
only when a study runs.
"""

__version__ = "0.1.0"
