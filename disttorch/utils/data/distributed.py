"""DistributedSampler: each rank reads its own share of a dataset."""
from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from typing import Any

from disttorch._ops.random import Generator, randperm

from .dataset import Dataset
from .sampler import Sampler

__all__ = ["DistributedSampler"]

_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call init_process_group.")


def _process_group() -> Any:
    """``disttorch.distributed`` when it is present and initialised; otherwise PyTorch's error."""
    try:
        dist = importlib.import_module("disttorch.distributed")
    except ImportError:
        raise ValueError(_NOT_INITIALIZED) from None
    is_initialized = getattr(dist, "is_initialized", None)
    if is_initialized is None or not is_initialized():
        raise ValueError(_NOT_INITIALIZED)
    return dist


class DistributedSampler(Sampler[int]):
    """Rank ``rank`` of ``num_replicas`` gets indices ``rank, rank + num_replicas, ...`` of a (shuffled,
    with seed ``seed + epoch``) index list. Unless ``drop_last``, the list is padded with its own first
    indices to a multiple of ``num_replicas``, so every rank gets the same number of samples; with
    ``drop_last`` the tail that does not divide evenly is dropped. Call :meth:`set_epoch` at the start
    of every epoch to get a new order; all ranks must use the same seed."""

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _process_group().get_world_size()
        if rank is None:
            rank = _process_group().get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        if len(indices) != self.total_size:
            raise AssertionError(f"expected {self.total_size} indices, got {len(indices)}")
        own = indices[self.rank:self.total_size:self.num_replicas]
        if len(own) != self.num_samples:
            raise AssertionError(f"expected {self.num_samples} indices, got {len(own)}")
        return iter(own)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch number; with ``shuffle``, each epoch gets its own permutation (the same on every rank)."""
        self.epoch = epoch
