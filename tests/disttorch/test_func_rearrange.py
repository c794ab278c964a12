"""torch.func.rearrange against PyTorch's: shapes, values, lists of tensors, gradients, errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check

import disttorch

torch = pytest.importorskip("torch")

X = np.arange(2 * 6 * 4 * 3, dtype=np.float64).reshape(2, 6, 4, 3)

PATTERNS = [("b h w c -> b c h w", {}), ("b h w c -> (b h) w c", {}), ("b h w c -> h (b w) c", {}),
            ("b (h1 h2) w c -> b h1 h2 w c", {"h1": 2}), ("b (h1 h2) w c -> b h2 h1 w c", {"h2": 3}),
            ("b h w c -> b (c h w)", {}), ("b ... c -> c ... b", {}), ("b h w c -> b h w c 1", {}),
            ("b h w c -> b () h w c", {}), ("... c -> (...) c", {}), ("b h w c -> b h w c", {}),
            ("b (h h2) (w w2) c -> (b h2 w2) h w c", {"h2": 2, "w2": 2}), ("b h ... -> b (h ...)", {})]


@pytest.mark.parametrize("pattern,lengths", PATTERNS)
def test_rearrange_as_pytorch(pattern, lengths):
    check(lambda lib, x: lib.func.rearrange(x, pattern, **lengths), [X], rtol=0, atol=0)


def test_rearrange_list_and_unit_axes():
    parts = [X[i] for i in range(2)]
    ours = disttorch.func.rearrange([disttorch.tensor(p) for p in parts], "b h w c -> h (b w) c")
    theirs = torch.func.rearrange([torch.tensor(p) for p in parts], "b h w c -> h (b w) c")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    y = np.ones((3, 1, 4))
    check(lambda lib, x: lib.func.rearrange(x, "a 1 b -> b a"), [y])


@pytest.mark.parametrize("pattern", ["b h w -> b h w", "b h w c -> b h w", "b h w c -> b h w c d",
                                     "b (h w) w2 c -> b h w w2 c", "b h w c -> b h w c (", "b h w c"])
def test_rearrange_errors_as_pytorch(pattern):
    for lib in (disttorch, torch):
        with pytest.raises(Exception) as info:
            lib.func.rearrange(lib.tensor(X), pattern)
        assert isinstance(info.value, (ValueError, TypeError)) or type(info.value).__name__.endswith("Error")
    with pytest.raises(ValueError):
        disttorch.func.rearrange(disttorch.tensor(X), pattern)
