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


@pytest.mark.parametrize("name", ["modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
                                  "scaled_modified_bessel_k1", "airy_ai"])
def test_kernels_cupy_lacks_or_has_late_run_on_cuda(name, device):
    """k0/k1 (cupyx.scipy.special) and airy_ai (a host round trip on cuda) give the cpu values on every device."""
    x = disttorch.rand(6, device=device, dtype=disttorch.float64) * 3 + 0.1
    got = getattr(disttorch.special, name)(x)
    want = getattr(torch.special, name)(torch.tensor(x.cpu().numpy()))
    assert got.device.type == device and got.dtype == disttorch.float64
    assert abs(got.cpu().numpy() - want.numpy()).max() < 1e-10
