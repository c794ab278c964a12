"""Shape and view ops against PyTorch: values, dtypes, gradients, view semantics, node names, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def ver(x):
    """The version counter's value (disttorch keeps it in a list shared with views)."""
    v = x._version
    return v[0] if isinstance(v, list) else v

# (id, fn(t, *xs), input shapes)
CASES = [
    ("view", lambda t, x: x.view(6, 4), [(2, 3, 4)]),
    ("view_infer", lambda t, x: x.view(-1, 3), [(2, 3, 4)]),
    ("view_tuple", lambda t, x: x.view((4, -1)), [(2, 3, 4)]),
    ("view_0d", lambda t, x: x.view(1, 1), [()]),
    ("view_to_0d", lambda t, x: x.view(()), [(1,)]),
    ("view_noncontig_ok", lambda t, x: x.transpose(0, 1).view(3, 2, 2, 2), [(2, 3, 4)]),
    ("view_as", lambda t, x, y: x.view_as(y), [(2, 6), (3, 4)]),
    ("reshape", lambda t, x: t.reshape(x, (3, -1)), [(2, 3, 4)]),
    ("reshape_copy", lambda t, x: x.transpose(0, 2).reshape(-1, 6), [(2, 3, 4)]),
    ("reshape_as", lambda t, x, y: x.mT.reshape_as(y), [(3, 4), (2, 6)]),
    ("flatten", lambda t, x: t.flatten(x), [(2, 3, 4)]),
    ("flatten_range", lambda t, x: x.flatten(1, -1), [(2, 3, 4)]),
    ("flatten_neg", lambda t, x: x.flatten(-3, -2), [(2, 3, 4)]),
    ("flatten_0d", lambda t, x: x.flatten(), [()]),
    ("flatten_noncontig", lambda t, x: x.permute(2, 0, 1).flatten(0, 1), [(2, 3, 4)]),
    ("unflatten", lambda t, x: x.unflatten(1, (2, -1)), [(3, 4, 2)]),
    ("unflatten_neg", lambda t, x: t.unflatten(x, -1, (1, 2, 1)), [(3, 4, 2)]),
    ("ravel", lambda t, x: t.ravel(x.mT), [(3, 4)]),
    ("squeeze_all", lambda t, x: x.squeeze(), [(1, 3, 1, 2)]),
    ("squeeze_dim", lambda t, x: t.squeeze(x, -2), [(1, 3, 1, 2)]),
    ("squeeze_nonone", lambda t, x: x.squeeze(1), [(1, 3, 1, 2)]),
    ("squeeze_tuple", lambda t, x: x.squeeze((0, 1, 2)), [(1, 3, 1, 2)]),
    ("squeeze_0d", lambda t, x: x.squeeze(0), [()]),
    ("unsqueeze", lambda t, x: x.unsqueeze(1), [(2, 3)]),
    ("unsqueeze_neg", lambda t, x: t.unsqueeze(x, -1), [(2, 3)]),
    ("unsqueeze_0d", lambda t, x: x.unsqueeze(0), [()]),
    ("transpose", lambda t, x: x.transpose(0, 2), [(2, 3, 4)]),
    ("transpose_neg", lambda t, x: t.transpose(x, -1, -3), [(2, 3, 4)]),
    ("swapaxes", lambda t, x: t.swapaxes(x, 0, 1), [(2, 3, 4)]),
    ("swapdims", lambda t, x: x.swapdims(1, 2), [(2, 3, 4)]),
    ("permute_varargs", lambda t, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("permute_tuple", lambda t, x: t.permute(x, (1, -1, 0)), [(2, 3, 4)]),
    ("t_2d", lambda t, x: x.t(), [(2, 3)]),
    ("t_1d", lambda t, x: t.t(x), [(3,)]),
    ("T", lambda t, x: x.T, [(2, 3)]),
    ("mT", lambda t, x: x.mT, [(2, 3, 4)]),
    ("movedim", lambda t, x: x.movedim(0, -1), [(2, 3, 4)]),
    ("movedim_tuple", lambda t, x: t.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("moveaxis", lambda t, x: t.moveaxis(x, -1, 0), [(2, 3, 4)]),
    ("expand", lambda t, x: x.expand(2, 3, 4), [(3, 1)]),
    ("expand_minus1", lambda t, x: x.expand(5, -1, 4), [(3, 1)]),
    ("expand_0d", lambda t, x: x.expand(2, 3), [()]),
    ("expand_as", lambda t, x, y: x.expand_as(y), [(1, 4), (3, 4)]),
    ("broadcast_to", lambda t, x: t.broadcast_to(x, (2, 3, 4)), [(4,)]),
    ("broadcast_tensors", lambda t, x, y, z: t.broadcast_tensors(x, y, z), [(3, 1), (4,), (2, 1, 1)]),
    ("repeat", lambda t, x: x.repeat(2, 3), [(2, 3)]),
    ("repeat_newdims", lambda t, x: x.repeat(2, 1, 3), [(2, 3)]),
    ("repeat_zero", lambda t, x: x.repeat(0, 2), [(2, 3)]),
    ("repeat_0d", lambda t, x: x.repeat(3), [()]),
    ("tile", lambda t, x: t.tile(x, (2,)), [(2, 3)]),
    ("tile_more", lambda t, x: x.tile(2, 1, 2), [(2, 3)]),
    ("cat", lambda t, x, y: t.cat([x, y]), [(2, 3), (4, 3)]),
    ("cat_dim1", lambda t, x, y: t.cat((x, y), dim=1), [(2, 3), (2, 1)]),
    ("cat_neg", lambda t, x, y, z: t.cat([x, y, z], -1), [(2, 2, 1), (2, 2, 3), (2, 2, 2)]),
    ("concat", lambda t, x, y: t.concat([x, y], 0), [(1, 3), (2, 3)]),
    ("concatenate", lambda t, x, y: t.concatenate([x, y], 1), [(2, 3), (2, 3)]),
    ("cat_skip_empty", lambda t, x, y: t.cat([x, y], 1), [(0,), (2, 3)]),
    ("cat_single", lambda t, x: t.cat([x]), [(2, 3)]),
    ("stack", lambda t, x, y: t.stack([x, y]), [(2, 3), (2, 3)]),
    ("stack_neg", lambda t, x, y: t.stack([x, y], dim=-1), [(2, 3), (2, 3)]),
    ("stack_mid", lambda t, x, y, z: t.stack((x, y, z), 1), [(2, 3), (2, 3), (2, 3)]),
    ("stack_0d", lambda t, x, y: t.stack([x, y]), [(), ()]),
    ("hstack_1d", lambda t, x, y: t.hstack([x, y]), [(3,), (2,)]),
    ("hstack_2d", lambda t, x, y: t.hstack([x, y]), [(2, 3), (2, 1)]),
    ("vstack", lambda t, x, y: t.vstack([x, y]), [(3,), (2, 3)]),
    ("dstack", lambda t, x, y: t.dstack([x, y]), [(3,), (1, 3)]),
    ("column_stack", lambda t, x, y, z: t.column_stack([x, y, z]), [(3,), (3, 2), (3,)]),
    ("split_int", lambda t, x: x.split(2), [(5, 3)]),
    ("split_dim", lambda t, x: t.split(x, 2, dim=-1), [(2, 4)]),
    ("split_sizes", lambda t, x: x.split([1, 3, 1], 0), [(5, 3)]),
    ("split_partial_use", lambda t, x: x.split(2, 1)[1] * 3, [(2, 5)]),
    ("unbind_partial_use", lambda t, x: x.unbind(0)[2], [(3, 2)]),
    ("split_with_sizes", lambda t, x: x.split_with_sizes([2, 1], 1), [(2, 3)]),
    ("tensor_split_n", lambda t, x: t.tensor_split(x, 3), [(7, 2)]),
    ("tensor_split_idx", lambda t, x: x.tensor_split([1, 4], dim=1), [(2, 6)]),
    ("tensor_split_odd", lambda t, x: x.tensor_split([-2, 5, 2, 9]), [(7,)]),
    ("hsplit", lambda t, x: t.hsplit(x, 2), [(2, 4)]),
    ("vsplit", lambda t, x: t.vsplit(x, [1]), [(3, 4)]),
    ("chunk", lambda t, x: x.chunk(3), [(5, 2)]),
    ("chunk_dim", lambda t, x: t.chunk(x, 2, dim=-1), [(2, 4)]),
    ("chunk_few", lambda t, x: x.chunk(4), [(5,)]),
    ("unbind", lambda t, x: x.unbind(), [(3, 2)]),
    ("unbind_dim", lambda t, x: t.unbind(x, -1), [(3, 2)]),
    ("narrow", lambda t, x: x.narrow(1, 1, 2), [(2, 4)]),
    ("narrow_neg", lambda t, x: t.narrow(x, -1, -3, 2), [(2, 4)]),
    ("select", lambda t, x: x.select(1, 2), [(2, 4, 3)]),
    ("select_neg", lambda t, x: t.select(x, -1, -1), [(2, 4, 3)]),
    ("flip", lambda t, x: t.flip(x, (0, 2)), [(2, 3, 4)]),
    ("flip_method", lambda t, x: x.flip(-1), [(2, 3)]),
    ("fliplr", lambda t, x: t.fliplr(x), [(2, 3)]),
    ("flipud", lambda t, x: x.flipud(), [(2, 3)]),
    ("roll", lambda t, x: t.roll(x, 1, 0), [(3, 4)]),
    ("roll_flat", lambda t, x: x.roll(5), [(3, 4)]),
    ("roll_multi", lambda t, x: x.roll((1, -2), (1, 0)), [(3, 4)]),
    ("rot90", lambda t, x: t.rot90(x), [(2, 3)]),
    ("rot90_k", lambda t, x: x.rot90(3, [1, 2]), [(2, 3, 4)]),
    ("rot90_neg", lambda t, x: x.rot90(-1, [-1, 0]), [(2, 3, 4)]),
    ("tril", lambda t, x: t.tril(x), [(3, 4)]),
    ("tril_k", lambda t, x: x.tril(diagonal=-1), [(2, 3, 3)]),
    ("triu", lambda t, x: t.triu(x, 1), [(4, 3)]),
    ("triu_batch", lambda t, x: x.triu(-1), [(2, 3, 4)]),
    ("diagonal", lambda t, x: x.diagonal(), [(3, 4)]),
    ("diagonal_off", lambda t, x: t.diagonal(x, 1, 0, 2), [(3, 2, 4)]),
    ("diagonal_negoff", lambda t, x: x.diagonal(offset=-1, dim1=-1, dim2=-2), [(2, 3, 4)]),
    ("diagonal_empty", lambda t, x: x.diagonal(5), [(3, 4)]),
    ("diag_1d", lambda t, x: t.diag(x), [(3,)]),
    ("diag_1d_off", lambda t, x: x.diag(-2), [(3,)]),
    ("diag_2d", lambda t, x: t.diag(x, 1), [(3, 4)]),
    ("diag_embed", lambda t, x: t.diag_embed(x), [(2, 3)]),
    ("diag_embed_dims", lambda t, x: x.diag_embed(1, 0, 2), [(2, 3)]),
    ("meshgrid_ij", lambda t, x, y: t.meshgrid(x, y, indexing="ij"), [(3,), (4,)]),
    ("meshgrid_xy", lambda t, x, y, z: t.meshgrid([x, y, z], indexing="xy"), [(3,), (2,), ()]),
    ("atleast_1d", lambda t, x: t.atleast_1d(x), [()]),
    ("atleast_2d", lambda t, x, y: t.atleast_2d(x, y), [(3,), ()]),
    ("atleast_3d", lambda t, x, y, z: t.atleast_3d([x, y, z]), [(3,), (2, 3), ()]),
    ("unfold", lambda t, x: x.unfold(1, 2, 1), [(2, 5)]),
    ("unfold_step", lambda t, x: x.unfold(-1, 3, 2), [(2, 3, 8)]),
    ("unfold_dim0", lambda t, x: x.unfold(0, 2, 3), [(7, 2)]),
    ("chain", lambda t, x: x.view(4, 6).t().unsqueeze(0).expand(2, 6, 4).flip(1).narrow(2, 1, 2), [(2, 3, 4)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(case, dtype, device):
    _, fn, shapes = case
    arrays = [randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(fn, arrays, device=device)


INT_CASES = [
    ("view", lambda t, x: x.view(3, 4)),
    ("permute", lambda t, x: x.permute(1, 0)),
    ("cat", lambda t, x: t.cat([x, x], 1)),
    ("stack", lambda t, x: t.stack([x, x])),
    ("repeat", lambda t, x: x.repeat(2, 1)),
    ("tril", lambda t, x: x.tril()),
    ("diag", lambda t, x: x.diag()),
    ("roll", lambda t, x: x.roll(1, 1)),
    ("unbind", lambda t, x: x.unbind(1)),
]


@pytest.mark.parametrize("case", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_integer_and_bool_inputs(case):
    _, fn = case
    check(fn, [np.arange(12, dtype=np.int64).reshape(3, 4)])
    check(fn, [np.arange(12).reshape(3, 4) % 3 == 0])


GRADCHECK = [
    ("view", lambda t, x: x.transpose(0, 1).reshape(6, 2), [(2, 3, 2)]),
    ("expand", lambda t, x: x.expand(3, 2, 3), [(2, 1)]),
    ("repeat", lambda t, x: x.repeat(2, 1, 2), [(2, 2)]),
    ("cat", lambda t, x, y: t.cat([x, y], 1), [(2, 1), (2, 3)]),
    ("stack", lambda t, x, y: t.stack([x, y], 1), [(2, 2), (2, 2)]),
    ("split", lambda t, x: x.split([1, 2], 1), [(2, 3)]),
    ("unbind", lambda t, x: x.unbind(1), [(2, 3)]),
    ("roll_rot", lambda t, x: x.roll(1, 0).rot90(1, [0, 1]).flip(0), [(3, 2)]),
    ("tri", lambda t, x: x.tril(-1) + x.triu(1), [(3, 3)]),
    ("diagonal", lambda t, x: x.diagonal(1, 0, 2), [(3, 2, 3)]),
    ("diag_embed", lambda t, x: x.diag_embed(-1), [(2, 2)]),
    ("unfold", lambda t, x: x.unfold(0, 3, 2), [(7, 2)]),
    ("select_narrow", lambda t, x: x.select(0, 1).narrow(0, 1, 2), [(2, 4)]),
]


@pytest.mark.parametrize("case", GRADCHECK, ids=[c[0] for c in GRADCHECK])
def test_gradcheck(case):
    _, fn, shapes = case
    gradcheck(fn, [randn(*s, seed=i, dtype=np.float64) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("fn", [
    lambda t, x: x.expand(2, 3, 2).transpose(0, 2) * x.unsqueeze(0),
    lambda t, x: t.cat([x, x * x], 0).unfold(0, 2, 1).diagonal().reshape(-1) * x.repeat(3, 1).view(-1).narrow(0, 0, 4),
    lambda t, x: t.stack(x.split(1, 1), 0).diag_embed().flip(1) * x.sum(),
])
def test_double_backward(fn):
    """Gradients of the gradient (create_graph=True) match torch."""
    res = []
    w = randn(3, 2, seed=1, dtype=np.float64)
    for t in LIBS:
        x = t.tensor(randn(3, 2, dtype=np.float64), requires_grad=True)
        y = fn(t, x)
        (g,) = t.autograd.grad((y * y).sum(), x, create_graph=True)
        (gg,) = t.autograd.grad((g * t.tensor(w)).sum(), x)
        res.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-10)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)


# -- view semantics ---------------------------------------------------------------------------------
VIEWS = [
    ("view", lambda x: x.view(-1)),
    ("view_noncontig", lambda x: x.transpose(0, 1).view(3, 2, 4)),
    ("reshape", lambda x: x.reshape(4, 6)),
    ("flatten", lambda x: x.flatten(1)),
    ("unflatten", lambda x: x.unflatten(-1, (2, 2))),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze()),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("transpose", lambda x: x.transpose(0, 2)),
    ("permute", lambda x: x.permute(1, 2, 0)),
    ("T", lambda x: x[0].T),
    ("t", lambda x: x[1].t()),
    ("mT", lambda x: x.mT),
    ("movedim", lambda x: x.movedim(0, 2)),
    ("narrow", lambda x: x.narrow(2, 1, 2)),
    ("select", lambda x: x.select(1, 1)),
    ("diagonal", lambda x: x.diagonal(1, 1, 2)),
    ("unfold", lambda x: x.unfold(2, 2, 2)),
    ("view_as", lambda x: x.view_as(x)),
    ("reshape_as", lambda x: x.reshape_as(x.view(6, 4))),
]


@pytest.mark.parametrize("case", VIEWS, ids=[c[0] for c in VIEWS])
def test_views_share_storage_and_version(case):
    _, fn = case
    outs = []
    for t in LIBS:
        x = t.arange(24.0).reshape(2, 3, 4).clone()
        v = fn(x)
        assert v._base is x
        before = ver(x)
        v.mul_(2)
        assert ver(x) > before and ver(v) == ver(x)
        x.add_(1)  # writes through the base show in the view
        outs.append((x.numpy().copy(), v.numpy().copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


@pytest.mark.parametrize("fn", [
    lambda t, x: x.split(2, 1),
    lambda t, x: x.split([1, 3], 1),
    lambda t, x: x.chunk(2, 2),
    lambda t, x: x.unbind(1),
    lambda t, x: t.tensor_split(x, [1], 2),
])
def test_multi_output_views(fn):
    outs = []
    for t in LIBS:
        x = t.arange(24.0).reshape(2, 4, 3).clone()
        pieces = fn(t, x)
        assert all(p._base is x for p in pieces)
        before = ver(x)
        pieces[-1].mul_(10)
        assert ver(x) > before and all(ver(p) == ver(x) for p in pieces)
        outs.append(x.numpy().copy())
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("fn", [
    lambda t, x: x.transpose(0, 1).reshape(-1),
    lambda t, x: x.flip(0),
    lambda t, x: x.roll(1),
    lambda t, x: x.repeat(1, 1),
    lambda t, x: t.cat([x]),
    lambda t, x: x.tril(),
    lambda t, x: x.diag(),
])
def test_copies_do_not_alias(fn):
    for t in LIBS:
        x = t.arange(6.0).reshape(2, 3).clone()
        y = fn(t, x)
        before = y.numpy().copy()
        x.add_(100)
        np.testing.assert_array_equal(y.numpy(), before)
        assert y._base is None


def test_view_possible_exactly_when_torch_says_so():
    """Random strided inputs and target shapes: view succeeds (sharing memory) iff torch's does."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        shape = tuple(int(s) for s in rng.integers(1, 4, rng.integers(1, 5)))
        arr = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        perm = tuple(int(p) for p in rng.permutation(len(shape)))
        dim = int(rng.integers(0, len(shape)))
        step = int(rng.integers(1, 3))
        pair = []
        for t in LIBS:
            x = t.tensor(arr).permute(perm)
            pair.append(t.tensor_split(x, [0], dim)[1] if step == 1 else x.unfold(dim, 1, step).squeeze(-1))
        n, target = pair[1].numel(), []
        for _ in range(int(rng.integers(0, 3))):
            d = int(rng.choice([d for d in range(1, n + 1) if n % d == 0]))
            target.append(d)
            n //= d
        target.insert(int(rng.integers(0, len(target) + 1)), n)
        results = []
        for x in pair:
            try:
                results.append(x.view(target))
            except RuntimeError as e:
                assert "view size is not compatible" in str(e)
                results.append(None)
        assert (results[0] is None) == (results[1] is None), (shape, perm, dim, step, target)
        if results[1] is not None:
            np.testing.assert_array_equal(results[0].numpy(), results[1].numpy())
            assert results[0]._base is pair[0]._base
            assert np.shares_memory(results[0].numpy(), pair[0].numpy())


def test_iteration_unbinds():
    x = disttorch.tensor(randn(3, 2))
    rows = list(x)
    assert len(rows) == 3 and all(r._base is x for r in rows)
    np.testing.assert_array_equal(rows[1].numpy(), x.numpy()[1])


def test_view_of_view_has_root_base():
    for t in LIBS:
        x = t.zeros(2, 3)
        v = x.t().unsqueeze(0).view(3, 2)
        assert v._base is x


def test_backward_through_inplace_on_view():
    grads = []
    for t in LIBS:
        a = t.tensor(randn(3, 4), requires_grad=True)
        b = a * 1.0
        b.t().narrow(0, 1, 2).mul_(3)
        b.select(0, 0).mul_(2)
        ((b * b).view(-1) * t.arange(12.0)).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_modified_view_invalidates_saved_base():
    msgs = []
    for t in LIBS:
        a = t.tensor(randn(3), requires_grad=True)
        b = a * 2
        c = b * b  # saves b
        b.view(3).mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
            c.sum().backward()
        msgs.append(str(info.value))


def test_inplace_on_view_of_leaf_errors():
    for t in LIBS:
        a = t.tensor(randn(3), requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            a.view(3).mul_(2)


# -- node names --------------------------------------------------------------------------------------
NAMES = [
    lambda t, x: x.view(6, 4),
    lambda t, x: x.reshape(-1),
    lambda t, x: x.transpose(0, 1).reshape(-1),
    lambda t, x: x.flatten(),
    lambda t, x: x.unflatten(0, (1, 2)),
    lambda t, x: x.unsqueeze(0).squeeze(),
    lambda t, x: x.squeeze(0),
    lambda t, x: x.squeeze((0,)),
    lambda t, x: x.unsqueeze(1),
    lambda t, x: x.transpose(0, 1),
    lambda t, x: x.mT,
    lambda t, x: x.permute(2, 0, 1),
    lambda t, x: x.movedim(0, 2),
    lambda t, x: x[0].t(),
    lambda t, x: x.unsqueeze(0).expand(2, 2, 3, 4),
    lambda t, x: x.repeat(1, 2, 1),
    lambda t, x: t.cat([x, x]),
    lambda t, x: t.stack([x, x]),
    lambda t, x: x.split(1)[0],
    lambda t, x: x.split([1, 1])[1],
    lambda t, x: x.chunk(2)[0],
    lambda t, x: x.unbind(1)[0],
    lambda t, x: x.narrow(1, 0, 2),
    lambda t, x: x.tensor_split(2)[0],
    lambda t, x: x.select(2, 0),
    lambda t, x: x.flip(0),
    lambda t, x: x.roll(1, 0),
    lambda t, x: x.rot90(),
    lambda t, x: x.tril(),
    lambda t, x: x.triu(),
    lambda t, x: x.diagonal(),
    lambda t, x: x.diag_embed(),
    lambda t, x: x.unfold(2, 2, 1),
]


@pytest.mark.parametrize("fn", NAMES)
def test_node_names(fn):
    names = []
    for t in LIBS:
        x = t.tensor(randn(2, 3, 4), requires_grad=True)
        names.append(fn(t, x).grad_fn.name())
    assert names[0] == names[1]


def test_returns_self_like_torch():
    for t in LIBS:
        x = t.zeros(2, 3)
        assert t.atleast_2d(x) is x and x.flatten(1, 1) is x
        y = t.zeros(3)
        assert t.broadcast_tensors(x, y)[0] is x


# -- dtype promotion and legacy rules of cat ---------------------------------------------------------
@pytest.mark.parametrize("arrays", [
    [np.ones((2, 2), np.int32), np.ones((2, 2)), np.array([[True, False], [True, True]])],
    [np.ones((1, 2), np.int64), np.ones((2, 2), np.float32)],
    [np.ones((1, 2), np.uint8), np.ones((2, 2), np.int8)],
    [np.ones(0, np.float64), np.ones((2, 2), np.float32)],
    [np.ones(0, np.float32), np.ones(0, np.float32)],
])
def test_cat_and_stack_promotion(arrays):
    check(lambda t, *xs: t.cat(xs), arrays, grad=False)
    if all(a.shape == arrays[0].shape for a in arrays):
        check(lambda t, *xs: t.stack(xs), arrays, grad=False)


def test_cat_out():
    res = []
    for t in LIBS:
        out = t.zeros(0)
        r = t.cat([t.ones(2), t.zeros(2)], out=out)
        assert r is out
        res.append(out.numpy().copy())
    np.testing.assert_array_equal(res[0], res[1])


# torch raises these warnings once per process, so only disttorch is checked here
def test_T_warns_off_matrices():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        _ = disttorch.zeros(2, 3).T
    assert not w
    for shape in [(3,), (2, 3, 4)]:
        with pytest.warns(UserWarning, match="The use of `x.T` on tensors of dimension other than 2"):
            _ = disttorch.zeros(*shape).T
    with pytest.warns(UserWarning, match="Tensor.T is deprecated on 0-D tensors"):
        _ = disttorch.zeros(()).T


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        disttorch.meshgrid(disttorch.zeros(2), disttorch.zeros(3))


def test_view_dtype_reinterprets_bytes():
    x = disttorch.tensor([1.0, -2.0])
    y = torch.tensor([1.0, -2.0])
    np.testing.assert_array_equal(x.view(disttorch.int32).numpy(), y.view(torch.int32).numpy())


# -- errors ------------------------------------------------------------------------------------------
ERRORS = [
    (lambda t, x: x.transpose(0, 1).view(-1), RuntimeError,
     r"view size is not compatible with input tensor's size and stride \(at least one dimension spans across two "
     r"contiguous subspaces\)\. Use \.reshape\(\.\.\.\) instead\."),
    (lambda t, x: t.arange(6.0).view(2, 5), RuntimeError, r"shape '\[2, 5\]' is invalid for input of size 6"),
    (lambda t, x: x.view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda t, x: x.reshape(5, -1), RuntimeError, r"shape '\[5, -1\]' is invalid for input of size 24"),
    (lambda t, x: t.zeros(0, 3).view(-1, 0), RuntimeError, "unspecified dimension size -1 can be any value"),
    (lambda t, x: x.t(), RuntimeError, r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda t, x: t.zeros(3).mT, RuntimeError, "tensor.mT is only supported on matrices or batches of matrices"),
    (lambda t, x: x.expand(3, 4), RuntimeError, r"expand\(torch.FloatTensor\{\[2, 3, 4\]\}, size=\[3, 4\]\): the "
     r"number of sizes provided \(2\) must be greater or equal to the number of dimensions in the tensor \(3\)"),
    (lambda t, x: x.expand(2, 5, 4), RuntimeError, r"The expanded size of the tensor \(5\) must match the existing "
     r"size \(3\) at non-singleton dimension 1.  Target sizes: \[2, 5, 4\].  Tensor sizes: \[2, 3, 4\]"),
    (lambda t, x: x.expand(-1, 2, 3, 4), RuntimeError, r"isn't allowed in a leading, non-existing dimension 0"),
    (lambda t, x: t.cat([t.zeros(2, 2), t.zeros(3, 3)], 1), RuntimeError, r"Sizes of tensors must match except "
     r"in dimension 1. Expected size 2 but got size 3 for tensor number 1 in the list."),
    (lambda t, x: t.cat([t.zeros(2, 2), t.zeros(2)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda t, x: t.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda t, x: t.cat([t.zeros(2, 2)], 2), IndexError, "Dimension out of range"),
    (lambda t, x: t.cat([t.tensor(1.0)]), RuntimeError, r"zero-dimensional tensor \(at position 0\) cannot be"),
    (lambda t, x: t.stack([t.zeros(2, 2), t.zeros(3, 2)]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 2\] at entry 0 and \[3, 2\] at entry 1"),
    (lambda t, x: t.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda t, x: x.narrow(0, 1, 2), RuntimeError, r"start \(1\) \+ length \(2\) exceeds dimension size \(2\)\."),
    (lambda t, x: x.narrow(0, 3, 0), IndexError, r"start out of range \(expected to be in range of \[-2, 2\]"),
    (lambda t, x: x.narrow(0, 0, -1), RuntimeError, "length must be non-negative"),
    (lambda t, x: x.select(0, 2), IndexError,
     r"select\(\): index 2 out of range for tensor of size \[2, 3, 4\] at dimension 0"),
    (lambda t, x: x.permute(0, 1), RuntimeError, r"input.dim\(\) = 3 is not equal to len\(dims\) = 2"),
    (lambda t, x: x.permute(0, 1, 1), RuntimeError, "duplicate dims are not allowed"),
    (lambda t, x: x.repeat(2), RuntimeError, "Number of dimensions of repeat dims can not be smaller"),
    (lambda t, x: x.split(0), RuntimeError, "split_size can only be 0 if dimension size is 0"),
    (lambda t, x: x.split([1, 2]), RuntimeError, r"split_with_sizes expects split_sizes to sum exactly to 2 "
     r"\(input tensor's size at dimension 0\), but got split_sizes=\[1, 2\]"),
    (lambda t, x: x.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda t, x: x.tensor_split(0), RuntimeError, "number of sections must be larger than 0, got 0"),
    (lambda t, x: t.hsplit(x, 2), RuntimeError, "the size of the dimension 3 is not divisible by the split_size 2"),
    (lambda t, x: x.unflatten(2, (3, -1)), RuntimeError,
     r"unflatten: Provided sizes \[3, -1\] don't multiply up to the size of dim 2 \(4\) in the input tensor"),
    (lambda t, x: x.flatten(2, 0), RuntimeError, "start_dim cannot come after end_dim"),
    (lambda t, x: x.movedim((0, 1), (0,)), RuntimeError, "movedim: Invalid source or destination dims"),
    (lambda t, x: x.movedim((0, 0), (1, 2)), RuntimeError, r"movedim: repeated dim in `source` \(\[0, 0\]\)"),
    (lambda t, x: x.unfold(2, 5, 1), RuntimeError, "maximum size for tensor at dimension 2 is 4 but size is 5"),
    (lambda t, x: x.unfold(2, 2, 0), RuntimeError, "step is 0 but must be > 0"),
    (lambda t, x: x.diag(), RuntimeError, r"diag\(\): Supports 1D or 2D tensors. Got 3D"),
    (lambda t, x: x.diagonal(0, 1, -2), RuntimeError, "diagonal dimensions cannot be identical 1, -2"),
    (lambda t, x: t.meshgrid(x, indexing="ij"), RuntimeError, "Expected 0D or 1D tensor in the tensor list"),
    (lambda t, x: t.meshgrid(t.zeros(2), indexing="xx"), RuntimeError, "indexing must be one of \"xy\" or \"ij\""),
    (lambda t, x: x.rot90(1, (0, 0)), RuntimeError, "expected rotation dims to be different"),
    (lambda t, x: x.rot90(1, (0, 1, 2)), RuntimeError, "expected total rotation dims == 2, but got dims = 3"),
    (lambda t, x: t.zeros(3).rot90(), RuntimeError, "expected total dims >= 2, but got total dims = 1"),
    (lambda t, x: x.roll((1, 2), (0,)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:1"),
    (lambda t, x: x.flip((0, -3)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda t, x: x.unsqueeze(4), IndexError, r"expected to be in range of \[-4, 3\], but got 4"),
    (lambda t, x: x.squeeze(3), IndexError, r"expected to be in range of \[-3, 2\], but got 3"),
    (lambda t, x: x.transpose(0, 3), IndexError, "Dimension out of range"),
    (lambda t, x: t.zeros(3).tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    (lambda t, x: t.zeros(3).fliplr(), RuntimeError, "Input must be >= 2-d."),
    (lambda t, x: t.broadcast_tensors(x, t.zeros(3, 3)), RuntimeError,
     r"The size of tensor a \(4\) must match the size of tensor b \(3\) at non-singleton dimension 2"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_match_torch(case):
    fn, exc, pattern = case
    for t in LIBS:
        x = t.tensor(randn(2, 3, 4))
        with pytest.raises(exc, match=pattern):
            fn(t, x)
