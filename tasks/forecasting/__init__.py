"""Time-series forecasting: vega-temps (embedded), ETT with the standard protocol, any CSV.

Registered through the ``harness.tasks`` entry point as ``forecasting``.
"""

from tasks.forecasting.task import ForecastingTask

__all__ = ["ForecastingTask"]
