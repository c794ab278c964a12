"""linalg.eig / eigvals, geqrf, householder_product (orgqr), ormqr, svd_lowrank, pca_lowrank and lobpcg
against PyTorch: values, gradients, float64 gradcheck, errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")


def _eig_loss(lib, A):
    # phase-invariant: eigenvalues and |V|^2 weighted (the eigenvectors are fixed only up to a phase)
    w, v = lib.linalg.eig(A)
    weights = lib.arange(A.shape[-1], device=A.device).to(v.abs().dtype)
    return (w * w).real.sum(dim=-1) + (w.imag * 0.3).sum(dim=-1) + (v.abs() ** 2 * weights).sum(dim=(-2, -1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (5, 5)])
def test_eig_as_pytorch(shape, dtype):
    a = randn(*shape, dtype=dtype)
    tol = (2e-4, 2e-4) if dtype == np.float32 else (1e-9, 1e-9)
    check(lambda lib, A: lib.linalg.eigvals(A), [a], grad=False, rtol=tol[0], atol=tol[1])
    check(lambda lib, A: lib.view_as_real(lib.linalg.eigvals(A)), [a], rtol=tol[0], atol=tol[1])
    check(lambda lib, A: _eig_loss(lib, A), [a], rtol=tol[0], atol=tol[1])
    ours = disttorch.linalg.eig(disttorch.tensor(a))
    theirs = torch.linalg.eig(torch.tensor(a))
    assert ours._fields == ("eigenvalues", "eigenvectors") and str(ours[0].dtype) == str(theirs[0].dtype)
    assert_close(ours.eigenvectors.abs(), theirs.eigenvectors.abs(), tol[0], tol[1])
    A = disttorch.tensor(a).to(ours.eigenvectors.dtype)
    np.testing.assert_allclose((A @ ours.eigenvectors).numpy(),
                               (ours.eigenvectors * ours.eigenvalues.unsqueeze(-2)).numpy(), tol[0] * 10, tol[1] * 10)


def test_eig_complex_input_and_gradcheck():
    r = np.random.default_rng(3)
    a = r.standard_normal((3, 3)) + 1j * r.standard_normal((3, 3))
    check(lambda lib, A: lib.linalg.eigvals(A), [a], grad=False, rtol=1e-9, atol=1e-9)
    check(lambda lib, A: lib.linalg.eigvals(A).abs(), [a], rtol=1e-9, atol=1e-9)
    check(lambda lib, A: _eig_loss(lib, A), [a], rtol=1e-9, atol=1e-9)
    gradcheck(lambda lib, A: _eig_loss(lib, A), [randn(4, 4, dtype=np.float64)])
    gradcheck(lambda lib, A: lib.linalg.eigvals(A).abs(), [randn(2, 3, 3, dtype=np.float64, seed=1)])


def test_eig_errors_as_pytorch():
    for lib in (disttorch, torch):
        with pytest.raises(RuntimeError, match="must be batches of square matrices"):
            lib.linalg.eig(lib.ones(2, 3))
        with pytest.raises(RuntimeError, match="should not contain infs or NaNs"):
            lib.linalg.eig(lib.tensor([[1.0, float("nan")], [0.0, 1.0]]))
        # a loss that depends on the eigenvectors' phase
        A = lib.tensor(randn(3, 3, dtype=np.float64, seed=5), requires_grad=True)
        v = lib.linalg.eig(A).eigenvectors
        with pytest.raises(RuntimeError, match="specified up to multiplication by e"):
            v.imag.sum().backward() if lib is torch else (v * v).imag.sum().backward()


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 4), (3, 6, 2)])
def test_geqrf_and_householder_product_as_pytorch(shape):
    a = randn(*shape, dtype=np.float64)
    check(lambda lib, A: lib.geqrf(A), [a], grad=False, rtol=1e-10, atol=1e-12)
    h, tau = (x.numpy() for x in torch.geqrf(torch.tensor(a)))
    check(lambda lib, H, T: lib.linalg.householder_product(H, T), [h, tau], rtol=1e-10, atol=1e-12)
    check(lambda lib, H, T: lib.orgqr(H, T[..., :-1]), [h, tau], rtol=1e-10, atol=1e-12)
    check(lambda lib, H, T: H.orgqr(T), [h, tau], rtol=1e-10, atol=1e-12)
    gradcheck(lambda lib, H, T: lib.linalg.householder_product(H, T), [h, tau])
    q = disttorch.linalg.householder_product(*disttorch.geqrf(disttorch.tensor(a)))
    r = disttorch.tensor(a).geqrf()[0].triu()[..., : shape[-1], :]
    assert_close(q @ r, torch.tensor(a), 1e-10, 1e-12)
    out = disttorch.geqrf(disttorch.tensor(a))
    assert out._fields == ("a", "tau")


@pytest.mark.parametrize("left,transpose", [(True, False), (True, True), (False, False), (False, True)])
def test_ormqr_as_pytorch(left, transpose):
    a = randn(2, 5, 3, dtype=np.float64)
    h, tau = (x.numpy() for x in torch.geqrf(torch.tensor(a)))
    other = randn(2, 5, 4, dtype=np.float64, seed=2) if left else randn(2, 4, 5, dtype=np.float64, seed=2)
    check(lambda lib, H, T, C: lib.ormqr(H, T, C, left, transpose), [h, tau, other], rtol=1e-10, atol=1e-12)
    check(lambda lib, H, T, C: H.ormqr(T, C, left=left, transpose=transpose), [h, tau, other], rtol=1e-10,
          atol=1e-12)
    gradcheck(lambda lib, H, T, C: lib.ormqr(H, T, C, left, transpose), [h, tau, other])


def test_complex_reflectors_as_pytorch():
    r = np.random.default_rng(4)
    a = r.standard_normal((4, 3)) + 1j * r.standard_normal((4, 3))
    h, tau = (x.numpy() for x in torch.geqrf(torch.tensor(a)))
    check(lambda lib, A: lib.geqrf(A), [a], grad=False, rtol=1e-10, atol=1e-12)
    check(lambda lib, H, T: lib.linalg.householder_product(H, T), [h, tau], rtol=1e-10, atol=1e-12)
    c = r.standard_normal((4, 2)) + 1j * r.standard_normal((4, 2))
    check(lambda lib, H, T, C: lib.ormqr(H, T, C, True, True), [h, tau, c], rtol=1e-10, atol=1e-12)


def test_reflector_errors_as_pytorch():
    for lib in (disttorch, torch):
        with pytest.raises(RuntimeError, match="input.shape\\[-2\\] must be greater than or equal to"):
            lib.linalg.householder_product(lib.ones(2, 3, dtype=lib.float64), lib.ones(1, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="input.shape\\[-1\\] must be greater than or equal to tau"):
            lib.linalg.householder_product(lib.ones(3, 2, dtype=lib.float64), lib.ones(3, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="derivative for 'geqrf' is not implemented"):
            lib.geqrf(lib.ones(3, 2, requires_grad=True))[0].sum().backward()


def test_svd_lowrank_and_pca_lowrank():
    r = np.random.default_rng(0)
    low = r.standard_normal((30, 4)) @ r.standard_normal((4, 20))  # rank 4: recovered exactly
    for shape_t in (False, True):
        a = low.T if shape_t else low
        for lib in (disttorch, torch):
            U, S, V = lib.svd_lowrank(lib.tensor(a), q=5, niter=2)
            assert tuple(U.shape) == (a.shape[0], 5) and tuple(S.shape) == (5,) and tuple(V.shape) == (a.shape[1], 5)
            np.testing.assert_allclose(((U * S) @ V.T).numpy(), a, atol=1e-10)
        s_ours = disttorch.svd_lowrank(disttorch.tensor(a), q=5)[1].numpy()
        np.testing.assert_allclose(s_ours[:4], torch.linalg.svdvals(torch.tensor(a))[:4].numpy(), rtol=1e-10)
    M = r.standard_normal((1, 20))
    U, S, V = disttorch.svd_lowrank(disttorch.tensor(low + M), q=4, M=disttorch.tensor(M))
    np.testing.assert_allclose(((U * S) @ V.T).numpy(), low, atol=1e-10)
    data = r.standard_normal((50, 3)) @ np.diag([5.0, 2.0, 0.5]) + 7.0
    _, S, V = disttorch.pca_lowrank(disttorch.tensor(data), q=3)
    centred = data - data.mean(0)
    np.testing.assert_allclose(S.numpy(), torch.linalg.svdvals(torch.tensor(centred)).numpy(), rtol=1e-10)
    tU, tS, tV = torch.pca_lowrank(torch.tensor(data), q=3)
    np.testing.assert_allclose(np.abs(V.numpy()), np.abs(tV.numpy()), atol=1e-8)
    # gradients of the singular values, as PyTorch's (exact on a low-rank matrix)
    check(lambda lib, A: lib.svd_lowrank(A, q=4)[1], [low[:12, :]], rtol=1e-8, atol=1e-8)
    for lib in (disttorch, torch):
        assert tuple(lib.svd_lowrank(lib.ones(3, 4), q=5)[1].shape) == (3,)
        with pytest.raises(ValueError, match="must be non-negative integer and not greater than min"):
            lib.pca_lowrank(lib.ones(3, 4), q=5)


def test_lobpcg_as_pytorch():
    r = np.random.default_rng(0)
    a = r.standard_normal((12, 12))
    a = a @ a.T + np.eye(12)
    b = r.standard_normal((12, 12))
    b = b @ b.T / 12 + np.eye(12)
    for kw in (dict(k=2), dict(k=3, largest=False)):
        ours = disttorch.lobpcg(disttorch.tensor(a), **kw)
        theirs = torch.lobpcg(torch.tensor(a), **kw)
        assert_close(ours[0], theirs[0], 1e-8, 1e-8)
        assert_close(ours[1].abs(), theirs[1].abs(), 1e-5, 1e-5)
    E, X = disttorch.lobpcg(disttorch.tensor(a), k=2, B=disttorch.tensor(b))
    tE, tX = torch.lobpcg(torch.tensor(a), k=2, B=torch.tensor(b))
    assert_close(E, tE, 1e-8, 1e-8)
    assert_close(X.abs(), tX.abs(), 1e-5, 1e-5)
    gradcheck(lambda lib, A: lib.lobpcg(A + A.mT, k=1)[0], [a / 10])
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="smaller than 3 x the number of requested eigenpairs"):
            lib.lobpcg(lib.tensor(a[:5, :5]), k=2)


def test_on_each_device(device):
    a = randn(2, 4, 4, dtype=np.float64, seed=9)
    check(lambda lib, A: _eig_loss(lib, A), [a], rtol=1e-9, atol=1e-9, device=device)
    h, tau = (x.numpy() for x in torch.geqrf(torch.tensor(a)))
    check(lambda lib, A: lib.geqrf(A), [a], grad=False, rtol=1e-10, atol=1e-12, device=device)
    check(lambda lib, H, T, C: lib.ormqr(H, T, C) + lib.linalg.householder_product(H, T), [h, tau, a],
          rtol=1e-10, atol=1e-12, device=device)
    U, S, V = disttorch.svd_lowrank(disttorch.tensor(a, device=device), q=4)
    assert U.device.type == device
    np.testing.assert_allclose(S.cpu().numpy(), torch.linalg.svdvals(torch.tensor(a)).numpy(), rtol=1e-10)
