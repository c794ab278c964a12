"""Anomaly detection: remember where each node was created; stop on NaN gradients."""
from __future__ import annotations

import warnings
from typing import Any

from .graph import anomaly


def is_anomaly_enabled() -> bool:
    return anomaly[0]


def is_anomaly_check_nan_enabled() -> bool:
    return anomaly[1]


class detect_anomaly:
    """Context manager: backward errors print the forward traceback; NaN gradients raise."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self.prev = list(anomaly)
        anomaly[0], anomaly[1] = True, self.check_nan

    def __exit__(self, *exc: Any) -> None:
        anomaly[0], anomaly[1] = self.prev


class set_detect_anomaly:
    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = list(anomaly)
        anomaly[0], anomaly[1] = bool(mode), check_nan

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        anomaly[0], anomaly[1] = self.prev
