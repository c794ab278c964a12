"""``Fuzzer``: reproducible random benchmark inputs. Parameters are drawn from a ``numpy.random.RandomState``
(so a seed gives PyTorch's parameter values), tensors are built from them and optionally made
non-contiguous by a random memory order or by strides (``steps``)."""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["Fuzzer", "FuzzedParameter", "ParameterAlias", "FuzzedTensor"]

_DISTRIBUTIONS = ("loguniform", "uniform")


class FuzzedParameter:
    """A named value drawn from ``loguniform`` or ``uniform`` over [minval, maxval] (integers when both bounds
    are ints), or from a ``{value: probability}`` dict. ``strict`` parameters keep their first draw while the
    Fuzzer resamples the others to meet the constraints."""

    def __init__(self, name: str, minval: int | float | None = None, maxval: int | float | None = None,
                 distribution: str | dict[Any, float] | None = None, strict: bool = False) -> None:
        self._name = name
        self._minval = minval
        self._maxval = maxval
        if isinstance(distribution, dict):
            if any(p < 0 for p in distribution.values()):
                raise AssertionError("Probabilities cannot be negative")
            if abs(sum(distribution.values()) - 1) > 1e-5:
                raise AssertionError("Distribution is not normalized")
            if minval is not None:
                raise AssertionError("When passing a custom distribution, 'minval' must be None")
            if maxval is not None:
                raise AssertionError("When passing a custom distribution, 'maxval' must be None")
        elif distribution not in _DISTRIBUTIONS:
            raise AssertionError(f"Unknown distribution: {distribution}")
        self._distribution = distribution
        self.strict = strict

    @property
    def name(self) -> str:
        return self._name

    def sample(self, state: np.random.RandomState) -> Any:
        dist = self._distribution
        if isinstance(dist, dict):
            keys = list(dist)
            return keys[state.choice(np.arange(len(keys)), p=tuple(dist.values()))]
        lo, hi = self._minval, self._maxval
        if dist == "uniform":
            if isinstance(lo, int) and isinstance(hi, int):
                return int(state.randint(low=lo, high=hi + 1))
            return state.uniform(low=lo, high=hi)
        value = int(2 ** state.uniform(low=None if lo is None else np.log2(lo),
                                       high=None if hi is None else np.log2(hi)))
        if lo is not None and value < lo:
            return lo
        if hi is not None and value > hi:
            return hi
        return value


class ParameterAlias:
    """A parameter value that takes another parameter's value (e.g. in a custom distribution, to make two
    sizes sometimes equal)."""

    def __init__(self, alias_to: str) -> None:
        self.alias_to = alias_to

    def __repr__(self) -> str:
        return f"ParameterAlias[alias_to: {self.alias_to}]"


def dtype_size(dtype: Any) -> int:
    import disttorch

    if dtype == disttorch.bool:
        return 1
    info = disttorch.finfo(dtype) if dtype.is_floating_point or dtype.is_complex else disttorch.iinfo(dtype)
    return int(info.bits / 8)


def prod(values: Any, base: int = 1) -> int:
    """A product in Python ints (numpy's int64 could overflow and pass a size check)."""
    return functools.reduce(lambda x, y: int(x) * int(y), values, base)


class FuzzedTensor:
    """A tensor whose ``size`` (and ``steps``) name Fuzzer parameters or are literal ints."""

    def __init__(self, name: str, size: tuple[str | int, ...], steps: tuple[str | int, ...] | None = None,
                 probability_contiguous: float = 0.5, min_elements: int | None = None,
                 max_elements: int | None = None, max_allocation_bytes: int | None = None,
                 dim_parameter: str | None = None, roll_parameter: str | None = None, dtype: Any = None,
                 cuda: bool = False, tensor_constructor: Callable | None = None) -> None:
        import disttorch

        self._name = name
        self._size = size
        self._steps = steps
        self._probability_contiguous = probability_contiguous
        self._min_elements = min_elements
        self._max_elements = max_elements
        self._max_allocation_bytes = max_allocation_bytes
        self._dim_parameter = dim_parameter
        self._dtype = disttorch.float32 if dtype is None else dtype
        self._cuda = cuda
        self._tensor_constructor = tensor_constructor

    @property
    def name(self) -> str:
        return self._name

    @staticmethod
    def default_tensor_constructor(size: tuple[int, ...], dtype: Any, **kwargs: Any) -> Any:
        import disttorch

        if dtype.is_floating_point or dtype.is_complex:
            return disttorch.rand(size, dtype=dtype, device="cpu")
        return disttorch.randint(1, 127, size, dtype=dtype, device="cpu")

    def _get_size_and_steps(self, params: dict[str, Any]) -> tuple[tuple, tuple, tuple]:
        dim = params[self._dim_parameter] if self._dim_parameter is not None else len(self._size)

        def resolve(values: tuple) -> tuple:
            out = tuple(params.get(v, v) for v in values)[:dim]
            return out + (1,) * (dim - len(out))

        size, steps = resolve(self._size), resolve(self._steps or ())
        return size, steps, tuple(s * t for s, t in zip(size, steps))

    def satisfies_constraints(self, params: dict[str, Any]) -> bool:
        size, _, allocation = self._get_size_and_steps(params)
        numel = prod(size)
        if numel < 0:
            raise AssertionError("Computed number of elements is negative")
        nbytes = prod(allocation, base=dtype_size(self._dtype))
        too_many = self._max_elements is not None and numel > self._max_elements
        too_few = self._min_elements is not None and numel < self._min_elements
        too_big = self._max_allocation_bytes is not None and nbytes > self._max_allocation_bytes
        return not (too_many or too_few or too_big)

    def _make_tensor(self, params: dict[str, Any], state: np.random.RandomState) -> tuple[Any, dict[str, Any]]:
        size, steps, allocation = self._get_size_and_steps(params)
        make = self._tensor_constructor or self.default_tensor_constructor
        raw = make(size=allocation, dtype=self._dtype, **params)
        if self._cuda:
            raw = raw.cuda()
        dim = len(size)
        order = np.arange(dim)
        if state.rand() > self._probability_contiguous:  # a random memory order, same logical layout
            while dim > 1 and np.all(order == np.arange(dim)):
                order = state.permutation(raw.dim())
            raw = raw.permute(tuple(int(i) for i in order)).contiguous()
            raw = raw.permute(tuple(int(i) for i in np.argsort(order)))
        tensor = raw[tuple(slice(0, n * step, step) for n, step in zip(size, steps))]
        return tensor, {"numel": int(tensor.numel()), "order": order, "steps": steps,
                        "is_contiguous": tensor.is_contiguous(), "dtype": str(self._dtype)}


class Fuzzer:
    """Draws parameter sets meeting the tensors' size limits and the ``constraints`` (callables of the
    parameters), then builds the tensors; ``take(n)`` yields ``(tensors, tensor_properties, params)``."""

    def __init__(self, parameters: list, tensors: list, constraints: list[Callable] | None = None,
                 seed: int | None = None) -> None:
        if seed is None:
            seed = int(np.random.RandomState().randint(0, 2 ** 32 - 1, dtype=np.int64))
        self._seed = seed
        self._parameters = self._unpack(parameters, FuzzedParameter)
        self._tensors = self._unpack(tensors, FuzzedTensor)
        self._constraints = constraints or ()
        overlap = {p.name for p in self._parameters} & {t.name for t in self._tensors}
        if overlap:
            raise ValueError(f"Duplicate names in parameters and tensors: {overlap}")
        self._rejections = 0
        self._total_generated = 0

    @staticmethod
    def _unpack(values: list, cls: type) -> tuple:
        return tuple(itertools.chain.from_iterable([v] if isinstance(v, cls) else v for v in values))

    def take(self, n: int) -> Iterator[tuple[dict, dict, dict]]:
        import disttorch

        state = np.random.RandomState(self._seed)
        disttorch.manual_seed(int(state.randint(low=0, high=2 ** 63, dtype=np.int64)))
        for _ in range(n):
            params = self._generate(state)
            tensors, properties = {}, {}
            for t in self._tensors:
                tensors[t.name], properties[t.name] = t._make_tensor(params, state)
            yield tensors, properties, params

    @property
    def rejection_rate(self) -> float:
        return self._rejections / self._total_generated if self._total_generated else 0.0

    def _generate(self, state: np.random.RandomState) -> dict[str, Any]:
        kept: dict[str, Any] = {}  # strict parameters: drawn once
        for _ in range(1000):
            params: dict[str, Any] = {}
            for p in self._parameters:
                if p.strict:
                    if p.name not in kept:
                        kept[p.name] = p.sample(state)
                    params[p.name] = kept[p.name]
                else:
                    params[p.name] = p.sample(state)
            params = self._resolve_aliases(params)
            self._total_generated += 1
            if all(f(params) for f in self._constraints) and \
                    all(t.satisfies_constraints(params) for t in self._tensors):
                return params
            self._rejections += 1
        raise ValueError("Failed to generate a set of valid parameters.")

    @staticmethod
    def _resolve_aliases(params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        pending = sum(isinstance(v, ParameterAlias) for v in params.values())
        while pending:
            for k, v in list(params.items()):
                if isinstance(v, ParameterAlias):
                    params[k] = params[v.alias_to]
            still = sum(isinstance(v, ParameterAlias) for v in params.values())
            if still == pending:
                raise ValueError(f"ParameterAlias cycle detected\n{params}")
            pending = still
        return params
