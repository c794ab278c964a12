"""``cupy.cuda.nvtx`` of the stand-in: ranges and marks are recorded in ``EVENTS`` (cupy docs, "NVTX")."""
from __future__ import annotations

available = True
EVENTS: list[tuple[str, str | None]] = []  # ("push", message), ("pop", None), ("mark", message)


def RangePush(message: str, id_color: int = -1) -> None:  # noqa: N802  (cupy's name)
    EVENTS.append(("push", str(message)))


def RangePop() -> None:  # noqa: N802
    EVENTS.append(("pop", None))


def Mark(message: str, id_color: int = -1) -> None:  # noqa: N802
    EVENTS.append(("mark", str(message)))
