"""Autocast's cast cache (a weight used twice in a region is cast once) and its promote-to-widest ops, against
PyTorch on cpu; the cuda promote list runs on cuda tensors (the cupy stand-in in CI)."""
import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _cast_node(out):
    """The ToCopy node through which ``out``'s op reached its weight."""
    return next(fn for fn, _ in out.grad_fn.next_functions if fn is not None and fn.name() == "ToCopyBackward0")


@pytest.mark.parametrize("cache_enabled", [True, False])
def test_weight_cast_once_per_region(cache_enabled):
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((3, 4)).astype("float32"), rng.standard_normal((2, 4)).astype("float32")
    grads = []
    for lib in (disttorch, torch):
        w, x = lib.tensor(w0, requires_grad=True), lib.tensor(x0)
        with lib.autocast("cpu", dtype=lib.bfloat16, cache_enabled=cache_enabled):
            a = lib.nn.functional.linear(x, w)
            b = lib.nn.functional.linear(x * 2, w)
        assert a.dtype == b.dtype == lib.bfloat16
        if lib is disttorch:  # PyTorch's linear goes through a transpose node first; disttorch's reads w itself
            assert (_cast_node(a) is _cast_node(b)) == cache_enabled
        (a.float().sum() + (b.float() ** 2).sum()).backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-2, atol=2e-2)


def test_cache_is_cleared_when_the_outermost_region_exits():
    w, x = disttorch.randn(3, 4, requires_grad=True), disttorch.randn(2, 4)
    with disttorch.autocast("cpu", dtype=disttorch.bfloat16):
        a = disttorch.nn.functional.linear(x, w)
        with disttorch.autocast("cpu", dtype=disttorch.bfloat16):
            b = disttorch.nn.functional.linear(x, w)
        c = disttorch.nn.functional.linear(x, w)  # the inner exit keeps the cache
        disttorch.clear_autocast_cache()
        d = disttorch.nn.functional.linear(x, w)
    with disttorch.autocast("cpu", dtype=disttorch.bfloat16):
        e = disttorch.nn.functional.linear(x, w)
    assert _cast_node(a) is _cast_node(b) is _cast_node(c)
    assert _cast_node(d) is not _cast_node(a) and _cast_node(e) is not _cast_node(d)


def test_only_fp32_leaves_that_require_grad_are_cached():
    w = disttorch.randn(3, 4, requires_grad=True)
    x = disttorch.randn(2, 4, requires_grad=True)
    with disttorch.autocast("cpu", dtype=disttorch.bfloat16):
        h = x * 1  # not a leaf: cast afresh each time
        a, b = disttorch.nn.functional.linear(h, w), disttorch.nn.functional.linear(h, w)
        first = [fn for fn, _ in a.grad_fn.next_functions if fn is not None]
        second = [fn for fn, _ in b.grad_fn.next_functions if fn is not None]
    assert first[0] is not second[0] and first[1] is second[1]  # the input's casts differ, the weight's is shared


def _promote_cases(lib, device):
    kw = dict(device=device)
    low = lib.bfloat16 if device == "cpu" else lib.float16  # cupy has no bfloat16
    a = lib.zeros(3, 2, dtype=low, **kw)
    s = lib.ones(2, 2, **kw)
    i = lib.tensor([0, 2], **kw)
    return {
        "index_copy": lambda: lib.index_copy(a, 0, i, s),
        "index_copy_method": lambda: a.index_copy(0, i, s),
        "index_add": lambda: lib.index_add(a, 0, i, s),
        "index_put": lambda: lib.index_put(a, (i,), s),
        "scatter_add": lambda: lib.scatter_add(a, 0, lib.zeros(2, 2, dtype=lib.long, **kw), s),
        "scatter": lambda: a.scatter(0, lib.zeros(2, 2, dtype=lib.long, **kw), s),
        "dot": lambda: lib.dot(a[:, 0], lib.ones(3, **kw)),
        "tensordot": lambda: lib.tensordot(a, lib.ones(2, 4, **kw), dims=1),
        "cross": lambda: lib.cross(lib.zeros(2, 3, dtype=low, **kw), lib.ones(2, 3, **kw), dim=1),
        "addcmul": lambda: lib.addcmul(a, s[:1], a),
        "atan2": lambda: lib.atan2(a, lib.ones(3, 2, **kw)),
        "cat": lambda: lib.cat([a, s]),
        "stack": lambda: lib.stack([a, lib.ones(3, 2, **kw)]),
    }


def _outcome(fn):
    try:
        return str(fn().dtype).split(".")[-1]
    except RuntimeError as e:
        return f"error: {e}"


@pytest.mark.parametrize("enabled", [False, True])
def test_promote_ops_on_cpu_as_pytorch(enabled):
    got = {}
    for lib in (disttorch, torch):
        with lib.autocast("cpu", dtype=lib.bfloat16, enabled=enabled):
            got[lib] = {k: _outcome(f) for k, f in _promote_cases(lib, "cpu").items()}
    assert got[disttorch] == got[torch]
    if enabled:
        assert got[disttorch]["index_copy"] == "float32"  # on cpu's promote list


def test_promote_ops_on_cuda(device):
    """PyTorch's cuda promote list: these run in the widest input dtype (outside autocast they refuse)."""
    if device != "cuda":
        pytest.skip("the cuda promote list is cuda's; cpu is checked against PyTorch above")
    with disttorch.autocast("cuda", dtype=disttorch.float16):
        got = {k: _outcome(f) for k, f in _promote_cases(disttorch, "cuda").items()}
    for op in ("index_put", "scatter_add", "dot", "tensordot", "cross", "addcmul", "atan2", "cat", "stack"):
        assert got[op] == "float32", (op, got[op])
    assert got["index_copy"].startswith("error: index_copy_(): self and source expected to have the same dtype")


# PyTorch's cuda float32 list: these run in float32 under autocast (the cpu list's are checked against PyTorch)
_CUDA_FP32 = {
    "exp": lambda L, x: L.exp(x), "expm1": lambda L, x: L.expm1(x), "log": lambda L, x: L.log(x),
    "log10": lambda L, x: L.log10(x), "log1p": lambda L, x: L.log1p(x), "log2": lambda L, x: L.log2(x),
    "reciprocal": lambda L, x: L.reciprocal(x), "rsqrt": lambda L, x: L.rsqrt(x), "acos": lambda L, x: L.acos(x),
    "asin": lambda L, x: L.asin(x), "cosh": lambda L, x: L.cosh(x), "sinh": lambda L, x: L.sinh(x),
    "tan": lambda L, x: L.tan(x), "erfinv": lambda L, x: L.erfinv(x), "pow": lambda L, x: L.pow(x, 2),
    "pow operator": lambda L, x: x ** 2.5, "sum": lambda L, x: L.sum(x), "sum method": lambda L, x: x.sum(1),
    "prod": lambda L, x: L.prod(x, 1), "softmax": lambda L, x: L.softmax(x, 1),
    "F.softmax": lambda L, x: L.nn.functional.softmax(x, 1),
    "F.log_softmax": lambda L, x: L.nn.functional.log_softmax(x, 1),
    "F.softmin": lambda L, x: L.nn.functional.softmin(x, 1), "norm": lambda L, x: L.norm(x),
    "dist": lambda L, x: L.dist(x, x * 2), "renorm": lambda L, x: L.renorm(x, 2, 0, 1.0),
    "pdist": lambda L, x: L.nn.functional.pdist(x), "cumsum": lambda L, x: L.cumsum(x, 1),
}


@pytest.mark.parametrize("name", list(_CUDA_FP32))
def test_cuda_fp32_list_runs_in_float32(name, device):
    if device != "cuda":
        pytest.skip("the list is cuda's; its cpu counterpart is checked against PyTorch")
    x = (disttorch.rand(3, 4, device="cuda") * 0.5 + 0.25).half()
    fn = _CUDA_FP32[name]
    assert fn(disttorch, x).dtype == disttorch.float16
    with disttorch.autocast("cuda", dtype=disttorch.float16):
        y = fn(disttorch, x)
    assert y.dtype == disttorch.float32, (name, y.dtype)
    np.testing.assert_allclose(y.cpu().numpy(), fn(disttorch, x.float()).cpu().numpy(), rtol=1e-6, atol=1e-6)


def test_explicit_dtype_is_kept_under_autocast(device):
    if device != "cuda":
        pytest.skip("the float32 list of sum/softmax is cuda's")
    x = disttorch.rand(3, 4, device="cuda").half()
    with disttorch.autocast("cuda", dtype=disttorch.float16):
        assert disttorch.softmax(x, 1, dtype=disttorch.float16).dtype == disttorch.float16
        assert x.sum(dtype=disttorch.float16).dtype == disttorch.float16


@pytest.mark.parametrize("name", ["prod", "sum", "exp", "softmax", "norm", "pow operator"])
def test_cpu_fp32_list_as_pytorch(name):
    x0 = np.random.default_rng(0).uniform(0.5, 1.0, (3, 4)).astype("float32")
    dts = []
    for lib in (disttorch, torch):
        with lib.autocast("cpu", dtype=lib.bfloat16):
            dts.append(str(_CUDA_FP32[name](lib, lib.tensor(x0).bfloat16()).dtype).split(".")[-1])
    assert dts[0] == dts[1]
