"""torch.autograd.functional (vjp, jvp, jacobian, hessian, hvp, vhp) against real PyTorch on the same functions."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, randn, torch

import disttorch


def _pair(*shapes: tuple[int, ...], seed: int = 0) -> tuple[tuple, tuple]:
    arrays = [randn(*s, seed=seed + i, dtype=np.float64) for i, s in enumerate(shapes)]
    return tuple(disttorch.tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays)


def _mixed(lib):  # two inputs, two outputs
    return lambda a, b: (a * b.exp(), (a ** 2).sum() * b.sin())


def _scalar(lib):
    return lambda a, b: (a.tanh() * b ** 3).sum() + (a @ a.T).trace()


CASES = {
    "jacobian_one": lambda F, lib, x: F.jacobian(lambda a: a.sin() * a.sum(), x[0]),
    "jacobian_tuple": lambda F, lib, x: F.jacobian(_mixed(lib), x[:2]),
    "jacobian_matrix_in": lambda F, lib, x: F.jacobian(lambda a: a @ a, x[2]),
    "hessian_one": lambda F, lib, x: F.hessian(lambda a: (a.exp() * a).sum(), x[0]),
    "hessian_tuple": lambda F, lib, x: F.hessian(_scalar(lib), (x[2], x[2] * 0.5)),
    "vjp": lambda F, lib, x: F.vjp(_mixed(lib), (x[0], x[1]), (x[1], x[0][:1].sum() * x[1])),
    "jvp": lambda F, lib, x: F.jvp(_mixed(lib), (x[0], x[1]), (x[1], x[0])),
    "hvp": lambda F, lib, x: F.hvp(_scalar(lib), (x[2], x[2] * 0.5), (x[2].cos(), x[2])),
    "vhp": lambda F, lib, x: F.vhp(_scalar(lib), (x[2], x[2] * 0.5), (x[2].cos(), x[2])),
    "vjp_scalar_default_v": lambda F, lib, x: F.vjp(lambda a: (a ** 3).sum(), x[0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name: str) -> None:
    ours, theirs = _pair((3,), (3,), (2, 2))
    got = CASES[name](disttorch.autograd.functional, disttorch, ours)
    want = CASES[name](torch.autograd.functional, torch, theirs)
    assert_close(got, want, rtol=1e-10, atol=1e-12, what=name)


def test_create_graph_gives_second_order() -> None:
    ours, theirs = _pair((3,))
    results = []
    for F, x in ((disttorch.autograd.functional, ours[0]), (torch.autograd.functional, theirs[0])):
        x = x.clone().requires_grad_(True)
        _, g = F.vjp(lambda a: (a ** 3).sum(), x, create_graph=True)
        assert g.requires_grad
        g.sum().backward()
        results.append(x.grad)
    assert_close(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_results_are_detached_without_create_graph() -> None:
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    out, g = disttorch.autograd.functional.vjp(lambda a: (a * a).sum(), x)
    assert not out.requires_grad and not g.requires_grad and x.grad is None


def test_independent_input_is_zero_or_strict_error() -> None:
    for lib in (disttorch, torch):
        F = lib.autograd.functional
        a, b = lib.tensor([1.0, 2.0]), lib.tensor([3.0])
        jac = F.jacobian(lambda x, y: x * 2, (a, b))
        assert tuple(jac[1].shape) == (2, 1) and float(jac[1].abs().sum()) == 0.0
        with pytest.raises(RuntimeError, match="independent of input 1"):
            F.jacobian(lambda x, y: x * 2, (a, b), strict=True)


@pytest.mark.parametrize("call, match", [
    (lambda F, lib: F.vjp(lambda a: a * 2, lib.ones(3)), "v can only be None"),
    (lambda F, lib: F.vjp(lambda a: a * 2, lib.ones(3), lib.ones(2)), "invalid size"),
    (lambda F, lib: F.hessian(lambda a: a * 2, lib.ones(3)), "single element"),
    (lambda F, lib: F.jacobian(lambda a: a * 2, [1.0]), "must be either a Tensor or a tuple of Tensors"),
])
def test_misuse_errors_match_torch(call, match: str) -> None:
    errors = []
    for lib in (disttorch, torch):
        with pytest.raises((RuntimeError, TypeError), match=match) as info:
            call(lib.autograd.functional, lib)
        errors.append(info.type)
    assert errors[0] is errors[1]
