"""``cupy.random`` of the stand-in: the Generator API (``cupy/random/_generator_api.pyx``) and its bit generators
(``cupy/random/_bit_generator.pyx``).

As in cupy: ``BitGenerator.state()`` is a method returning the address of the generator's device-side state (an
int8 array kept in ``_state``); copying that array saves and restores the stream. A generator is tied to the device
that was current when it was made (``_check_device``: "This Generator state is allocated in a different device").
``Generator`` has only cupy's methods: no ``permutation``, ``choice``, ``shuffle``, ``normal``, ``lognormal``,
``standard_cauchy``...; parameters must be scalars or device arrays (a numpy array is a TypeError).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._core import ndarray

_STATE_BYTES = 40  # the numpy PCG64 state this stand-in keeps in the device buffer


class BitGenerator:
    def __init__(self, seed: Any = None) -> None:
        if isinstance(seed, np.random.SeedSequence):
            self._seed_seq = seed
        else:
            if type(seed) is ndarray:
                seed = seed.get()
            self._seed_seq = np.random.SeedSequence(seed)
        self._current_device_id = _core.current_device()

    def random_raw(self, size: Any = None, output: bool = True) -> Any:
        raise NotImplementedError("Not implemented in base BitGenerator")

    def _check_device(self) -> None:
        if _core.current_device() != self._current_device_id:
            raise RuntimeError("This Generator state is allocated in a different device")


class _cuRANDGenerator(BitGenerator):
    def __init__(self, seed: Any = None, *, size: int = -1) -> None:
        super().__init__(seed)
        pcg = np.random.PCG64(self._seed_seq)
        self._state = ndarray._new(np.zeros(_STATE_BYTES, np.int8), self._current_device_id, True)
        self._store(pcg)

    def _store(self, pcg: Any) -> None:
        st = pcg.state
        words = [st["state"]["state"], st["state"]["inc"]]
        raw = b"".join(int(w).to_bytes(16, "little") for w in words)
        raw += int(st["has_uint32"]).to_bytes(4, "little") + int(st["uinteger"]).to_bytes(4, "little")
        self._state._a[...] = np.frombuffer(raw, np.int8)

    def _load(self) -> Any:
        raw = self._state._a.tobytes()
        pcg = np.random.PCG64()
        pcg.state = {"bit_generator": "PCG64",
                     "state": {"state": int.from_bytes(raw[0:16], "little"),
                               "inc": int.from_bytes(raw[16:32], "little")},
                     "has_uint32": int.from_bytes(raw[32:36], "little"),
                     "uinteger": int.from_bytes(raw[36:40], "little")}
        return pcg

    def state(self) -> int:
        self._check_device()
        return self._state.data.ptr

    def _draw(self, fn: Any) -> Any:
        """Run ``fn`` on a numpy Generator holding this device state, then store the advanced state back."""
        self.state()
        pcg = self._load()
        out = fn(np.random.Generator(pcg))
        self._store(pcg)
        return out

    def random_raw(self, size: Any = None, output: bool = True) -> Any:
        y = self._draw(lambda g: g.integers(0, 2**31, size=() if size is None else size, dtype=np.int32))
        return ndarray._new(np.asarray(y), self._current_device_id, True) if output else None


class XORWOW(_cuRANDGenerator):
    pass


class MRG32k3a(_cuRANDGenerator):
    pass


class Philox4x3210(_cuRANDGenerator):
    pass


def _param(x: Any, name: str, dtype: Any = np.float64) -> Any:
    if type(x) is ndarray:
        _core._check_device(x)
        return x._a.astype(dtype, copy=False)
    if type(x) in (float, int):
        return dtype(x) if callable(dtype) else x
    raise TypeError(f"{name} is required to be a cupy.ndarray or a scalar")


def _size(size: Any) -> Any:
    return () if size is None else size


class Generator:
    """cupy.random.Generator: the methods cupy has, drawing from the bit generator's device state."""

    def __init__(self, bit_generator: BitGenerator) -> None:
        self.bit_generator = bit_generator

    def _out(self, fn: Any) -> ndarray:
        r = self.bit_generator._draw(fn)
        return ndarray._new(np.asarray(r), self.bit_generator._current_device_id, True)

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> ndarray:
        dt = np.dtype(dtype)
        r = self._out(lambda g: g.random(_size(size), dtype=np.float64 if dt.char == "d" else np.float32))
        r = r.astype(dt, copy=False)
        if out is not None:
            out[...] = r
            return out
        return r

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None, dtype: Any = np.float64) -> ndarray:
        lo, hi = np.asarray(_param(low, "low")), np.asarray(_param(high, "high"))
        shape = np.broadcast_shapes(lo.shape, hi.shape) if size is None else size
        return self._out(lambda g: lo + (hi - lo) * g.random(shape)).astype(dtype, copy=False)

    def integers(self, low: Any, high: Any = None, size: Any = None, dtype: Any = np.int64,
                 endpoint: bool = False) -> ndarray:
        lo, hi = (0, int(low)) if high is None else (int(low), int(high))
        if not endpoint:
            hi -= 1
        if lo > hi:
            raise ValueError("low >= high")
        return self._out(lambda g: g.integers(lo, hi, size=_size(size), dtype=np.int64, endpoint=True)).astype(
            dtype, copy=False)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> ndarray:
        dt = np.dtype(dtype)
        if dt.char not in "fd":
            raise TypeError(f"Unsupported dtype {dt.name} for standard_normal")
        r = self._out(lambda g: g.standard_normal(_size(size), dtype=dt))
        if out is not None:
            out[...] = r
            return out
        return r

    def standard_exponential(self, size: Any = None, dtype: Any = np.float64, method: str = "inv",
                             out: Any = None) -> ndarray:
        if method == "zig":
            raise NotImplementedError("Ziggurat method is not supported")
        r = self._out(lambda g: g.standard_exponential(_size(size))).astype(dtype, copy=False)
        if out is not None:
            out[...] = r
            return out
        return r

    def exponential(self, scale: Any = 1.0, size: Any = None) -> ndarray:
        return self.standard_exponential(size) * scale

    def _dist(self, name: str, params: tuple, size: Any, dtypes: tuple) -> ndarray:
        vals = tuple(_param(p, n, d) for (p, n), d in zip(params, dtypes))
        return self._out(lambda g: getattr(g, name)(*vals, size=size))

    def beta(self, a: Any, b: Any, size: Any = None, dtype: Any = np.float64) -> ndarray:
        return self._dist("beta", ((a, "a"), (b, "b")), size, (np.float64,) * 2).astype(dtype, copy=False)

    def binomial(self, n: Any, p: Any, size: Any = None) -> ndarray:
        return self._dist("binomial", ((n, "n"), (p, "p")), size, (np.int64, np.float64))

    def chisquare(self, df: Any, size: Any = None) -> ndarray:
        return self._dist("chisquare", ((df, "df"),), size, (np.float64,))

    def dirichlet(self, alpha: Any, size: Any = None) -> ndarray:
        return self._dist("dirichlet", ((alpha, "alpha"),), size, (np.float64,))

    def f(self, dfnum: Any, dfden: Any, size: Any = None) -> ndarray:
        return self._dist("f", ((dfnum, "dfnum"), (dfden, "dfden")), size, (np.float64,) * 2)

    def gamma(self, shape: Any, scale: Any = 1.0, size: Any = None) -> ndarray:
        return self._dist("gamma", ((shape, "shape"), (scale, "scale")), size, (np.float64,) * 2)

    def standard_gamma(self, shape: Any, size: Any = None, dtype: Any = np.float64, out: Any = None) -> ndarray:
        return self._dist("standard_gamma", ((shape, "shape"),), size, (np.float64,)).astype(dtype, copy=False)

    def geometric(self, p: Any, size: Any = None) -> ndarray:
        return self._dist("geometric", ((p, "p"),), size, (np.float64,))

    def hypergeometric(self, ngood: Any, nbad: Any, nsample: Any, size: Any = None) -> ndarray:
        return self._dist("hypergeometric", ((ngood, "ngood"), (nbad, "nbad"), (nsample, "nsample")), size,
                          (np.int64,) * 3)

    def logseries(self, p: Any, size: Any = None) -> ndarray:
        return self._dist("logseries", ((p, "p"),), size, (np.float64,))

    def poisson(self, lam: Any = 1.0, size: Any = None) -> ndarray:
        return self._dist("poisson", ((lam, "lam"),), size, (np.float64,))

    def power(self, a: Any, size: Any = None) -> ndarray:
        return self._dist("power", ((a, "a"),), size, (np.float64,))


def default_rng(seed: Any = None) -> Generator:
    return Generator(XORWOW(seed))
