"""torch.utils.benchmark.Fuzzer: with one seed, the parameters, tensor shapes, strides and properties are
PyTorch's (both draw from numpy's RandomState); tensor values come from disttorch's generator."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
import disttorch.utils.benchmark as dbench

torch = pytest.importorskip("torch")
import torch.utils.benchmark as tbench  # noqa: E402


def _recipe_fuzzer(bench, lib, seed=0, **tensor_kw):
    return bench.Fuzzer(
        parameters=[bench.FuzzedParameter("k0", minval=1, maxval=10000, distribution="loguniform"),
                    bench.FuzzedParameter("k1", minval=1, maxval=10000, distribution="loguniform"),
                    bench.FuzzedParameter("d", minval=1, maxval=3, distribution="uniform", strict=True),
                    bench.FuzzedParameter("f", minval=0.0, maxval=2.0, distribution="uniform")],
        tensors=[bench.FuzzedTensor("x", size=("k0", "k1"), min_elements=128, max_elements=10000000, **tensor_kw),
                 bench.FuzzedTensor("y", size=("k1", 4, "k0"), steps=(1, "d", 2), dim_parameter="d",
                                    max_allocation_bytes=2 ** 24, dtype=lib.int32)],
        constraints=[lambda p: p["k0"] % 7 != 3],
        seed=seed)


def _summary(bench, lib, n=12, seed=0):
    fuzzer = _recipe_fuzzer(bench, lib, seed)
    out = []
    for tensors, props, params in fuzzer.take(n):
        row = [params]
        for name in ("x", "y"):
            t, p = tensors[name], props[name]
            row.append((tuple(t.shape), tuple(t.stride()), t.is_contiguous(), str(t.dtype), p["numel"],
                        [int(i) for i in p["order"]], p["steps"], p["is_contiguous"], p["dtype"]))
        out.append(row)
    return out, fuzzer.rejection_rate


@pytest.mark.parametrize("seed", [0, 1, 123])
def test_fuzzer_matches_torch(seed):
    ours, our_rate = _summary(dbench, disttorch, seed=seed)
    theirs, their_rate = _summary(tbench, torch, seed=seed)
    assert ours == theirs and our_rate == their_rate
    assert any(not row[1][2] for row in ours) and any(row[1][2] for row in ours)  # both memory orders occur


def test_values_are_reproducible_and_in_range():
    def first(seed):
        tensors, _, _ = next(_recipe_fuzzer(dbench, disttorch, seed).take(1))
        return tensors["x"].numpy().copy(), tensors["y"].numpy().copy()
    (x1, y1), (x2, y2) = first(5), first(5)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.min() >= 0 and x1.max() < 1 and y1.min() >= 1 and y1.max() < 127


def test_custom_distribution_and_aliases():
    def draws(bench, patch_torch=False):
        dist = {1: 0.25, 8: 0.25, bench.ParameterAlias("n"): 0.5}
        if patch_torch:  # PyTorch 2.13 rejects normalised dicts (an inverted check); sample its code regardless
            p = bench.FuzzedParameter("m", 1, 2, distribution="uniform")
            p._distribution, p._minval, p._maxval = dist, None, None
        else:
            p = bench.FuzzedParameter("m", distribution=dist)
        fuzzer = bench.Fuzzer([bench.FuzzedParameter("n", 2, 64, distribution="uniform"), p],
                              [bench.FuzzedTensor("t", size=("n", "m"))], seed=3)
        return [(params, tuple(ts["t"].shape)) for ts, _, params in fuzzer.take(20)]
    ours, theirs = draws(dbench), draws(tbench, patch_torch=True)
    assert ours == theirs
    assert any(params["m"] == params["n"] for params, _ in ours)  # the alias was taken
    assert repr(dbench.ParameterAlias("n")) == repr(tbench.ParameterAlias("n")) == "ParameterAlias[alias_to: n]"


@pytest.mark.parametrize("make", [
    lambda b: b.FuzzedParameter("a", 1, 2),
    lambda b: b.FuzzedParameter("a", 1, 2, distribution="normal"),
    lambda b: b.FuzzedParameter("a", distribution={1: -0.5, 2: 1.5}),
    lambda b: b.Fuzzer([b.FuzzedParameter("x", 1, 2, distribution="uniform")], [b.FuzzedTensor("x", size=(1,))]),
    lambda b: next(b.Fuzzer([b.FuzzedParameter("a", 1, 2, distribution="uniform")],
                            [b.FuzzedTensor("t", size=("a",), min_elements=10)], seed=0).take(1)),
    lambda b: next(b.Fuzzer([b.FuzzedParameter("a", 1, 2, distribution="uniform")],
                            [b.FuzzedTensor("t", size=("a",))], constraints=[lambda p: False], seed=0).take(1)),
])
def test_errors_as_torch(make):
    with pytest.raises(Exception) as want:
        make(tbench)
    with pytest.raises(type(want.value)) as got:
        make(dbench)
    assert str(got.value) == str(want.value)


def test_unnormalised_custom_distribution_is_refused():
    with pytest.raises(AssertionError, match="not normalized"):
        dbench.FuzzedParameter("a", distribution={1: 0.3, 2: 0.3})
    with pytest.raises(AssertionError, match="'minval' must be None"):
        dbench.FuzzedParameter("a", 1, distribution={1: 0.5, 2: 0.5})
    assert dbench.FuzzedParameter("a", distribution={1: 0.5, 2: 0.5}).name == "a"


def test_alias_cycle():
    def run(b):
        return b.Fuzzer._resolve_aliases({"a": b.ParameterAlias("b"), "b": b.ParameterAlias("a")})
    with pytest.raises(ValueError, match="ParameterAlias cycle detected"):
        run(dbench)
    with pytest.raises(ValueError, match="ParameterAlias cycle detected"):
        run(tbench)


def test_cuda_tensors(device):
    fuzzer = dbench.Fuzzer([dbench.FuzzedParameter("n", 4, 32, distribution="uniform")],
                           [dbench.FuzzedTensor("t", size=("n", 3), cuda=device == "cuda")], seed=0)
    tensors, props, params = next(fuzzer.take(1))
    assert tensors["t"].device.type == device and tuple(tensors["t"].shape) == (params["n"], 3)
    assert props["t"]["numel"] == params["n"] * 3
