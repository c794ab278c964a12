"""``swap_in_optimizer_params_and_state``: run optimizer APIs against other parameter tensors and another
state for the duration of a ``with`` block, then put the live ones back."""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Iterator

from disttorch._tensor import Tensor

__all__ = ["swap_in_optimizer_params_and_state"]


@contextmanager
def swap_in_optimizer_params_and_state(optimizer: Any, swapin_parameters: dict[str, Tensor],
                                       swapin_optim_state: dict[str, Any]) -> Iterator[None]:
    """Inside the block, ``optimizer.param_groups`` hold ``swapin_parameters`` (in the order of the live
    parameters) with the hyper-parameters of ``swapin_optim_state["param_groups"]``, and ``optimizer.state``
    is ``swapin_optim_state["state"]`` keyed by those tensors (the new values of its tensors show in the
    given dict; other changes stay inside). The live groups and state come back on exit."""
    tensors = list(swapin_parameters.values())
    live_count = sum(len(g["params"]) for g in optimizer.param_groups)
    if len(tensors) != live_count:
        raise ValueError(f"swapin_parameters has {len(tensors)} tensors, but the optimizer has {live_count} "
                         "parameters")
    groups = swapin_optim_state.get("param_groups", [])
    if len(groups) != len(optimizer.param_groups):
        raise ValueError(f"swapin_optim_state has {len(groups)} param groups, but the optimizer has "
                         f"{len(optimizer.param_groups)}")
    saved_state, snapshots = optimizer.state, [dict(g) for g in optimizer.param_groups]
    state = swapin_optim_state.get("state", {})
    given: list = []  # (packed id, the swapped-in tensor)
    new_state: defaultdict = defaultdict(dict)
    try:
        start = 0
        for live, saved in zip(optimizer.param_groups, groups):
            n = len(live["params"])
            if len(saved["params"]) != n:
                raise ValueError(f"a param group of swapin_optim_state has {len(saved['params'])} params, the "
                                 f"optimizer's has {n}")
            chunk = tensors[start:start + n]
            start += n
            live["params"] = chunk
            live.update({k: v for k, v in saved.items() if k != "params"})
            for tensor, packed_id in zip(chunk, saved["params"]):
                new_state[tensor] = dict(state.get(packed_id, {}))
                given.append((packed_id, tensor))
        optimizer.state = new_state
        yield
    finally:
        _write_back(state, new_state, given)
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = saved_state


def _write_back(state: dict, new_state: dict, given: list) -> None:
    """The optimizers' vectorised paths may keep a state tensor as a view of their own flat buffer instead of
    the tensor given: copy such values into the given tensors, which PyTorch's optimizers edit in place."""
    from disttorch.autograd.grad_mode import no_grad

    with no_grad():
        for packed_id, tensor in given:
            original = state.get(packed_id, {})
            for key, value in new_state.get(tensor, {}).items():
                old = original.get(key)
                if (isinstance(old, Tensor) and isinstance(value, Tensor) and value is not old
                        and tuple(value.shape) == tuple(old.shape)):
                    old.copy_(value)
