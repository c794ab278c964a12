"""F.pad, F.interpolate, F.one_hot, F.normalize, F.cosine_similarity, F.pairwise_distance against PyTorch."""
import numpy as np
import pytest
from oracle import check, randn

import disttorch

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


# -- pad ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,pad", [
    ((3,), (1, 2)), ((2, 3), (0, 1, 2, 0)), ((2, 3, 4), (1, 1)), ((2, 3, 4), (2, 1, 0, 3, 1, 1)),
    ((2, 3, 4, 5), (-1, 2, 1, -2)), ((2, 3), ()), ((2, 3, 4), (-1, -1)),
], ids=str)
@pytest.mark.parametrize("value", [None, 2.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_pad(shape, pad, value, dtype, device):
    check(lambda t, x: t.nn.functional.pad(x, pad, value=value), [randn(*shape, dtype=dtype)], device=device)


def test_constant_pad_integer_and_node_name():
    check(lambda t, x: t.nn.functional.pad(x, (1, 1), value=2.5), [np.arange(6).reshape(2, 3)])
    x = disttorch.randn(2, 3, requires_grad=True)
    assert disttorch.nn.functional.pad(x, (1, 1)).grad_fn.name() == "ConstantPadNdBackward0"


NONCONST = [((4, 5), (2, 1)), ((2, 4, 5), (1, 3)), ((2, 4, 5), (1, 2, 3, 1)), ((2, 3, 4, 5), (2, 1, 1, 3)),
            ((1, 2, 3, 4, 5), (1, 2, 2, 1, 1, 2)), ((2, 3, 4, 5, 4), (1, 1, 2, 0, 0, 3)), ((2, 3, 4, 5), (-1, 2, 1, 0))]


@pytest.mark.parametrize("shape,pad", NONCONST, ids=str)
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nonconstant_pad(shape, pad, mode, dtype, device):
    check(lambda t, x: t.nn.functional.pad(x, pad, mode=mode), [randn(*shape, dtype=dtype)], device=device)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_pad_node_names_and_gradcheck(mode):
    x = randn(1, 2, 4, 5, dtype=np.float64)
    for pad in ((1, 2), (1, 2, 2, 1)):
        xs = x[0] if len(pad) == 2 else x
        ours = disttorch.nn.functional.pad(disttorch.tensor(xs, requires_grad=True), pad, mode=mode)
        theirs = torch.nn.functional.pad(torch.tensor(xs, requires_grad=True), pad, mode=mode)
        assert ours.grad_fn.name() == theirs.grad_fn.name()
    xd = disttorch.tensor(x, requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda a: disttorch.nn.functional.pad(a, (2, 1, 1, 3), mode=mode), (xd,))
    assert disttorch.autograd.gradgradcheck(lambda a: disttorch.nn.functional.pad(a, (2, 1, 1, 3), mode=mode), (xd,))


def _same_error(fn, exc):
    with pytest.raises(exc) as theirs:
        fn(torch)
    with pytest.raises(exc) as ours:
        fn(disttorch)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("case,exc", [
    (lambda t: t.nn.functional.pad(t.randn(1, 1, 3, 3), (1,)), RuntimeError),
    (lambda t: t.nn.functional.pad(t.randn(1, 1, 3, 3), (1, 1) * 5), RuntimeError),
    (lambda t: t.nn.functional.pad(t.randn(1, 1, 3, 3), (3, 3, 1, 1), mode="reflect"), RuntimeError),
    (lambda t: t.nn.functional.pad(t.randn(2, 3, 3), (1, 1, 3, 3), mode="reflect"), RuntimeError),
    (lambda t: t.nn.functional.pad(t.randn(1, 1, 3, 3), (1, 1), mode="reflect"), NotImplementedError),
    (lambda t: t.nn.functional.pad(t.randn(2, 3, 3), (1, 1), mode="reflect", value=2.0), RuntimeError),
    (lambda t: t.nn.functional.pad(t.randn(2, 3, 3, 3), (4, 1, 1, 1), mode="circular"), RuntimeError),
    (lambda t: t.nn.functional.pad(t.randn(2, 3, 3), (1, 1), mode="foo"), NotImplementedError),
    (lambda t: t.nn.functional.pad(t.randn(2, 3, 3), (-2, -2)), RuntimeError),
], ids=["odd", "too_long", "reflect_size", "reflect_size_h", "dims", "value", "circular_wrap", "mode", "crop"])
def test_pad_errors(case, exc):
    _same_error(case, exc)


# -- interpolate ---------------------------------------------------------------------------------------------------
INTERP = [
    ("nearest", (2, 3, 4, 5), {"scale_factor": 2}),
    ("nearest", (2, 3, 4, 5), {"size": (7, 3)}),
    ("nearest", (2, 3, 4, 5), {"scale_factor": (0.5, 1.7)}),
    ("nearest", (2, 3, 5), {"size": 12}),
    ("nearest", (1, 2, 3, 4, 5), {"scale_factor": 1.5}),
    ("nearest-exact", (2, 3, 4, 5), {"size": (7, 3)}),
    ("nearest-exact", (2, 3, 4, 5), {"scale_factor": 2.5}),
    ("bilinear", (2, 3, 4, 5), {"scale_factor": 2}),
    ("bilinear", (2, 3, 4, 5), {"size": (7, 3)}),
    ("bilinear", (2, 3, 4, 5), {"scale_factor": (0.6, 1.3)}),
    ("bilinear", (2, 3, 4, 5), {"scale_factor": 1.7, "recompute_scale_factor": True}),
    ("bilinear", (2, 3, 4, 5), {"size": (1, 1)}),
    ("linear", (2, 3, 5), {"size": 11}),
    ("linear", (2, 3, 5), {"scale_factor": 0.5}),
    ("trilinear", (1, 2, 3, 4, 5), {"size": (4, 2, 7)}),
]


INTERP_CASES = [(m, s, dict(kw, align_corners=a)) for m, s, kw in INTERP
                for a in ([None] if m.startswith("nearest") else [False, True])]


@pytest.mark.parametrize("mode,shape,kw", INTERP_CASES, ids=[f"{m}-{k}" for m, _, k in INTERP_CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_interpolate(mode, shape, kw, dtype, device):
    check(lambda t, x: t.nn.functional.interpolate(x, mode=mode, **kw), [randn(*shape, dtype=dtype)], device=device)


def test_interpolate_node_names_and_gradcheck():
    x = randn(1, 2, 3, 4, dtype=np.float64)
    for kw in ({"scale_factor": 2}, {"scale_factor": 2, "mode": "bilinear"}, {"size": 5, "mode": "bilinear",
                                                                             "align_corners": True}):
        ours = disttorch.nn.functional.interpolate(disttorch.tensor(x, requires_grad=True), **kw)
        theirs = torch.nn.functional.interpolate(torch.tensor(x, requires_grad=True), **kw)
        assert ours.grad_fn.name() == theirs.grad_fn.name()
        xd = disttorch.tensor(x, requires_grad=True)
        assert disttorch.autograd.gradgradcheck(lambda a: disttorch.nn.functional.interpolate(a, **kw), (xd,))


@pytest.mark.parametrize("case,exc", [
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3), size=(2,)), ValueError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3), scale_factor=(2,)), ValueError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3)), ValueError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3), size=2, scale_factor=2), ValueError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3), size=2, align_corners=True), ValueError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 3, 3), size=2, mode="bilinear"), NotImplementedError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3), size=2, mode="linear"), NotImplementedError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3), size=2, mode="foo"), NotImplementedError),
    (lambda t: t.nn.functional.interpolate(t.randn(1, 1, 3, 3), size=2, recompute_scale_factor=True), ValueError),
], ids=["size_len", "scale_len", "neither", "both", "align_nearest", "bilinear_3d", "linear_4d", "mode", "recompute"])
def test_interpolate_errors(case, exc):
    _same_error(case, exc)


# -- one_hot ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("values,num_classes", [([0, 2, 1], -1), ([[0, 2], [3, 1]], 5), ([], 3), (2, 4)])
def test_one_hot(values, num_classes):
    check(lambda t, x: t.nn.functional.one_hot(x, num_classes), [np.array(values, dtype=np.int64)])


@pytest.mark.parametrize("case", [
    lambda t: t.nn.functional.one_hot(t.tensor([1, 2], dtype=t.int32)),
    lambda t: t.nn.functional.one_hot(t.tensor([1, -2])),
    lambda t: t.nn.functional.one_hot(t.tensor([1, 5]), 3),
    lambda t: t.nn.functional.one_hot(t.tensor([], dtype=t.long)),
], ids=["dtype", "negative", "too_large", "empty"])
def test_one_hot_errors(case):
    _same_error(case, RuntimeError)


# -- normalize and distances -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((4, 5), 0), ((2, 3, 4), -1), ((5,), 0)], ids=str)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
@pytest.mark.parametrize("dtype", DTYPES)
def test_normalize(shape, dim, p, dtype, device):
    check(lambda t, x: t.nn.functional.normalize(x, p, dim), [randn(*shape, dtype=dtype)], device=device)


def test_normalize_zero_rows_use_eps():
    x = np.zeros((2, 3), np.float32)
    x[1] = [1, 2, 3]
    check(lambda t, a: t.nn.functional.normalize(a, dim=1), [x])


@pytest.mark.parametrize("s1,s2,dim", [((4, 5), (4, 5), 1), ((4, 5), (1, 5), 1), ((2, 3, 4), (2, 3, 4), 0),
                                       ((3, 4), (3, 4), -1)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_similarity(s1, s2, dim, dtype, device):
    check(lambda t, a, b: t.nn.functional.cosine_similarity(a, b, dim),
          [randn(*s1, seed=1, dtype=dtype), randn(*s2, seed=2, dtype=dtype)], device=device)


@pytest.mark.parametrize("s1,s2", [((4, 5), (4, 5)), ((4, 5), (1, 5)), ((5,), (5,)), ((2, 3, 4), (2, 3, 4))], ids=str)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.5])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pairwise_distance(s1, s2, p, keepdim, dtype):
    check(lambda t, a, b: t.nn.functional.pairwise_distance(a, b, p, keepdim=keepdim),
          [randn(*s1, seed=1, dtype=dtype), randn(*s2, seed=2, dtype=dtype)])


def test_distance_gradchecks():
    F = disttorch.nn.functional
    a = disttorch.tensor(randn(3, 4, seed=1, dtype=np.float64), requires_grad=True)
    b = disttorch.tensor(randn(3, 4, seed=2, dtype=np.float64), requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda x: F.normalize(x, dim=1), (a,))
    assert disttorch.autograd.gradcheck(lambda x, y: F.cosine_similarity(x, y), (a, b))
    assert disttorch.autograd.gradcheck(lambda x, y: F.pairwise_distance(x, y), (a, b))
