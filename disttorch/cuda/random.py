"""torch.cuda's random-number state: one default generator per cuda device (disttorch._ops.random)."""
from __future__ import annotations

from typing import Any

from . import _common

__all__ = ["initial_seed", "get_rng_state", "set_rng_state", "get_rng_state_all", "set_rng_state_all"]


def _generator(device: Any = "cuda") -> Any:
    from disttorch._ops import random

    _common.require()
    return random.device_generator(f"cuda:{_common.index(device)}")


def default_generators() -> tuple:
    """The default generator of every visible device (none without cuda)."""
    from disttorch._ops import random

    count = _common.backend().device_count()
    return tuple(random.device_generator(f"cuda:{i}") for i in range(count))


def initial_seed() -> int:
    return _generator(None).initial_seed()


def get_rng_state(device: Any = "cuda") -> Any:
    return _generator(device).get_state()


def set_rng_state(new_state: Any, device: Any = "cuda") -> None:
    _generator(device).set_state(new_state)


def get_rng_state_all() -> list:
    return [g.get_state() for g in default_generators()]


def set_rng_state_all(new_states: Any) -> None:
    for i, state in enumerate(new_states):
        set_rng_state(state, i)
