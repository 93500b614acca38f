"""Time-series forecasting: vega-temps (embedded), ETT with the standard protocol, any CSV.

Registered through the ``harness.tasks`` entry point as ``forecasting``.
"""

from harness_tasks.forecasting.task import ForecastingTask

__all__ = ["ForecastingTask"]
