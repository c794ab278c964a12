"""torch.fft: values and gradients against PyTorch, float64 gradcheck, every norm, sizes that pad and crop."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check

import disttorch

torch = pytest.importorskip("torch")

NORMS = [None, "backward", "ortho", "forward"]


def rnd(*shape, complex_=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


def _loss(t, y):
    """A real loss touching real and imaginary parts differently (so complex gradients are checked)."""
    if y.is_complex():
        return (y.real * 1.5 - y.imag * 0.7).sum() + (y.abs() ** 2).sum() * 0.1
    return (y * y).sum()


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("fn,kw,cplx", [
    ("fft", {}, False), ("fft", {}, True), ("ifft", {}, True), ("fft", {"n": 7}, True), ("fft", {"n": 3}, False),
    ("ifft", {"n": 8, "dim": 0}, True), ("rfft", {}, False), ("rfft", {"n": 9}, False), ("rfft", {"n": 4}, False),
    ("irfft", {}, True), ("irfft", {"n": 9}, True), ("irfft", {"n": 6}, True), ("irfft", {"n": 3}, True),
    ("hfft", {}, True), ("hfft", {"n": 7}, True), ("ihfft", {}, False),
    ("fft2", {}, True), ("ifft2", {"s": (3, 7)}, True), ("fftn", {}, False), ("ifftn", {"dim": (0, 2)}, True),
    ("hfft2", {}, True), ("ihfft2", {}, False), ("hfftn", {"s": (3, 4, 9)}, True), ("ihfftn", {"dim": (0, 2)}, False),
    ("rfft2", {}, False), ("irfft2", {}, True), ("rfftn", {"s": (4, 5, 6)}, False), ("irfftn", {"s": (2, 3, 7)}, True),
])
def test_against_torch(fn, kw, cplx, norm):
    x = rnd(3, 4, 6, complex_=cplx)

    def run(t, a):
        return _loss(t, getattr(t.fft, fn)(a, norm=norm, **kw))

    check(lambda t, a: getattr(t.fft, fn)(a, norm=norm, **kw), [x], grad=False)
    check(run, [x], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fn,cplx", [("fft", True), ("rfft", False), ("irfft", True), ("fftn", True),
                                     ("irfftn", True), ("hfft", True), ("ihfft", False)])
def test_gradcheck_float64(fn, cplx):
    x = disttorch.tensor(rnd(2, 5, complex_=cplx, seed=3), requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda a: _loss(disttorch, getattr(disttorch.fft, fn)(a)), (x,))


def test_dtypes_and_errors():
    for dt in ("float32", "float64", "int64"):
        a, b = disttorch.fft.fft(disttorch.arange(4).to(getattr(disttorch, dt))), torch.fft.fft(
            torch.arange(4).to(getattr(torch, dt)))
        assert str(a.dtype) == str(b.dtype)
        a, b = disttorch.fft.rfft(disttorch.ones(4, dtype=getattr(disttorch, dt))), torch.fft.rfft(
            torch.ones(4, dtype=getattr(torch, dt)))
        assert str(a.dtype) == str(b.dtype)
    assert str(disttorch.fft.irfft(disttorch.ones(3, dtype=disttorch.complex64)).dtype) == "torch.float32"
    with pytest.raises(ValueError, match="Invalid normalization mode"):
        disttorch.fft.fft(disttorch.ones(4), norm="nope")
    with pytest.raises(RuntimeError, match="expects a real input"):
        disttorch.fft.rfft(disttorch.ones(4, dtype=disttorch.complex64))
    with pytest.raises(RuntimeError, match="Invalid number of data points"):
        disttorch.fft.fft(disttorch.ones(4), n=0)


@pytest.mark.parametrize("n", [5, 6])
def test_freqs_and_shifts(n):
    for name in ("fftfreq", "rfftfreq"):
        ours, theirs = getattr(disttorch.fft, name)(n, 0.5), getattr(torch.fft, name)(n, 0.5)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    x = rnd(n, n + 1)
    for name in ("fftshift", "ifftshift"):
        check(lambda t, a: getattr(t.fft, name)(a), [x])
        check(lambda t, a: getattr(t.fft, name)(a, dim=1), [x])
        check(lambda t, a: getattr(t.fft, name)(a, dim=(0,)), [x])
