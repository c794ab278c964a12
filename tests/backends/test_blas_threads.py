"""Small host products run on one BLAS thread and put the configured count back (backends/blas_threads.py)."""
import numpy as np
import pytest
from disttorch.backends import blas_threads

import disttorch


@pytest.fixture
def recorded(monkeypatch):
    """A stand-in for OpenBLAS's set_num_threads that records each call; the BLAS itself is left alone."""
    calls = []
    monkeypatch.setattr(blas_threads, "_set", [calls.append])
    monkeypatch.setattr(blas_threads, "_big", [2])
    return calls


def test_small_products_switch_to_one_thread_and_back(recorded):
    x = disttorch.randn(16, 32, requires_grad=True)
    lin = disttorch.nn.Linear(32, 8)
    y = lin(x)
    assert recorded == [1, 2]
    y.sum().backward()  # Linear's backward on the arrays: one product pair, one switch
    assert recorded == [1, 2, 1, 2]
    a, b = disttorch.randn(4, 5, 6, requires_grad=True), disttorch.randn(6, 3, requires_grad=True)
    (a @ b).sum().backward()
    assert recorded[4:6] == [1, 2] and len(recorded) % 2 == 0 and recorded[-1] == 2
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.detach().numpy().sum(1), (4, 5, 6)), rtol=1e-5)


def test_large_products_and_a_single_thread_blas_are_left_alone(recorded, monkeypatch):
    big = disttorch.zeros(256, 256)
    _ = big @ big  # 2^24 multiply-adds: the configured count
    assert recorded == []
    monkeypatch.setattr(blas_threads, "_big", [1])
    _ = disttorch.randn(4, 4) @ disttorch.randn(4, 4)
    assert recorded == []


def test_set_num_threads_is_the_count_for_large_products(recorded):
    before = disttorch.get_num_threads()
    try:
        disttorch.set_num_threads(1)
        assert blas_threads._big == [1]
        _ = disttorch.randn(4, 4) @ disttorch.randn(4, 4)
        assert recorded == []
    finally:
        disttorch.set_num_threads(before)
    assert blas_threads._big == [before]


def test_the_real_blas_is_found_and_switched():
    """With numpy's OpenBLAS (the wheels' BLAS) the switch reaches the library: threadpoolctl sees one thread
    inside a small product's window and the configured count after."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    info = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    if not info:
        pytest.skip("numpy is not linked to OpenBLAS here: nothing to switch")
    blas_threads._big.clear()
    blas_threads._set.clear()
    start = info[0]["num_threads"]
    switched = blas_threads.one_thread_if_small(10)
    inside = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"][0]["num_threads"]
    if switched:
        blas_threads.restore()
    after = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"][0]["num_threads"]
    assert (inside, after) == ((1, start) if start > 1 else (start, start))
    assert switched == (start > 1)


@pytest.mark.parametrize("layer, shape", [
    (lambda nn: nn.Conv2d(3, 4, 3, padding=1), (2, 3, 8, 8)),
    (lambda nn: nn.LSTM(5, 6, batch_first=True), (2, 4, 5)),
    (lambda nn: nn.MultiheadAttention(8, 2, batch_first=True), (2, 4, 8)),
])
def test_products_inside_conv_lstm_and_attention_switch_too(recorded, layer, shape):
    m = layer(disttorch.nn)
    x = disttorch.randn(*shape, requires_grad=True)
    y = m(x, x, x)[0] if isinstance(m, disttorch.nn.MultiheadAttention) else m(x)
    (y[0] if isinstance(y, tuple) else y).sum().backward()
    assert recorded and recorded[::2] == [1] * (len(recorded) // 2) and recorded[1::2] == [2] * (len(recorded) // 2)


def test_matmul_is_numpys(recorded):
    a, b = np.random.rand(3, 4, 5), np.random.rand(5, 2)
    out = np.empty((3, 4, 2))
    assert blas_threads.matmul(np, a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
    np.testing.assert_array_equal(blas_threads.matmul(np, b.T, a.swapaxes(1, 2)), np.matmul(b.T, a.swapaxes(1, 2)))
    assert recorded == [1, 2, 1, 2]
