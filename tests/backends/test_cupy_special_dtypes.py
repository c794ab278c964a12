"""cupy's special-function ufuncs have float32/float64 loops only: a float16 tensor's erf, lgamma, ... must
still come back float16 on cuda, as on cpu and in PyTorch."""
import pytest

import disttorch

torch = pytest.importorskip("torch")

_FNS = {
    "erf": lambda L, x: L.erf(x), "erfc": lambda L, x: L.erfc(x), "erfinv": lambda L, x: L.erfinv(x * 0.5),
    "lgamma": lambda L, x: L.lgamma(x), "digamma": lambda L, x: L.digamma(x), "i0e": lambda L, x: L.special.i0e(x),
    "polygamma": lambda L, x: L.polygamma(1, x), "igamma": lambda L, x: L.igamma(x, x),
}


@pytest.mark.parametrize("name", list(_FNS))
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_special_functions_keep_the_input_dtype(name, dtype, device):
    x = disttorch.rand(5, device=device).to(getattr(disttorch, dtype)) + 0.5
    want = _FNS[name](torch, torch.tensor(x.cpu().numpy()))
    got = _FNS[name](disttorch, x)
    assert str(got.dtype) == str(want.dtype), (name, got.dtype, want.dtype)
    assert got.device.type == device
