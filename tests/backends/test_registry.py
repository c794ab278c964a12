"""Backend registry: built-in backends, errors, and a third-party backend plugged in through the
``disttorch.backends`` entry-point group (a fake installed distribution in a temporary folder)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import disttorch
from disttorch import backends

HERE = os.path.dirname(os.path.abspath(__file__))


def _fake_distribution(root: Path, entry_points: str, name: str = "toy_backend_pkg") -> None:
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """Install the toy backend as a plug-in (entry points only), load it, and remove it afterwards."""
    backends.device_types()  # the initial scan happens before the plug-in is "installed"
    assert "toy" not in backends.device_types()
    _fake_distribution(tmp_path, "[disttorch.backends]\ntoy = toy_backend:ToyBackend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(HERE)
    with pytest.raises(RuntimeError, match="device type at start of device string: toy"):
        disttorch.device("toy")  # installed, but not scanned yet
    backends.reload_entry_points()
    import toy_backend

    yield toy_backend
    backends.unregister_backend("toy")


def is_toy(t: disttorch.Tensor, toy_module) -> bool:
    return type(t._data) is toy_module.ToyArray and t.device.type == "toy"


def test_builtin_backends() -> None:
    assert {"cpu", "cuda"} <= set(backends.device_types())
    cpu = backends.get_backend("cpu")
    assert cpu.xp is np and cpu.device_type == "cpu"
    assert backends.backend_for_array(np.zeros(2)) is cpu
    assert backends.backend_for_array(np.asarray(np.float32(1.0))) is cpu
    sub = type("Sub", (np.ndarray,), {})
    assert backends.backend_for_array(np.zeros(2).view(sub)) is cpu  # unknown subclasses go to their base's owner
    assert backends.get_backend("cuda").device_type == "cuda"  # registered even without cupy


def test_registry_errors() -> None:
    with pytest.raises(RuntimeError, match="no backend for device type 'nope'"):
        backends.get_backend("nope")
    with pytest.raises(TypeError, match="no disttorch backend owns arrays of type builtins.list"):
        backends.backend_for_array([1, 2])
    with pytest.raises(ValueError, match="has no device_type"):
        backends.register_backend(backends.Backend())
    with pytest.raises(RuntimeError, match="no backend for device type 'nope' to unregister"):
        backends.unregister_backend("nope")


def test_plugin_registers_through_entry_point(toy) -> None:
    backend = backends.get_backend("toy")
    assert isinstance(backend, toy.ToyBackend)
    assert "toy" in backends.device_types()
    assert backends.backend_for_array(np.zeros(2).view(toy.ToyArray)) is backend
    assert backends.backend_for_array(np.zeros(2)) is backends.get_backend("cpu")  # numpy keeps its owner
    dev = disttorch.device("toy")
    assert dev.type == "toy" and dev.index is None and str(dev) == "toy" and repr(dev) == "device(type='toy')"
    assert disttorch.device("toy:0").index == 0


def test_creation_on_plugin_device(toy) -> None:
    made = [
        disttorch.tensor([[1.0, 2.0], [3.0, 4.0]], device="toy"), disttorch.zeros(2, 3, device="toy"),
        disttorch.ones(3, device="toy", dtype=disttorch.float64), disttorch.full((2,), 7, device="toy"),
        disttorch.arange(5, device="toy"), disttorch.eye(3, device="toy"), disttorch.linspace(0, 1, 4, device="toy"),
        disttorch.rand(3, device="toy"), disttorch.randn(2, 2, device="toy"),
        disttorch.randint(0, 5, (4,), device="toy"),
        disttorch.randperm(4, device="toy"), disttorch.empty(2, device="toy"),
        disttorch.zeros_like(disttorch.ones(2, device="toy")), disttorch.ones(2, device="toy").new_zeros(3),
        disttorch.ones(2).to("toy"), disttorch.as_tensor(np.arange(3), device="toy"),
    ]
    for t in made:
        assert is_toy(t, toy), repr(t)
    np.testing.assert_array_equal(made[4].cpu().numpy(), np.arange(5))
    np.testing.assert_array_equal(made[5].cpu().numpy(), np.eye(3, dtype=np.float32))
    assert made[3].dtype is disttorch.int64
    assert repr(made[0]) == "tensor([[1., 2.],\n        [3., 4.]], device='toy')"
    # same seed, same numbers on the plug-in device too
    disttorch.manual_seed(11)
    a = disttorch.rand(4, device="toy")
    disttorch.manual_seed(11)
    np.testing.assert_array_equal(a.cpu().numpy(), disttorch.rand(4, device="toy").cpu().numpy())


def test_ops_and_autograd_on_plugin_device(toy) -> None:
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal((3, 4)), rng.standard_normal(4)
    a = disttorch.tensor(a_np, device="toy", requires_grad=True)
    b = disttorch.tensor(b_np, device="toy", requires_grad=True)
    out = (a * b + a / 2.0 - b) * 3 + 1
    assert is_toy(out, toy) and out.grad_fn is not None
    np.testing.assert_allclose(out.cpu().detach().numpy(), (a_np * b_np + a_np / 2 - b_np) * 3 + 1)
    out.backward(disttorch.ones(3, 4, device="toy", dtype=disttorch.float64))
    assert is_toy(a.grad, toy) and is_toy(b.grad, toy)
    np.testing.assert_allclose(a.grad.cpu().numpy(), 3 * (np.broadcast_to(b_np, (3, 4)) + 0.5))
    np.testing.assert_allclose(b.grad.cpu().numpy(), 3 * (a_np - 1).sum(0))
    # powers, negation, integer promotion, 0-dim operands
    x = disttorch.tensor([1.0, 2.0, 3.0], device="toy", requires_grad=True)
    y = -(x ** 2) + disttorch.tensor(2.0, device="toy") * x
    y.backward(disttorch.ones(3, device="toy"))
    assert is_toy(y, toy) and is_toy(x.grad, toy)
    np.testing.assert_allclose(x.grad.cpu().numpy(), -2 * np.array([1.0, 2.0, 3.0]) + 2)
    ints = disttorch.arange(4, device="toy")
    half = ints / 2
    assert is_toy(half, toy) and half.dtype is disttorch.float32
    np.testing.assert_allclose(half.cpu().numpy(), np.arange(4) / 2)
    # in-place ops keep the array type
    z = disttorch.zeros(3, device="toy")
    z.add_(1).mul_(4)
    assert is_toy(z, toy)
    np.testing.assert_array_equal(z.cpu().numpy(), [4.0, 4.0, 4.0])


def test_matmul_on_plugin_device(toy) -> None:
    if not hasattr(disttorch, "matmul"):
        pytest.skip("disttorch.matmul is not implemented yet")
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    a = disttorch.tensor(a_np, device="toy", requires_grad=True)
    b = disttorch.tensor(b_np, device="toy", requires_grad=True)
    c = a @ b
    assert is_toy(c, toy)
    np.testing.assert_allclose(c.detach().cpu().numpy(), a_np @ b_np)
    c.backward(disttorch.ones(2, 4, device="toy", dtype=disttorch.float64))
    assert is_toy(a.grad, toy) and is_toy(b.grad, toy)
    np.testing.assert_allclose(a.grad.cpu().numpy(), np.ones((2, 4)) @ b_np.T)
    np.testing.assert_allclose(b.grad.cpu().numpy(), a_np.T @ np.ones((2, 4)))


def test_sum_on_plugin_device(toy) -> None:
    if not hasattr(disttorch, "sum"):
        pytest.skip("disttorch.sum is not implemented yet")
    a_np = np.random.default_rng(2).standard_normal((3, 4))
    a = disttorch.tensor(a_np, device="toy", requires_grad=True)
    s = (a * a).sum()
    assert is_toy(s, toy) and s.dim() == 0
    np.testing.assert_allclose(s.item(), (a_np * a_np).sum())
    s.backward()
    assert is_toy(a.grad, toy)
    np.testing.assert_allclose(a.grad.cpu().numpy(), 2 * a_np)
    rows = a.sum(1)
    assert is_toy(rows, toy)
    np.testing.assert_allclose(rows.detach().cpu().numpy(), a_np.sum(1))


def test_moving_between_cpu_and_plugin(toy) -> None:
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("toy")
    assert is_toy(y, toy) and y.grad_fn.name() == "ToCopyBackward0"
    back = (y * 2).cpu()
    assert type(back._data) is np.ndarray and back.device == disttorch.device("cpu")
    back.backward(disttorch.ones(2))
    assert type(x.grad._data) is np.ndarray
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    with pytest.raises(TypeError, match="can't convert toy device type tensor to numpy"):
        y.detach().numpy()
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        disttorch.ones(2) + disttorch.ones(2, device="toy").mul(1.5)


def test_broken_plugins_are_skipped_with_a_warning(tmp_path, monkeypatch) -> None:
    _fake_distribution(tmp_path, "[disttorch.backends]\nbroken = no_such_module_here:Backend\n"
                                 "notabackend = os:getcwd\n", name="broken_pkg")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(RuntimeWarning) as caught:
        backends.reload_entry_points()
    messages = [str(w.message) for w in caught]
    assert any("skipping backend plug-in 'broken'" in m and "no_such_module_here" in m for m in messages)
    assert any("skipping backend plug-in 'notabackend'" in m and "not a Backend" in m for m in messages)
    assert "broken" not in backends.device_types()
    assert disttorch.ones(2).device.type == "cpu"  # everything else still works


def test_a_plugin_needs_no_kernels_of_its_own(toy) -> None:
    """The toy backend registers no kernel: convolution, pooling, embedding backward, scatter and erf run on
    it through the generic kernels (backends/base.py KernelTable), with the same values as on cpu."""
    F = disttorch.nn.functional
    rng = np.random.default_rng(3)
    x_np, w_np = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    results = {}
    for dev in ("cpu", "toy"):
        x = disttorch.tensor(x_np, device=dev, requires_grad=True)
        w = disttorch.tensor(w_np, device=dev, requires_grad=True)
        y = F.max_pool2d(F.conv2d(x, w, padding=1), 2).erf()
        emb = F.embedding(disttorch.tensor([[0, 2, 2]], device=dev), w.reshape(4, -1))
        idx = disttorch.tensor([[0, 1, 0]], device=dev)
        scat = disttorch.zeros(2, 3, device=dev, dtype=disttorch.float64).scatter_add(0, idx, emb[0, :1, :3])
        (y.sum() + emb.sum() + scat.sum()).backward()
        if dev == "toy":
            assert all(is_toy(t, toy) for t in (y, emb, scat, x.grad, w.grad))
        results[dev] = [t.detach().cpu().numpy() for t in (y, emb, scat, x.grad, w.grad)]
    for ours, ref in zip(results["toy"], results["cpu"]):
        np.testing.assert_allclose(ours, ref, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="'toy' backend .* has no kernel 'no_such_kernel'"):
        backends.get_backend("toy").kernels["no_such_kernel"]


def test_plugin_special_functions_run_through_the_host(toy) -> None:
    x = disttorch.tensor([0.5, 2.0, 3.5], device="toy", dtype=disttorch.float64)
    q = disttorch.tensor([1.0, 2.0, 1.5], device="toy", dtype=disttorch.float64)
    for ours, ref in ((disttorch.lgamma(x), disttorch.lgamma(x.cpu())),
                      (disttorch.special.zeta(x + 1, q), disttorch.special.zeta(x.cpu() + 1, q.cpu())),
                      (disttorch.polygamma(1, x), disttorch.polygamma(1, x.cpu()))):
        assert is_toy(ours, toy)
        np.testing.assert_allclose(ours.cpu().numpy(), ref.numpy(), rtol=1e-12)
