"""The *_copy view forms, the *_scatter ops, torch.X forms of Tensor methods, trapezoid / cumulative_trapezoid /
gradient / polar: values and gradients against real PyTorch, float64 gradchecks, and the errors PyTorch gives."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error

import disttorch

A = randn(3, 4)
B = randn(2, 3, 4, seed=1)

COPIES = {
    "alias_copy": lambda t, x: t.alias_copy(x), "as_strided_copy": lambda t, x: t.as_strided_copy(x, (2, 2), (1, 2)),
    "detach_copy": lambda t, x: t.detach_copy(x), "diagonal_copy": lambda t, x: t.diagonal_copy(x, 1),
    "permute_copy": lambda t, x: t.permute_copy(x, (1, 0)), "select_copy": lambda t, x: t.select_copy(x, 1, 2),
    "slice_copy": lambda t, x: t.slice_copy(x, 1, 1, 4, 2), "split_copy": lambda t, x: t.split_copy(x, 2, 1),
    "split_with_sizes_copy": lambda t, x: t.split_with_sizes_copy(x, [1, 3], 1),
    "squeeze_copy": lambda t, x: t.squeeze_copy(x[:1]), "t_copy": lambda t, x: t.t_copy(x),
    "transpose_copy": lambda t, x: t.transpose_copy(x, 0, 1), "unbind_copy": lambda t, x: t.unbind_copy(x, 1),
    "unfold_copy": lambda t, x: t.unfold_copy(x, 1, 2, 1), "unsqueeze_copy": lambda t, x: t.unsqueeze_copy(x, 1),
    "view_copy": lambda t, x: t.view_copy(x, (4, 3)), "view_as_real_copy": lambda t, x: t.view_as_real_copy(
        t.complex(x, x * 2)), "view_as_complex_copy": lambda t, x: t.view_as_complex_copy(x.reshape(6, 2)),
    "narrow_copy": lambda t, x: t.narrow_copy(x, 1, 1, 2),
}


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copy_forms(name: str) -> None:
    # (PyTorch defines no gradient for view_as_complex_copy)
    check(COPIES[name], [A], grad=name not in ("detach_copy", "narrow_copy", "view_as_complex_copy"))
    out = COPIES[name](disttorch, disttorch.tensor(A))
    for o in out if isinstance(out, (list, tuple)) else [out]:
        assert o._data.base is None or not np.shares_memory(o._data, A)


SCATTERS = {
    "slice_scatter": (lambda t, x, s: t.slice_scatter(x, s, 1, 1, 4, 2), (3, 2)),
    "slice_scatter_default": (lambda t, x, s: t.slice_scatter(x, s), (3, 4)),
    "select_scatter": (lambda t, x, s: t.select_scatter(x, s, 0, -1), (4,)),
    "diagonal_scatter": (lambda t, x, s: t.diagonal_scatter(x, s, -1), (2,)),
    "diagonal_scatter_dims": (lambda t, x, s: t.diagonal_scatter(x, s, 0, 1, 0), (3,)),
    "as_strided_scatter": (lambda t, x, s: t.as_strided_scatter(x, s, (2, 2), (1, 4), 1), (2, 2)),
}


@pytest.mark.parametrize("name", sorted(SCATTERS))
def test_scatter_ops(name: str) -> None:
    fn, src_shape = SCATTERS[name]
    # PyTorch 2.13's as_strided_scatter gives the input a gradient on the overwritten region and zeros elsewhere,
    # the reverse of what its forward implies; the float64 finite-difference check below judges ours
    check(fn, [A, randn(*src_shape, seed=2)], grad=[name != "as_strided_scatter", True])
    gradcheck(fn, [A, randn(*src_shape, seed=2)])


@pytest.mark.parametrize("call", [
    lambda t, x: t.slice_scatter(x, t.ones(2, 4), 0, 0, 1), lambda t, x: t.select_scatter(x, t.ones(3), 0, 0),
    lambda t, x: t.diagonal_scatter(x, t.ones(4)),
])
def test_scatter_shape_errors(call) -> None:
    same_error(call, [np.zeros((3, 4), np.float32)])


@pytest.mark.parametrize("call", [
    lambda t, x: t.fill(x, 2.5), lambda t, x: t.zero_(x.clone()), lambda t, x: t.neg_(x.clone()),
    lambda t, x: t.negative_(x.clone()), lambda t, x: t.detach(x), lambda t, x: t.is_neg(x),
    lambda t, x: t.is_same_size(x, x[0]), lambda t, x: t.is_signed(x), lambda t, x: t.is_inference(x),
    lambda t, x: t.get_device(x), lambda t, x: t.split_with_sizes(x, [2, 2], 1), lambda t, x: t.unsafe_chunk(x, 2, 1),
    lambda t, x: t.unsafe_split(x, 3, 1), lambda t, x: t.unsafe_split_with_sizes(x, [1, 3], 1),
    lambda t, x: t.ldexp_(x.clone(), t.tensor([1, 2, 3, 0]).float()),
])
def test_function_forms_of_methods(call) -> None:
    check(call, [A], grad=False)


INTEGRALS = {
    "trapezoid": lambda t, y: t.trapezoid(y), "trapezoid_dx": lambda t, y: t.trapezoid(y, dx=0.5, dim=1),
    "trapezoid_x": lambda t, y: t.trapezoid(y, t.tensor([0.0, 0.5, 1.5, 4.0], dtype=y.dtype)),
    "trapezoid_x_nd": lambda t, y: t.trapezoid(y, y.cumsum(0).exp(), dim=0),
    "trapz": lambda t, y: t.trapz(y, t.tensor([0.0, 1.0, 3.0, 4.0], dtype=y.dtype)),
    "cumulative": lambda t, y: t.cumulative_trapezoid(y), "cumulative_dx": lambda t, y: t.cumulative_trapezoid(
        y, dx=2.0, dim=1),
    "cumulative_x": lambda t, y: t.cumulative_trapezoid(y, t.tensor([0.0, 0.5, 1.5, 4.0], dtype=y.dtype)),
    "gradient": lambda t, y: t.gradient(y), "gradient_spacing": lambda t, y: t.gradient(y, spacing=0.5, dim=1),
    "gradient_list": lambda t, y: t.gradient(y, spacing=[2.0, 0.5]),
    "gradient_edge2": lambda t, y: t.gradient(y, edge_order=2, dim=[2, 1]),
    "gradient_coords": lambda t, y: t.gradient(y, spacing=(t.tensor([0.0, 1.0, 3.0], dtype=y.dtype),), dim=1),
    "gradient_coords_edge2": lambda t, y: t.gradient(
        y, spacing=(t.tensor([0.0, 0.5, 1.5, 4.0], dtype=y.dtype),), dim=-1, edge_order=2),
}


@pytest.mark.parametrize("name", sorted(INTEGRALS))
def test_integration_and_gradient(name: str) -> None:
    y = B if "edge2" in name or "coords" in name else A
    check(INTEGRALS[name], [y])
    gradcheck(INTEGRALS[name], [y])


def test_polar_and_errors() -> None:
    check(lambda t, a, b: t.view_as_real(t.polar(a.abs(), b)), [randn(5), randn(5, seed=3)])
    gradcheck(lambda t, a, b: t.view_as_real(t.polar(a.abs(), b)), [randn(5), randn(5, seed=3)])
    same_error(lambda t, y: t.gradient(y, edge_order=2), [np.ones((2, 3), np.float32)])
    same_error(lambda t, y: t.gradient(y, edge_order=3), [np.ones((4, 3), np.float32)])
