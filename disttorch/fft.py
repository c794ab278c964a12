"""``torch.fft``: discrete Fourier transforms with autograd, one body for numpy and cupy (``xp.fft``).

Three ops carry everything: ``FFT`` (complex to complex, forward or inverse), ``RFFT`` (real to the
one-sided half spectrum) and ``IRFFT`` (half spectrum to real). The 1-d, 2-d and n-d functions and the
Hermitian ones (``hfft``, ``ihfft``) are those ops with other arguments. The adjoint of a transform with
``norm`` is the opposite transform with the dual norm ("backward" <-> "forward", "ortho" stays), which is
how each backward is written; gradients of real inputs are real, as in PyTorch.
"""
from __future__ import annotations

from typing import Any, Sequence

from . import _dtype as D
from ._ops._register import write_out
from ._tensor import Tensor
from .autograd.graph import Op
from .backends import array_module

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(norm: str | None) -> str:
    norm = "backward" if norm is None else norm
    if norm not in _NORMS:
        raise ValueError(f'Invalid normalization mode: "{norm}"')
    return norm


def _axes_and_sizes(x: Tensor, s: Sequence[int] | None, dim: Any, default_all: bool) -> tuple[tuple, tuple | None]:
    """The transformed dims (wrapped) and their output signal sizes (None: the input's sizes)."""
    nd = x.ndim
    if dim is None:
        if s is not None:
            dims = tuple(range(nd - len(s), nd))
        else:
            dims = tuple(range(nd)) if default_all else (nd - 1,)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(d + nd if d < 0 else d for d in dims)
    for d in dims:
        if not 0 <= d < max(nd, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {d})")
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = tuple(int(v) for v in s)
        if len(s) != len(dims):
            raise RuntimeError(f"When given, dim and shape arguments must have the same length (got {len(dims)} "
                               f"dims and {len(s)} sizes)")
        for v in s:
            if v != -1 and v < 1:
                raise RuntimeError(f"Invalid number of data points ({v}) specified")
        s = tuple(x.shape[d] if v == -1 else v for d, v in zip(dims, s))
    return dims, s


def _complex_input(x: Tensor) -> Tensor:
    if x.dtype.is_complex:
        return x
    real = x if x.dtype.is_floating_point else x.to(D.get_default_dtype())
    return real.to(real.dtype.to_complex())


def _real_input(x: Tensor, what: str) -> Tensor:
    if x.dtype.is_complex:
        raise RuntimeError(f"{what} expects a real input tensor, but got {x.dtype.name.capitalize()}")
    return x if x.dtype.is_floating_point else x.to(D.get_default_dtype())


class Resize(Op):
    """Crop or zero-pad ``axes`` to ``sizes`` (what the transforms do to an input when ``n``/``s`` is given)."""

    def forward(self, x: Any) -> Any:
        self.in_sizes = tuple(x.shape[a] for a in self.axes)
        return _resize(array_module(x), x, self.axes, self.sizes)

    def backward(self, grad: Tensor) -> Tensor:
        return Resize.apply(grad, axes=self.axes, sizes=self.in_sizes)


def _resize(xp: Any, x: Any, axes: tuple, sizes: tuple) -> Any:
    if all(x.shape[a] == n for a, n in zip(axes, sizes)):
        return x
    crop = [slice(None)] * x.ndim
    for a, n in zip(axes, sizes):
        crop[a] = slice(0, min(n, x.shape[a]))
    x = x[tuple(crop)]
    shape = list(x.shape)
    for a, n in zip(axes, sizes):
        shape[a] = n
    out = xp.zeros(shape, x.dtype)
    out[tuple(slice(0, k) for k in x.shape)] = x
    return out


def _resized(x: Tensor, axes: tuple, sizes: tuple | None) -> Tensor:
    if sizes is None or all(x.shape[a] == n for a, n in zip(axes, sizes)):
        return x
    return Resize.apply(x, axes=axes, sizes=sizes)


class FFT(Op):
    """Complex-to-complex transform over ``axes`` (``inverse`` for ifftn)."""

    def forward(self, x: Any) -> Any:
        f = array_module(x).fft
        return (f.ifftn if self.inverse else f.fftn)(x, axes=self.axes, norm=self.norm).astype(x.dtype, copy=False)

    def backward(self, grad: Tensor) -> Tensor:
        return FFT.apply(grad, axes=self.axes, norm=_DUAL[self.norm], inverse=not self.inverse)

    def name(self) -> str:
        return "FftC2CBackward0"


class RFFT(Op):
    """Real input to the one-sided spectrum: the last of ``axes`` keeps n // 2 + 1 bins."""

    def forward(self, x: Any) -> Any:
        self.n = x.shape[self.axes[-1]]
        out = array_module(x).fft.rfftn(x, axes=self.axes, norm=self.norm)
        return out.astype(D.from_np[x.dtype].to_complex().np, copy=False)

    def backward(self, grad: Tensor) -> Tensor:
        # the adjoint: put the missing bins back as zeros, transform back over the full length, keep the real part
        full = Resize.apply(grad, axes=(self.axes[-1],), sizes=(self.n,))
        return FFT.apply(full, axes=self.axes, norm=_DUAL[self.norm], inverse=True).real

    def name(self) -> str:
        return "FftR2CBackward0"


class IRFFT(Op):
    """One-sided spectrum (last of ``axes`` holding n // 2 + 1 bins) to a real signal of length ``n``."""

    def forward(self, x: Any) -> Any:
        out = array_module(x).fft.irfftn(x, s=self.sizes, axes=self.axes, norm=self.norm)
        return out.astype(D.from_np[x.dtype].to_real().np, copy=False)

    def backward(self, grad: Tensor) -> Tensor:
        g = RFFT.apply(grad, axes=self.axes, norm=_DUAL[self.norm])
        n = self.sizes[-1]
        doubled = n - (n // 2 + 1)  # bins that stand for two (k and n - k) in the real signal
        if doubled > 0:
            scale = [1.0] * (n // 2 + 1)
            for k in range(1, 1 + doubled):
                scale[k] = 2.0
            shape = [1] * g.ndim
            shape[self.axes[-1]] = len(scale)
            g = g * Tensor._from_array(array_module(g._data).asarray(scale, g._data.real.dtype).reshape(shape))
        return g

    def name(self) -> str:
        return "FftC2RBackward0"


# -- complex to complex -------------------------------------------------------------------------------------
def _c2c(input: Tensor, s: Any, dim: Any, norm: str | None, inverse: bool, default_all: bool, out: Any) -> Tensor:
    norm = _norm(norm)
    axes, sizes = _axes_and_sizes(input, s, dim, default_all)
    x = _resized(_complex_input(input), axes, sizes)
    return write_out(FFT.apply(x, axes=axes, norm=norm, inverse=inverse), out)


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2c(input, None if n is None else (n,), (dim,), norm, False, False, out)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2c(input, None if n is None else (n,), (dim,), norm, True, False, out)


def fft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2c(input, s, dim, norm, False, True, out)


def ifft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2c(input, s, dim, norm, True, True, out)


def fftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2c(input, s, dim, norm, False, True, out)


def ifftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2c(input, s, dim, norm, True, True, out)


# -- real to half spectrum and back -------------------------------------------------------------------------
def _r2c(input: Tensor, s: Any, dim: Any, norm: str | None, default_all: bool, what: str, out: Any) -> Tensor:
    norm = _norm(norm)
    axes, sizes = _axes_and_sizes(input, s, dim, default_all)
    x = _resized(_real_input(input, what), axes, sizes)
    return write_out(RFFT.apply(x, axes=axes, norm=norm), out)


def _c2r(input: Tensor, s: Any, dim: Any, norm: str | None, default_all: bool, out: Any) -> Tensor:
    norm = _norm(norm)
    axes, sizes = _axes_and_sizes(input, s, dim, default_all)
    x = _complex_input(input)
    if sizes is None:
        sizes = tuple(x.shape[a] for a in axes[:-1]) + (2 * (x.shape[axes[-1]] - 1),)
    if sizes[-1] < 1:
        raise RuntimeError(f"Invalid number of data points ({sizes[-1]}) specified")
    half = sizes[:-1] + (sizes[-1] // 2 + 1,)
    x = _resized(x, axes, half)
    return write_out(IRFFT.apply(x, axes=axes, sizes=sizes, norm=norm), out)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _r2c(input, None if n is None else (n,), (dim,), norm, False, "rfft", out)


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2r(input, None if n is None else (n,), (dim,), norm, False, out)


def rfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    return _r2c(input, s, dim, norm, True, "rfftn", out)


def irfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2r(input, s, dim, norm, True, out)


def rfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _r2c(input, s, dim, norm, True, "rfftn", out)


def irfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    return _c2r(input, s, dim, norm, True, out)


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    """The real spectrum of a Hermitian-symmetric signal given by its first half: irfft of the conjugate
    with the dual norm."""
    return write_out(irfft(_complex_input(input).conj(), n, dim, _DUAL[_norm(norm)]), out)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    """The inverse of hfft: the conjugate of rfft with the dual norm."""
    return write_out(rfft(input, n, dim, _DUAL[_norm(norm)]).conj(), out)


def hfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    return ihfftn(input, s, dim, norm, out=out)


def hfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    """n-d hfft: the last dim holds the one-sided half of a Hermitian-symmetric signal."""
    return write_out(irfftn(_complex_input(input).conj(), s, dim, _DUAL[_norm(norm)]), out)


def ihfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    return write_out(rfftn(input, s, dim, _DUAL[_norm(norm)]).conj(), out)


# -- frequencies and shifts ----------------------------------------------------------------------------------
def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
            **_: Any) -> Tensor:
    from ._ops.creation import arange

    k = arange(n, dtype=dtype or D.get_default_dtype(), device=device)
    k = k - n * (k >= (n + 1) // 2).to(k.dtype)  # 0, 1, ..., then the negative frequencies
    return (k / (n * d)).requires_grad_(requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
             **_: Any) -> Tensor:
    from ._ops.creation import arange

    k = arange(n // 2 + 1, dtype=dtype or D.get_default_dtype(), device=device)
    return (k / (n * d)).requires_grad_(requires_grad)


def _shift(input: Tensor, dim: Any, sign: int) -> Tensor:
    from ._ops.shape import roll

    dims = tuple(range(input.ndim)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    shifts = tuple(sign * (input.shape[d] // 2) for d in dims)
    return roll(input, shifts, dims)


def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Move the zero frequency to the centre."""
    return _shift(input, dim, 1)


def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """The inverse of fftshift."""
    return _shift(input, dim, -1)

