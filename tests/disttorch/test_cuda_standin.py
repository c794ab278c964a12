"""cuda defects the strict cupy stand-in (DISTTORCH_FAKE_CUDA=1) revealed; each test fails without its fix.
They run on real cupy too and skip only where no cuda device (real or stand-in) is present."""
import numpy as np
import pytest
from conftest import CUDA

import disttorch

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not CUDA, reason="no GPU here (DISTTORCH_FAKE_CUDA=1 runs these on the stand-in)")


def test_backward_reaches_a_cuda_leaf():
    x = disttorch.tensor([1.0, 2.0, 3.0], device="cuda", requires_grad=True)
    (x * x).sum().backward()  # leaf accumulation read flags.writeable, which cupy's flags lack
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 4.0, 6.0])
    assert x.grad.device == x.device


def test_scatter_reduce_prod_repeated_indices_on_cuda():
    src = np.array([2.0, 3.0, 5.0, 7.0, -1.0], np.float32)
    idx = np.array([0, 1, 0, 0, 1])
    ours = disttorch.ones(3, device="cuda").scatter_reduce(0, disttorch.tensor(idx, device="cuda"),
                                                           disttorch.tensor(src, device="cuda"), "prod")
    theirs = torch.ones(3).scatter_reduce(0, torch.tensor(idx), torch.tensor(src), "prod")
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy())


def test_cuda_generator_state_round_trip():
    g = disttorch.Generator("cuda")
    g.manual_seed(7)
    state = g.get_state()  # cupy's BitGenerator.state is a method, not numpy's dict
    a = disttorch.rand(5, device="cuda", generator=g)
    g.set_state(state)
    b = disttorch.rand(5, device="cuda", generator=g)
    assert disttorch.equal(a, b)


def test_samplers_cupy_generators_lack():
    disttorch.manual_seed(0)
    p = disttorch.randperm(50, device="cuda")
    assert p.device.type == "cuda" and sorted(p.cpu().tolist()) == list(range(50))
    m = disttorch.multinomial(disttorch.tensor([0.0, 0.3, 0.7], device="cuda"), 2)
    assert sorted(m.cpu().tolist()) == [1, 2]
    r = disttorch.multinomial(disttorch.tensor([0.0, 1.0], device="cuda"), 4, replacement=True)
    assert r.cpu().tolist() == [1, 1, 1, 1]
    x = disttorch.empty(1000, device="cuda").log_normal_(0.0, 0.5)
    assert float(x.min()) > 0 and abs(float(x.log().mean())) < 0.1
    c = disttorch.empty(1001, device="cuda").cauchy_(2.0, 1.0)
    assert abs(float(c.median()) - 2.0) < 0.3


@pytest.mark.skipif(CUDA and disttorch.cuda.device_count() < 2, reason="needs two cuda devices")
def test_per_device_generators_and_device_guard():
    with disttorch.cuda.device(0):
        y = disttorch.rand(4, device="cuda:1")  # drawn by cuda:1's generator, on cuda:1
        assert y.device == disttorch.device("cuda:1")
        z = disttorch.nn.functional.dropout(disttorch.ones(8, device="cuda:1"), 0.5)
        assert z.device == disttorch.device("cuda:1")
        w = disttorch.ones(3, device="cuda:1").exp()  # the op's forward runs on its input's device
        assert w.device == disttorch.device("cuda:1")
