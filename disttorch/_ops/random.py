"""Random numbers: Generator, manual_seed, rand/randn/randint/randperm, normal, bernoulli,
multinomial and the in-place samplers (uniform_, normal_, ...). Same seed, same numbers."""
from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._device import default_state, get_default_device, to_device
from disttorch._tensor import Tensor
from disttorch.backends import array_module, get_backend

from ._register import check_no_overlap, methods
from ._util import normalize_shape
from .creation import _into, _sizes

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "rand", "randn",
           "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal", "bernoulli", "multinomial",
           "default_generator", "poisson"]

_from_array = Tensor._from_array
_DEFAULT_SEED = 67280421310721


class Generator:
    """A random generator for one device (cuda generators belong to one device index, as in PyTorch), backed by
    the backend's numpy-style Generator."""

    def __init__(self, device: Any = "cpu") -> None:
        dev = to_device(device)
        if dev.type != "cpu" and dev.index is None:
            dev = to_device(f"{dev.type}:{get_backend(dev.type).current_device()}")
        self.device = dev
        self._seed = _DEFAULT_SEED
        self._rng: Any = None

    @property
    def rng(self) -> Any:
        if self._rng is None:
            backend = get_backend(self.device.type)
            with backend.device_guard(self.device.index):  # a device generator lives on its device
                self._rng = backend.generator(self._seed)
        return self._rng

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if seed < 0:
            seed += 2**64
        self._seed = seed
        self._rng = get_backend(self.device.type).generator(seed) if self.device.type == "cpu" else None
        return self

    def seed(self) -> int:
        s = time.time_ns() & (2**63 - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor (JSON of the bit generator's state; never pickle)."""
        backend = get_backend(self.device.type)
        with backend.device_guard(self.device.index):
            state = {"seed": self._seed, "bit_generator": _jsonable(backend.generator_state(self.rng))}
        raw = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy()
        return _from_array(raw)

    def set_state(self, new_state: Tensor) -> Generator:
        if not isinstance(new_state, Tensor) or new_state.dtype is not D.uint8:
            raise TypeError("expected a torch.ByteTensor as the generator state")
        state = json.loads(bytes(new_state.__array__()).decode())
        self._seed = state["seed"]
        backend = get_backend(self.device.type)
        with backend.device_guard(self.device.index):
            backend.set_generator_state(self.rng, state["bit_generator"])
        return self

    def __repr__(self) -> str:
        return f"<torch._C.Generator object at {id(self):#x}>"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _fresh_seed() -> int:
    """A seed no other process starts from (PyTorch seeds its default generator from the OS at start-up)."""
    return int.from_bytes(os.urandom(8), "little")


default_generator = Generator("cpu").manual_seed(_fresh_seed())
# "cpu" and one entry per device index ("cuda:0", "cuda:1"...), made on first use
_device_generators: dict[str, Generator] = {"cpu": default_generator}


def device_generator(device: Any) -> Generator:
    """The default generator of ``device`` (a cuda device without an index: the current one)."""
    dev = to_device(device)
    if dev.type == "cpu":
        return default_generator
    index = dev.index if dev.index is not None else get_backend(dev.type).current_device()
    key = f"{dev.type}:{index}"
    gen = _device_generators.get(key)
    if gen is None:
        gen = _device_generators[key] = Generator(key)
        gen.manual_seed(default_generator.initial_seed())
    return gen


def _generator_for(device: Any, generator: Generator | None) -> Any:
    """The numpy-style generator to draw from for a tensor on ``device`` (a device, or a device-type string)."""
    device_type = device if isinstance(device, str) and ":" not in device else to_device(device).type
    if generator is not None:
        if generator.device.type != device_type:
            raise RuntimeError(f"Expected a '{device_type}' device type for generator but found "
                               f"'{generator.device.type}'")
        return generator.rng
    if device_type == "cpu":
        return default_generator.rng
    return device_generator(device).rng


def manual_seed(seed: int) -> Generator:
    """Seed every device's default generator."""
    for gen in _device_generators.values():
        gen.manual_seed(seed)
    return default_generator


def cuda_manual_seed(seed: int, all_devices: bool = False) -> None:
    """Seed the current cuda device's default generator (every visible device's with ``all_devices``)."""
    backend = get_backend("cuda")
    count = backend.device_count()
    if count == 0:  # no cuda here: silently ignored, as PyTorch (scripts seed cuda unconditionally)
        return
    indices = range(count) if all_devices else [backend.current_device()]
    for i in indices:
        device_generator(f"cuda:{i}").manual_seed(seed)


def cuda_seed(all_devices: bool = False) -> None:
    """Seed the current cuda device's generator (every device's with ``all_devices``) with a random seed."""
    backend = get_backend("cuda")
    count = backend.device_count()
    if count == 0:
        return
    indices = range(count) if all_devices else [backend.current_device()]
    s = device_generator(f"cuda:{indices[0]}").seed()
    for i in indices[1:]:
        device_generator(f"cuda:{i}").manual_seed(s)


def seed() -> int:
    s = default_generator.seed()
    for key, gen in _device_generators.items():
        if key != "cpu":
            gen.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


# -- samplers -------------------------------------------------------------------------------------
def _target(shape: tuple, dtype: Any, device: Any) -> tuple[Any, D.dtype, Any, Any]:
    dev = to_device(device) if device is not None else get_default_device()
    backend = get_backend(dev.type)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return backend, dt, dev, shape


def _guard(device: Any) -> Any:
    """Draws for ``device`` run with it current (a cuda generator draws on the device it lives on)."""
    dev = to_device(device)
    return get_backend(dev.type).device_guard(dev.index)


def _wrap(arr: Any, device: Any, requires_grad: bool = False) -> Tensor:
    """A new leaf on ``device`` (the backend's generator may hand back another array type, e.g. numpy)."""
    if device is None:
        device = default_state.device  # None: cpu
    if device is not None:
        dev = to_device(device)
        backend = get_backend(dev.type)
        if not isinstance(arr, backend.array_types) or (dev.index is not None and
                                                        backend.device_index(arr) != dev.index):
            arr = backend.asarray(arr, device_index=dev.index)
    t = _from_array(arr)
    if requires_grad:
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t._requires_grad = True
    return t


_KERNEL = {"uniform": "check_uniform_bounds", "normal": "normal_kernel_cpu"}


def _check_float(kind: str, dt: D.dtype) -> None:
    if not (dt.is_floating_point or dt.is_complex):
        raise NotImplementedError(f"\"{_KERNEL[kind]}\" not implemented for '{D._SCALAR_NAMES[dt]}'")


def _float_sample(kind: str, size: tuple, generator: Any, dtype: Any, device: Any,
                  requires_grad: bool) -> Tensor:
    backend, dt, dev, shape = _target(normalize_shape(size), dtype, device)
    _check_float(kind, dt)
    rng = _generator_for(dev, generator)
    real = dt.to_real()
    sample_dtype = real.np if real in (D.float32, D.float64) else np.float32
    if dt.is_complex:  # independent real and imaginary parts; a complex normal has E|z|^2 = 1
        shape = (*shape, 2)
    with _guard(dev):
        if kind == "uniform":
            arr = rng.random(shape, dtype=sample_dtype)
        else:
            arr = rng.standard_normal(shape, dtype=sample_dtype)
        if dt.is_complex:
            arr = arr.view(dt.np)[..., 0]
            if kind == "normal":
                arr *= float(np.sqrt(0.5))
        arr = arr if arr.dtype == dt.np else arr.astype(dt.np)
    return _wrap(arr, device, requires_grad)


def rand(*sizes: Any, size: Any = None, generator: Generator | None = None, out: Any = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    return _into(_float_sample("uniform", _sizes("rand", sizes, size), generator, dtype, device, requires_grad), out)


def randn(*sizes: Any, size: Any = None, generator: Generator | None = None, out: Any = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    return _into(_float_sample("normal", _sizes("randn", sizes, size), generator, dtype, device, requires_grad), out)


# C++ names PyTorch uses in randint's range errors
_CTYPE = {D.bool_: "bool", D.uint8: "unsigned char", D.int8: "signed char", D.int16: "short", D.int32: "int",
          D.int64: "long"}


def randint(low: int, high: Any = None, size: Any = None, *, generator: Generator | None = None, out: Any = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if high is None:
        raise TypeError("randint() missing required argument 'size'")
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    backend, dt, dev, shape = _target(normalize_shape((size,)), dtype or D.int64, device)
    if dt in _CTYPE:
        lo, hi = (0, 1) if dt is D.bool_ else (int(np.iinfo(dt.np).min), int(np.iinfo(dt.np).max))
        if not lo <= low <= hi:
            raise RuntimeError(f"from is out of bounds for {_CTYPE[dt]}")
        if not lo <= high - 1 <= hi:
            raise RuntimeError(f"to - 1 is out of bounds for {_CTYPE[dt]}")
    rng = _generator_for(dev, generator)
    with _guard(dev):
        arr = rng.integers(low, high, size=shape, dtype=np.int64).astype(dt.np, copy=False)
    return _into(_wrap(arr, device, requires_grad), out)


def randperm(n: int, *, generator: Generator | None = None, out: Any = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    backend, dt, dev, _ = _target((n,), dtype or D.int64, device)
    rng = _generator_for(dev, generator)
    with _guard(dev):
        arr = _permutation(rng, backend.xp, n).astype(dt.np, copy=False)
    return _into(_wrap(arr, device, requires_grad), out)


# cupy's Generator has no permutation, choice, lognormal or standard_cauchy (cupy/random/_generator_api.pyx):
# these helpers use numpy's where the generator has it, else build the draw from random/standard_normal.
def _permutation(rng: Any, xp: Any, n: int) -> Any:
    if hasattr(rng, "permutation"):
        return rng.permutation(n)
    return xp.argsort(rng.random(n))  # a uniformly random order: ties have probability ~0 in float64


def _lognormal(rng: Any, mean: float, std: float, shape: tuple) -> Any:
    if hasattr(rng, "lognormal"):
        return rng.lognormal(mean, std, shape)
    z = rng.standard_normal(shape)
    z *= std
    z += mean
    return array_module(z).exp(z)


def _standard_cauchy(rng: Any, shape: tuple) -> Any:
    if hasattr(rng, "standard_cauchy"):
        return rng.standard_cauchy(shape)
    return rng.standard_normal(shape) / rng.standard_normal(shape)  # the ratio of two normals is Cauchy


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              **_: Any) -> Tensor:
    return rand(*input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               **_: Any) -> Tensor:
    return randn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: Any = None, *, dtype: Any = None, device: Any = None,
                 **_: Any) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, device=device or input.device)


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Generator | None = None, out: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if isinstance(std, Tensor):
        if bool((std._data < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        like = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(tuple(np.shape(mean.__array__() if isinstance(mean, Tensor) else mean)),
                                    tuple(np.shape(std.__array__() if isinstance(std, Tensor) else std)))
        noise = randn(*shape, generator=generator, dtype=like.dtype, device=like.device)
        with_grad = noise * std + mean
        return with_grad.detach()
    t = randn(*normalize_shape((size,)), generator=generator, dtype=dtype, device=device)
    t._data = t._data * std + mean
    t._data = t._data.astype(t.dtype.np if dtype is None else D.to_dtype(dtype).np, copy=False)
    return t.requires_grad_(True) if requires_grad else t


def bernoulli(input: Tensor, p: Any = None, *, generator: Generator | None = None) -> Tensor:
    probs = input._data if p is None else p
    if bool(((probs < 0) | (probs > 1)).any()):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message "
                           "be improved?  If so, please report an enhancement request to PyTorch.)")
    rng = _generator_for(input.device, generator)
    with _guard(input.device):
        u = rng.random(input._data.shape)
        return _from_array((u < probs).astype(input._data.dtype))


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    rng = _generator_for(input.device, generator)
    with _guard(input.device):
        return _from_array(rng.poisson(input._data).astype(input._data.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    probs = np.asarray(input.__array__(), dtype=np.float64)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {probs.ndim}")
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rng = _generator_for(input.device, generator)
    backend = input._backend
    with _guard(input.device):
        out = []
        for row in rows:
            total = row.sum()
            if total <= 0:
                raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
            out.append(_choice(rng, backend, row / total, num_samples, replacement))
        result = backend.xp.stack(out) if probs.ndim == 2 else out[0]
        return _from_array(result.astype(np.int64, copy=False))


def _choice(rng: Any, backend: Any, p: np.ndarray, k: int, replacement: bool) -> Any:
    """``k`` category indices drawn with probabilities ``p`` (a host array that sums to 1), as a device array."""
    if hasattr(rng, "choice"):
        return backend.asarray(rng.choice(p.size, size=k, replace=replacement, p=p))
    xp = backend.xp
    if replacement:  # inverse CDF
        host_cdf = np.cumsum(p)
        cdf = backend.asarray(host_cdf)
        u = rng.random(k) * float(host_cdf[-1])
        return xp.minimum(xp.searchsorted(cdf, u, side="right"), p.size - 1)
    # without replacement: the k largest of log p + Gumbel noise (sequential sampling without replacement)
    with np.errstate(divide="ignore"):
        logp = backend.asarray(np.log(p))
    keys = logp - xp.log(-xp.log(rng.random(p.size)))
    return xp.argsort(-keys)[:k]


# -- in-place samplers (no graph: they overwrite the value) -----------------------------------------------
def _fill_from(self: Tensor, arr: Any) -> Tensor:
    self._data[...] = arr
    self._vc[0] += 1
    return self


def _rng_of(self: Tensor, generator: Generator | None) -> Any:
    """The generator an in-place sampler of ``self`` draws from (after refusing an expanded ``self``)."""
    check_no_overlap(self)
    return _generator_for(self.device, generator)


def _on_own_device(fn: Any) -> Any:
    """An in-place sampler runs with its tensor's device current (where that device's generator draws)."""
    def sampler(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        with _guard(self.device):
            return fn(self, *args, **kwargs)

    sampler.__name__ = sampler.__qualname__ = fn.__name__
    sampler.__doc__ = fn.__doc__
    return sampler


def _sample_dtype(self: Tensor) -> Any:
    d = self._data.dtype
    return d if d in (np.float32, np.float64) else np.float64


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    _check_float("uniform", self.dtype)
    self._check_inplace()
    u = _rng_of(self, generator).random(self._data.shape, dtype=_sample_dtype(self))
    return _fill_from(self, u * (b - a) + a)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    _check_float("normal", self.dtype)
    self._check_inplace()
    z = _rng_of(self, generator).standard_normal(self._data.shape, dtype=_sample_dtype(self))
    return _fill_from(self, z * std + mean)


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    probs = p._data if isinstance(p, Tensor) else p
    u = _rng_of(self, generator).random(self._data.shape)
    return _fill_from(self, u < probs)


def random_(self: Tensor, from_: int = 0, to: Any = None, *, generator: Generator | None = None) -> Tensor:
    if to is None:
        to = 2**24 if self._data.dtype == np.float32 else (2**53 if self._data.dtype.kind == "f" else
                                                            int(np.iinfo(self._data.dtype).max) + 1)
    ints = _rng_of(self, generator).integers(from_, to, size=self._data.shape)
    return _fill_from(self, ints)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    return _fill_from(self, _rng_of(self, generator).exponential(1.0 / lambd, self._data.shape))


def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    return _fill_from(self, _rng_of(self, generator).geometric(p, self._data.shape))


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Generator | None = None) -> Tensor:
    return _fill_from(self, _lognormal(_rng_of(self, generator), mean, std, self._data.shape))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    return _fill_from(self, median + sigma * _standard_cauchy(_rng_of(self, generator), self._data.shape))


uniform_, normal_, bernoulli_, random_ = map(_on_own_device, (uniform_, normal_, bernoulli_, random_))
exponential_, geometric_, log_normal_, cauchy_ = map(_on_own_device, (exponential_, geometric_, log_normal_, cauchy_))

methods({"uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
         "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_, "cauchy_": cauchy_,
         "bernoulli": bernoulli, "multinomial": multinomial})
