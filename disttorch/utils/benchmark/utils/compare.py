"""``Compare``: many Measurements as tables (one per label: rows are sub_labels/statements grouped by thread
count, columns are descriptions), in PyTorch's layout."""
from __future__ import annotations

import enum
import math

from . import common

__all__ = ["Colorize", "Compare"]

BEST = "\033[92m"
GOOD = "\033[34m"
BAD = "\033[2m\033[91m"
VERY_BAD = "\033[31m"
BOLD = "\033[1m"
TERMINATE = "\033[0m"
_VARIANCE_NOTE = "(! XX%) Measurement has high variance, where XX is the IQR / median * 100."


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


def _leading_digits(m: common.Measurement, scale: float) -> int:
    return math.ceil(math.log10(m.median / scale))


class _ColumnFormat:
    """How one column prints its numbers: a common width, and decimals from the least precise entry."""

    def __init__(self, cells: list[common.Measurement], scale: float, trim: bool, highlight: bool) -> None:
        self.trim = trim
        self.highlight = highlight and any(m.has_warnings for m in cells)
        digits = [(_leading_digits(m, scale), m) for m in cells]
        decimals = min(max(m.significant_figures - d, 0) for d, m in digits) if trim else 1
        width = max(d for d, _ in digits) + decimals + (1 if decimals else 0)
        self.template = f"{{:>{width}.{decimals}f}}{{:>{7 if self.highlight else 0}}}"

    def text(self, value: float | None, sigfigs: int, spread: float | None) -> str:
        if value is None:
            return " " * len(self.text(1, sigfigs, None))
        if self.trim:
            value = common.trim_sigfig(value, sigfigs)
        note = f" (! {spread * 100:.0f}%)" if self.highlight and spread is not None else ""
        return self.template.format(value, note)


def _colored(text: str, value: float, best: float) -> str:
    if value <= best * 1.01 or value <= best + 100e-9:
        return BEST + BOLD + text + TERMINATE * 2
    if value <= best * 1.1:
        return GOOD + BOLD + text + TERMINATE * 2
    if value >= best * 5:
        return VERY_BAD + BOLD + text + TERMINATE * 2
    if value >= best * 2:
        return BAD + text + TERMINATE * 2
    return text


def _render_table(results: list[common.Measurement], colorize: Colorize, trim: bool, highlight: bool) -> str:
    unit, scale = common.select_unit(min(m.median for m in results))
    row_keys = common.ordered_unique((m.num_threads, m.env, m.as_row_name) for m in results)
    row_keys.sort(key=lambda k: k[:2])  # stable: statements keep their order within a thread count and env
    col_keys = common.ordered_unique(m.description for m in results)
    rpos = {k: i for i, k in enumerate(row_keys)}
    cpos = {k: j for j, k in enumerate(col_keys)}
    grid: list[list[common.Measurement | None]] = [[None] * len(col_keys) for _ in row_keys]
    for m in results:
        grid[rpos[(m.num_threads, m.env, m.as_row_name)]][cpos[m.description]] = m

    envs = {m.env for m in results}
    show_env = len(envs) > 1
    env_width = max(len(str(e)) for e in envs) if show_env else 0
    groups: list[int] = []  # thread group of each row
    for i, key in enumerate(row_keys):
        groups.append(groups[-1] + (key[0] != row_keys[i - 1][0]) if i else 0)
    formats = [_ColumnFormat([row[j] for row in grid if row[j] is not None], scale, trim, highlight)
               for j in range(len(col_keys))]

    text_rows = [[""] + ["" if k is None else str(k) for k in col_keys]]
    for i, (key, row) in enumerate(zip(row_keys, grid)):
        new_env = show_env and (i == 0 or groups[i] != groups[i - 1] or key[1] != row_keys[i - 1][1])
        env = (f"({key[1]})" if new_env else "").ljust(env_width + 4)
        cells = ["  " + env + key[2]]
        for m, fmt in zip(row, formats):
            cells.append(fmt.text(None, 1, None) if m is None else
                         fmt.text(m.median / scale, m.significant_figures,
                                  m.iqr / m.median if m.has_warnings else None))
        text_rows.append(cells)
    widths = [max(len(r[j]) for r in text_rows) for j in range(len(text_rows[0]))]
    header = "  |  ".join(c.center(w) for c, w in zip(text_rows[0], widths))
    lines = [header]
    for i, (cells, row) in enumerate(zip(text_rows[1:], grid)):
        if i == 0 or groups[i] != groups[i - 1]:
            lines.append(f"{row_keys[i][0]} threads: ".ljust(len(header), "-"))
        if colorize == Colorize.ROWWISE:
            best: list[float | None] = [min(m.median for m in row if m is not None)] * len(row)
        elif colorize == Colorize.COLUMNWISE:
            best = [min((r[j].median for r, g in zip(grid, groups) if g == groups[i] and r[j] is not None),
                        default=None) for j in range(len(col_keys))]
        out = [cells[0].ljust(widths[0])]
        for j, m in enumerate(row):
            cell = cells[j + 1].center(widths[j + 1])
            if colorize != Colorize.NONE and m is not None and best[j] is not None:
                cell = _colored(cell, m.median, best[j])
            out.append(cell)
        lines.append("  |  ".join(out))

    label = results[0].label
    title = f"[{(' ' + (label or '') + ' ').center(len(header) - 2, '-')}]"
    warned = highlight and any(m.has_warnings for m in results)
    body = "\n".join(lines)
    return (f"{title}\n{body}\n\nTimes are in {common.unit_to_english(unit)}s ({unit}).\n"
            + (_VARIANCE_NOTE + "\n" if warned else ""))


class Compare:
    """Tables of Measurements (label: table; sub_label or stmt: row; description: column), printed with
    ``print()`` or ``str()``; replicates of one task are merged first."""

    def __init__(self, results: list[common.Measurement]) -> None:
        self._results: list[common.Measurement] = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def __str__(self) -> str:
        return "\n".join(self._render())

    def extend_results(self, results: list[common.Measurement]) -> None:
        """Adds Measurements to the ones already held."""
        for r in results:
            if not isinstance(r, common.Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        """Prints each number with only the figures its spread supports."""
        self._trim_significant_figures = True

    def colorize(self, rowwise: bool = False) -> None:
        """Colours each entry by how far it is from the best of its column (or of its row)."""
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        """Marks entries whose IQR is a large share of the median with ``(! XX%)``."""
        self._highlight_warnings = True

    def print(self) -> None:
        print(str(self))

    def _render(self) -> list[str]:
        by_label: dict[str | None, list[common.Measurement]] = {}
        for m in common.Measurement.merge(self._results):
            by_label.setdefault(m.label, []).append(m)
        return [_render_table(ms, self._colorize, self._trim_significant_figures, self._highlight_warnings)
                for ms in by_label.values()]
