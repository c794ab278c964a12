"""``Join``: training with uneven inputs, with PyTorch's semantics.

Every ``Joinable`` (DDP, ...) calls :meth:`Join.notify_join_context` once per iteration, which all-reduces a
one on its process group. A rank that ran out of inputs leaves the ``with Join(...)`` block and, until every
rank has, all-reduces zeros in the same place (the count of ranks still training) and runs each joinable's
``JoinHook.main_hook`` to shadow the collectives of one iteration; then every rank runs ``post_hook(is_last_joiner)``.
"""
from __future__ import annotations

from typing import Any

import disttorch as torch

from ..process_group import _default_group
from ..tensor_collectives import all_reduce


class JoinHook:
    """What a joined rank does for one joinable: ``main_hook`` shadows one iteration's collectives,
    ``post_hook(is_last_joiner)`` runs once every rank has joined."""

    def main_hook(self) -> None:
        """Shadow the collectives of one training iteration of the ranks still training."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run after every rank joined; ``is_last_joiner``: this rank joined last."""


class Joinable:
    """A class whose collectives a joined rank can shadow: ``join_hook(**kwargs)``, ``join_device``,
    ``join_process_group``; it calls ``Join.notify_join_context(self)`` once per iteration."""

    def __init__(self) -> None:
        self._join_config = _JoinConfig.disabled()

    def join_hook(self, **kwargs: Any) -> JoinHook:
        raise NotImplementedError

    @property
    def join_device(self) -> Any:
        raise NotImplementedError

    @property
    def join_process_group(self) -> Any:
        raise NotImplementedError


class _JoinConfig:
    __slots__ = ("enable", "throw_on_early_termination", "is_first_joinable")

    def __init__(self, enable: bool, throw_on_early_termination: bool, is_first_joinable: bool) -> None:
        self.enable, self.throw_on_early_termination = enable, throw_on_early_termination
        self.is_first_joinable = is_first_joinable

    @staticmethod
    def disabled() -> _JoinConfig:
        return _JoinConfig(False, False, False)


class Join:
    """Context manager for uneven inputs over ``joinables`` (see the module's doc)."""

    def __init__(self, joinables: list[Joinable], enable: bool = True, throw_on_early_termination: bool = False,
                 **kwargs: Any) -> None:
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = list(joinables)
        self._join_hooks = [j.join_hook(**kwargs) for j in self._joinables]
        self._enable, self._throw = enable, throw_on_early_termination
        groups = {id(j.join_process_group) for j in self._joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        self._group = self._joinables[0].join_process_group
        for i, j in enumerate(self._joinables):
            j._join_config = _JoinConfig(enable, throw_on_early_termination, i == 0)

    def __enter__(self) -> Join:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._enable or exc_type is not None:
            return
        is_last_joiner = True
        while True:
            remaining = self._count_nonjoined()
            if remaining == 0:
                break
            if self._throw:
                raise RuntimeError(f"Rank {_default_group().rank()} exhausted all inputs.")
            is_last_joiner = False
            for hook in self._join_hooks:
                hook.main_hook()
        for hook in self._join_hooks:
            hook.post_hook(is_last_joiner)
        for j in self._joinables:
            j._join_config = _JoinConfig.disabled()

    def _count_nonjoined(self) -> int:
        t = torch.zeros(1)
        all_reduce(t, group=self._group)
        return int(t.item())

    @staticmethod
    def notify_join_context(joinable: Joinable) -> Any:
        """Called by a joinable once per iteration, before its collectives: tells the joined ranks that this
        one still trains (an all-reduce of a one). Returns None (the all-reduce is blocking)."""
        config = getattr(joinable, "_join_config", None)
        if config is None or not config.is_first_joinable or not config.enable:
            return None
        t = torch.ones(1)
        all_reduce(t, group=joinable.join_process_group)
        if config.throw_on_early_termination and int(t.item()) < _group_size(joinable.join_process_group):
            raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across all ranks.")
        return None


def _group_size(group: Any) -> int:
    return (_default_group() if group is None else group).size()
