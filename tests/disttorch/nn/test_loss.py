"""Loss functions and loss layers against PyTorch: values, gradients of inputs and (soft) targets,
reductions, weights, ignore_index, label smoothing, N-d inputs, higher-order gradients, errors."""
import warnings

import numpy as np
import pytest
from oracle import check, randn

import disttorch

torch = pytest.importorskip("torch")

REDUCTIONS = ["none", "mean", "sum"]
DTYPES = [np.float32, np.float64]


def _probs(*shape, seed=0, dtype=np.float32):
    return (1 / (1 + np.exp(-randn(*shape, seed=seed, dtype=np.float64)))).astype(dtype)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# -- regression losses ---------------------------------------------------------------------------------------
REGRESSION = [
    ("mse", lambda F, x, y, r: F.mse_loss(x, y, reduction=r)),
    ("l1", lambda F, x, y, r: F.l1_loss(x, y, reduction=r)),
    ("smooth_l1", lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r)),
    ("smooth_l1_beta", lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.3)),
    ("smooth_l1_beta0", lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.0)),
    ("huber", lambda F, x, y, r: F.huber_loss(x, y, reduction=r)),
    ("huber_delta", lambda F, x, y, r: F.huber_loss(x, y, reduction=r, delta=0.4)),
    ("soft_margin", lambda F, x, y, r: F.soft_margin_loss(x, y.detach().sign(), reduction=r)),
    ("poisson_nll", lambda F, x, y, r: F.poisson_nll_loss(x, y.abs(), reduction=r)),
    ("poisson_nll_full", lambda F, x, y, r: F.poisson_nll_loss(x.abs() + 0.1, y.abs() * 3, log_input=False,
                                                               full=True, reduction=r)),
    ("gaussian_nll", lambda F, x, y, r: F.gaussian_nll_loss(x, y, (x * y).abs() + 0.1, reduction=r)),
    ("gaussian_nll_float", lambda F, x, y, r: F.gaussian_nll_loss(x, y, 0.5, full=True, reduction=r)),
    ("hinge_embedding", lambda F, x, y, r: F.hinge_embedding_loss(x, y.sign(), reduction=r)),
    ("multilabel_soft_margin", lambda F, x, y, r: F.multilabel_soft_margin_loss(x, (y > 0).to(x.dtype),
                                                                              reduction=r)),
]


@pytest.mark.parametrize("name,fn", REGRESSION, ids=[r[0] for r in REGRESSION])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_losses(name, fn, reduction, shape, dtype, device):
    check(lambda t, x, y: fn(t.nn.functional, x, y, reduction),
          [randn(*shape, seed=1, dtype=dtype), randn(*shape, seed=2, dtype=dtype)], device=device)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_losses(name, reduction):
    w = np.abs(randn(3, 4, seed=3)) + 0.1
    check(lambda t, x, y, w: getattr(t.nn.functional, name)(x, y, reduction=reduction, weight=w),
          [randn(3, 4, seed=1), randn(3, 4, seed=2), w])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_broadcast_target_warns_like_torch(name):
    x, y = randn(3, 1), randn(3, seed=1)
    with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[3\]\)\) that is different to the "
                                         r"input size \(torch.Size\(\[3, 1\]\)\)"):
        check(lambda t, a, b: getattr(t.nn.functional, name)(a, b), [x, y])


def test_mse_promotes_and_node_names():
    check(lambda t, x, y: t.nn.functional.mse_loss(x, y), [randn(4), randn(4, seed=1, dtype=np.float64)])
    x = randn(3, 4)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy_with_logits"):
        for r in REDUCTIONS:
            ours = getattr(disttorch.nn.functional, name)(disttorch.tensor(x, requires_grad=True),
                                                          disttorch.tensor(_probs(3, 4)), reduction=r)
            theirs = getattr(torch.nn.functional, name)(torch.tensor(x, requires_grad=True),
                                                        torch.tensor(_probs(3, 4)), reduction=r)
            assert ours.grad_fn.name() == theirs.grad_fn.name(), (name, r)


def test_regression_errors():
    F = disttorch.nn.functional
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values for beta."):
        F.smooth_l1_loss(disttorch.randn(3), disttorch.randn(3), beta=-1)
    with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta."):
        F.huber_loss(disttorch.randn(3), disttorch.randn(3), delta=0)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(disttorch.randn(3), disttorch.randn(3), reduction="foo")
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        F.mse_loss(disttorch.randn(3), disttorch.randn(3), weight=disttorch.ones(2))
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(disttorch.randn(3), disttorch.randn(3), -1.0)


def test_legacy_size_average_reduce():
    with pytest.raises(RuntimeError, match="'soft_margin_loss' is not differentiable with respect to argument"):
        disttorch.nn.functional.soft_margin_loss(disttorch.randn(3), disttorch.randn(3, requires_grad=True))
    x, y = randn(3, 4), randn(3, 4, seed=1)
    for kw in ({"size_average": False}, {"reduce": False}, {"size_average": True, "reduce": True}):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            check(lambda t, a, b: t.nn.functional.mse_loss(a, b, **kw), [x, y])


# -- binary cross entropy --------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, (4,), (3, 4)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy(reduction, weight, dtype):
    arrays = [_probs(3, 4, seed=1, dtype=dtype), _probs(3, 4, seed=2, dtype=dtype)]
    if weight is not None:
        arrays.append(np.abs(randn(*weight, seed=3, dtype=dtype)))
    check(lambda t, x, y, *w: t.nn.functional.binary_cross_entropy(x, y, *w, reduction=reduction), arrays,
          grad=[True, True, False])


def test_binary_cross_entropy_clamps_log():
    x = np.array([0.0, 1.0, 0.5, 1e-30], np.float32)
    y = np.array([1.0, 0.0, 0.5, 1.0], np.float32)
    check(lambda t, a, b: t.nn.functional.binary_cross_entropy(a, b, reduction="none"), [x, y], grad=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [None, (4,), (3, 4)], ids=str)
@pytest.mark.parametrize("weight", [None, (4,)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits(reduction, pos_weight, weight, dtype):
    x = randn(3, 4, seed=1, dtype=dtype) * 5
    y = _probs(3, 4, seed=2, dtype=dtype)
    w = np.abs(randn(*weight, seed=3, dtype=dtype)) if weight else None
    pw = np.abs(randn(*pos_weight, seed=4, dtype=dtype)) if pos_weight else None
    arrays = [x, y] + [a for a in (w, pw) if a is not None]

    def fn(t, x, y, *rest):
        rest = list(rest)
        kw = {"weight": rest.pop(0) if w is not None else None, "pos_weight": rest.pop(0) if pw is not None else None}
        return t.nn.functional.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kw)

    check(fn, arrays, grad=[True, True, False, False])


def test_bce_with_logits_is_stable_for_large_logits():
    x = np.array([-200.0, -50.0, 50.0, 200.0], np.float32)
    y = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    check(lambda t, a, b: t.nn.functional.binary_cross_entropy_with_logits(a, b, reduction="none"), [x, y])


def test_bce_errors():
    F = disttorch.nn.functional
    with pytest.raises(ValueError, match=r"Using a target size \(torch.Size\(\[3\]\)\) that is different to the input "
                                         r"size \(torch.Size\(\[3, 1\]\)\) is deprecated. Please ensure they have the "
                                         "same size."):
        F.binary_cross_entropy(disttorch.rand(3, 1), disttorch.rand(3))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(disttorch.rand(3) + 1, disttorch.rand(3))
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[3\]\)\) must be the same as input size "
                                         r"\(torch.Size\(\[3, 1\]\)\)"):
        F.binary_cross_entropy_with_logits(disttorch.rand(3, 1), disttorch.rand(3))


# -- cross entropy / nll -----------------------------------------------------------------------------------------
def _targets(shape, C, seed, ignore=None):
    t = np.random.default_rng(seed).integers(0, C, size=shape).astype(np.int64)
    if ignore is not None and t.size:
        t.reshape(-1)[:: 3] = ignore
    return t


CE_SHAPES = [((6, 5), (6,)), ((5,), ()), ((2, 4, 3), (2, 3)), ((2, 3, 4, 5), (2, 4, 5)),
             ((2, 3, 2, 2, 2), (2, 2, 2, 2))]


@pytest.mark.parametrize("shapes", CE_SHAPES, ids=lambda s: str(s[0]))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore", [None, 1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_class_indices(shapes, reduction, weighted, smoothing, ignore, dtype, device):
    xshape, tshape = shapes
    C = xshape[1] if len(xshape) > 1 else xshape[0]
    x = randn(*xshape, seed=1, dtype=dtype) * 2
    target = _targets(tshape, C, 2, ignore)
    arrays = [x, target] + ([np.abs(randn(C, seed=3, dtype=dtype)) + 0.1] if weighted else [])
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if ignore is not None:
        kw["ignore_index"] = ignore
    check(lambda t, x, y, *w: t.nn.functional.cross_entropy(x, y, *w, **kw), arrays, device=device,
          grad=[True, False, False])


@pytest.mark.parametrize("shapes", CE_SHAPES[:4], ids=lambda s: str(s[0]))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, 2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss(shapes, reduction, weighted, ignore, dtype):
    xshape, tshape = shapes
    C = xshape[1] if len(xshape) > 1 else xshape[0]
    x = randn(*xshape, seed=1, dtype=dtype)
    arrays = [x, _targets(tshape, C, 2, ignore)] + ([np.abs(randn(C, seed=3, dtype=dtype))] if weighted else [])
    kw = {"reduction": reduction} | ({"ignore_index": ignore} if ignore is not None else {})
    check(lambda t, x, y, *w: t.nn.functional.nll_loss(x, y, *w, **kw), arrays, grad=[True, False, False])


@pytest.mark.parametrize("shape", [(6, 5), (5,), (2, 3, 4, 5)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_probabilities(shape, reduction, weighted, smoothing, dtype):
    C = shape[1] if len(shape) > 1 else shape[0]
    x = randn(*shape, seed=1, dtype=dtype)
    p = _softmax(randn(*shape, seed=2, dtype=dtype), 1 if len(shape) > 1 else 0).astype(dtype)
    arrays = [x, p] + ([np.abs(randn(C, seed=3, dtype=dtype))] if weighted else [])
    check(lambda t, x, y, *w: t.nn.functional.cross_entropy(x, y, *w, reduction=reduction, label_smoothing=smoothing),
          arrays, grad=[True, True, False])


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = randn(3, 4)
    y = np.full(3, -100, np.int64)
    check(lambda t, a, b: t.nn.functional.cross_entropy(a, b), [x, y], grad=False)
    check(lambda t, a, b: t.nn.functional.cross_entropy(a, b, reduction="sum"), [x, y])


def test_cross_entropy_extreme_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-np.inf, 0.0, 1.0]], np.float32)
    check(lambda t, a, b: t.nn.functional.cross_entropy(a, b, reduction="none"), [x, np.array([1, 2])])


def test_cross_entropy_node_names_and_uint8_targets():
    for xshape, tshape in CE_SHAPES[:4]:
        C = xshape[1] if len(xshape) > 1 else xshape[0]
        x, y = randn(*xshape), _targets(tshape, C, 0)
        ours = disttorch.nn.functional.cross_entropy(disttorch.tensor(x, requires_grad=True), disttorch.tensor(y))
        theirs = torch.nn.functional.cross_entropy(torch.tensor(x, requires_grad=True), torch.tensor(y))
        assert ours.grad_fn.name() == theirs.grad_fn.name()
    y8 = _targets((4,), 3, 1).astype(np.uint8)
    check(lambda t, a, b: t.nn.functional.cross_entropy(a, b), [randn(4, 3), y8], grad=[True, False])


def test_cross_entropy_gradcheck_and_double_backward():
    x = randn(4, 5, seed=1, dtype=np.float64)
    y = _targets((4,), 5, 2, ignore=3)
    w = np.abs(randn(5, seed=3, dtype=np.float64)) + 0.1
    yd, wd = disttorch.tensor(y), disttorch.tensor(w)
    F = disttorch.nn.functional
    assert disttorch.autograd.gradcheck(lambda a: F.cross_entropy(a, yd, wd, ignore_index=3, label_smoothing=0.1),
                                        (disttorch.tensor(x, requires_grad=True),))
    assert disttorch.autograd.gradgradcheck(lambda a: F.cross_entropy(a, yd, wd, label_smoothing=0.1,
                                                                      reduction="none"),
                                            (disttorch.tensor(x, requires_grad=True),))
    p = _softmax(randn(4, 5, seed=5, dtype=np.float64), 1)
    assert disttorch.autograd.gradgradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2),
                                            (disttorch.tensor(x, requires_grad=True),
                                             disttorch.tensor(p, requires_grad=True)))
    assert disttorch.autograd.gradgradcheck(lambda a: F.nll_loss(a, yd, wd),
                                            (disttorch.tensor(x, requires_grad=True),))
    assert disttorch.autograd.gradcheck(lambda a, b: F.binary_cross_entropy(a, b),
                                        (disttorch.tensor(_probs(3, 2, dtype=np.float64), requires_grad=True),
                                         disttorch.tensor(_probs(3, 2, seed=1, dtype=np.float64), requires_grad=True)))
    assert disttorch.autograd.gradgradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=disttorch.tensor([2.0, 0.5],
                                                                                         dtype=disttorch.float64)),
        (disttorch.tensor(x[:3, :2].copy(), requires_grad=True),
         disttorch.tensor(_probs(3, 2, seed=1, dtype=np.float64), requires_grad=True)))
    for name in ("mse_loss", "smooth_l1_loss", "huber_loss"):
        assert disttorch.autograd.gradgradcheck(lambda a, b: getattr(F, name)(a, b, reduction="sum"),
                                                (disttorch.tensor(x, requires_grad=True),
                                                 disttorch.tensor(x[::-1].copy(), requires_grad=True)))


def _raises_like_torch(fn, exc):
    with pytest.raises(exc) as theirs:
        fn(torch)
    with pytest.raises(exc) as ours:
        fn(disttorch)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("case", [
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.tensor([0, 1, 2, 3])),
    lambda t: t.nn.functional.nll_loss(t.randn(3, 5), t.tensor([0, 1, 2, 3])),
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.tensor([0, 1, 7])),
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.tensor([0, -3, 1])),
], ids=["batch", "nll_batch", "bounds_high", "bounds_low"])
def test_class_target_value_and_index_errors(case):
    try:
        case(torch)
    except Exception as e:
        _raises_like_torch(case, type(e))


@pytest.mark.parametrize("case", [
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.randn(3)),
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.tensor([0, 1, 2], dtype=t.int32)),
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.randint(0, 5, (3, 5))),
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.tensor([0, 1, 2]), weight=t.ones(4)),
    lambda t: t.nn.functional.cross_entropy(t.randn(2, 3, 4, 5), t.randint(0, 3, (2, 4, 4))),
    lambda t: t.nn.functional.cross_entropy(t.randn(2, 3, 4, 5), t.randint(0, 3, (2, 4))),
    lambda t: t.nn.functional.nll_loss(t.randn(3, 5, 2), t.tensor([2, 1, 0])),
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.rand(3, 5), ignore_index=1),
    lambda t: t.nn.functional.cross_entropy(t.randn(3, 5), t.tensor([0, 1, 2]), label_smoothing=1.5),
], ids=["float_target", "int32_target", "long_probs", "weight_size", "size_mismatch_2d", "target_dims_2d",
        "target_size_nd", "probs_ignore", "smoothing_range"])
def test_class_target_runtime_errors(case):
    _raises_like_torch(case, RuntimeError)


# -- kl_div and the margin family ----------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_div(reduction, log_target, dtype):
    logq = np.log(_softmax(randn(3, 4, seed=1, dtype=dtype), 1)).astype(dtype)
    p = _softmax(randn(3, 4, seed=2, dtype=dtype), 1).astype(dtype)
    p[0, 0] = 0  # xlogy(0, 0) = 0
    target = np.log(p + 1e-3).astype(dtype) if log_target else p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda t, x, y: t.nn.functional.kl_div(x, y, reduction=reduction, log_target=log_target),
              [logq, target])


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both the batch size"):
        disttorch.nn.functional.kl_div(disttorch.randn(2, 3), disttorch.rand(2, 3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_family(reduction):
    a, b, c = randn(4, 5, seed=1), randn(4, 5, seed=2), randn(4, 5, seed=3)
    y = np.array([1.0, -1.0, 1.0, -1.0], np.float32)
    ranks = randn(4, seed=4)

    def fn(name, **kw):
        return lambda t, *xs: getattr(t.nn.functional, name)(*xs, reduction=reduction, **kw)

    check(fn("margin_ranking_loss", margin=0.2), [ranks, randn(4, seed=5), y])
    check(fn("cosine_embedding_loss", margin=0.1), [a, b, y])
    check(fn("triplet_margin_loss"), [a, b, c])
    check(fn("triplet_margin_loss", p=1, swap=True, margin=2.0), [a, b, c])
    check(fn("triplet_margin_with_distance_loss", margin=2.0), [a, b, c])
    check(fn("multi_margin_loss"), [a, np.array([0, 4, 2, 1])], grad=[True, False])
    check(fn("multi_margin_loss", margin=0.3), [a[0], np.array(3)], grad=[True, False])
    check(lambda t, x, y, w: t.nn.functional.multi_margin_loss(x, y, p=2, margin=0.5, weight=w, reduction=reduction),
          [a, np.array([0, 4, 2, 1]), np.abs(randn(5))], grad=[True, False, False])


# -- loss modules ---------------------------------------------------------------------------------------------------
MODULES = [
    ("MSELoss", {}, "reg"), ("MSELoss", {"reduction": "sum"}, "reg"), ("L1Loss", {"reduction": "none"}, "reg"),
    ("SmoothL1Loss", {"beta": 0.5}, "reg"), ("HuberLoss", {"delta": 0.5}, "reg"),
    ("BCELoss", {}, "prob"), ("BCELoss", {"weight": (4,)}, "prob"), ("BCEWithLogitsLoss", {}, "prob"),
    ("BCEWithLogitsLoss", {"pos_weight": (4,), "weight": (4,)}, "prob"),
    ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
    ("KLDivLoss", {"log_target": True, "reduction": "sum"}, "kl"),
    ("CrossEntropyLoss", {}, "cls"), ("CrossEntropyLoss", {"weight": (4,), "ignore_index": 1}, "cls"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "reduction": "sum"}, "cls"),
    ("NLLLoss", {}, "cls"), ("NLLLoss", {"weight": (4,), "reduction": "none"}, "cls"),
    ("SoftMarginLoss", {}, "sign"), ("HingeEmbeddingLoss", {"margin": 0.5}, "sign"),
    ("MultiLabelSoftMarginLoss", {}, "prob"), ("PoissonNLLLoss", {}, "prob"), ("GaussianNLLLoss", {}, "gauss"),
    ("MarginRankingLoss", {"margin": 0.1}, "rank"), ("CosineEmbeddingLoss", {}, "pair"),
    ("TripletMarginLoss", {"margin": 0.5}, "triplet"),
    ("TripletMarginWithDistanceLoss", {"swap": True, "distance_function": "pd"}, "triplet"),
    ("MultiMarginLoss", {}, "mm"),
]


@pytest.mark.parametrize("name,kwargs,kind", MODULES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_loss_module_matches_torch(name, kwargs, kind):
    kw_o, kw_t = {}, {}
    for k, v in kwargs.items():
        if v == "pd":
            kw_o[k], kw_t[k] = disttorch.nn.functional.pairwise_distance, torch.nn.functional.pairwise_distance
        elif isinstance(v, tuple):
            arr = np.abs(randn(*v, seed=11)) + 0.1
            kw_o[k], kw_t[k] = disttorch.tensor(arr), torch.tensor(arr)
        else:
            kw_o[k] = kw_t[k] = v
    ours, theirs = getattr(disttorch.nn, name)(**kw_o), getattr(torch.nn, name)(**kw_t)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    x = randn(3, 4, seed=1)
    y = {"reg": randn(3, 4, seed=2), "prob": _probs(3, 4, seed=2), "sign": np.sign(randn(3, 4, seed=2)),
         "kl": _softmax(randn(3, 4, seed=2), 1), "cls": np.array([0, 1, 3]),
         "gauss": randn(3, 4, seed=2)}.get(kind)
    if kind == "prob" and name.startswith("BCELoss"):
        x = _probs(3, 4, seed=1)
    if kind == "kl":
        x = np.log(_softmax(x, 1))
    if kind == "gauss":
        arrays = [x, y, np.abs(randn(3, 4, seed=3)) + 0.1]
    elif kind == "rank":
        arrays = [randn(3, seed=1), randn(3, seed=2), np.array([1.0, -1.0, 1.0], np.float32)]
    elif kind == "pair":
        arrays = [x, randn(3, 4, seed=2), np.array([1.0, -1.0, 1.0], np.float32)]
    elif kind == "triplet":
        arrays = [x, randn(3, 4, seed=2), randn(3, 4, seed=3)]
    elif kind == "mm":
        arrays = [x, np.array([0, 3, 2])]
    else:
        arrays = [x, y]
    grad = [np.asarray(a).dtype.kind == "f" and (i == 0 or kind not in ("cls", "mm", "sign"))
            for i, a in enumerate(arrays)]
    check(lambda t, *xs: (ours if t is disttorch else theirs)(*xs), arrays, grad=grad)
