"""The node names users see — ``type(y.grad_fn).__name__`` (what graph viewers print), ``y.grad_fn.name()`` and
``repr`` — against real PyTorch for the same call, over ~170 common ops, plus custom Functions and leaves."""

from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

SHAPES = {
    "a": (3, 4),
    "b": (3, 4),
    "p": (3, 4),
    "m": (4, 5),
    "v": (4,),
    "a3": (2, 3, 4),
    "m3": (2, 4, 5),
    "x4": (2, 2, 6, 6),
    "w": (3, 2, 3, 3),
    "bias": (3,),
    "W": (5, 4),
    "bb": (5,),
    "g": (4,),
    "be": (4,),
    "bw": (2,),
    "bbb": (2,),
    "x3": (2, 2, 7),
    "w1": (3, 2, 3),
}


def _inputs(lib):
    rng = np.random.default_rng(0)
    out = {}
    for k, shape in SHAPES.items():
        arr = rng.standard_normal(shape)
        if k == "p":
            arr = np.abs(arr) + 0.5
        out[k] = lib.tensor(arr, requires_grad=True)
    return out


def _ops(lib):
    F = lib.nn.functional
    return {
        "add": lambda t: t["a"] + t["b"],
        "add_number": lambda t: t["a"] + 1,
        "radd": lambda t: 1 + t["a"],
        "sub": lambda t: t["a"] - t["b"],
        "rsub": lambda t: 1 - t["a"],
        "mul": lambda t: t["a"] * t["b"],
        "mul_number": lambda t: t["a"] * 2,
        "div": lambda t: t["a"] / t["p"],
        "div_number": lambda t: t["a"] / 2,
        "rdiv": lambda t: 2 / t["p"],
        "neg": lambda t: -t["a"],
        "pow_number": lambda t: t["a"] ** 2,
        "pow_tensor": lambda t: t["p"] ** t["b"],
        "rpow": lambda t: 2 ** t["a"],
        "pow_half": lambda t: t["p"] ** 0.5,
        "exp": lambda t: t["a"].exp(),
        "exp2": lambda t: t["a"].exp2(),
        "expm1": lambda t: t["a"].expm1(),
        "log": lambda t: t["p"].log(),
        "log2": lambda t: t["p"].log2(),
        "log10": lambda t: t["p"].log10(),
        "log1p": lambda t: t["p"].log1p(),
        "sqrt": lambda t: t["p"].sqrt(),
        "rsqrt": lambda t: t["p"].rsqrt(),
        "sin": lambda t: t["a"].sin(),
        "cos": lambda t: t["a"].cos(),
        "tan": lambda t: t["a"].tan(),
        "asin": lambda t: (t["a"] * 0.1).asin(),
        "acos": lambda t: (t["a"] * 0.1).acos(),
        "atan": lambda t: t["a"].atan(),
        "sinh": lambda t: t["a"].sinh(),
        "cosh": lambda t: t["a"].cosh(),
        "tanh": lambda t: t["a"].tanh(),
        "asinh": lambda t: t["a"].asinh(),
        "atanh": lambda t: (t["a"] * 0.1).atanh(),
        "sigmoid": lambda t: t["a"].sigmoid(),
        "abs": lambda t: t["a"].abs(),
        "sign": lambda t: t["a"].sign(),
        "square": lambda t: t["a"].square(),
        "reciprocal": lambda t: t["p"].reciprocal(),
        "erf": lambda t: t["a"].erf(),
        "erfc": lambda t: t["a"].erfc(),
        "erfinv": lambda t: (t["a"] * 0.1).erfinv(),
        "lgamma": lambda t: t["p"].lgamma(),
        "digamma": lambda t: t["p"].digamma(),
        "floor": lambda t: t["a"].floor(),
        "ceil": lambda t: t["a"].ceil(),
        "round": lambda t: t["a"].round(),
        "trunc": lambda t: t["a"].trunc(),
        "frac": lambda t: t["a"].frac(),
        "clamp": lambda t: t["a"].clamp(-0.5, 0.5),
        "clamp_min": lambda t: t["a"].clamp(min=0),
        "clamp_tensor": lambda t: t["a"].clamp(t["b"], None),
        "relu": lambda t: t["a"].relu(),
        "sum": lambda t: t["a"].sum(),
        "sum_dim": lambda t: t["a"].sum(1),
        "mean": lambda t: t["a"].mean(),
        "mean_dim": lambda t: t["a"].mean(0),
        "prod": lambda t: t["a"].prod(),
        "prod_dim": lambda t: t["a"].prod(1),
        "max": lambda t: t["a"].max(),
        "max_dim": lambda t: t["a"].max(1)[0],
        "min": lambda t: t["a"].min(),
        "amax": lambda t: t["a"].amax(1),
        "amin": lambda t: t["a"].amin(1),
        "var": lambda t: t["a"].var(),
        "std_dim": lambda t: t["a"].std(1),
        "norm": lambda t: t["a"].norm(),
        "logsumexp": lambda t: t["a"].logsumexp(1),
        "cumsum": lambda t: t["a"].cumsum(1),
        "cumprod": lambda t: t["a"].cumprod(1),
        "softmax": lambda t: t["a"].softmax(1),
        "log_softmax": lambda t: t["a"].log_softmax(1),
        "matmul": lambda t: t["a"] @ t["m"],
        "mv": lambda t: t["a"] @ t["v"],
        "dot": lambda t: t["v"].dot(t["v"]),
        "vm": lambda t: t["v"] @ t["m"],
        "bmm": lambda t: lib.bmm(t["a3"], t["m3"]),
        "matmul_batched": lambda t: t["a3"] @ t["m3"],
        "matmul_3d_2d": lambda t: t["a3"] @ t["m"],
        "addmm": lambda t: lib.addmm(t["bb"], t["a"], t["W"].T),
        "outer": lambda t: lib.outer(t["v"], t["v"]),
        "einsum": lambda t: lib.einsum("ij,jk->ik", t["a"], t["m"]),
        "t": lambda t: t["a"].t(),
        "transpose": lambda t: t["a3"].transpose(0, 2),
        "permute": lambda t: t["a3"].permute(2, 0, 1),
        "view": lambda t: t["a"].view(12),
        "reshape_copy": lambda t: t["a"].t().reshape(12),
        "flatten": lambda t: t["a3"].flatten(),
        "unsqueeze": lambda t: t["a"].unsqueeze(0),
        "squeeze": lambda t: t["a"].unsqueeze(0).squeeze(),
        "squeeze_dim": lambda t: t["a"].unsqueeze(0).squeeze(0),
        "expand": lambda t: t["v"].expand(3, 4),
        "repeat": lambda t: t["a"].repeat(2, 1),
        "index_int": lambda t: t["a"][0],
        "slice": lambda t: t["a"][1:],
        "index_tensor": lambda t: t["a"][lib.tensor([0, 2])],
        "masked_select": lambda t: t["a"][t["a"] > 0],
        "narrow": lambda t: t["a"].narrow(1, 0, 2),
        "select": lambda t: t["a"].select(1, 0),
        "cat": lambda t: lib.cat([t["a"], t["b"]]),
        "stack": lambda t: lib.stack([t["a"], t["b"]]),
        "split": lambda t: t["a"].split(2, 1)[0],
        "chunk": lambda t: t["a"].chunk(2, 1)[1],
        "unbind": lambda t: t["a"].unbind(0)[0],
        "gather": lambda t: t["a"].gather(1, lib.tensor([[0], [1], [2]])),
        "where": lambda t: lib.where(t["a"] > 0, t["a"], t["b"]),
        "masked_fill": lambda t: t["a"].masked_fill(t["a"] > 0, 0.0),
        "flip": lambda t: t["a"].flip(0),
        "roll": lambda t: t["a"].roll(1, 0),
        "tril": lambda t: t["a"].tril(),
        "triu": lambda t: t["a"].triu(),
        "diag": lambda t: t["v"].diag(),
        "trace": lambda t: t["a"][:, :3].trace(),
        "clone": lambda t: t["a"].clone(),
        "contiguous": lambda t: t["a"].t().contiguous(),
        "to_float": lambda t: t["a"].float(),
        "sort": lambda t: t["a"].sort(1)[0],
        "topk": lambda t: t["a"].topk(2)[0],
        "maximum": lambda t: lib.maximum(t["a"], t["b"]),
        "minimum": lambda t: lib.minimum(t["a"], t["b"]),
        "atan2": lambda t: lib.atan2(t["a"], t["b"]),
        "lerp": lambda t: lib.lerp(t["a"], t["b"], 0.3),
        "addcmul": lambda t: lib.addcmul(t["a"], t["b"], t["p"]),
        "linear": lambda t: F.linear(t["a"], t["W"]),
        "linear_bias": lambda t: F.linear(t["a"], t["W"], t["bb"]),
        "linear_3d": lambda t: F.linear(t["a3"], t["W"], t["bb"]),
        "conv1d": lambda t: F.conv1d(t["x3"], t["w1"]),
        "conv2d": lambda t: F.conv2d(t["x4"], t["w"], t["bias"]),
        "conv_transpose2d": lambda t: F.conv_transpose2d(t["x4"], t["w"].transpose(0, 1)),
        "max_pool2d": lambda t: F.max_pool2d(t["x4"], 2),
        "avg_pool2d": lambda t: F.avg_pool2d(t["x4"], 2),
        "adaptive_avg_pool2d": lambda t: F.adaptive_avg_pool2d(t["x4"], 1),
        "adaptive_avg_pool2d_3": lambda t: F.adaptive_avg_pool2d(t["x4"], 3),
        "batch_norm": lambda t: F.batch_norm(t["x4"], None, None, t["bw"], t["bbb"], training=True),
        "layer_norm": lambda t: F.layer_norm(t["a"], (4,), t["g"], t["be"]),
        "group_norm": lambda t: F.group_norm(t["x4"], 2),
        "dropout_train": lambda t: F.dropout(t["a"], 0.5, training=True),
        "gelu": lambda t: F.gelu(t["a"]),
        "gelu_tanh": lambda t: F.gelu(t["a"], approximate="tanh"),
        "silu": lambda t: F.silu(t["a"]),
        "mish": lambda t: F.mish(t["a"]),
        "elu": lambda t: F.elu(t["a"]),
        "selu": lambda t: F.selu(t["a"]),
        "celu": lambda t: F.celu(t["a"]),
        "leaky_relu": lambda t: F.leaky_relu(t["a"]),
        "hardtanh": lambda t: F.hardtanh(t["a"]),
        "relu6": lambda t: F.relu6(t["a"]),
        "softplus": lambda t: F.softplus(t["a"]),
        "hardsigmoid": lambda t: F.hardsigmoid(t["a"]),
        "hardswish": lambda t: F.hardswish(t["a"]),
        "logsigmoid": lambda t: F.logsigmoid(t["a"]),
        "softsign": lambda t: F.softsign(t["a"]),
        "prelu": lambda t: F.prelu(t["a"], t["g"][:1]),
        "glu": lambda t: F.glu(t["a"]),
        "normalize": lambda t: F.normalize(t["a"]),
        "embedding": lambda t: F.embedding(lib.tensor([0, 2]), t["W"]),
        "pad": lambda t: F.pad(t["a"], (1, 1)),
        "interpolate": lambda t: F.interpolate(t["x4"], scale_factor=2),
        "mse_loss": lambda t: F.mse_loss(t["a"], t["b"]),
        "l1_loss": lambda t: F.l1_loss(t["a"], t["b"]),
        "smooth_l1_loss": lambda t: F.smooth_l1_loss(t["a"], t["b"]),
        "huber_loss": lambda t: F.huber_loss(t["a"], t["b"]),
        "cross_entropy": lambda t: F.cross_entropy(t["a"], lib.tensor([1, 0, 3])),
        "nll_loss": lambda t: F.nll_loss(t["a"], lib.tensor([1, 0, 3])),
        "cross_entropy_probs": lambda t: F.cross_entropy(t["a"], t["b"].softmax(1).detach()),
        "bce": lambda t: F.binary_cross_entropy(t["a"].sigmoid(), t["b"].sigmoid().detach()),
        "bce_with_logits": lambda t: F.binary_cross_entropy_with_logits(t["a"], t["b"].sigmoid().detach()),
        "kl_div": lambda t: F.kl_div(t["a"].log_softmax(1), t["b"].softmax(1).detach(), reduction="batchmean"),
        "cosine_similarity": lambda t: F.cosine_similarity(t["a"], t["b"]),
        "pairwise_distance": lambda t: F.pairwise_distance(t["a"], t["b"]),
        "scaled_dot_product_attention": lambda t: F.scaled_dot_product_attention(t["a3"], t["a3"], t["a3"]),
    }


OPS = sorted(_ops(torch))


def _node(lib, name):
    return _ops(lib)[name](_inputs(lib)).grad_fn


@pytest.mark.parametrize("name", OPS)
def test_node_names_as_pytorch(name):
    ours, theirs = _node(disttorch, name), _node(torch, name)
    assert ours.name() == theirs.name()
    assert type(ours).__name__ == type(theirs).__name__
    assert repr(ours).split(" object at ")[0] == repr(theirs).split(" object at ")[0]


def test_sweep_is_wide():
    assert len(OPS) >= 100


def _walk(fn):
    """(type name, name()) of every node reachable from ``fn``, through next_functions, in a fixed order."""
    seen, order, stack = set(), [], [fn]
    while stack:
        node = stack.pop(0)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        order.append((type(node).__name__, node.name()))
        stack.extend(n for n, _ in node.next_functions)
    return order


def test_next_functions_of_a_small_network():
    got = []
    for lib in (disttorch, torch):
        lib.manual_seed(0)
        # (no Linear: PyTorch's addmm node has a TBackward0 input for W^T, and its inputs in the order b, x, W^T)
        net = lib.nn.Sequential(
            lib.nn.Conv2d(2, 3, 3), lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(), lib.nn.Tanh()
        )
        x = lib.tensor(np.random.default_rng(1).standard_normal((2, 2, 6, 6)), dtype=lib.float32)
        y = lib.nn.functional.mse_loss(net(x) * 2, lib.zeros(2, 12))
        got.append(_walk(y.grad_fn))
    assert got[0] == got[1]


def _custom(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Scale


def test_custom_function_and_leaf_nodes():
    got = []
    for lib in (disttorch, torch):
        x = lib.ones(3, requires_grad=True)
        y = _custom(lib).apply(x)
        leaf = y.grad_fn.next_functions[0][0]
        got.append(
            (
                type(y.grad_fn).__name__,
                y.grad_fn.name(),
                type(leaf).__name__,
                leaf.name(),
                isinstance(y.grad_fn, lib.autograd.function.BackwardCFunction),
            )
        )
    assert (
        got[0]
        == got[1]
        == ("ScaleBackward", "ScaleBackward", "AccumulateGrad", "torch::autograd::AccumulateGrad", True)
    )


def test_one_class_per_name_and_isinstance_kept():
    a = disttorch.ones(2, requires_grad=True)
    y1, y2 = a**2, a**a
    assert type(y1.grad_fn).__name__ == "PowBackward0" and type(y2.grad_fn).__name__ == "PowBackward1"
    assert type((a**3).grad_fn) is type(y1.grad_fn)
    assert isinstance(y2.grad_fn, type(y1.grad_fn).__mro__[1])  # both are the one Pow op underneath


@pytest.mark.parametrize("bias", [True, False])
def test_linear_node_inputs_in_pytorchs_order(bias):
    # the blitz tutorial walks loss.grad_fn.next_functions[0][0].next_functions[0][0] (the bias' AccumulateGrad);
    # PyTorch's last input is a TBackward0 node for W^T, ours the weight's AccumulateGrad
    got = []
    for lib in (disttorch, torch):
        x = lib.ones(3, 4, requires_grad=True)
        y = lib.nn.Linear(4, 2, bias=bias)(lib.relu(x))
        got.append([type(n).__name__ for n, _ in y.grad_fn.next_functions])
    assert len(got[0]) == len(got[1])
    assert got[0][:-1] == got[1][:-1]
    assert (got[0][-1], got[1][-1]) == ("AccumulateGrad", "TBackward0")
