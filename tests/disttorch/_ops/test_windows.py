"""Window functions against PyTorch."""
import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")

NAMES = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 16])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_window(name, length, periodic, dtype):
    ours = getattr(disttorch, name)(length, periodic, dtype=getattr(disttorch, dtype))
    theirs = getattr(torch, name)(length, periodic, dtype=getattr(torch, dtype))
    assert_close(ours, theirs, rtol=1e-5, atol=1e-6, what=name)


def test_window_options(device):
    assert_close(disttorch.hamming_window(7, True, 0.5, 0.3), torch.hamming_window(7, True, 0.5, 0.3))
    assert_close(disttorch.hamming_window(7, False, 0.6, 0.4), torch.hamming_window(7, False, 0.6, 0.4))
    assert_close(disttorch.kaiser_window(9, True, 4.0), torch.kaiser_window(9, True, 4.0))
    assert_close(disttorch.kaiser_window(9, False, 6.0), torch.kaiser_window(9, False, 6.0))
    w = disttorch.hann_window(4, device=device, requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.device.type == device
    disttorch.set_default_dtype(disttorch.float64)
    try:
        assert disttorch.blackman_window(3).dtype == disttorch.float64
    finally:
        disttorch.set_default_dtype(disttorch.float32)


@pytest.mark.parametrize("name", NAMES)
def test_window_errors(name):
    for t in (disttorch, torch):
        with pytest.raises(RuntimeError, match=f"{name} expects floating point dtypes"):
            getattr(t, name)(4, dtype=t.int64)
        with pytest.raises(RuntimeError, match=f"{name} requires non-negative window_length, got window_length=-1"):
            getattr(t, name)(-1)
    assert np.allclose(disttorch.hann_window(3).numpy(), torch.hann_window(3).numpy())
