"""stft / istft against real PyTorch: spectra, round trips, gradients, errors."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
from tests.oracle import assert_close

torch = pytest.importorskip("torch")


def _signal(*shape, seed=0):
    arr = np.random.default_rng(seed).standard_normal(shape)
    return disttorch.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


CASES = [
    dict(n_fft=16),
    dict(n_fft=16, hop_length=5, win_length=12, window="hann"),
    dict(n_fft=15, hop_length=3, center=False, normalized=True, window="hamming"),
    dict(n_fft=16, hop_length=4, onesided=False, window="hann", pad_mode="constant"),
]


def _kw(lib, case, n):
    kw = dict(case)
    if kw.get("window") == "hann":
        kw["window"] = lib.hann_window(kw.get("win_length", kw["n_fft"]), dtype=lib.float64)
    elif kw.get("window") == "hamming":
        kw["window"] = lib.hamming_window(kw.get("win_length", kw["n_fft"]), dtype=lib.float64)
    return kw


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("shape", [(64,), (3, 50)])
def test_stft_matches_pytorch_with_gradients(case, shape):
    xd, xt = _signal(*shape)
    sd = disttorch.stft(xd, return_complex=True, **_kw(disttorch, case, shape[-1]))
    st = torch.stft(xt, return_complex=True, **_kw(torch, case, shape[-1]))
    assert_close(sd, st, rtol=1e-10, atol=1e-10)
    w = np.random.default_rng(1).standard_normal(tuple(st.shape))
    (sd.abs() * disttorch.tensor(w)).sum().backward()
    (st.abs() * torch.tensor(w)).sum().backward()
    assert_close(xd.grad, xt.grad, rtol=1e-8, atol=1e-10)
    assert_close(disttorch.stft(xd.detach(), return_complex=False, **_kw(disttorch, case, 0)),
                 torch.stft(xt.detach(), return_complex=False, **_kw(torch, case, 0)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [c for c in CASES if c.get("window")])
def test_istft_inverts_and_matches_pytorch(case):
    xd, xt = _signal(2, 60, seed=2)
    kd, kt = _kw(disttorch, case, 60), _kw(torch, case, 60)
    kd.pop("pad_mode", None)
    kt.pop("pad_mode", None)
    sd = disttorch.stft(xd, return_complex=True, **kd)
    st = torch.stft(xt, return_complex=True, **kt)
    for length in (None, 60):
        rd = disttorch.istft(sd, length=length, **kd)
        rt = torch.istft(st, length=length, **kt)
        assert_close(rd, rt, rtol=1e-9, atol=1e-9)
    rd.sum().backward()
    rt.sum().backward()
    assert_close(xd.grad, xt.grad, rtol=1e-8, atol=1e-9)


def test_stft_errors_as_pytorch():
    for lib in (disttorch, torch):
        x = lib.randn(40, dtype=lib.float64)
        with pytest.raises(RuntimeError, match="stft requires the return_complex parameter be given for real inputs"):
            lib.stft(x, 8)
        with pytest.raises(RuntimeError, match="expected a 1D window tensor of size equal to win_length=8"):
            lib.stft(x, 8, window=lib.ones(5, dtype=lib.float64), return_complex=True)
        with pytest.raises(RuntimeError, match="istft requires a complex-valued input tensor"):
            lib.istft(lib.randn(5, 4), 8)
    assert disttorch.Tensor.stft is not None and disttorch.Tensor.istft is not None
