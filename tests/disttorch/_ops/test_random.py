"""Random numbers: reproducibility, generator state, distributions, dtypes and errors (against PyTorch)."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

N = 200_000


def draws(lib, gen=None):
    kw = {} if gen is None else {"generator": gen}
    return [lib.rand(5, **kw), lib.randn(2, 3, **kw), lib.randint(0, 100, (7,), **kw), lib.randperm(9, **kw),
            lib.normal(1.0, 2.0, (4,), **kw), lib.ones(6).uniform_(-1, 1, **kw), lib.ones(4).normal_(**kw),
            lib.bernoulli(lib.full((8,), 0.5), **kw), lib.multinomial(lib.tensor([0.1, 0.5, 0.4]), 5, True, **kw)]


def equal(xs, ys) -> bool:
    return all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(xs, ys))


@pytest.fixture(autouse=True)
def restore_seed():
    yield
    disttorch.manual_seed(0)


def test_manual_seed_reproduces(device: str) -> None:
    disttorch.manual_seed(1234)
    a = draws(disttorch)
    disttorch.manual_seed(1234)
    b = draws(disttorch)
    assert equal(a, b)
    disttorch.manual_seed(1235)
    assert not equal(a, draws(disttorch))
    disttorch.manual_seed(7)
    x = disttorch.rand(4, device=device)
    disttorch.manual_seed(7)
    assert np.array_equal(x.cpu().numpy(), disttorch.rand(4, device=device).cpu().numpy())
    assert disttorch.initial_seed() == 7
    assert isinstance(disttorch.manual_seed(3), disttorch.Generator)


def test_generator_objects() -> None:
    g1 = disttorch.Generator().manual_seed(5)
    g2 = disttorch.Generator()
    g2.manual_seed(5)
    assert g1.initial_seed() == 5 and g1.device == disttorch.device("cpu")
    assert equal(draws(disttorch, g1), draws(disttorch, g2))
    # a private generator leaves the global stream alone
    disttorch.manual_seed(9)
    first = disttorch.rand(3)
    disttorch.manual_seed(9)
    disttorch.rand(5, generator=disttorch.Generator().manual_seed(1))
    assert np.array_equal(first.numpy(), disttorch.rand(3).numpy())
    assert disttorch.Generator().manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    assert disttorch.Generator().initial_seed() == torch.Generator().initial_seed()


def test_generator_state_round_trip() -> None:
    g = disttorch.Generator().manual_seed(42)
    draws(disttorch, g)
    state = g.get_state()
    assert state.dtype is disttorch.uint8 and state.dim() == 1
    a = draws(disttorch, g)
    g.set_state(state)
    assert equal(a, draws(disttorch, g))
    other = disttorch.Generator().manual_seed(1)
    other.set_state(state)
    assert equal(a, draws(disttorch, other))
    # global state
    disttorch.manual_seed(3)
    saved = disttorch.get_rng_state()
    x = disttorch.randn(10)
    disttorch.set_rng_state(saved)
    assert np.array_equal(x.numpy(), disttorch.randn(10).numpy())
    with pytest.raises(TypeError):
        g.set_state(disttorch.zeros(3))
    with pytest.raises(TypeError):
        torch.Generator().set_state(torch.zeros(3))


def test_seed() -> None:
    s = disttorch.seed()
    assert isinstance(s, int) and disttorch.initial_seed() == s
    a = disttorch.rand(3)
    disttorch.manual_seed(s)
    assert np.array_equal(a.numpy(), disttorch.rand(3).numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_continuous_distributions(dtype: str) -> None:
    dt = getattr(disttorch, dtype)
    disttorch.manual_seed(0)
    u = disttorch.rand(N, dtype=dt).numpy()
    assert u.dtype == np.dtype(dtype) and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - (1 / 12) ** 0.5) < 0.01
    z = disttorch.randn(N, dtype=dt).numpy()
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    n = disttorch.normal(2.0, 3.0, (N,), dtype=dt).numpy()
    assert abs(n.mean() - 2) < 0.05 and abs(n.std() - 3) < 0.05
    n = disttorch.normal(disttorch.full((N,), -1.0, dtype=dt), disttorch.full((N,), 0.5, dtype=dt)).numpy()
    assert abs(n.mean() + 1) < 0.01 and abs(n.std() - 0.5) < 0.01
    v = disttorch.empty(N, dtype=dt).uniform_(-2, 4).numpy()
    assert v.min() >= -2 and v.max() < 4 and abs(v.mean() - 1) < 0.03
    v = disttorch.empty(N, dtype=dt).normal_(5, 0.1).numpy()
    assert abs(v.mean() - 5) < 0.01 and abs(v.std() - 0.1) < 0.01
    v = disttorch.empty(N, dtype=dt).exponential_(4.0).numpy()
    assert v.min() >= 0 and abs(v.mean() - 0.25) < 0.01
    v = disttorch.empty(N, dtype=dt).log_normal_(0.0, 0.5).numpy()
    assert abs(np.log(v).mean()) < 0.01 and abs(np.log(v).std() - 0.5) < 0.01
    v = disttorch.empty(N, dtype=dt).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(v) - 1) < 0.05
    v = disttorch.empty(N, dtype=dt).geometric_(0.25).numpy()
    assert v.min() >= 1 and abs(v.mean() - 4) < 0.1
    c = disttorch.randn(N, dtype=disttorch.complex64).numpy()
    assert c.dtype == np.complex64 and abs((np.abs(c) ** 2).mean() - 1) < 0.02
    assert abs(c.real.std() - 0.5 ** 0.5) < 0.01


def test_discrete_distributions() -> None:
    disttorch.manual_seed(0)
    r = disttorch.randint(-3, 4, (N,)).numpy()
    assert r.dtype == np.int64 and r.min() == -3 and r.max() == 3
    assert np.all(np.abs(np.bincount(r + 3) / N - 1 / 7) < 0.01)
    r = disttorch.randint(5, (1000,), dtype=disttorch.uint8).numpy()
    assert r.dtype == np.uint8 and set(r.tolist()) == {0, 1, 2, 3, 4}
    r = disttorch.randint(2, 5, size=(10,)).numpy()
    assert r.min() >= 2 and r.max() < 5
    for n in (0, 1, 10, 1000):
        p = disttorch.randperm(n).numpy()
        assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(n))
    assert disttorch.randperm(10, dtype=disttorch.float32).dtype is disttorch.float32
    b = disttorch.bernoulli(disttorch.full((N,), 0.3)).numpy()
    assert set(np.unique(b).tolist()) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    b = disttorch.zeros(N).bernoulli_(0.7).numpy()
    assert abs(b.mean() - 0.7) < 0.01
    m = disttorch.multinomial(disttorch.tensor([0.1, 0.6, 0.3]), N, replacement=True).numpy()
    assert np.all(np.abs(np.bincount(m, minlength=3) / N - [0.1, 0.6, 0.3]) < 0.01)
    m = disttorch.multinomial(disttorch.tensor([[1.0, 2, 3, 4], [4, 3, 2, 1]]), 4)
    assert tuple(m.shape) == (2, 4) and all(sorted(row) == [0, 1, 2, 3] for row in m.numpy().tolist())
    p = disttorch.poisson(disttorch.full((N,), 3.0)).numpy()
    assert abs(p.mean() - 3) < 0.03
    v = disttorch.zeros(1000, dtype=disttorch.int64).random_(2, 6).numpy()
    assert set(v.tolist()) == {2, 3, 4, 5}


def _outcome(lib, expr: str):
    try:
        out = eval(expr, {"L": lib})
    except Exception as exc:  # noqa: BLE001  (compared with PyTorch's exception)
        return type(exc).__name__, str(exc).split("\n")[0]
    return str(out.dtype), tuple(out.shape), out.requires_grad


@pytest.mark.parametrize("expr", [
    "L.rand(2, 3)", "L.rand((2, 3))", "L.rand(2, dtype=L.float64)", "L.rand(2, dtype=L.float16)",
    "L.rand(2, dtype=L.bfloat16)", "L.rand(2, requires_grad=True)", "L.rand(())", "L.rand(0)",
    "L.randn(2, 2, dtype=L.complex64)", "L.rand(3, dtype=L.complex128)", "L.randint(5, (3,))",
    "L.randint(2, 5, (3,))", "L.randint(5, (3,), dtype=L.int32)", "L.randint(5, (3,), dtype=L.float32)",
    "L.randint(-3, 3, (2, 2))", "L.randint(3, size=(2,))", "L.randint(0, 3, size=(2,))", "L.randperm(5)",
    "L.randperm(0)", "L.randperm(5, dtype=L.float32)", "L.randperm(5, dtype=L.float32, requires_grad=True)",
    "L.normal(0.0, 1.0, (2, 3))", "L.normal(L.zeros(3), 1.0)", "L.normal(L.zeros(3), L.ones(3))",
    "L.normal(0.0, L.ones(3))", "L.normal(L.zeros(3, dtype=L.float64), 2.0)", "L.normal(L.zeros(2, 1), L.ones(3))",
    "L.rand_like(L.ones(2, dtype=L.float64))", "L.randint_like(L.ones(2), 5)", "L.randint_like(L.ones(2), 2, 5)",
    "L.randint_like(L.ones(2, dtype=L.int32), 5)", "L.randn_like(L.ones(2, 3), dtype=L.float64)",
    "L.bernoulli(L.full((3,), 0.5))", "L.bernoulli(L.full((3,), 0.5, dtype=L.float64))",
    "L.multinomial(L.tensor([0.2, 0.8]), 3, replacement=True)", "L.multinomial(L.tensor([[0.2, 0.8], [0.5, 0.5]]), 2)",
    "L.poisson(L.full((3,), 2.0))", "L.ones(3).uniform_(2, 3)", "L.ones(3, dtype=L.float64).normal_(2, 3)",
    "L.ones(3, dtype=L.int64).random_(0, 4)", "L.ones(3).exponential_()", "L.ones(3).bernoulli_(0.3)",
    # errors
    "L.rand(2, dtype=L.int64)", "L.randn(2, dtype=L.int32)", "L.rand(-1)", "L.randn(2, -2)",
    "L.randint(5, 5, (3,))", "L.randint(5, (3,), requires_grad=True)", "L.randint(5, (3,), dtype=L.bool)",
    "L.randint(0, 300, (3,), dtype=L.uint8)", "L.randint(-1, 3, (3,), dtype=L.uint8)", "L.randperm(-1)",
    "L.randperm(5, requires_grad=True)", "L.normal(0.0, -1.0, (2,))", "L.normal(L.zeros(3), -1.0)",
    "L.normal(L.zeros(2), L.tensor([-1.0, 1.0]))", "L.randn_like(L.ones(2, dtype=L.int64))",
    "L.bernoulli(L.full((3,), 1.5))", "L.multinomial(L.tensor([0.2, 0.8]), 3)",
    "L.multinomial(L.tensor([-0.2, 0.8]), 1)", "L.ones(3, dtype=L.int64).uniform_()",
    "L.ones(3, dtype=L.int64).normal_()", "L.ones(3, requires_grad=True).uniform_()",
])
def test_dtypes_shapes_and_errors(expr: str) -> None:
    ours, theirs = _outcome(disttorch, expr), _outcome(torch, expr)
    assert ours == theirs, f"{expr}\n ours:  {ours}\n torch: {theirs}"


def test_default_dtype_and_leaf() -> None:
    disttorch.set_default_dtype(disttorch.float64)
    try:
        assert disttorch.rand(2).dtype is disttorch.float64
        assert disttorch.randn(2).dtype is disttorch.float64
        assert disttorch.normal(0.0, 1.0, (2,)).dtype is disttorch.float64
    finally:
        disttorch.set_default_dtype(disttorch.float32)
    x = disttorch.rand(3, requires_grad=True)
    assert x.is_leaf and x.requires_grad


def test_generator_device_mismatch() -> None:
    if not disttorch.cuda.is_available():
        pytest.skip("needs a cuda device to build a generator for another device")
    g = disttorch.Generator("cuda")
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator"):
        disttorch.rand(2, generator=g)


def test_each_process_starts_from_its_own_seed():
    # as in PyTorch: without manual_seed, the default generator is seeded from the OS in every process
    code = "import disttorch; print(disttorch.initial_seed(), disttorch.rand(3).tolist())"
    import subprocess
    import sys

    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 2
