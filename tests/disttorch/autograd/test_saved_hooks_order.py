"""Saved-tensors hooks against real PyTorch on the same calls: which tensors each op packs, in which order and how
many times, what backward unpacks, the gradients under hooks, and the tensor-valued ``grad_fn._saved_*`` names."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")

SHAPES = {"a": (3, 4), "b": (3, 4), "p": (3, 4), "m": (4, 5), "v": (4,), "a3": (2, 3, 4), "m3": (2, 4, 5),
          "x4": (2, 2, 6, 6), "w": (3, 2, 3, 3), "bias": (3,), "W": (5, 4), "bb": (5,), "g": (4,), "be": (4,),
          "bw": (2,), "bbb": (2,)}


def _inputs(lib):
    rng = np.random.default_rng(0)
    out = {}
    for k, shape in SHAPES.items():
        arr = rng.standard_normal(shape)
        if k == "p":
            arr = np.abs(arr) + 0.5
        out[k] = lib.tensor(arr, requires_grad=True)
    return out


def _cases(lib):
    F = lib.nn.functional
    return {
        "mul": lambda t: t["a"] * t["b"], "mul_same": lambda t: t["a"] * t["a"], "mul_number": lambda t: t["a"] * 2,
        "mul_only_self": lambda t: t["a"] * t["b"].detach(), "mul_only_other": lambda t: t["a"].detach() * t["b"],
        "div": lambda t: t["a"] / t["p"], "div_number": lambda t: t["a"] / 2,
        "div_only_self": lambda t: t["a"] / t["p"].detach(), "div_only_other": lambda t: t["a"].detach() / t["p"],
        "matmul": lambda t: t["a"] @ t["m"], "mm": lambda t: lib.mm(t["a"], t["m"]),
        "mm_only_self": lambda t: t["a"] @ t["m"].detach(), "bmm": lambda t: lib.bmm(t["a3"], t["m3"]),
        "mv": lambda t: t["a"] @ t["v"], "dot": lambda t: t["v"].dot(t["v"] * 1), "vm": lambda t: t["v"] @ t["m"],
        "matmul_batched": lambda t: t["a3"] @ t["m3"], "addmm": lambda t: lib.addmm(t["bb"], t["a"], t["W"].T),
        "pow_number": lambda t: t["a"].pow(2), "pow_tensor": lambda t: t["p"].pow(t["b"]),
        "pow_tensor_only_self": lambda t: t["p"].pow(t["b"].detach()), "number_pow": lambda t: 2 ** t["a"],
        "sin": lambda t: t["a"].sin(), "cos": lambda t: t["a"].cos(), "exp": lambda t: t["a"].exp(),
        "log": lambda t: t["p"].log(), "relu": lambda t: t["a"].relu(), "sigmoid": lambda t: t["a"].sigmoid(),
        "tanh": lambda t: t["a"].tanh(), "sqrt": lambda t: t["p"].sqrt(), "abs": lambda t: t["a"].abs(),
        "linear": lambda t: F.linear(t["a"], t["W"]), "linear_bias": lambda t: F.linear(t["a"], t["W"], t["bb"]),
        "linear_frozen": lambda t: F.linear(t["a"], t["W"].detach(), t["bb"].detach()),
        "conv2d": lambda t: F.conv2d(t["x4"], t["w"]),
        "conv2d_bias": lambda t: F.conv2d(t["x4"], t["w"], t["bias"], padding=1),
        "sum": lambda t: t["a"].sum(), "mean": lambda t: t["a"].mean(), "sum_dim": lambda t: t["a"].sum(1),
        "add": lambda t: t["a"] + t["b"], "sub": lambda t: t["a"] - t["b"], "neg": lambda t: -t["a"],
        "softmax": lambda t: F.softmax(t["a"], 1), "log_softmax": lambda t: F.log_softmax(t["a"], 1),
        "gelu": lambda t: F.gelu(t["a"]), "silu": lambda t: F.silu(t["a"]),
        "leaky_relu": lambda t: F.leaky_relu(t["a"]),
        "mse_loss": lambda t: F.mse_loss(t["a"], t["b"]), "clamp": lambda t: t["a"].clamp(-0.5, 0.5),
        "amax": lambda t: t["a"].amax(1), "var": lambda t: t["a"].var(), "std": lambda t: t["a"].std(),
        "prod": lambda t: t["a"].prod(), "logsumexp": lambda t: t["a"].logsumexp(1),
        "atan2": lambda t: lib.atan2(t["a"], t["b"]), "maximum": lambda t: lib.maximum(t["a"], t["b"]),
        "minimum": lambda t: lib.minimum(t["a"], t["b"]), "hypot": lambda t: lib.hypot(t["a"], t["b"]),
        "addcmul": lambda t: lib.addcmul(t["a"], t["b"], t["p"]),
        "addcdiv": lambda t: lib.addcdiv(t["a"], t["b"], t["p"]),
        "lerp_number": lambda t: lib.lerp(t["a"], t["b"], 0.3),
        "lerp_tensor": lambda t: lib.lerp(t["a"], t["b"], t["p"]),
        "baddbmm": lambda t: lib.baddbmm(t["a3"][:, :, :1], t["a3"], t["m3"]),
        "layer_norm_inputs": lambda t: F.layer_norm(t["a"], (4,), t["g"], t["be"]),
        "transpose": lambda t: t["a"].t(), "reshape": lambda t: t["a"].reshape(12),
        "cat": lambda t: lib.cat([t["a"], t["b"]]),
    }


# layer_norm: PyTorch also packs its mean and rstd (kept as arrays here); only the inputs' part is compared
INPUTS_ONLY = {"layer_norm_inputs"}


def _label(t, inputs, output):
    """What a packed tensor is, by value: an input (or its transpose), the output, else its shape."""
    arr = t.detach().numpy()
    for k, x in inputs.items():
        xa = x.detach().numpy()
        if arr.shape == xa.shape and np.array_equal(arr, xa):
            return k
        if arr.ndim == 2 and arr.T.shape == xa.shape and np.array_equal(arr.T, xa):
            return k + ".T"
    if tuple(arr.shape) == tuple(output.shape) and np.array_equal(arr, output.detach().numpy()):
        return "out"
    return "shape" + str(tuple(arr.shape))


def _run(lib, name):
    inputs = _inputs(lib)
    packed, unpacked = [], []

    def pack(t):
        packed.append(t.detach().clone())
        return t.detach().clone()

    def unpack(t):
        unpacked.append(t)
        return t

    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = _cases(lib)[name](inputs)
    labels = [_label(t, inputs, y) for t in packed]
    grads = lib.autograd.grad(y.sum(), list(inputs.values()), allow_unused=True)
    return labels, [_label(t, inputs, y) for t in unpacked], y, dict(zip(inputs, grads))


@pytest.mark.parametrize("name", sorted(_cases(torch)))
def test_pack_order_and_count_as_pytorch(name):
    ours, theirs = _run(disttorch, name), _run(torch, name)
    if name in INPUTS_ONLY:
        keep = set(SHAPES)
        assert [x for x in ours[0] if x in keep] == [x for x in theirs[0] if x in keep]
    else:
        assert ours[0] == theirs[0]  # what was packed, in order
        left = list(theirs[1])  # backward unpacks each at most once (PyTorch unpacks all; here what is read)
        for x in ours[1]:
            assert x in left, (ours[1], theirs[1])
            left.remove(x)
    assert_close(ours[2], theirs[2], 1e-10, 1e-12)
    for k, g in theirs[3].items():  # the gradients through the hooks
        if g is None:
            assert ours[3][k] is None or not ours[3][k].abs().sum().item(), k
        else:
            assert_close(ours[3][k], g, 1e-10, 1e-12, what=k)


@pytest.mark.parametrize("name", ["mul", "div", "mm", "pow_tensor", "atan2", "maximum"])
def test_unpack_in_packing_order(name):
    ours, theirs = _run(disttorch, name), _run(torch, name)
    assert ours[1] == theirs[1]


def _tensor_saved_names(fn, lib):
    out = {}
    for k in dir(fn):
        if k.startswith("_saved_") and "_sym_" not in k:
            value = getattr(fn, k)
            if isinstance(value, lib.Tensor):
                out[k] = value
    return out


@pytest.mark.parametrize("name", sorted(set(_cases(torch)) - INPUTS_ONLY - {"vm", "matmul_batched", "dot"}))
def test_tensor_saved_names_as_pytorch(name):
    got = []
    for lib in (disttorch, torch):
        y = _cases(lib)[name](_inputs(lib))
        got.append(_tensor_saved_names(y.grad_fn, lib))
    ours, theirs = got
    assert set(ours) == set(theirs)
    for k in theirs:
        if name in ("mul_number", "div_number") and k == "_saved_other":  # PyTorch keeps the number's own type
            assert ours[k].item() == theirs[k].item()
            continue
        assert_close(ours[k], theirs[k], 1e-12, 1e-12, what=k)


def test_no_internal_slots_in_dir():
    y = disttorch.ones(2, requires_grad=True).exp() * 2
    names = [n for n in dir(y.grad_fn) if n.startswith("_saved_")]
    assert "_saved_in" not in names and "_saved_out" not in names
    assert sorted(names) == ["_saved_other", "_saved_self"]


@pytest.mark.parametrize("name,attrs", [("hardtanh", ("min_val", "max_val")), ("softplus", ("beta", "threshold")),
                                        ("cat", ("dim",)), ("leaky_relu", ("negative_slope",)),
                                        ("gelu", ("approximate",)), ("softmax", ("dim",)), ("pow", ("exponent",))])
def test_number_saved_values_as_pytorch(name, attrs):
    got = []
    for lib in (disttorch, torch):
        F = lib.nn.functional
        a = lib.tensor(np.linspace(-2, 2, 12).reshape(3, 4), requires_grad=True)
        y = {"hardtanh": lambda: F.hardtanh(a, -0.5, 1.5), "softplus": lambda: F.softplus(a, beta=2, threshold=10),
             "cat": lambda: lib.cat([a, a], 1), "leaky_relu": lambda: F.leaky_relu(a, 0.2),
             "gelu": lambda: F.gelu(a, approximate="tanh"), "softmax": lambda: a.softmax(1),
             "pow": lambda: a ** 3}[name]()
        got.append([getattr(y.grad_fn, "_saved_" + k) for k in attrs])
    assert got[0] == got[1]
