"""torch.quasirandom: ``SobolEngine``, Sobol' low-discrepancy sequences (Joe & Kuo's direction numbers).

The direction numbers are the ones scipy ships (``scipy/stats/_sobol_direction_numbers.npz``, Joe & Kuo's
new-joe-kuo-6.21201 table, which PyTorch's engine uses too), so unscrambled points equal PyTorch's exactly.
scipy is imported only when an engine is made. Points are generated in Gray-code order: point ``k`` is the
XOR of the direction numbers picked by the bits of ``k ^ (k >> 1)``, computed for a whole draw at once.

Scrambling (``scramble=True``) is Owen's linear matrix scramble with a digital shift, as PyTorch's: random
lower-triangular binary matrices with unit diagonals mix each dimension's digits, then a random 30-bit shift
is XORed in. The random bits come from disttorch's generator, so scrambled points are valid scrambled Sobol'
points but not PyTorch's for the same seed.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor

__all__ = ["SobolEngine"]

_TABLE: list[Any] = []  # (poly, vinit) once loaded


def _direction_table() -> tuple[np.ndarray, np.ndarray]:
    if not _TABLE:
        try:
            import scipy.stats
        except ImportError as exc:
            raise ImportError("torch.quasirandom.SobolEngine needs scipy for its direction numbers (Joe & Kuo's "
                              "table): pip install scipy") from exc
        with np.load(os.path.join(os.path.dirname(scipy.stats.__file__), "_sobol_direction_numbers.npz")) as z:
            _TABLE.append((z["poly"].astype(np.int64), z["vinit"].astype(np.int64)))
    return _TABLE[0]


def _direction_numbers(dimension: int, bits: int) -> np.ndarray:
    """``(dimension, bits)`` int64 direction numbers, column ``j`` scaled to bit ``bits - 1 - j``."""
    poly, vinit = _direction_table()
    poly, vinit = poly[:dimension], vinit[:dimension]
    degree = np.array([int(p).bit_length() - 1 for p in poly], dtype=np.int64)
    m = np.zeros((dimension, bits), dtype=np.int64)
    m[:, :vinit.shape[1]] = vinit[:, :bits]
    m[0, :] = 1  # the first dimension: van der Corput in base 2
    for j in range(bits):
        rows = np.nonzero((degree <= j) & (np.arange(dimension) > 0))[0]
        if rows.size == 0:
            continue
        s = degree[rows]
        # m_j = 2^s m_{j-s} ^ m_{j-s} ^ sum_k a_k 2^k m_{j-k}, a_k the inner coefficients of the polynomial
        value = (m[rows, j - s] << s) ^ m[rows, j - s]
        for k in range(1, int(s.max())):
            use = (k < s) & (((poly[rows] >> (s - k)) & 1) == 1)
            value ^= np.where(use, m[rows, np.maximum(j - k, 0)] << k, 0)
        m[rows, j] = value
    return m << (bits - 1 - np.arange(bits, dtype=np.int64))


class SobolEngine:
    """Draws Sobol' points in ``[0, 1)^dimension`` (PyTorch's ``torch.quasirandom.SobolEngine``).

    ``draw(n)`` returns the next ``n`` points as an ``(n, dimension)`` tensor (default dtype unless
    ``dtype`` is given); ``draw_base2(m)`` draws ``2**m`` points, keeping the total a power of two;
    ``fast_forward(n)`` skips ``n`` points; ``reset()`` goes back to the first point.
    """

    MAXBIT = 30
    MAXDIM = 21201

    def __init__(self, dimension: int, scramble: bool = False, seed: int | None = None) -> None:
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is [1, {self.MAXDIM}]")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        state = _direction_numbers(dimension, self.MAXBIT)
        shift = np.zeros(dimension, dtype=np.int64)
        if scramble:
            state, shift = self._scrambled(state)
        self.sobolstate = Tensor._from_array(state)
        self.shift = Tensor._from_array(shift)
        self.quasi = self.shift.clone()
        self._first_point = (self.quasi / 2 ** self.MAXBIT).reshape(1, -1)
        self.num_generated = 0

    def _scrambled(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from disttorch._ops.random import Generator, randint

        gen = Generator()
        if self.seed is not None:
            gen.manual_seed(self.seed)
        else:
            gen.seed()
        bits, d = self.MAXBIT, self.dimension
        shift_bits = randint(2, (d, bits), generator=gen)._data
        shift = shift_bits @ (np.int64(1) << np.arange(bits, dtype=np.int64))
        lower = np.tril(randint(2, (d, bits, bits), generator=gen)._data)
        lower[:, np.arange(bits), np.arange(bits)] = 1  # unit diagonal: the scramble is invertible
        # digits of each direction number, most significant first: digit p has weight 2^(bits - 1 - p)
        weights = np.int64(1) << (bits - 1 - np.arange(bits, dtype=np.int64))
        digits = (state[:, :, None] // weights[None, None, :]) % 2  # (d, column j, digit p)
        mixed = np.einsum("dpk,djk->djp", lower, digits) % 2
        return (mixed * weights).sum(axis=-1), shift

    def _points(self, start: int, n: int) -> np.ndarray:
        """The integer points ``start .. start + n - 1`` of the (scrambled) sequence, ``(n, dimension)``."""
        index = np.arange(start, start + n, dtype=np.int64)
        gray = index ^ (index >> 1)
        out = np.broadcast_to(self.shift._data, (n, self.dimension)).copy()
        state = self.sobolstate._data
        for b in range(int(gray.max()).bit_length() if n else 0):
            out ^= np.where(((gray >> b) & 1)[:, None] == 1, state[None, :, b], 0)
        return out

    def draw(self, n: int = 1, out: Tensor | None = None, dtype: Any = None) -> Tensor:
        """The next ``n`` points, ``(n, dimension)``."""
        dt = D.get_default_dtype() if dtype is None else D.to_dtype(dtype)
        points = self._points(self.num_generated, n)
        if n:
            self.quasi = Tensor._from_array(points[-1].copy())
        self.num_generated += n
        result = Tensor._from_array((points * (1.0 / 2 ** self.MAXBIT)).astype(dt.np))
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def draw_base2(self, m: int, out: Tensor | None = None, dtype: Any = None) -> Tensor:
        """``2**m`` points; the total drawn must stay a power of two (the balance of Sobol' points)."""
        n = 2 ** m
        total_n = self.num_generated + n
        if total_n & (total_n - 1) != 0:
            raise ValueError(f"The balance properties of Sobol' points require n to be a power of 2. "
                             f"{self.num_generated} points have been previously generated, then: "
                             f"n={self.num_generated}+2**{m}={total_n}. If you still want to do this, please use "
                             f"'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> SobolEngine:
        """Back to the first point."""
        self.quasi = self.shift.clone()
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> SobolEngine:
        """Skip the next ``n`` points."""
        if n > 0:
            self.quasi = Tensor._from_array(self._points(self.num_generated + n - 1, 1)[0])
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        parts = [f"dimension={self.dimension}"]
        if self.scramble:
            parts.append("scramble=True")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(parts)})"
