"""nn.utils.parametrizations.spectral_norm and orthogonal against PyTorch: state names, values in training and
eval mode, gradients of the original, float64 gradcheck, errors."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _copy_state(ours, theirs):
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("make,x_shape", [(lambda nn: nn.Linear(5, 4), (3, 5)),
                                          (lambda nn: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
                                          (lambda nn: nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4))])
def test_spectral_norm_as_pytorch(make, x_shape):
    theirs = torch.nn.utils.parametrizations.spectral_norm(make(torch.nn).double(), n_power_iterations=2)
    ours = disttorch.nn.utils.parametrizations.spectral_norm(make(disttorch.nn).double(), n_power_iterations=2)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _copy_state(ours, theirs)
    x = np.random.default_rng(0).standard_normal(x_shape)
    results = []
    for lib, m in ((disttorch, ours), (torch, theirs)):
        for _ in range(3):  # power iterations advance in training mode
            y = m(lib.tensor(x))
        y.sum().backward()
        m.eval()
        z = m(lib.tensor(x))
        results.append((y.detach().numpy(), z.detach().numpy(), m.parametrizations.weight.original.grad.numpy(),
                        m.parametrizations.weight[0]._u.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_spectral_norm_1d_gradcheck_and_errors():
    m = disttorch.nn.utils.parametrizations.spectral_norm(disttorch.nn.Linear(4, 3).double())
    m.eval()  # fixed u, v: a differentiable function of the original
    original = m.parametrizations.weight.original
    fn = m.parametrizations.weight[0]
    assert disttorch.autograd.gradcheck(lambda w: fn(w), (original.detach().clone().requires_grad_(),))
    t = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(4, 3), name="bias")
    o = disttorch.nn.utils.parametrizations.spectral_norm(disttorch.nn.Linear(4, 3), name="bias")
    with disttorch.no_grad():
        o.parametrizations.bias.original.copy_(disttorch.tensor(t.parametrizations.bias.original.detach().numpy()))
    np.testing.assert_allclose(o.bias.detach().numpy(), t.bias.detach().numpy(), rtol=1e-6)
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(2, 2), name="nope")
        with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(2, 2), n_power_iterations=0)


@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (3, 5), (2, 3, 3)])
@pytest.mark.parametrize("orthogonal_map,triv", [(None, True), ("matrix_exp", True), ("cayley", True),
                                                 ("householder", True), ("householder", False)])
def test_orthogonal_as_pytorch(shape, orthogonal_map, triv):
    w = np.random.default_rng(0).standard_normal(shape)
    mods = []
    for lib in (disttorch, torch):
        m = lib.nn.Module()
        m.weight = lib.nn.Parameter(lib.tensor(w))
        lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map, use_trivialization=triv)
        mods.append(m)
    ours, theirs = mods
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _copy_state(ours, theirs)  # the random completion of a non-square base comes from each library's generator
    results = []
    for lib, m in ((disttorch, ours), (torch, theirs)):
        W = m.weight
        (W * lib.arange(float(W.numel()), dtype=lib.float64).reshape(W.shape)).sum().backward()
        results.append((W.detach().numpy(), m.parametrizations.weight.original.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    W = results[0][0]
    G = np.swapaxes(W, -1, -2) @ W if shape[-2] >= shape[-1] else W @ np.swapaxes(W, -1, -2)
    np.testing.assert_allclose(G, np.broadcast_to(np.eye(G.shape[-1]), G.shape), atol=1e-12)
    # assigning a new orthogonal value goes through right_inverse
    if triv or orthogonal_map == "householder":
        q = np.linalg.qr(np.random.default_rng(1).standard_normal(shape if shape[-2] >= shape[-1] else
                                                                  shape[:-2] + shape[-2:][::-1]))[0]
        q = q if shape[-2] >= shape[-1] else np.swapaxes(q, -1, -2)
        with disttorch.no_grad():
            ours.weight = disttorch.tensor(q)
        np.testing.assert_allclose(ours.weight.detach().numpy(), q, atol=1e-10)


def test_orthogonal_gradcheck_and_errors():
    w = np.random.default_rng(2).standard_normal((3, 3))
    m = disttorch.nn.Module()
    m.weight = disttorch.nn.Parameter(disttorch.tensor(w))
    disttorch.nn.utils.parametrizations.orthogonal(m, orthogonal_map="cayley")
    fn = m.parametrizations.weight[0]
    assert disttorch.autograd.gradcheck(lambda x: fn(x), (disttorch.tensor(w, requires_grad=True),))
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
            lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(2, 2), name="bias")
        with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp"'):
            lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(2, 2), orthogonal_map="svd")
        m = lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(2, 2), use_trivialization=False)
        with pytest.raises(NotImplementedError, match="use_trivialization=False"):
            m.weight = lib.eye(2)
