"""view_as_real, view_as_complex, as_strided(_), Tensor.H / mH, storage() / untyped_storage(), pin_memory /
is_pinned and the legacy Tensor.new: values, shared storage, version counters, gradients and errors against
PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error, to_np, torch

import disttorch

F, D = np.float32, np.float64


def cplx(*shape, seed=0, dtype=np.complex64):
    return (randn(*shape, seed=seed) + 1j * randn(*shape, seed=seed + 1)).astype(dtype)


def test_view_as_real_shares_storage():
    for mod in (disttorch, torch):
        z = mod.tensor(cplx(3))
        r = mod.view_as_real(z)
        assert r.data_ptr() == z.data_ptr() and tuple(r.shape) == (3, 2) and str(r.dtype) == "torch.float32"
        r[0, 1] = 7.0
        assert z[0].imag.item() == 7.0
        assert z._version == r._version if mod is torch else z._version_counter == r._version_counter
    check(lambda t, z: t.view_as_real(z), [cplx(2, 3)], grad=False)
    check(lambda t, z: t.view_as_real(z[:, ::2]), [cplx(2, 4, dtype=np.complex128)], grad=False)


def test_view_as_complex_shares_storage():
    x = randn(3, 2)
    for mod in (disttorch, torch):
        f = mod.tensor(x)
        z = mod.view_as_complex(f)
        assert z.data_ptr() == f.data_ptr() and tuple(z.shape) == (3,) and str(z.dtype) == "torch.complex64"
        z.mul_(2)
        np.testing.assert_allclose(to_np(f), x * 2)
    check(lambda t, f: t.view_as_complex(f), [randn(4, 3, 2, dtype=D)], grad=False)
    check(lambda t, f: t.view_as_complex(f).abs(), [randn(4, 2)])
    check(lambda t, f: t.view_as_real(t.view_as_complex(f) * (1 + 2j)), [randn(3, 2)])
    check(lambda t, f: t.view_as_complex(f[:, 2:4]).abs(), [randn(4, 6)])


def test_view_errors():
    same_error(lambda t, f: t.view_as_real(f), [randn(3)])
    same_error(lambda t, f: t.view_as_complex(f), [randn(2, 3)])
    same_error(lambda t, f: t.view_as_complex(f.t().contiguous().t()), [randn(3, 2)])
    same_error(lambda t, f: t.view_as_complex(f[:, 1:3]), [randn(4, 4)])
    same_error(lambda t, f: t.view_as_complex(f), [np.ones((3, 2), np.int64)], match="view_as_complex is only")


@pytest.mark.parametrize("size,stride,offset", [((2, 2), (3, 1), 1), ((3,), (2,), None), ((2, 3), (1, 2), 0),
                                                ((4, 2), (1, 1), 0), ((0, 3), (3, 1), 0), ((), (), 5)])
def test_as_strided(size, stride, offset):
    check(lambda t, x: t.as_strided(x, size, stride, offset), [randn(9)])
    check(lambda t, x: x.as_strided(size, stride, offset), [randn(3, 3, dtype=D)])
    gradcheck(lambda t, x: t.as_strided(x, size, stride, offset), [randn(9)])


def test_as_strided_views_and_offsets():
    x = randn(12)
    for mod in (disttorch, torch):
        base = mod.tensor(x)
        v = base[2:]
        s = v.as_strided((2, 2), (2, 1))  # offset defaults to the view's own
        assert s.storage_offset() == 2 and s.data_ptr() == v.data_ptr()
        s2 = v.as_strided((2,), (1,), 0)  # an explicit offset counts from the storage's start
        assert s2.data_ptr() == base.data_ptr()
        s.fill_(5.0)
        assert base[2].item() == 5.0 and base._version == 1 if mod is torch else base._version_counter == 1
        w = mod.tensor(x)
        assert w.as_strided_((3, 2), (4, 1), 1) is w and tuple(w.shape) == (3, 2) and w.stride() == (4, 1)
        np.testing.assert_allclose(to_np(w), x[[[1, 2], [5, 6], [9, 10]]])
    check(lambda t, x: (x * 1)[3:].as_strided((2, 3), (3, 1)), [randn(12)])
    check(lambda t, x: x.t().as_strided((2, 2), (1, 2)), [randn(3, 4)])
    same_error(lambda t, x: t.as_strided(x, (3,), (2,)), [randn(4)])
    same_error(lambda t, x: t.as_strided(x, (3,), (1,), 2), [randn(4)])


def test_conjugate_transposes():
    check(lambda t, x: x.H, [randn(3, 4)])
    check(lambda t, x: x.mH, [randn(2, 3, 4)])
    check(lambda t, x: x.mT, [randn(2, 3, 4)])
    check(lambda t, z: z.H, [cplx(2, 3)], grad=False)
    check(lambda t, z: z.mH, [cplx(4, 2, 3)], grad=False)
    same_error(lambda t, x: x.H, [randn(3)])
    same_error(lambda t, x: x.H, [randn(2, 3, 4)])
    same_error(lambda t, x: x.mH, [randn(3)])


@pytest.mark.parametrize("name", ["storage", "untyped_storage"])
def test_storage(name):
    x = np.arange(6, dtype=F).reshape(2, 3)
    results = []
    for mod in (disttorch, torch):
        t = mod.tensor(x)
        st = getattr(t, name)()
        for view in (t[1], t.t(), t.reshape(-1)[2:], t.view(3, 2)):
            assert getattr(view, name)().data_ptr() == st.data_ptr()
        assert getattr(mod.tensor(x), name)().data_ptr() != st.data_ptr()
        results.append((st.size(), len(st), st.nbytes(), st.element_size(), st.tolist(), str(st.device),
                        st.data_ptr() == t.data_ptr(), str(st.dtype) if name == "storage" else None))
    assert results[0] == results[1]


def test_pin_memory():
    x = disttorch.arange(6.0).reshape(2, 3)
    assert not x.is_pinned()
    p = x.pin_memory()
    assert p.is_pinned() and p[1].is_pinned() and p.t().is_pinned() and p.pin_memory() is p
    assert p.data_ptr() != x.data_ptr() and p.tolist() == x.tolist() and p.dtype == x.dtype
    assert not p.clone().is_pinned()
    w = disttorch.ones(3, requires_grad=True)
    (w.pin_memory() * 2).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]


def test_legacy_new():
    x = randn(2, 3, dtype=D)
    for args in [(2, 3), (torch.Size([4]),), ([1, 2],), ((2, 3),), (), (0,)]:
        results = []
        for mod in (disttorch, torch):
            t = mod.tensor(x)
            a = tuple(mod.Size(v) if isinstance(v, torch.Size) else v for v in args)
            r = t.new(*a)
            results.append((tuple(r.shape), str(r.dtype), str(r.device), r.requires_grad))
            if args and isinstance(args[0], (list, tuple)) and not isinstance(args[0], torch.Size):
                results.append(r.tolist())
        assert results[:len(results) // 2] == results[len(results) // 2:]
    y = disttorch.tensor(x)
    assert y.new(y).data_ptr() == y.data_ptr()
    same_error(lambda t, a, b: a.new(b), [x, np.ones(2, np.int64)], match="expected")
