"""Matrix products, einsum, tensordot and torch.linalg against PyTorch."""
import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn, same_error, torch

import disttorch
import disttorch.linalg  # noqa: F401  (the torch.linalg namespace)

DTYPES = [np.float32, np.float64]
# torch.cholesky, torch.qr and torch.chain_matmul are tested on purpose
pytestmark = pytest.mark.filterwarnings("ignore:torch.*is deprecated:UserWarning")


def pair(*shapes, dtype=np.float32, seed=0):
    return [randn(*s, seed=seed + i, dtype=dtype) for i, s in enumerate(shapes)]


def wellcond(*shape, dtype=np.float64, seed=0):
    """Random square matrices far from singular (random part + 3 I)."""
    n = shape[-1]
    return (randn(*shape, seed=seed, dtype=np.float64) + 3 * np.eye(n)).astype(dtype)


def gradgradcheck(fn, arrays):
    """float64 second-order check of fn(*tensors) (a single-output fn) with random output gradients."""
    xs = [disttorch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    gout = disttorch.tensor(randn(*fn(*xs).shape, seed=11, dtype=np.float64), requires_grad=True)

    def first_grads(*args):
        return disttorch.autograd.grad(fn(*args[:-1]), args[:-1], args[-1], create_graph=True)

    assert disttorch.autograd.gradcheck(first_grads, xs + [gout])


# -- matmul ---------------------------------------------------------------------------------------------------
MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
                 ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
                 ((2, 1, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 1, 3, 2)), ((0, 3), (3, 2))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul(sa, sb, dtype, device):
    check(lambda t, a, b: t.matmul(a, b), pair(sa, sb, dtype=dtype), device=device)
    check(lambda t, a, b: a @ b, pair(sa, sb, dtype=dtype, seed=3), device=device)


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 2, 3), (3, 2)),
                                   ((2, 1, 2, 3), (3, 3, 2))])
def test_matmul_gradcheck(sa, sb):
    gradcheck(lambda t, a, b: a @ b, pair(sa, sb, dtype=np.float64))


@pytest.mark.parametrize("sa,sb", [((2, 3), (3, 4)), ((3,), (3,)), ((2, 2, 3), (3,)), ((2, 1, 2, 3), (3, 3, 2))])
def test_matmul_double_backward(sa, sb):
    arrays = pair(sa, sb, dtype=np.float64)
    results = []
    for t in (disttorch, torch):
        a, b = (t.tensor(x, requires_grad=True) for x in arrays)
        out = a @ b
        w = t.tensor(randn(*out.shape, seed=9, dtype=np.float64))
        ga, gb = t.autograd.grad((out * w).sum(), (a, b), create_graph=True)
        second = (ga * ga).sum() + (gb * gb * gb).sum()
        results.append(t.autograd.grad(second, (a, b)))
    assert_close(results[0], results[1], 1e-10, 1e-10, "double backward")
    gradgradcheck(lambda a, b: a @ b, arrays)


def test_matmul_grad_fn_names():
    a = disttorch.ones(2, 3, requires_grad=True)
    assert type(a @ disttorch.ones(3, 2)).__name__ == "Tensor"
    assert (a @ disttorch.ones(3, 2)).grad_fn.name() == "MmBackward0"
    assert (a @ disttorch.ones(3)).grad_fn.name() == "MvBackward0"
    assert disttorch.dot(a[0], a[1]).grad_fn.name() == "DotBackward0"


@pytest.mark.parametrize("np_dtype", [np.int64, np.int32])
def test_matmul_integers(np_dtype):
    a = np.arange(6).reshape(2, 3).astype(np_dtype)
    b = np.arange(12).reshape(3, 4).astype(np_dtype)
    check(lambda t, x, y: x @ y, [a, b])
    check(lambda t, x, y: t.matmul(x[0], y[:, 0]), [a, b])
    check(lambda t, x, y: t.mm(x, y), [a, b])


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)), ((3,), (4, 5)),
                                   ((5, 2, 3), (5, 4, 5)), ((5, 2, 3), (4, 3, 5)), ((5, 2, 3), (4,)),
                                   ((3,), (5, 4, 5)), ((), (3,)), ((3,), ()), ((5, 2, 3), (4, 5)),
                                   ((2, 3), (5, 4, 5)), ((2, 1, 2, 3), (5, 4, 4))])
def test_matmul_shape_errors(sa, sb):
    same_error(lambda t, a, b: t.matmul(a, b), pair(sa, sb))


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 2)),
                                   ((4, 2, 3), (3,)), ((4, 2, 3), (4, 3, 2)), ((2, 3), (4, 3, 2))])
def test_matmul_dtype_errors(sa, sb):
    a, b = pair(sa, sb)
    same_error(lambda t, x, y: t.matmul(x, y), [a, b.astype(np.float64)])
    same_error(lambda t, x, y: t.matmul(x, y), [a.astype(np.float64), b])


def test_matmul_out():
    check(lambda t, a, b: t.matmul(a, b, out=t.empty(2, 2)), pair((2, 3), (3, 2)), grad=False)


@pytest.mark.parametrize("fn", [lambda t, a, b: a @ b.mT, lambda t, a, b: t.vdot(a[0], b[1]),
                                lambda t, a, b: t.einsum("ij,kj->ik", a, b)])
def test_complex_products(fn):
    """Values and gradients (of a real loss) match PyTorch, imaginary parts included."""
    arrays = [(randn(2, 3, seed=s, dtype=np.float64) + 1j * randn(2, 3, seed=s + 1, dtype=np.float64))
              for s in (0, 5)]
    results = []
    for t in (disttorch, torch):
        xs = [t.tensor(a, requires_grad=True) for a in arrays]
        out = fn(t, *xs)
        w = t.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)) * (1 - 0.5j))
        (out * w).sum().real.backward()
        results.append([v.detach().numpy() for v in
                        [out] + [x.grad for x in xs]])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_matmul_misc_errors():
    same_error(lambda t, a: t.matmul(a, 2), [randn(3, 3)])
    with pytest.raises(TypeError):
        disttorch.ones(3, 3) @ 2
    with pytest.raises(TypeError):
        2 @ disttorch.ones(3, 3)
    same_error(lambda t, a, b: a @ b, [np.ones((3, 3), bool), np.ones((3, 3), bool)])


# -- mm, bmm, mv, dot and friends ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_products(dtype, device):
    kw = dict(device=device)
    check(lambda t, a, b: t.mm(a, b), pair((2, 3), (3, 4), dtype=dtype), **kw)
    check(lambda t, a, b: a.mm(b), pair((4, 1), (1, 4), dtype=dtype), **kw)
    check(lambda t, a, b: t.bmm(a, b), pair((3, 2, 4), (3, 4, 5), dtype=dtype), **kw)
    check(lambda t, a, b: t.mv(a, b), pair((2, 3), (3,), dtype=dtype), **kw)
    check(lambda t, a, b: t.dot(a, b), pair((5,), (5,), dtype=dtype), **kw)
    check(lambda t, a, b: t.vdot(a, b), pair((5,), (5,), dtype=dtype), **kw)
    check(lambda t, a, b: t.outer(a, b), pair((3,), (4,), dtype=dtype), **kw)
    check(lambda t, a, b: t.ger(a, b), pair((3,), (2,), dtype=dtype), **kw)
    check(lambda t, a, b: t.inner(a, b), pair((2, 3), (4, 3), dtype=dtype), **kw)
    check(lambda t, a, b: t.inner(a, b), pair((2, 5, 3), (3,), dtype=dtype), **kw)
    check(lambda t, a, b: t.inner(a, b), pair((), (2, 3), dtype=dtype), **kw)


def test_products_gradcheck():
    gradcheck(lambda t, a, b: t.bmm(a, b), pair((2, 2, 3), (2, 3, 2), dtype=np.float64))
    gradcheck(lambda t, a, b: t.outer(a, b), pair((3,), (2,), dtype=np.float64))
    gradcheck(lambda t, a, b: t.inner(a, b), pair((2, 3), (2, 3), dtype=np.float64))


def test_outer_promotes():
    check(lambda t, a, b: t.outer(a, b), [randn(3), randn(2, dtype=np.float64)])


@pytest.mark.parametrize("fn,shapes", [
    (lambda t, a, b: t.mm(a, b), [(2, 3), (4, 5)]),
    (lambda t, a, b: t.mm(a, b), [(3,), (3, 5)]),
    (lambda t, a, b: t.mm(a, b), [(2, 3), (3, 5, 1)]),
    (lambda t, a, b: t.bmm(a, b), [(5, 2, 3), (4, 3, 5)]),
    (lambda t, a, b: t.bmm(a, b), [(5, 2, 3), (5, 4, 5)]),
    (lambda t, a, b: t.bmm(a, b), [(2, 3), (5, 3, 5)]),
    (lambda t, a, b: t.mv(a, b), [(2, 3), (4,)]),
    (lambda t, a, b: t.mv(a, b), [(2, 3), (4, 1)]),
    (lambda t, a, b: t.mv(a, b), [(2, 3, 1), (4,)]),
    (lambda t, a, b: t.dot(a, b), [(2, 3), (2, 3)]),
    (lambda t, a, b: t.dot(a, b), [(3,), (4,)]),
    (lambda t, a, b: t.vdot(a, b), [(3,), (4,)]),
    (lambda t, a, b: t.outer(a, b), [(3, 2), (4,)]),
    (lambda t, a, b: t.outer(a, b), [(3,), (4, 2)]),
    (lambda t, a, b: t.inner(a, b), [(3, 2), (4, 3)]),
])
def test_product_errors(fn, shapes):
    same_error(fn, pair(*shapes))


def test_product_dtype_errors():
    f32, f64 = randn(2, 3), randn(3, 4, dtype=np.float64)
    same_error(lambda t, a, b: t.mm(a, b), [f32, f64])
    same_error(lambda t, a, b: t.bmm(a, b), [randn(2, 2, 3), randn(2, 3, 2, dtype=np.float64)])
    same_error(lambda t, a, b: t.mv(a, b), [f32, randn(3, dtype=np.float64)])
    same_error(lambda t, a, b: t.dot(a, b), [randn(3), randn(3, dtype=np.float64)])
    same_error(lambda t, a, b: t.vdot(a, b), [randn(3), randn(3, dtype=np.float64)])
    same_error(lambda t, a, b: t.dot(a, b), [np.ones(3, bool), np.ones(3, bool)])


# -- addmm family --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_add_products(dtype, beta, alpha, device):
    kw = dict(device=device)
    ab = dict(beta=beta, alpha=alpha)
    check(lambda t, c, a, b: t.addmm(c, a, b, **ab), pair((2, 4), (2, 3), (3, 4), dtype=dtype), **kw)
    check(lambda t, c, a, b: t.addmm(c, a, b, **ab), pair((4,), (2, 3), (3, 4), dtype=dtype), **kw)
    check(lambda t, c, a, b: c.addmm(a, b, **ab), pair((), (2, 3), (3, 4), dtype=dtype), **kw)
    check(lambda t, c, a, b: t.addmv(c, a, b, **ab), pair((2,), (2, 3), (3,), dtype=dtype), **kw)
    check(lambda t, c, a, b: t.addmv(c, a, b, **ab), pair((1,), (2, 3), (3,), dtype=dtype), **kw)
    check(lambda t, c, a, b: t.baddbmm(c, a, b, **ab), pair((2, 2, 4), (2, 2, 3), (2, 3, 4), dtype=dtype), **kw)
    check(lambda t, c, a, b: t.baddbmm(c, a, b, **ab), pair((2, 4), (2, 2, 3), (2, 3, 4), dtype=dtype), **kw)
    check(lambda t, c, a, b: t.addbmm(c, a, b, **ab), pair((2, 4), (3, 2, 3), (3, 3, 4), dtype=dtype), **kw)
    check(lambda t, c, a, b: t.addbmm(c, a, b, **ab), pair((4,), (3, 2, 3), (3, 3, 4), dtype=dtype), **kw)


def test_add_products_beta_zero_ignores_nan():
    c = np.full((2, 4), np.nan, np.float32)
    check(lambda t, c, a, b: t.addmm(c, a, b, beta=0), [c] + pair((2, 3), (3, 4)), grad=[False, True, True])


def test_add_products_gradcheck():
    gradcheck(lambda t, c, a, b: t.addmm(c, a, b, beta=0.5, alpha=2), pair((2, 3), (2, 2), (2, 3),
                                                                            dtype=np.float64))
    gradcheck(lambda t, c, a, b: t.addbmm(c, a, b, alpha=-1), pair((2,), (2, 2, 2), (2, 2, 2), dtype=np.float64))


def test_addmm_inplace():
    check(lambda t, c, a, b: (c * 1).addmm_(a, b, alpha=2), pair((2, 4), (2, 3), (3, 4)))


@pytest.mark.parametrize("fn,shapes", [
    (lambda t, c, a, b: t.addmm(c, a, b), [(3,), (2, 3), (4, 5)]),
    (lambda t, c, a, b: t.addmm(c, a, b), [(3,), (2, 3), (3, 5)]),
    (lambda t, c, a, b: t.addmm(c, a, b), [(2, 5), (2,), (3, 5)]),
    (lambda t, c, a, b: t.addmv(c, a, b), [(5,), (2, 3), (3,)]),
    (lambda t, c, a, b: t.baddbmm(c, a, b), [(3, 2, 5), (2, 2, 3), (2, 3, 5)]),
    (lambda t, c, a, b: t.baddbmm(c, a, b), [(2, 5), (2, 2, 3), (2, 4, 5)]),
    (lambda t, c, a, b: t.addbmm(c, a, b), [(2, 5), (2, 2, 3), (2, 4, 5)]),
    (lambda t, c, a, b: t.addbmm(c, a, b), [(2, 5), (2, 2, 3), (3, 3, 5)]),
    (lambda t, c, a, b: t.addbmm(c, a, b), [(3, 5), (2, 2, 3), (2, 3, 5)]),
])
def test_add_product_errors(fn, shapes):
    same_error(fn, pair(*shapes))


def test_add_product_dtype_errors():
    same_error(lambda t, c, a, b: t.addmm(c, a, b), [randn(2, 5, dtype=np.float64)] + pair((2, 3), (3, 5)))
    same_error(lambda t, c, a, b: t.addmv(c, a, b), [randn(2, dtype=np.float64)] + pair((2, 3), (3,)))


# -- einsum ---------------------------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (1, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,...jk", [(3, 4), (2, 4, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("i,i", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j", [(3,), (4,)]),
    ("ij,ij", [(3, 4), (3, 4)]),
    ("ba,ab", [(3, 2), (2, 3)]),
    ("Ab,bc->Ac", [(3, 2), (2, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(3, 3, 2)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("i...->...", [(3, 2, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij, jk -> ik", [(2, 3), (3, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
    ("i,ij->j", [(1,), (3, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_einsum(eq, shapes, dtype, device):
    check(lambda t, *xs: t.einsum(eq, *xs), pair(*shapes, dtype=dtype), device=device)


def test_einsum_forms():
    a, b = pair((3, 4), (4, 2))
    check(lambda t, x, y: t.einsum("ij,jk->ik", [x, y]), [a, b])
    check(lambda t, x, y: t.einsum(x, [0, 1], y, [1, 2], [0, 2]), [a, b])
    check(lambda t, x, y: t.einsum(x, [0, 1], y, [1, 2]), [a, b])
    check(lambda t, x: t.einsum(x, [Ellipsis, 0], [0, Ellipsis]), [randn(2, 3, 4)])
    check(lambda t, x: t.einsum("ij", x), [np.arange(6).reshape(2, 3)])


def test_einsum_large_uses_optimized_path():
    check(lambda t, a, b: t.einsum("ij,jk->ik", a, b), pair((40, 30), (30, 50)), rtol=1e-4)


@pytest.mark.parametrize("eq,shapes", [("ii->i", [(3, 3)]), ("ij,jk,kl->il", [(2, 2), (2, 3), (3, 2)]),
                                       ("...ij,...jk->...ik", [(2, 1, 2, 2), (3, 2, 2)]),
                                       ("i,ij->j", [(1,), (2, 2)]), ("iij->j", [(2, 2, 3)])])
def test_einsum_gradcheck(eq, shapes):
    gradcheck(lambda t, *xs: t.einsum(eq, *xs), pair(*shapes, dtype=np.float64))


def test_einsum_double_backward():
    gradgradcheck(lambda a, b: disttorch.einsum("ij,jj->ij", a, b), pair((2, 3), (3, 3), dtype=np.float64))


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 3), (2, 3)]),
    ("ij,jk->ik", [(3, 3)]),
    ("ij,jk->ik", [(3, 3), (3, 2), (2,)]),
    ("ijk,jk", [(3, 3), (3, 2)]),
    ("ij->ik", [(3, 3)]),
    ("ij,jk->ii", [(3, 3), (3, 2)]),
    ("ij,jk-ik", [(3, 3), (3, 2)]),
    ("i1,jk->ik", [(3, 3), (3, 2)]),
    ("ij...,...jk->...ik", [(3, 3, 2), (4, 3, 2)]),
    ("i.j", [(3, 3)]),
    ("....", [(3, 3)]),
    ("iij->ij", [(3, 2, 3)]),
])
def test_einsum_errors(eq, shapes):
    same_error(lambda t, *xs: t.einsum(eq, *xs), pair(*shapes))


def test_einsum_dtype_error():
    same_error(lambda t, a, b: t.einsum("ij,jk->ik", a, b), [randn(2, 2), randn(2, 2, dtype=np.float64)])


# -- tensordot, kron, cross, trace, matrix_power ---------------------------------------------------------------
@pytest.mark.parametrize("dims,shapes", [(2, [(3, 4), (3, 4)]), (1, [(3, 4), (4, 2)]), (0, [(2, 3), (3,)]),
                                         (([1, 0], [0, 1]), [(3, 4), (4, 3)]), (([2], [0]), [(2, 3, 4), (4, 2)]),
                                         (([-1], [-1]), [(2, 3), (4, 3)])])
@pytest.mark.parametrize("dtype", DTYPES)
def test_tensordot(dims, shapes, dtype, device):
    check(lambda t, a, b: t.tensordot(a, b, dims=dims), pair(*shapes, dtype=dtype), device=device)


def test_tensordot_tensor_dims_and_gradcheck():
    check(lambda t, a, b: t.tensordot(a, b, dims=t.tensor(1)), pair((2, 3), (3, 2)))
    check(lambda t, a, b: t.tensordot(a, b, dims=t.tensor([[0], [1]])), pair((2, 3), (3, 2)))
    gradcheck(lambda t, a, b: t.tensordot(a, b, dims=([0, 2], [1, 0])), pair((2, 2, 3), (3, 2), dtype=np.float64))


@pytest.mark.parametrize("dims,shapes", [(3, [(3, 4), (4, 3)]), (-1, [(3, 4), (4, 3)]),
                                         (([0, 1], [1]), [(3, 4), (4, 3)]), (([1], [0]), [(3, 3), (2, 3)]),
                                         ((1, 0), [(2, 3), (3, 2)])])
def test_tensordot_errors(dims, shapes):
    same_error(lambda t, a, b: t.tensordot(a, b, dims=dims), pair(*shapes))
    same_error(lambda t, a, b: t.tensordot(a, b, dims=1), [randn(3, 4), randn(4, 3, dtype=np.float64)])


@pytest.mark.parametrize("shapes", [[(2, 3), (3, 2)], [(3,), (2, 2)], [(2,), (3,)], [(2, 1, 2), (3, 2)], [(), (2,)]])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kron(shapes, dtype, device):
    check(lambda t, a, b: t.kron(a, b), pair(*shapes, dtype=dtype), device=device)


def test_kron_promotes_and_gradcheck():
    check(lambda t, a, b: t.kron(a, b), [randn(3), randn(2, dtype=np.float64)])
    gradcheck(lambda t, a, b: t.kron(a, b), pair((2, 2), (2,), dtype=np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross(dtype, device):
    kw = dict(device=device)
    check(lambda t, a, b: t.cross(a, b, dim=1), pair((4, 3), (4, 3), dtype=dtype), **kw)
    check(lambda t, a, b: t.cross(a, b, dim=0), pair((3, 2), (3, 2), dtype=dtype), **kw)
    check(lambda t, a, b: t.linalg.cross(a, b), pair((4, 3), (1, 3), dtype=dtype), **kw)
    check(lambda t, a, b: a.cross(b, dim=-1), pair((2, 4, 3), (2, 4, 3), dtype=dtype), **kw)


def test_cross_default_dim_and_gradcheck():
    with pytest.warns(UserWarning):
        check(lambda t, a, b: t.cross(a, b), pair((3, 4), (3, 4)))
    gradcheck(lambda t, a, b: t.linalg.cross(a, b), pair((2, 3), (1, 3), dtype=np.float64))


def test_cross_errors():
    same_error(lambda t, a, b: t.cross(a, b, dim=1), pair((2, 3), (2, 4)))
    same_error(lambda t, a, b: t.linalg.cross(a, b), pair((2, 4), (2, 4)))
    same_error(lambda t, a, b: t.cross(a, b, dim=0), [randn(3), randn(3, dtype=np.float64)])
    same_error(lambda t, a, b: t.cross(a, b, dim=-1), pair((4, 3), (3,)))
    same_error(lambda t, a, b: t.linalg.cross(a, b), pair((4, 3), (2, 3)))
    with pytest.warns(UserWarning):
        same_error(lambda t, a, b: t.cross(a, b), pair((4,), (4,)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (1, 1)])
def test_trace(shape, dtype, device):
    check(lambda t, a: t.trace(a), pair(shape, dtype=dtype), device=device)
    check(lambda t, a: a.trace(), pair(shape, dtype=dtype), device=device)


def test_trace_ints_and_errors():
    check(lambda t, a: t.trace(a), [np.arange(12, dtype=np.int8).reshape(3, 4)])
    check(lambda t, a: t.trace(a), [np.arange(12, dtype=np.int32).reshape(3, 4)])
    same_error(lambda t, a: t.trace(a), [randn(2, 4, 3)])
    same_error(lambda t, a: t.trace(a), [randn(4)])
    same_error(lambda t, a: t.trace(a), [np.ones((2, 2), bool)])
    gradcheck(lambda t, a: t.trace(a), [randn(2, 3)])


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_matrix_power(n, shape):
    a = [wellcond(*shape) / 3]
    check(lambda t, x: t.matrix_power(x, n), a)
    check(lambda t, x: t.linalg.matrix_power(x, n), [a[0].astype(np.float32)])


def test_matrix_power_ints_and_errors():
    check(lambda t, a: t.matrix_power(a, 3), [np.arange(9, dtype=np.int64).reshape(3, 3)])
    same_error(lambda t, a: t.matrix_power(a, 2), [randn(2, 4)])
    same_error(lambda t, a: t.matrix_power(a, 2), [randn(4)])
    same_error(lambda t, a: t.matrix_power(a, -1), [np.ones((3, 3), np.int64)])
    gradcheck(lambda t, a: t.matrix_power(a, 3), [randn(2, 2)])


# -- linalg: determinants, inverses, solvers ------------------------------------------------------------------
SQUARE = [(3, 3), (2, 3, 3), (1, 1), (2, 1, 2, 2)]


@pytest.mark.parametrize("shape", SQUARE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_det_inv(shape, dtype, device):
    a = [wellcond(*shape, dtype=dtype)]
    kw = dict(device=device, rtol=1e-4 if dtype == np.float32 else None)
    check(lambda t, x: t.linalg.det(x), a, **kw)
    check(lambda t, x: t.det(x), a, **kw)
    check(lambda t, x: t.linalg.inv(x), a, **kw)
    check(lambda t, x: x.inverse(), a, **kw)
    check(lambda t, x: t.linalg.slogdet(x), a, **kw)
    check(lambda t, x: t.slogdet(-x), a, **kw)
    check(lambda t, x: t.logdet(x), a, **kw)


def test_det_inv_gradcheck():
    a = [wellcond(2, 3, 3)]
    gradcheck(lambda t, x: t.linalg.det(x), a)
    gradcheck(lambda t, x: t.linalg.inv(x), a)
    gradcheck(lambda t, x: t.linalg.slogdet(x)[1], a)
    gradgradcheck(lambda x: disttorch.linalg.det(x), a)
    gradgradcheck(lambda x: disttorch.linalg.inv(x), a)


def test_det_singular():
    # At a singular matrix the determinant is 0 up to rounding (numpy may give exactly 0.0, PyTorch -6.7e-16 on
    # another CPU) and PyTorch's gradient there is det * inv(A)^T: rounding noise times a huge inverse. Only the
    # values are compared, with an absolute tolerance; gradients are compared on invertible matrices elsewhere.
    sing = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    check(lambda t, x: t.linalg.det(x), [sing], grad=False, atol=1e-12)
    check(lambda t, x: t.linalg.det(x), [np.zeros((2, 2))], grad=False, atol=1e-12)
    check(lambda t, x: t.linalg.det(x), [np.stack([np.eye(2) * 2, [[1.0, 2], [2, 4]]])], grad=False, atol=1e-12)
    check(lambda t, x: t.logdet(x), [np.array([[1.0, 2], [3, 4]])])  # negative determinant: nan


def test_inv_errors():
    sing = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]], np.float32)
    same_error(lambda t, a: t.linalg.inv(a), [sing])
    same_error(lambda t, a: t.linalg.inv(a), [np.zeros((2, 3, 3), np.float32)])
    same_error(lambda t, a: t.linalg.inv(a), [np.stack([np.eye(3, dtype=np.float32), sing])])
    same_error(lambda t, a: t.linalg.inv(a), [randn(2, 3)])
    same_error(lambda t, a: t.linalg.inv(a), [np.ones((3, 3), np.int64)])
    same_error(lambda t, a: t.linalg.det(a), [randn(2, 3)])
    same_error(lambda t, a: t.linalg.det(a), [np.ones((3, 3), np.int64)])
    same_error(lambda t, a: t.linalg.det(a), [randn(3)])
    assert issubclass(disttorch.linalg.LinAlgError, RuntimeError)


@pytest.mark.parametrize("sa,sb", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3)),
                                   ((2, 3, 3), (3, 4)), ((2, 1, 3, 3), (4, 3, 1)), ((3, 3), (2, 3, 2))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_solve(sa, sb, dtype, device):
    arrays = [wellcond(*sa, dtype=dtype), randn(*sb, seed=5, dtype=dtype)]
    check(lambda t, a, b: t.linalg.solve(a, b), arrays, device=device, rtol=1e-4 if dtype == np.float32 else None)


def test_solve_left_false_and_gradcheck():
    check(lambda t, a, b: t.linalg.solve(a, b, left=False), [wellcond(3, 3), randn(2, 3, dtype=np.float64)])
    gradcheck(lambda t, a, b: t.linalg.solve(a, b), [wellcond(2, 2, 2), randn(2, seed=1)])
    gradcheck(lambda t, a, b: t.linalg.solve(a, b), [wellcond(2, 2), randn(3, 2, 1, seed=1)])
    gradgradcheck(lambda a, b: disttorch.linalg.solve(a, b), [wellcond(2, 2), randn(2, 2)])


def test_solve_errors():
    sing = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]], np.float32)
    same_error(lambda t, a, b: t.linalg.solve(a, b), [sing, randn(3)])
    same_error(lambda t, a, b: t.linalg.solve(a, b), [randn(3, 3), randn(4)])
    same_error(lambda t, a, b: t.linalg.solve(a, b), [randn(3, 3), randn(4, 2)])
    same_error(lambda t, a, b: t.linalg.solve(a, b), [randn(3, 3), randn(3, 3, dtype=np.float64)])


def spd(t, x):
    """A symmetric positive-definite matrix built from x, so gradients reach all of x."""
    n = x.shape[-1]
    return x @ x.mT + n * t.eye(n, dtype=x.dtype, device=x.device)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cholesky(shape, dtype, device):
    a = [randn(*shape, dtype=dtype)]
    kw = dict(device=device, rtol=1e-4 if dtype == np.float32 else None)
    check(lambda t, x: t.linalg.cholesky(spd(t, x)), a, **kw)
    check(lambda t, x: t.linalg.cholesky(spd(t, x), upper=True), a, **kw)
    check(lambda t, x: t.cholesky(spd(t, x)), a, **kw)
    check(lambda t, x: t.linalg.cholesky_ex(spd(t, x)), a, **kw)


def test_cholesky_gradcheck_and_errors():
    gradcheck(lambda t, x: t.linalg.cholesky(spd(t, x)), [randn(3, 3)])
    same_error(lambda t, a: t.linalg.cholesky(a), [-np.eye(3, dtype=np.float32)])
    bad = np.diag([1.0, 2.0, -1.0]).astype(np.float32)
    same_error(lambda t, a: t.linalg.cholesky(a), [bad])
    same_error(lambda t, a: t.linalg.cholesky(a), [np.stack([np.eye(3, dtype=np.float32), bad])])
    same_error(lambda t, a: t.linalg.cholesky(a), [randn(2, 3)])


# -- linalg: decompositions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4, 3)])
def test_qr(shape):
    a = [randn(*shape, dtype=np.float64)]
    check(lambda t, x: t.linalg.qr(x), a)
    check(lambda t, x: t.linalg.qr(x, mode="complete"), a, grad=shape[-1] == shape[-2])
    check(lambda t, x: t.linalg.qr(x, mode="r")[1], a, grad=False)
    check(lambda t, x: tuple(t.qr(x)), a)
    gradcheck(lambda t, x: t.linalg.qr(x), [randn(*shape[-2:])])


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 3)])
def test_svd(shape):
    a = [randn(*shape, dtype=np.float64)]
    check(lambda t, x: t.linalg.svdvals(x), a)
    check(lambda t, x: t.linalg.svd(x, full_matrices=False).S, a)
    # U and Vh are unique up to column signs: compare sign-invariant functions of them
    check(lambda t, x: [u * u for u in t.linalg.svd(x, full_matrices=False)], a)
    check(lambda t, x: t.linalg.svd(x).U.abs(), a, grad=False)
    check(lambda t, x: (t.svd(x).V * t.svd(x).V, t.svd(x).S), a)
    gradcheck(lambda t, x: [u * u for u in t.linalg.svd(x, full_matrices=False)], [randn(*shape[-2:])])


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_eigh(shape):
    sym = [randn(*shape, dtype=np.float64)]
    check(lambda t, x: t.linalg.eigvalsh(x + x.mT), sym)
    check(lambda t, x: t.linalg.eigh(x, UPLO="U")[0], sym, grad=False)
    check(lambda t, x: [v * v for v in t.linalg.eigh(x + x.mT)], sym)
    check(lambda t, x: [v * v for v in t.linalg.eigh(x, UPLO="U")], sym)  # gradient: its Hermitian part
    gradcheck(lambda t, x: [v * v for v in t.linalg.eigh(x + x.mT)], [randn(*shape[-2:])])


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pinv(shape, dtype):
    a = [randn(*shape, dtype=dtype)]
    check(lambda t, x: t.linalg.pinv(x), a, rtol=1e-4 if dtype == np.float32 else None)
    check(lambda t, x: t.pinverse(x), a, rtol=1e-4 if dtype == np.float32 else None)
    check(lambda t, x: t.linalg.pinv(x + x.mT, hermitian=True), [a[0][..., :3, :3]],
          rtol=1e-4 if dtype == np.float32 else None)
    gradcheck(lambda t, x: t.linalg.pinv(x), [randn(*shape[-2:])])


def test_matrix_rank():
    low = randn(5, 2, dtype=np.float64) @ randn(2, 4, dtype=np.float64)
    check(lambda t, x: t.linalg.matrix_rank(x), [low], grad=False)
    check(lambda t, x: t.linalg.matrix_rank(x), [randn(2, 4, 3)], grad=False)
    check(lambda t, x: t.linalg.matrix_rank(x, atol=1.0, rtol=0.0), [randn(4, 4)], grad=False)
    check(lambda t, x: t.linalg.matrix_rank(x @ x.mT, hermitian=True), [low], grad=False)


# -- linalg: norms -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ord", [2, 1, float("inf"), -float("inf"), 0, 3, 0.5, -1, 1.5])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_norm(ord, dim, keepdim, dtype, device):
    check(lambda t, x: t.linalg.vector_norm(x, ord, dim, keepdim), [randn(2, 3, 4, dtype=dtype)], device=device,
          rtol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("ord", [2, 1, float("inf"), 3, 0.5, 1.5])
def test_vector_norm_gradcheck(ord):
    gradcheck(lambda t, x: t.linalg.vector_norm(x, ord, dim=1), [randn(2, 3)])


def test_vector_norm_edge_cases():
    check(lambda t, x: t.linalg.vector_norm(x), [np.zeros(3, np.float32)])  # zero gradient at 0
    check(lambda t, x: t.linalg.vector_norm(x), [randn()])
    check(lambda t, x: t.linalg.vector_norm(x, dtype=t.float64), [randn(3)])
    check(lambda t, x: t.linalg.vector_norm(x, 2, dim=1), [np.zeros((0, 3), np.float32)])
    check(lambda t, x: t.linalg.vector_norm(x, float("inf"), dim=1), [np.zeros((0, 3), np.float32)])
    gradgradcheck(lambda x: disttorch.linalg.vector_norm(x, dim=1), [randn(2, 3)])
    same_error(lambda t, x: t.linalg.vector_norm(x), [np.ones(3, np.int64)])
    same_error(lambda t, x: t.linalg.vector_norm(x, float("inf")), [np.zeros((0, 3), np.float32)])
    same_error(lambda t, x: t.linalg.vector_norm(x, -1), [np.zeros((0, 3), np.float32)])


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf")])
@pytest.mark.parametrize("shape,dim", [((3, 4), (-2, -1)), ((2, 3, 4), (-2, -1)), ((3, 2, 4), (0, 2)),
                                       ((3, 2, 4), (2, 0))])
def test_matrix_norm(ord, shape, dim):
    a = [randn(*shape, dtype=np.float64)]
    check(lambda t, x: t.linalg.matrix_norm(x, ord, dim), a)
    check(lambda t, x: t.linalg.matrix_norm(x, ord, dim, keepdim=True), a)


def test_matrix_norm_float32_gradcheck_and_errors():
    check(lambda t, x: t.linalg.matrix_norm(x, "nuc"), [randn(3, 4)], rtol=1e-4)
    for ord in ("fro", "nuc", 1, float("inf"), 2):
        gradcheck(lambda t, x: t.linalg.matrix_norm(x, ord), [randn(3, 2)])
    same_error(lambda t, x: t.linalg.matrix_norm(x), [randn(4)])
    same_error(lambda t, x: t.linalg.matrix_norm(x), [np.ones((2, 2), np.int64)])


@pytest.mark.parametrize("args", [dict(), dict(ord=2), dict(ord=1), dict(ord="fro"), dict(ord="nuc"),
                                  dict(dim=1), dict(ord=3, dim=0), dict(ord=float("inf"), dim=(0, 1)),
                                  dict(dim=(0, 1), keepdim=True)])
def test_linalg_norm(args):
    x = randn(3, 4, dtype=np.float64)
    check(lambda t, a: t.linalg.norm(a, **args), [x])
    if "ord" not in args or not isinstance(args["ord"], str):
        check(lambda t, a: t.linalg.norm(a[0], **{k: v for k, v in args.items() if k != "dim"}), [x])


def test_linalg_norm_errors():
    same_error(lambda t, x: t.linalg.norm(x, 2), [randn(4, 3, 2)])
    same_error(lambda t, x: t.linalg.norm(x, dim=(0, 1, 2)), [randn(4, 3, 2)])
    check(lambda t, x: t.linalg.norm(x), [randn(4, 3, 2)])


@pytest.mark.parametrize("args", [dict(), dict(p=1), dict(p=2, dim=1), dict(p="fro", dim=(0, 1)),
                                  dict(p=1, dim=(0, 2), keepdim=True), dict(p="nuc", dim=(1, 2)),
                                  dict(p=float("inf"))])
def test_torch_norm(args):
    check(lambda t, x: t.norm(x, **args), [randn(2, 3, 4)])
    check(lambda t, x: x.norm(**args), [randn(2, 3, 4, dtype=np.float64)])


# -- linalg: products ---------------------------------------------------------------------------------------------
def test_linalg_products():
    check(lambda t, a, b: t.linalg.matmul(a, b), pair((2, 3), (3, 2)))
    check(lambda t, a, b: t.linalg.vecdot(a, b), pair((2, 3), (3,)))
    check(lambda t, a, b: t.linalg.vecdot(a, b, dim=0), pair((3, 2), (3, 2)))
    check(lambda t, a, b, c: t.linalg.multi_dot([a, b, c]), pair((3,), (3, 4), (4, 2)))
    check(lambda t, a, b, c: t.linalg.multi_dot([a, b, c]), pair((2, 3), (3, 4), (4,)))
    check(lambda t, a, b, c: t.chain_matmul(a, b, c), pair((2, 3), (3, 4), (4, 2)))
    same_error(lambda t, a: t.linalg.multi_dot([a]), [randn(2, 2)])
    same_error(lambda t, a, b, c: t.linalg.multi_dot([a, b, c]), pair((2, 3), (3,), (3, 2)))
