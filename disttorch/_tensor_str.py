"""Tensor printing with PyTorch's layout: the same numbers, widths, line breaks and suffixes.

The element formatter looks only at the values that will be shown (the summarised data when a
tensor has more than ``threshold`` elements) and picks one of three float styles: integer-valued
(``1.``), fixed (``1.2346``) or scientific (``1.2346e-05``), with one width for all elements.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._runtime import _print_options as OPTS


class _Formatter:
    """Chooses the style and the common width for one set of values (a host numpy array)."""

    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        prec = OPTS["precision"]
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        nz = flat[np.isfinite(flat) & (flat != 0)]
        if nz.size == 0:
            return  # nothing but zeros, inf and nan: the defaults stand, whatever sci_mode says
        mags = np.abs(nz)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool((nz == np.ceil(nz)).all())
        sci = OPTS["sci_mode"]
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) if sci is None else bool(sci)
        vals = nz.tolist()
        if self.sci_mode:
            self.width = max(self.width, max(len(f"{v:.{prec}e}") for v in vals))
        elif self.int_mode:
            self.width = max(self.width, max(len(f"{v:.0f}") + 1 for v in vals))
        else:
            self.width = max(self.width, max(len(f"{v:.{prec}f}") for v in vals))

    def format(self, value: Any) -> str:
        if not self.floating:
            out = str(value)
        elif self.sci_mode:
            out = f"{value:{self.width}.{OPTS['precision']}e}"
        elif self.int_mode:
            out = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                out += "."
        else:
            out = f"{value:.{OPTS['precision']}f}"
        return " " * (self.width - len(out)) + out


def _complex_str(re: str, im: str) -> str:
    im = (im + "j").lstrip()
    return re + im if im[0] in "+-" else re + "+" + im


def _summarize(arr: Any, xp: Any, edge: int) -> Any:
    """Keep the first and last ``edge`` entries of every dimension longer than ``2 * edge``."""
    for axis, size in enumerate(arr.shape):
        if size > 2 * edge:
            head = arr[(slice(None),) * axis + (slice(0, edge),)]
            tail = arr[(slice(None),) * axis + (slice(size - edge, size),)]
            arr = xp.concatenate((head, tail), axis=axis)
    return arr


def _host(arr: Any, backend: Any) -> np.ndarray:
    out = np.asarray(backend.to_numpy(arr)) if type(arr) is not np.ndarray else arr
    return out.view(np.ndarray) if type(out) is not np.ndarray else out


def _body(values: np.ndarray, cut: tuple, indent: int, element: Callable[[Any], str], elem_len: int) -> str:
    """The bracketed text of ``values`` (already summarised); ``cut[k]`` marks dimensions shown with ``...``."""
    edge = OPTS["edgeitems"]
    if values.ndim == 1:
        if cut[0] and not edge:
            items = ["..."]
        elif cut[0]:
            vals = values.tolist()
            items = [element(v) for v in vals[:edge]] + [" ..."] + [element(v) for v in vals[edge:]]
        else:
            items = [element(v) for v in values.tolist()]
        per_line = max(1, math.floor((OPTS["linewidth"] - indent) / elem_len))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = [_body(values[i], cut[1:], indent + 1, element, elem_len) for i in range(values.shape[0])]
    if cut[0]:
        rows = rows[:edge] + ["..."] + rows[edge:]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _tensor_str(t: Any, indent: int) -> str:
    arr, dt = t._data, t.dtype
    backend = t._backend
    summarize = arr.size > OPTS["threshold"]
    edge = OPTS["edgeitems"]
    cut = tuple(summarize and s > 2 * edge for s in arr.shape)
    shown = _host(_summarize(arr, backend.xp, edge) if summarize else arr, backend)
    if dt.is_complex:
        re, im = shown.real.astype(np.float64), shown.imag.astype(np.float64)
        f_re, f_im = _Formatter(re, True), _Formatter(im, True)
        if shown.ndim == 0:
            return _complex_str(f_re.format(float(re)), f_im.format(float(im)))
        shown = shown.astype(np.complex128)

        def element(v: complex) -> str:
            return _complex_str(f_re.format(v.real), f_im.format(v.imag))

        elem_len = f_re.width + 2 + f_im.width + 1
    else:
        if dt.is_floating_point:
            shown = shown.astype(np.float64)
        fmt = _Formatter(shown, dt.is_floating_point)
        if shown.ndim == 0:
            return fmt.format(shown.item())
        element, elem_len = fmt.format, fmt.width + 2
    return _body(shown, cut, indent, element, elem_len)


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    parts = [text]
    last_len = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last_len + len(s) + 2 > OPTS["linewidth"]:
            parts.append(",\n" + " " * indent + s)
            last_len = indent + len(s)
        else:
            parts.append(", " + s)
            last_len += len(s) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t: Any) -> str:
    from disttorch._tensor import Tensor
    from disttorch.nn.parameter import Parameter

    prefix = "tensor(" if type(t) in (Tensor, Parameter) else f"{type(t).__name__}("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dt = t.dtype
    default = D.get_default_dtype()
    if dev.type == "meta":  # no values to show: the shape instead
        suffixes.append(f"size={tuple(t._data.shape)}")
        if dt is not default:
            suffixes.append(f"dtype={dt}")
        body = "..."
    elif t._data.size == 0:
        if t._data.ndim != 1:
            suffixes.append(f"size={tuple(t._data.shape)}")
        if dt is not default:
            suffixes.append(f"dtype={dt}")
        body = "[]"
    else:
        if not OPTS["edgeitems"]:
            suffixes.append(f"size={tuple(t._data.shape)}")
        default_complex = D.complex128 if default is D.float64 else D.complex64
        if dt not in (default, default_complex, D.int64, D.bool_):
            suffixes.append(f"dtype={dt}")
        body = _tensor_str(t, indent)
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
