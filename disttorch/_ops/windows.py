"""Window functions: ``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``,
``kaiser_window``. Computed on the host in float64 and made in the requested dtype and device."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import disttorch
from disttorch import _dtype as D
from disttorch._tensor import Tensor

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


def _window(name: str, formula: Callable[[np.ndarray, int], np.ndarray], window_length: int, periodic: bool,
            dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    dt = D.get_default_dtype() if dtype is None else D.to_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if window_length <= 1:
        arr = np.ones(window_length)
    else:
        n = window_length + 1 if periodic else window_length
        arr = formula(np.arange(n, dtype=np.float64), n)[:window_length]
    return disttorch.tensor(arr.astype(dt.np), device=device, requires_grad=requires_grad)


def _cosine_sum(*coeffs: float) -> Callable[[np.ndarray, int], np.ndarray]:
    """sum_k (-1)^k a_k cos(2 pi k n / (N - 1))."""

    def formula(n: np.ndarray, size: int) -> np.ndarray:
        phase = 2 * np.pi * n / (size - 1)
        return sum((-1) ** k * a * np.cos(k * phase) for k, a in enumerate(coeffs))

    return formula


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Hann window 0.5 - 0.5 cos(2 pi n / (N - 1)); periodic: of length N + 1 without its last value."""
    return _window("hann_window", _cosine_sum(0.5, 0.5), window_length, periodic, dtype, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                   requires_grad: bool = False) -> Tensor:
    """The Hamming window alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", _cosine_sum(alpha, beta), window_length, periodic, dtype, device,
                   requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Blackman window 0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", _cosine_sum(0.42, 0.5, 0.08), window_length, periodic, dtype, device,
                   requires_grad)


def _bartlett(n: np.ndarray, size: int) -> np.ndarray:
    return 1 - np.abs(2 * n / (size - 1) - 1)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The triangular Bartlett window 1 - |2n / (N - 1) - 1|."""
    return _window("bartlett_window", _bartlett, window_length, periodic, dtype, device, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
                  layout: Any = None, device: Any = None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """The Kaiser window I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (N - 1) / 2."""

    def formula(n: np.ndarray, size: int) -> np.ndarray:
        a = (size - 1) / 2
        return np.i0(beta * np.sqrt(np.clip(1 - ((n - a) / a) ** 2, 0, None))) / np.i0(beta)

    return _window("kaiser_window", formula, window_length, periodic, dtype, device, requires_grad)
