"""``cupy.cuda.profiler`` of the stand-in: ``start``/``stop`` calls are recorded in ``EVENTS``."""
from __future__ import annotations

EVENTS: list[str] = []


def start() -> None:
    EVENTS.append("start")


def stop() -> None:
    EVENTS.append("stop")
