"""Indexing a 0-dim tensor fails with PyTorch's exception type and message, for reads and writes."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _outcome(lib, code: str, write: bool):
    t = lib.tensor(1.5)
    env = {"t": t, "L": lib, "np": np}
    try:
        if write:
            exec(f"t[{code}] = 2.0", env)
        else:
            out = eval(f"t[{code}]", env)
            return "ok", tuple(out.shape), float(out.sum())
    except Exception as exc:  # noqa: BLE001  (compared with PyTorch's)
        return type(exc).__name__, str(exc)
    return "ok", float(t.item())


INDICES = ["0", "1", "3", "-1", "-2", "np.int64(0)", "0:1", "0:0", ":", "slice(None)", "(0,)", "(slice(None),)",
           "None, 0", "..., 0", "L.tensor(0)", "L.tensor([0])", "[0]", "None", "...", "True", "False"]


@pytest.mark.parametrize("write", [False, True], ids=["get", "set"])
@pytest.mark.parametrize("code", INDICES)
def test_zero_dim_index_matches_torch(code, write):
    assert _outcome(disttorch, code, write) == _outcome(torch, code, write)


def test_item_message_text(device):
    with pytest.raises(IndexError) as want:
        torch.tensor(1.0)[0]
    with pytest.raises(IndexError) as got:
        disttorch.tensor(1.0, device=device)[0]
    assert str(got.value) == str(want.value)
    assert "tensor.item()" in str(got.value) and "0-dim" in str(got.value)
    assert disttorch.ones(3, device=device)[1].item() == 1.0  # a row of a 1-d tensor still works
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        disttorch.ones(3, device=device)[1][0]
