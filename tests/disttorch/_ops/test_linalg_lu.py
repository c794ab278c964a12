"""The LU family, triangular solves, lstsq, tensorinv/tensorsolve and cond against PyTorch."""
import math
import warnings

import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn, same_error, same_special_values, torch

import disttorch
import disttorch.linalg  # noqa: F401  (the torch.linalg namespace)

pytestmark = [pytest.mark.filterwarnings("ignore:torch.lu.*is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated:UserWarning")]


def wellcond(*shape, dtype=np.float64, seed=0):
    """Random matrices far from singular: a random part plus 3 on the diagonal (rectangular too)."""
    m, n = shape[-2:]
    return (randn(*shape, seed=seed, dtype=np.float64) + 3 * np.eye(m, n)).astype(dtype)


def factor(a):
    """torch's LU factor and pivots of ``a`` as numpy arrays (inputs of lu_solve / lu_unpack tests)."""
    LU, piv = torch.linalg.lu_factor(torch.tensor(a))
    return np.ascontiguousarray(LU.numpy()), np.ascontiguousarray(piv.numpy())


def gradgradcheck(fn, arrays):
    """float64 second-order check of the single-output fn(*tensors)."""
    xs = [disttorch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    gout = disttorch.tensor(randn(*fn(*xs).shape, seed=11, dtype=np.float64), requires_grad=True)

    def first_grads(*args):
        return disttorch.autograd.grad(fn(*args[:-1]), args[:-1], args[-1], create_graph=True)

    assert disttorch.autograd.gradcheck(first_grads, xs + [gout])


SHAPES = [(3, 3), (1, 1), (4, 4), (2, 3, 3), (2, 1, 4, 4), (3, 5), (5, 3), (2, 2, 4), (2, 4, 2)]


# -- lu_factor / lu_factor_ex / lu -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lu_factor(shape, dtype, device):
    a = randn(*shape, seed=1, dtype=dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    check(lambda t, x: tuple(t.linalg.lu_factor(x)), [a], device=device, **tol)
    check(lambda t, x: tuple(t.linalg.lu_factor_ex(x)), [a], device=device, **tol)


def test_lu_factor_types_and_input_kept():
    a = randn(2, 3, 3, dtype=np.float64)
    x = disttorch.tensor(a)
    r = disttorch.linalg.lu_factor(x)
    assert type(r).__name__ == "linalg_lu_factor" and r.pivots.dtype == disttorch.int32
    assert r.LU.dtype == disttorch.float64 and isinstance(r.LU._data, type(x._data))
    np.testing.assert_array_equal(x.numpy(), a)
    r = disttorch.linalg.lu_factor_ex(x)
    assert type(r).__name__ == "linalg_lu_factor_ex" and r.info.dtype == disttorch.int32 and r.info.shape == (2,)
    assert disttorch.linalg.lu_factor(x.requires_grad_()).LU.grad_fn.name() == "LinalgLuFactorExBackward0"


def test_lu_factor_complex():
    a = randn(2, 4, 4, dtype=np.float64) + 1j * randn(2, 4, 4, seed=3, dtype=np.float64)
    check(lambda t, x: tuple(t.linalg.lu_factor(x)), [a], grad=False)
    # |re| + |im| picks the pivot, as LAPACK does: row 2 by that measure, row 1 by the modulus
    b = np.array([[1.0 + 0j, 1], [0.75 + 0.75j, 2]])
    check(lambda t, x: tuple(t.linalg.lu_factor(x)), [b], grad=False)


def test_lu_factor_ex_info_and_errors():
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    zero_batch = np.stack([np.eye(2), np.zeros((2, 2)), sing])
    for a in (sing, zero_batch, np.zeros((3, 3))):
        check(lambda t, x: tuple(t.linalg.lu_factor_ex(x)), [a], grad=False)
        same_error(lambda t, x: t.linalg.lu_factor(x), [a])
        same_error(lambda t, x: t.linalg.lu_factor_ex(x, check_errors=True), [a])
    same_error(lambda t, x: t.linalg.lu_factor(x), [np.ones(3)])
    same_error(lambda t, x: t.linalg.lu(x), [np.ones(3)])
    same_error(lambda t, x: t.linalg.lu_factor(x), [np.ones((3, 3), dtype=np.int32)])
    same_error(lambda t, x: t.linalg.lu_factor(x, pivot=False), [np.eye(3)])
    same_error(lambda t, x: t.linalg.lu(x, pivot=False), [np.eye(3)])


def test_lu_factor_empty():
    for shape in [(0, 0), (2, 0, 3), (3, 0)]:
        check(lambda t, x: tuple(t.linalg.lu_factor_ex(x)), [np.zeros(shape)], grad=False)


@pytest.mark.parametrize("shape", SHAPES)
def test_linalg_lu(shape, device):
    check(lambda t, x: tuple(t.linalg.lu(x)), [randn(*shape, seed=2, dtype=np.float64)], device=device)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (3, 5), (5, 3), (2, 2, 4), (2, 4, 2)])
def test_lu_gradcheck(shape):
    a = wellcond(*shape)
    gradcheck(lambda t, x: t.linalg.lu_factor(x).LU, [a])
    gradcheck(lambda t, x: tuple(t.linalg.lu(x))[1:], [a])


@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 3)])
def test_lu_factor_double_backward(shape):
    a = wellcond(*shape)
    gradgradcheck(lambda x: disttorch.linalg.lu_factor(x).LU, [a])
    results = []
    for t in (disttorch, torch):
        x = t.tensor(a, requires_grad=True)
        LU = t.linalg.lu_factor(x).LU
        (g,) = t.autograd.grad((LU * t.tensor(randn(*shape, seed=4, dtype=np.float64))).sum(), x, create_graph=True)
        results.append(t.autograd.grad((g * g).sum(), x))
    assert_close(results[0], results[1], 1e-9, 1e-9, "double backward")


# -- lu_unpack -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_lu_unpack(shape, device):
    LU, piv = factor(randn(*shape, seed=5, dtype=np.float64))
    check(lambda t, x, p: tuple(t.lu_unpack(x, p)), [LU, piv], device=device)
    check(lambda t, x, p: tuple(t.lu_unpack(x, p, unpack_data=False)), [LU, piv], grad=False)
    check(lambda t, x, p: tuple(t.lu_unpack(x, p, unpack_pivots=False)), [LU, piv])
    gradcheck(lambda t, x: tuple(t.lu_unpack(x, disttorch.tensor(piv)))[1:], [LU])


def test_lu_unpack_errors():
    LU, piv = factor(randn(3, 3, dtype=np.float64))
    same_error(lambda t, x, p: t.lu_unpack(x, p), [LU, piv.astype(np.int64)])
    same_error(lambda t, x, p: t.lu_unpack(x, p), [LU, piv + 5])
    same_error(lambda t, x, p: t.lu_unpack(x, p), [LU, piv * 0])


# -- lu_solve --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
@pytest.mark.parametrize("sa,sb", [((3, 3), (3, 2)), ((2, 4, 4), (2, 4, 3)), ((2, 3, 3), (3, 3)),
                                   ((3, 3), (2, 3, 3)), ((1, 3, 3), (2, 3, 3))])
def test_lu_solve(left, adjoint, sa, sb, device):
    a = wellcond(*sa, seed=1)
    b = randn(*sb, seed=2, dtype=np.float64)
    if not left:
        b = np.swapaxes(b, -1, -2).copy()
    LU, piv = factor(a)
    check(lambda t, x, p, y: t.linalg.lu_solve(x, p, y, left=left, adjoint=adjoint), [LU, piv, b], device=device)
    # through the factorization: the gradient reaches A
    check(lambda t, x, y: t.linalg.lu_solve(*t.linalg.lu_factor(x), y, left=left, adjoint=adjoint), [a, b],
          device=device)
    check(lambda t, x, p, y: t.linalg.lu_solve(x, p, y, left=left, adjoint=adjoint),
          [LU.astype(np.float32), piv, b.astype(np.float32)], rtol=1e-4, atol=1e-4)
    gradcheck(lambda t, x, y: t.linalg.lu_solve(x, disttorch.tensor(piv), y, left=left, adjoint=adjoint), [LU, b])


def test_lu_solve_complex():
    a = wellcond(3, 3) + 1j * randn(3, 3, seed=8, dtype=np.float64)
    b = randn(3, 2, seed=9, dtype=np.float64) + 1j * randn(3, 2, seed=10, dtype=np.float64)
    for adjoint in (False, True):
        for left in (True, False):
            y = b if left else b.T.copy()
            check(lambda t, x, z: t.linalg.lu_solve(*t.linalg.lu_factor(x), z, left=left, adjoint=adjoint),
                  [a, y], grad=False)


def test_lu_solve_double_backward():
    a, b = wellcond(3, 3), randn(3, 2, seed=3, dtype=np.float64)
    gradgradcheck(lambda x, y: disttorch.linalg.lu_solve(*disttorch.linalg.lu_factor(x), y), [a, b])
    assert disttorch.linalg.lu_solve(*disttorch.linalg.lu_factor(disttorch.tensor(a)),
                                     disttorch.tensor(b, requires_grad=True)).grad_fn.name() == \
        "LinalgLuSolveBackward0"


def test_lu_solve_errors():
    LU, piv = factor(wellcond(3, 3))
    b = randn(3, 2, dtype=np.float64)
    fn = lambda t, x, p, y: t.linalg.lu_solve(x, p, y)  # noqa: E731
    same_error(fn, [LU, piv, randn(4, 2, dtype=np.float64)])
    same_error(fn, [LU, piv, randn(3, dtype=np.float64)])
    same_error(fn, [LU, piv, b.astype(np.float32)])
    same_error(fn, [LU, piv.astype(np.int64), b])
    same_error(fn, [LU[:2], piv, b])
    same_error(fn, [LU, piv[:2], b])
    same_error(fn, [np.broadcast_to(LU, (2, 3, 3)).copy(), piv, b])
    same_error(fn, [np.broadcast_to(LU, (2, 3, 3)).copy(), np.broadcast_to(piv, (2, 3)).copy(),
                    randn(5, 3, 2, dtype=np.float64)])
    same_error(lambda t, x, p, y: t.linalg.lu_solve(x, p, y, left=False), [LU, piv, randn(2, 4, dtype=np.float64)])


# -- the older spellings ---------------------------------------------------------------------------------------
def test_torch_lu_and_lu_solve():
    a, b = wellcond(2, 3, 3), randn(2, 3, 2, seed=4, dtype=np.float64)
    check(lambda t, x: tuple(t.lu(x)), [a])
    check(lambda t, x: tuple(t.lu(x, get_infos=True)), [a])
    check(lambda t, x: tuple(x.lu()), [a])
    check(lambda t, x, y: t.lu_solve(y, *t.lu(x)), [a, b])
    check(lambda t, x, y: y.lu_solve(*x.lu()), [a, b])
    assert type(disttorch.lu(disttorch.tensor(a), get_infos=True)).__name__ == "_lu_with_info"
    check(lambda t, x: tuple(t.lu(x)), [np.zeros((3, 3))], grad=False)
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        disttorch.lu(disttorch.tensor(a))
    with pytest.warns(UserWarning, match="torch.lu_solve is deprecated"):
        disttorch.lu_solve(disttorch.tensor(b), *disttorch.linalg.lu_factor(disttorch.tensor(a)))


# -- solve_triangular ------------------------------------------------------------------------------------------
def triangular(*shape, upper, seed=0):
    a = wellcond(*shape, seed=seed)
    return np.triu(a) if upper else np.tril(a)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("sa,sb", [((3, 3), (3, 2)), ((2, 4, 4), (2, 4, 1)), ((2, 3, 3), (3, 3)),
                                   ((3, 3), (2, 3, 4)), ((1, 3, 3), (2, 3, 3))])
def test_solve_triangular(upper, left, unit, sa, sb, device):
    # A is full: only the triangle the solve reads may matter, values and gradients alike
    a = wellcond(*sa, seed=1)
    b = randn(*sb, seed=2, dtype=np.float64)
    if not left:
        b = np.swapaxes(b, -1, -2).copy()
    fn = lambda t, x, y: t.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit)  # noqa: E731
    check(fn, [a, b], device=device)
    check(fn, [a.astype(np.float32), b.astype(np.float32)], rtol=1e-4, atol=1e-4, device=device)
    gradcheck(fn, [a, b])


def test_solve_triangular_details():
    a, b = triangular(3, 3, upper=True), randn(3, 2, seed=3, dtype=np.float64)
    gradgradcheck(lambda x, y: disttorch.linalg.solve_triangular(x, y, upper=True), [a, b])
    # B takes A's dtype
    check(lambda t, x, y: t.linalg.solve_triangular(x, y, upper=True), [a.astype(np.float32), b], grad=False)
    check(lambda t, x, y: t.linalg.solve_triangular(x, y, upper=True), [a, b.astype(np.float32)], grad=False)
    # non-contiguous inputs, left unmodified
    big = wellcond(6, 6)
    x, y = disttorch.tensor(big)[::2, ::2], disttorch.tensor(b.T.copy()).mT
    before = (x.numpy().copy(), y.numpy().copy())
    assert_close(disttorch.linalg.solve_triangular(x, y, upper=False),
                 torch.linalg.solve_triangular(torch.tensor(big)[::2, ::2], torch.tensor(b), upper=False))
    np.testing.assert_array_equal(x.numpy(), before[0])
    np.testing.assert_array_equal(y.numpy(), before[1])
    # a zero on the diagonal: infinities and NaNs, no error
    z = np.triu(np.ones((3, 3)))
    z[1, 1] = 0
    ours = disttorch.linalg.solve_triangular(disttorch.tensor(z), disttorch.tensor(b), upper=True)
    theirs = torch.linalg.solve_triangular(torch.tensor(z), torch.tensor(b), upper=True)
    same_special_values(ours, theirs, 1e-12, 1e-12)
    t = disttorch.tensor(a, requires_grad=True)
    assert disttorch.linalg.solve_triangular(t, disttorch.tensor(b), upper=True).grad_fn.name() == \
        "LinalgSolveTriangularBackward0"


def test_solve_triangular_complex():
    a = wellcond(3, 3) + 1j * randn(3, 3, seed=8, dtype=np.float64)
    b = randn(3, 2, seed=9, dtype=np.float64) + 1j * randn(3, 2, seed=10, dtype=np.float64)
    for upper in (True, False):
        check(lambda t, x, y: t.linalg.solve_triangular(x, y, upper=upper), [a, b], grad=False)
        check(lambda t, x, y: t.linalg.solve_triangular(x, y, upper=upper, left=False), [a, b.T.copy()], grad=False)


def test_solve_triangular_errors():
    a, b = wellcond(3, 3), randn(3, 2, dtype=np.float64)
    fn = lambda t, x, y: t.linalg.solve_triangular(x, y, upper=True)  # noqa: E731
    same_error(fn, [a, randn(4, 2, dtype=np.float64)])
    same_error(lambda t, x, y: t.linalg.solve_triangular(x, y, upper=True, left=False),
               [a, randn(2, 4, dtype=np.float64)])
    same_error(fn, [a, randn(3, dtype=np.float64)])
    same_error(fn, [randn(3, dtype=np.float64), b])
    same_error(fn, [randn(3, 4, dtype=np.float64), b])
    same_error(fn, [randn(4, 3, dtype=np.float64), b])
    same_error(fn, [np.ones((3, 3), dtype=np.int32), np.ones((3, 2), dtype=np.int32)])
    same_error(fn, [randn(2, 3, 3, dtype=np.float64), randn(5, 3, 2, dtype=np.float64)])
    with pytest.raises(TypeError):
        disttorch.linalg.solve_triangular(disttorch.tensor(a), disttorch.tensor(b))


# -- triangular_solve ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("sb,sa", [((3, 2), (3, 3)), ((2, 3, 2), (3, 3)), ((3, 2), (2, 3, 3)),
                                   ((2, 4, 1), (2, 4, 4))])
def test_triangular_solve(upper, transpose, unit, sb, sa, device):
    a, b = wellcond(*sa, seed=1), randn(*sb, seed=2, dtype=np.float64)
    fn = lambda t, y, x: tuple(t.triangular_solve(y, x, upper, transpose, unit))  # noqa: E731
    check(fn, [b, a], device=device)
    check(lambda t, y, x: tuple(y.triangular_solve(x, upper=upper, transpose=transpose, unitriangular=unit)),
          [b, a], device=device)
    gradcheck(fn, [b, a])


def test_triangular_solve_errors():
    a, b = wellcond(3, 3), randn(3, 2, dtype=np.float64)
    fn = lambda t, y, x: t.triangular_solve(y, x)  # noqa: E731
    same_error(fn, [randn(4, 2, dtype=np.float64), a])
    same_error(fn, [randn(3, dtype=np.float64), a])
    same_error(fn, [b, randn(3, 4, dtype=np.float64)])
    same_error(fn, [b, a.astype(np.float32)])
    same_error(fn, [randn(5, 3, 2, dtype=np.float64), randn(2, 3, 3, dtype=np.float64)])
    r = disttorch.triangular_solve(disttorch.tensor(b), disttorch.tensor(a))
    assert type(r).__name__ == "triangular_solve" and r.cloned_coefficient.shape == (3, 3)
    with pytest.warns(UserWarning, match="torch.triangular_solve is deprecated"):
        disttorch.triangular_solve(disttorch.tensor(b), disttorch.tensor(a))


# -- lstsq -----------------------------------------------------------------------------------------------------
DRIVERS = [None, "gelsy", "gelsd", "gelss", "gels"]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("sa,sb", [((5, 3), (5, 2)), ((3, 5), (3, 2)), ((3, 3), (3, 1)), ((5, 3), (5,)),
                                   ((2, 5, 3), (2, 5)), ((2, 5, 3), (1, 5, 2)), ((2, 1, 5, 3), (1, 3, 5, 2)),
                                   ((2, 3, 5), (2, 3))])
def test_lstsq(driver, sa, sb, device):
    if device == "cuda" and driver not in (None, "gels"):  # only gels runs on CUDA, as in PyTorch
        x = disttorch.tensor(wellcond(*sa, seed=1), device=device)
        with pytest.raises(RuntimeError, match="`driver` other than `gels` is not supported on CUDA"):
            disttorch.linalg.lstsq(x, x[..., :1], driver=driver)
        return
    if device == "cuda":
        driver = "gels"  # CUDA's default; the oracle (torch on cpu) defaults to gelsy
    a, b = wellcond(*sa, seed=1), randn(*sb, seed=2, dtype=np.float64)
    check(lambda t, x, y: tuple(t.linalg.lstsq(x, y, driver=driver)), [a, b], rtol=1e-8, atol=1e-8, device=device)
    check(lambda t, x, y: tuple(t.linalg.lstsq(x, y, driver=driver)), [a.astype(np.float32), b.astype(np.float32)],
          rtol=1e-4, atol=1e-4, device=device)
    gradcheck(lambda t, x, y: t.linalg.lstsq(x, y, driver=driver).solution, [a, b])


@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gelss"])
def test_lstsq_rank_deficient(driver):
    a = randn(5, 2, seed=1, dtype=np.float64) @ randn(2, 3, seed=2, dtype=np.float64)
    b = randn(5, 2, seed=3, dtype=np.float64)
    check(lambda t, x, y: tuple(t.linalg.lstsq(x, y, driver=driver)), [a, b], grad=False, rtol=1e-8, atol=1e-8)
    # a larger rcond drops a singular value of a full-rank matrix. PyTorch's gelsy hands LAPACK an
    # uninitialised column-pivot array here, so its answer varies from run to run when columns are cut by
    # rcond: gelsy's solution and rank are held against gelsd's, the minimum-norm answer gelsy gives too
    c = np.diag([1.0, 1e-3, 1e-6])
    for rcond in (None, 1e-4, 1e-2, -1.0):
        if driver == "gelsy":
            check(lambda t, x, y: tuple(t.linalg.lstsq(x, y, rcond, driver=driver))[::2], [c, b[:3]], grad=False,
                  fn_torch=lambda t, x, y: tuple(t.linalg.lstsq(x, y, rcond, driver="gelsd"))[::2])
        else:
            check(lambda t, x, y: tuple(t.linalg.lstsq(x, y, rcond, driver=driver)), [c, b[:3]], grad=False)


def test_lstsq_complex_and_residual_gradient():
    a = wellcond(5, 3) + 1j * randn(5, 3, seed=5, dtype=np.float64)
    b = randn(5, 2, seed=6, dtype=np.float64) + 1j * randn(5, 2, seed=7, dtype=np.float64)
    check(lambda t, x, y: tuple(t.linalg.lstsq(x, y, driver="gelsd")), [a, b], grad=False)
    a, b = wellcond(5, 3), randn(5, 2, seed=6, dtype=np.float64)
    check(lambda t, x, y: t.linalg.lstsq(x, y, driver="gelsd").residuals, [a, b])
    gradcheck(lambda t, x, y: t.linalg.lstsq(x, y, driver="gels").residuals, [a, b])


def test_lstsq_errors():
    a, b = wellcond(5, 3), randn(5, 2, dtype=np.float64)
    same_error(lambda t, x, y: t.linalg.lstsq(x, y), [a, randn(4, 2, dtype=np.float64)])
    same_error(lambda t, x, y: t.linalg.lstsq(x, y, driver="foo"), [a, b])
    same_error(lambda t, x, y: t.linalg.lstsq(x, y), [a, b.astype(np.float32)])
    same_error(lambda t, x, y: t.linalg.lstsq(x, y), [randn(3, dtype=np.float64), b])
    same_error(lambda t, x, y: t.linalg.lstsq(x, y), [a, randn(2, 5, 2, dtype=np.float64)])
    same_error(lambda t, x, y: t.linalg.lstsq(x, y), [randn(2, 3, 5, dtype=np.float64), randn(3, 2, dtype=np.float64)])
    same_error(lambda t, x, y: t.linalg.lstsq(x, y), [randn(2, 5, 3, dtype=np.float64),
                                                      randn(3, 5, 2, dtype=np.float64)])


# -- tensorinv, tensorsolve, cond ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,ind", [((4, 2, 2), 1), ((2, 3, 6), 2), ((6, 6), 1), ((2, 2, 2, 2), 2)])
def test_tensorinv(shape, ind, device):
    a = (randn(*shape, seed=1, dtype=np.float64).reshape(-1) +
         3 * np.eye(int(np.sqrt(np.prod(shape)))).reshape(-1)).reshape(shape)
    check(lambda t, x: t.linalg.tensorinv(x, ind=ind), [a], device=device)
    gradcheck(lambda t, x: t.linalg.tensorinv(x, ind=ind), [a])


def test_tensorinv_errors():
    same_error(lambda t, x: t.linalg.tensorinv(x, ind=0), [randn(4, 2, 2)])
    same_error(lambda t, x: t.linalg.tensorinv(x, ind=1), [randn(4, 2, 3)])
    same_error(lambda t, x: t.linalg.tensorinv(x, ind=1), [np.zeros((4, 2, 2))])
    same_error(lambda t, x: t.linalg.tensorinv(x, ind=1), [np.ones((4, 2, 2), dtype=np.int32)])


@pytest.mark.parametrize("sa,sb,dims", [((2, 3, 6), (2, 3), None), ((6, 3, 2), (6,), None),
                                        ((3, 6, 2), (6,), (0,)), ((2, 6, 3), (6,), (0, 2)),
                                        ((6, 2, 3), (2, 3), (0,))])
def test_tensorsolve(sa, sb, dims, device):
    # a well-conditioned 6 x 6 matrix laid out so that moving ``dims`` to the end gives it back
    nd = len(sa)
    moved = sa if dims is None else tuple(np.moveaxis(np.empty(sa), dims, range(nd - len(dims), nd)).shape)
    a = wellcond(6, 6, seed=3).reshape(moved)
    if dims is not None:
        a = np.ascontiguousarray(np.moveaxis(a, range(nd - len(dims), nd), dims))
    b = randn(*sb, seed=2, dtype=np.float64)
    check(lambda t, x, y: t.linalg.tensorsolve(x, y, dims=dims), [a, b], device=device)
    gradcheck(lambda t, x, y: t.linalg.tensorsolve(x, y, dims=dims), [a, b])


def test_tensorsolve_errors():
    fn = lambda t, x, y: t.linalg.tensorsolve(x, y)  # noqa: E731
    same_error(fn, [randn(2, 3, 6), randn(2, 4)])
    same_error(fn, [randn(6, 4), randn(6)])
    same_error(lambda t, x, y: t.linalg.tensorsolve(x, y, dims=(0,)), [randn(6, 2, 3), randn(6)])
    same_error(fn, [randn(2, 3, 6), randn(2, 3, dtype=np.float64)])


ORDERS = [None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1]


@pytest.mark.parametrize("p", ORDERS)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_cond(p, shape, device):
    a = randn(*shape, seed=1, dtype=np.float64)
    if p in (None, 2, -2):
        check(lambda t, x: t.linalg.cond(x, p), [a], device=device)
    else:
        # torch.linalg.cond's own backward fails for these orders (it writes into a tensor it saved), so the
        # gradient is held against torch's norm(A) * norm(inv(A)), the definition
        check(lambda t, x: t.linalg.cond(x, p), [a], device=device,
              fn_torch=lambda t, x: t.linalg.matrix_norm(x, p) * t.linalg.matrix_norm(t.linalg.inv(x), p))
        check(lambda t, x: t.linalg.cond(x, p), [a], grad=False, device=device)
    check(lambda t, x: t.linalg.cond(x, p), [a.astype(np.float32)], rtol=1e-4, atol=1e-4, device=device,
          grad=p in (None, 2, -2))
    gradcheck(lambda t, x: t.linalg.cond(x, p), [wellcond(*shape)])


@pytest.mark.parametrize("p", ORDERS)
def test_cond_special(p):
    sing = np.stack([np.zeros((3, 3)), wellcond(3, 3)])
    ours = disttorch.linalg.cond(disttorch.tensor(sing), p)
    theirs = torch.linalg.cond(torch.tensor(sing), p)
    same_special_values(ours, theirs, 1e-10, 1e-10)
    rect = randn(3, 5, seed=2, dtype=np.float64)
    if p in (None, 2, -2):
        check(lambda t, x: t.linalg.cond(x, p), [rect])
        check(lambda t, x: t.linalg.cond(x, p), [rect.T.copy()])
    else:
        same_error(lambda t, x: t.linalg.cond(x, p), [rect])
    c = wellcond(3, 3) + 1j * randn(3, 3, seed=4, dtype=np.float64)
    check(lambda t, x: t.linalg.cond(x, p), [c], grad=False)


def test_cond_errors():
    same_error(lambda t, x: t.linalg.cond(x, 3), [randn(3, 3)])
    same_error(lambda t, x: t.linalg.cond(x, "foo"), [randn(3, 3)])
    same_error(lambda t, x: t.linalg.cond(x, 2), [randn(3)])
    for p in ORDERS:
        same_error(lambda t, x: t.linalg.cond(x, p), [np.ones((3, 3), dtype=np.int32)])


def test_no_warnings_from_the_new_linalg_ops():
    a, b = disttorch.tensor(wellcond(3, 3)), disttorch.tensor(randn(3, 2, dtype=np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        disttorch.linalg.lu_solve(*disttorch.linalg.lu_factor(a), b)
        disttorch.linalg.lstsq(a, b)
        disttorch.linalg.cond(a, 1)


def test_complex_gradients():
    """Gradients of a real loss of complex LU, lu_solve (adjoint) and solve_triangular outputs match torch's."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 4)) + 1j * rng.standard_normal((3, 4, 4)) + 3 * np.eye(4)
    b = rng.standard_normal((3, 4, 2)) + 1j * rng.standard_normal((3, 4, 2))
    w = rng.standard_normal((3, 4, 2)) + 1j * rng.standard_normal((3, 4, 2))
    results = []
    for t in (disttorch, torch):
        A, B = t.tensor(a, requires_grad=True), t.tensor(b, requires_grad=True)
        LU, piv = t.linalg.lu_factor(A)
        x = (t.linalg.lu_solve(LU, piv, B, adjoint=True) + t.linalg.solve_triangular(A, B, upper=False)
             + LU[..., :2] + t.linalg.lu(A).U[..., 1:3])
        (x * t.tensor(w)).sum().real.backward()
        results.append([A.grad, B.grad])
    assert_close(results[0], results[1], 1e-10, 1e-10, "complex gradients")
