"""``torch.signal.windows``: scipy-style windows of length ``M`` (``sym=False``: the periodic form, the
first ``M`` values of the symmetric window of length ``M + 1``). Computed on the host in float64 (the same
helper as ``torch.hann_window``), then made in the requested dtype and device."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from disttorch._ops.windows import _bartlett, _cosine_sum, _window
from disttorch._tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _make(name: str, formula: Any, M: int, sym: bool, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    return _window(f"torch.signal.windows.{name}", formula, M, not sym, dtype, device, requires_grad)


def general_cosine(M: int, *, a: Iterable[float], sym: bool = True, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False) -> Tensor:
    """sum_k (-1)^k a_k cos(2 pi k n / (M - 1))."""
    return _make("general_cosine", _cosine_sum(*a), M, sym, dtype, device, requires_grad)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype: Any = None, layout: Any = None,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    return _make("general_hamming", _cosine_sum(alpha, 1 - alpha), M, sym, dtype, device, requires_grad)


def hann(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    return _make("hann", _cosine_sum(0.5, 0.5), M, sym, dtype, device, requires_grad)


def hamming(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    return _make("hamming", _cosine_sum(0.54, 0.46), M, sym, dtype, device, requires_grad)


def blackman(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _make("blackman", _cosine_sum(0.42, 0.5, 0.08), M, sym, dtype, device, requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The minimum 4-term Blackman-Harris window (Nuttall's coefficients, as PyTorch and scipy use)."""
    return _make("nuttall", _cosine_sum(0.3635819, 0.4891775, 0.1365995, 0.0106411), M, sym, dtype, device,
                 requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _make("bartlett", _bartlett, M, sym, dtype, device, requires_grad)


def cosine(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """sin(pi (n + 1/2) / M)."""
    return _make("cosine", lambda n, size: np.sin(np.pi * (n + 0.5) / size), M, sym, dtype, device, requires_grad)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype: Any = None, layout: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """exp(-(n - (M - 1) / 2)^2 / (2 std^2))."""
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _make("gaussian", lambda n, size: np.exp(-((n - (size - 1) / 2) ** 2) / (2 * std * std)), M, sym,
                 dtype, device, requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True, dtype: Any = None,
                layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """exp(-|n - center| / tau), centred by default."""
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    return _make("exponential", lambda n, size: np.exp(-np.abs(n - ((size - 1) / 2 if center is None else center))
                                                       / tau), M, sym, dtype, device, requires_grad)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype: Any = None, layout: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")

    def formula(n: np.ndarray, size: int) -> np.ndarray:
        a = (size - 1) / 2
        return np.i0(beta * np.sqrt(np.clip(1 - ((n - a) / a) ** 2, 0, None))) / np.i0(beta)

    return _make("kaiser", formula, M, sym, dtype, device, requires_grad)
